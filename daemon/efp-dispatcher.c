/* efp-dispatcher.c: fan-out of signed commands in stages, with acks and one resend. */
#include "efp-dispatcher.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "efp-command.h"
#include "efp-json.h"
#include "efp-log.h"

#define DEFAULT_STAGE_TIMEOUT_SEC 60
#define COMMAND_TTL_SEC           300

typedef struct _Issuance Issuance;

typedef struct
{
  Issuance *issuance;
  gchar *agent;
  gint stage;
  gchar *json; /* exactly what was sent, for the resend */
  gboolean sent;
  gboolean acked;
  guint resends;
  guint ack_timer;
} Delivery;

struct _Issuance
{
  EfpDispatcher *owner;
  EfpCommand *cmd;       /* template: sig is per agent */
  GPtrArray *deliveries; /* Delivery* */
  gint current_stage;
  guint stage_timer;
};

struct _EfpDispatcher
{
  EfpDispatcherCallbacks cb;
  gpointer user_data;
  const EfpConfig *config;
  GHashTable *agents;   /* id -> EfpAgentInfo* */
  GPtrArray *issuances; /* Issuance*, newest last */
  guint ack_timeout_ms;
};

static void
agent_info_free (gpointer p)
{
  EfpAgentInfo *a = p;
  g_free (a->id);
  g_free (a->last_command_id);
  g_free (a->last_result);
  g_free (a->host);
  g_free (a->version);
  g_free (a);
}

static void
delivery_free (gpointer p)
{
  Delivery *d = p;
  g_clear_handle_id (&d->ack_timer, g_source_remove);
  g_free (d->agent);
  g_free (d->json);
  g_free (d);
}

static void
issuance_free (gpointer p)
{
  Issuance *is = p;
  g_clear_handle_id (&is->stage_timer, g_source_remove);
  g_ptr_array_unref (is->deliveries);
  efp_command_free (is->cmd);
  g_free (is);
}

EfpDispatcher *
efp_dispatcher_new (const EfpDispatcherCallbacks *callbacks, gpointer user_data)
{
  EfpDispatcher *self = g_new0 (EfpDispatcher, 1);
  self->cb = *callbacks;
  self->user_data = user_data;
  self->agents = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, agent_info_free);
  self->issuances = g_ptr_array_new_with_free_func (issuance_free);
  self->ack_timeout_ms = 30000;
  return self;
}

void
efp_dispatcher_free (EfpDispatcher *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->issuances);
  g_hash_table_unref (self->agents);
  g_free (self);
}

EfpAgentInfo *
efp_dispatcher_get_agent (EfpDispatcher *self, const gchar *id)
{
  EfpAgentInfo *a = g_hash_table_lookup (self->agents, id);
  if (a == NULL)
    {
      a = g_new0 (EfpAgentInfo, 1);
      a->id = g_strdup (id);
      g_hash_table_insert (self->agents, a->id, a);
    }
  return a;
}

GList *
efp_dispatcher_list_agents (EfpDispatcher *self)
{
  return g_hash_table_get_values (self->agents);
}

void
efp_dispatcher_set_config (EfpDispatcher *self, const EfpConfig *config)
{
  guint i;
  self->config = config;
  for (i = 0; i < config->agents->len; i++)
    efp_dispatcher_get_agent (self, ((EfpAgentConfig *) config->agents->pdata[i])->id);
}

void
efp_dispatcher_set_ack_timeout (EfpDispatcher *self, guint msec)
{
  self->ack_timeout_ms = msec;
}

static const EfpAgentConfig *
agent_config (EfpDispatcher *self, const gchar *id)
{
  return self->config != NULL ? efp_config_find_agent (self->config, id) : NULL;
}

static gchar *
cmd_topic (EfpDispatcher *self, const gchar *agent)
{
  return g_strdup_printf ("%s/%s/cmd", self->config->mqtt.command_prefix, agent);
}

static void advance_stage (Issuance *is);

static gboolean
on_ack_timeout (gpointer data)
{
  Delivery *d = data;
  EfpDispatcher *self = d->issuance->owner;

  d->ack_timer = 0;
  if (d->acked)
    return G_SOURCE_REMOVE;
  if (d->resends == 0)
    {
      g_autofree gchar *topic = cmd_topic (self, d->agent);
      d->resends++;
      g_warning ("agent %s did not acknowledge %s command %s; resending once", d->agent,
                 d->issuance->cmd->action, d->issuance->cmd->id);
      self->cb.publish (self->user_data, topic, d->json);
      d->ack_timer = g_timeout_add (self->ack_timeout_ms, on_ack_timeout, d);
    }
  else
    g_warning ("agent %s never acknowledged %s command %s (sent twice)", d->agent,
               d->issuance->cmd->action, d->issuance->cmd->id);
  return G_SOURCE_REMOVE;
}

static void
deliver (Issuance *is, Delivery *d)
{
  EfpDispatcher *self = is->owner;
  const EfpAgentConfig *ac = agent_config (self, d->agent);
  g_autofree gchar *topic = cmd_topic (self, d->agent);
  EfpAgentInfo *info = efp_dispatcher_get_agent (self, d->agent);

  is->cmd->stage = d->stage;
  efp_command_sign (is->cmd, d->agent, ac != NULL ? ac->key : NULL, ac != NULL ? ac->key_len : 0);
  g_free (d->json);
  d->json = efp_command_to_json (is->cmd);
  d->sent = TRUE;
  g_message ("sending %s%s to agent %s (stage %d, command %s)", is->cmd->action,
             is->cmd->dry_run ? " (dry run)" : "", d->agent, d->stage, is->cmd->id);
  if (self->cb.command_sent != NULL)
    self->cb.command_sent (self->user_data, d->agent, is->cmd->id, is->cmd->action, is->cmd->policy,
                           is->cmd->device, is->cmd->issued_at, d->json);
  if (self->cb.publish (self->user_data, topic, d->json) && self->cb.command_published != NULL)
    self->cb.command_published (self->user_data, d->agent, is->cmd->id);
  g_free (info->last_command_id);
  info->last_command_id = g_strdup (is->cmd->id);
  g_free (info->last_result);
  info->last_result = g_strdup ("sent");
  if (self->cb.agent_changed != NULL)
    self->cb.agent_changed (self->user_data, info);
  d->ack_timer = g_timeout_add (self->ack_timeout_ms, on_ack_timeout, d);
}

/* A stage is done when each of its agents acked or is known to be offline. */
static gboolean
stage_done (Issuance *is, gint stage)
{
  guint i;
  for (i = 0; i < is->deliveries->len; i++)
    {
      Delivery *d = is->deliveries->pdata[i];
      EfpAgentInfo *info;
      if (d->stage != stage || d->acked)
        continue;
      info = efp_dispatcher_get_agent (is->owner, d->agent);
      if (info->seen && !info->online)
        continue;
      return FALSE;
    }
  return TRUE;
}

static gint
next_stage (Issuance *is, gint after)
{
  gint best = G_MAXINT;
  guint i;
  for (i = 0; i < is->deliveries->len; i++)
    {
      Delivery *d = is->deliveries->pdata[i];
      if (d->stage > after && d->stage < best)
        best = d->stage;
    }
  return best == G_MAXINT ? -1 : best;
}

static gboolean
on_stage_timeout (gpointer data)
{
  Issuance *is = data;
  is->stage_timer = 0;
  g_message ("stage %d of command %s timed out; telling the next stage", is->current_stage,
             is->cmd->id);
  advance_stage (is);
  return G_SOURCE_REMOVE;
}

static void
start_stage (Issuance *is, gint stage)
{
  guint i, timeout = 0;

  is->current_stage = stage;
  for (i = 0; i < is->deliveries->len; i++)
    {
      Delivery *d = is->deliveries->pdata[i];
      const EfpAgentConfig *ac;
      if (d->stage != stage)
        continue;
      ac = agent_config (is->owner, d->agent);
      timeout =
        MAX (timeout, ac != NULL && ac->stage_timeout_sec > 0 ? (guint) ac->stage_timeout_sec
                                                              : DEFAULT_STAGE_TIMEOUT_SEC);
      deliver (is, d);
    }
  if (next_stage (is, stage) >= 0)
    {
      is->stage_timer = g_timeout_add_seconds (timeout, on_stage_timeout, is);
      /* agents already known to be offline do not hold up the next stage */
      if (stage_done (is, stage))
        {
          g_message ("stage %d of command %s done; telling the next stage", stage, is->cmd->id);
          advance_stage (is);
        }
    }
}

static void
advance_stage (Issuance *is)
{
  gint next = next_stage (is, is->current_stage);
  g_clear_handle_id (&is->stage_timer, g_source_remove);
  if (next >= 0)
    start_stage (is, next);
}

static void
check_stages (EfpDispatcher *self)
{
  guint i;
  for (i = 0; i < self->issuances->len; i++)
    {
      Issuance *is = self->issuances->pdata[i];
      if (is->stage_timer != 0 && stage_done (is, is->current_stage))
        {
          g_message ("stage %d of command %s done; telling the next stage", is->current_stage,
                     is->cmd->id);
          advance_stage (is);
        }
    }
}

gchar *
efp_dispatcher_send (EfpDispatcher *self, const gchar *action, const gchar *const *agents,
                     gint64 delay_sec, const gchar *reason, const gchar *policy,
                     const gchar *device, gboolean dry_run)
{
  Issuance *is = g_new0 (Issuance, 1);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  gint first = G_MAXINT;
  guint i;

  is->owner = self;
  is->cmd = efp_command_new (action, delay_sec, reason, COMMAND_TTL_SEC,
                             g_get_real_time () / G_USEC_PER_SEC);
  is->cmd->policy = g_strdup (policy);
  is->cmd->device = g_strdup (device);
  is->cmd->dry_run = dry_run;
  is->deliveries = g_ptr_array_new_with_free_func (delivery_free);
  for (i = 0; agents != NULL && agents[i] != NULL; i++)
    {
      Delivery *d;
      const EfpAgentConfig *ac;
      if (!g_hash_table_add (seen, (gpointer) agents[i]))
        continue;
      ac = agent_config (self, agents[i]);
      d = g_new0 (Delivery, 1);
      d->issuance = is;
      d->agent = g_strdup (agents[i]);
      /* abort and test go to everyone at once: undoing must not wait for stages */
      d->stage = g_str_equal (action, "shutdown") && ac != NULL ? ac->stage : 1;
      first = MIN (first, d->stage);
      g_ptr_array_add (is->deliveries, d);
    }
  /* a new abort ends the staging of earlier shutdowns: later stages are never told */
  if (g_str_equal (action, "abort"))
    for (i = 0; i < self->issuances->len; i++)
      {
        Issuance *old = self->issuances->pdata[i];
        guint j;
        g_clear_handle_id (&old->stage_timer, g_source_remove);
        /* nor is an unacked shutdown resent to an agent told to abort: it would come after */
        for (j = 0; g_str_equal (old->cmd->action, "shutdown") && j < old->deliveries->len; j++)
          {
            Delivery *od = old->deliveries->pdata[j];
            if (g_hash_table_contains (seen, od->agent))
              g_clear_handle_id (&od->ack_timer, g_source_remove);
          }
      }
  g_ptr_array_add (self->issuances, is);
  /* keep a bounded history */
  while (self->issuances->len > 32)
    g_ptr_array_remove_index (self->issuances, 0);
  if (is->deliveries->len > 0)
    start_stage (is, first);
  return g_strdup (is->cmd->id);
}

static JsonObject *
parse_object (const gchar *payload, gsize len, JsonParser *parser)
{
  JsonNode *root;
  if (!efp_json_load (parser, payload, (gssize) len, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  return root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
}

/* The string member @name, or @def. Unlike json_object_get_string_member_with_default (), an
 * object or array there is no critical: peers send what they like. */
static const gchar *
get_string (JsonObject *o, const gchar *name, const gchar *def)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return def;
  return json_node_get_string (n);
}

/* The latest shutdown that went out to @agent, unless an abort came after it. */
static Issuance *
told_shutdown (EfpDispatcher *self, const gchar *agent)
{
  guint i, j;

  for (i = self->issuances->len; i-- > 0;)
    {
      Issuance *is = self->issuances->pdata[i];

      if (g_str_equal (is->cmd->action, "test"))
        continue;
      for (j = 0; j < is->deliveries->len; j++)
        {
          Delivery *d = is->deliveries->pdata[j];
          if (g_str_equal (d->agent, agent))
            return g_str_equal (is->cmd->action, "shutdown") && d->sent ? is : NULL;
        }
    }
  return NULL;
}

static void
report_return (EfpDispatcher *self, const gchar *agent)
{
  Issuance *is = told_shutdown (self, agent);
  g_autoptr (EfpCommand) told = NULL;

  if (is == NULL || self->cb.agent_returned == NULL)
    return;
  /* a copy: the owner may send, and a send may drop this issuance from the history */
  told = efp_command_copy (is->cmd);
  self->cb.agent_returned (self->user_data, agent, told);
}

void
efp_dispatcher_handle_status (EfpDispatcher *self, const gchar *agent, const gchar *payload,
                              gsize len)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;
  EfpAgentInfo *info;
  const gchar *state;
  gboolean online, returned;

  if (len == 0)
    return; /* a cleared retained status */
  o = parse_object (payload, len, parser);
  if (o == NULL || (state = get_string (o, "state", NULL)) == NULL)
    {
      g_warning ("agent %s: status is not {\"state\":...} JSON; ignored", agent);
      return;
    }
  info = efp_dispatcher_get_agent (self, agent);
  online = g_str_equal (state, "online");
  if (!info->seen || online != info->online)
    g_message ("agent %s is %s", agent, online ? "online" : "offline");
  returned = info->seen && !info->online && online;
  info->seen = TRUE;
  info->online = online;
  info->last_seen_us = g_get_real_time ();
  g_free (info->host);
  info->host = g_strdup (get_string (o, "host", NULL));
  g_free (info->version);
  info->version = g_strdup (get_string (o, "version", NULL));
  if (self->cb.agent_changed != NULL)
    self->cb.agent_changed (self->user_data, info);
  check_stages (self);
  if (returned)
    report_return (self, agent);
}

void
efp_dispatcher_handle_ack (EfpDispatcher *self, const gchar *agent, const gchar *payload, gsize len)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse_object (payload, len, parser);
  const gchar *id, *result, *detail;
  EfpAgentInfo *info;
  guint i, j;

  if (o == NULL || (id = get_string (o, "id", NULL)) == NULL ||
      (result = get_string (o, "result", NULL)) == NULL)
    {
      g_warning ("agent %s: ack is not {\"id\":...,\"result\":...} JSON; ignored", agent);
      return;
    }
  detail = get_string (o, "detail", "");
  info = efp_dispatcher_get_agent (self, agent);
  info->last_seen_us = g_get_real_time ();
  /* A resend or a QoS 1 duplicate of a command the agent already carried out comes back
   * "rejected" as a replayed id (the detail every agent of ours gives): what the agent did
   * still stands. Any other later refusal, such as "power-off failed", is news. */
  if (g_str_equal (result, "rejected") && g_str_equal (detail, EFP_COMMAND_REPLAYED_DETAIL) &&
      g_strcmp0 (info->last_command_id, id) == 0 && info->last_result != NULL &&
      !g_str_equal (info->last_result, "sent") && !g_str_equal (info->last_result, "rejected"))
    {
      g_message ("agent %s refused a repeat of command %s (%s); its '%s' stands", agent, id, detail,
                 info->last_result);
      return;
    }
  /* the seed's words for the demo timeline */
  g_message ("ACK %s %s%s%s (command %s)", agent, result, *detail ? ": " : "", detail, id);
  g_free (info->last_command_id);
  info->last_command_id = g_strdup (id);
  g_free (info->last_result);
  info->last_result = g_strdup (result);
  for (i = 0; i < self->issuances->len; i++)
    {
      Issuance *is = self->issuances->pdata[i];
      if (!g_str_equal (is->cmd->id, id))
        continue;
      for (j = 0; j < is->deliveries->len; j++)
        {
          Delivery *d = is->deliveries->pdata[j];
          if (g_str_equal (d->agent, agent))
            {
              d->acked = TRUE;
              g_clear_handle_id (&d->ack_timer, g_source_remove);
            }
        }
    }
  if (self->cb.agent_changed != NULL)
    self->cb.agent_changed (self->user_data, info);
  check_stages (self);
}

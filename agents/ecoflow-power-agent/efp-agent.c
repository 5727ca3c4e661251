/* efp-agent.c: receive, verify, acknowledge and carry out power commands. */
#include "config.h"

#include "efp-agent.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "efp-agent-actions.h"
#include "efp-agent-seen.h"
#include "efp-command.h"
#include "efp-mqtt-client.h"
#include "efp-plugin-util.h"

typedef enum
{
  POWER_IDLE,
  POWER_HOOKS,      /* shutdown hooks running */
  POWER_SCHEDULING, /* logind call or shutdown command in flight */
  POWER_SCHEDULED,
} PowerState;

struct _EfpAgent
{
  GObject parent_instance;

  EfpAgentConfig *config;
  gboolean dry_run;
  EfpMqttClient *mqtt;
  EfpAgentSeen *seen;
  gchar *cmd_topic;
  gchar *ack_topic;
  gchar *status_topic;
  gchar *host;
  GQueue pending_acks; /* gchar* JSON, sent on the next CONNACK */

  PowerState power;
  gint64 power_off_at;      /* wall-clock seconds of the scheduled power-off (POWER_SCHEDULED) */
  EfpCommand *active;       /* the shutdown being carried out */
  GCancellable *power_work; /* cancelled by an abort */
};

G_DEFINE_TYPE (EfpAgent, efp_agent, G_TYPE_OBJECT)

static gint64
now_sec (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* Untrusted text for logs and the environment: one line, no control characters. */
static gchar *
clean_text (const gchar *s)
{
  gchar *out = g_utf8_make_valid (s != NULL ? s : "", -1);
  gchar *p;
  for (p = out; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  return out;
}

/* ---- MQTT output ---- */

static void
publish_json (EfpAgent *self, const gchar *topic, const gchar *json, gboolean retain)
{
  g_autoptr (GError) error = NULL;
  if (!efp_mqtt_client_publish (self->mqtt, topic, json, strlen (json), 1, retain, &error))
    g_debug ("publish to %s: %s", topic, error->message);
}

static void
publish_status (EfpAgent *self, gboolean online)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *json = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, online ? "online" : "offline");
  if (online)
    {
      json_builder_set_member_name (b, "version");
      json_builder_add_string_value (b, PACKAGE_VERSION);
      json_builder_set_member_name (b, "host");
      json_builder_add_string_value (b, self->host);
      json_builder_set_member_name (b, "ts");
      json_builder_add_int_value (b, now_sec ());
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json = json_generator_to_data (gen, NULL);
  publish_json (self, self->status_topic, json, TRUE);
}

static void
send_ack (EfpAgent *self, const EfpCommand *cmd, const gchar *result, const gchar *detail)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  gchar *json;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, cmd != NULL && cmd->id != NULL ? cmd->id : "");
  json_builder_set_member_name (b, "action");
  json_builder_add_string_value (b, cmd != NULL && cmd->action != NULL ? cmd->action : "");
  json_builder_set_member_name (b, "result");
  json_builder_add_string_value (b, result);
  json_builder_set_member_name (b, "detail");
  json_builder_add_string_value (b, detail);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json = json_generator_to_data (gen, NULL);
  g_info ("ACK %s %s: %s", cmd != NULL && cmd->id != NULL ? cmd->id : "-", result, detail);
  if (efp_mqtt_client_publish (self->mqtt, self->ack_topic, json, strlen (json), 1, FALSE, &error))
    {
      g_free (json);
      return;
    }
  /* keep it for the next connection rather than lose it */
  g_debug ("ack queued: %s", error->message);
  g_queue_push_tail (&self->pending_acks, json);
}

static void
reject (EfpAgent *self, const EfpCommand *cmd, const gchar *reason)
{
  g_autofree gchar *id = clean_text (cmd != NULL ? cmd->id : "-");
  g_autofree gchar *action = clean_text (cmd != NULL ? cmd->action : "-");
  g_warning ("REJECTED command %s (%s): %s", id, action, reason);
  send_ack (self, cmd, "rejected", reason);
}

/* ---- power work: hooks, then logind or the command ---- */

typedef struct
{
  EfpAgent *self;
  GCancellable *work; /* the run this callback belongs to */
} WorkRef;

static WorkRef *
work_ref_new (EfpAgent *self)
{
  WorkRef *w = g_new0 (WorkRef, 1);
  w->self = g_object_ref (self);
  w->work = g_object_ref (self->power_work);
  return w;
}

static void
work_ref_free (WorkRef *w)
{
  g_object_unref (w->self);
  g_object_unref (w->work);
  g_free (w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WorkRef, work_ref_free)

static EfpAgentActionEnv
action_env (const EfpCommand *cmd, const gchar *action, gchar **reason_out)
{
  EfpAgentActionEnv env;
  *reason_out = clean_text (cmd->reason);
  env.action = action;
  env.command_id = cmd->id;
  env.delay_sec = cmd->delay_sec;
  env.reason = *reason_out;
  return env;
}

static void
on_power_off_scheduled (EfpAgent *self, WorkRef *w, GError *error)
{
  if (g_cancellable_is_cancelled (w->work))
    return; /* an abort took over */
  if (error != NULL)
    {
      g_warning ("POWER-OFF FAILED for command %s: %s", self->active->id, error->message);
      self->power = POWER_IDLE;
      {
        g_autofree gchar *detail = g_strdup_printf ("power-off failed: %s", error->message);
        send_ack (self, self->active, "rejected", detail);
      }
      return;
    }
  self->power = POWER_SCHEDULED;
  g_message ("POWER-OFF scheduled in %" G_GINT64_FORMAT " s (command %s)", self->active->delay_sec,
             self->active->id);
}

static void
on_logind_scheduled (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (WorkRef) w = user_data;
  g_autoptr (GError) error = NULL;
  efp_agent_logind_schedule_finish (res, &error);
  on_power_off_scheduled (w->self, w, error);
}

static void
on_command_ran (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (WorkRef) w = user_data;
  g_autoptr (GError) error = NULL;
  efp_agent_run_command_finish (res, &error);
  on_power_off_scheduled (w->self, w, error);
}

static void
schedule_power_off (EfpAgent *self)
{
  self->power = POWER_SCHEDULING;
  self->power_off_at = now_sec () + self->active->delay_sec;
  if (self->config->method == EFP_AGENT_METHOD_LOGIND)
    efp_agent_logind_schedule_async (self->active->delay_sec, self->power_work, on_logind_scheduled,
                                     work_ref_new (self));
  else
    {
      g_autofree gchar *reason = NULL;
      EfpAgentActionEnv env = action_env (self->active, "shutdown", &reason);
      efp_agent_run_command_async (self->config->command, &env, self->config->hook_timeout_sec,
                                   self->power_work, on_command_ran, work_ref_new (self));
    }
}

static void
on_shutdown_hooks_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (WorkRef) w = user_data;
  g_autoptr (GError) error = NULL;
  guint n = 0;

  if (!efp_agent_run_hooks_finish (res, &n, &error) || g_cancellable_is_cancelled (w->work))
    return; /* aborted while the hooks ran */
  if (n > 0)
    g_message ("%u shutdown hooks done", n);
  schedule_power_off (w->self);
}

static const gchar *
method_name (EfpAgent *self)
{
  return self->config->method == EFP_AGENT_METHOD_LOGIND ? "logind" : "command";
}

static void
do_shutdown (EfpAgent *self, const EfpCommand *cmd)
{
  g_autoptr (GPtrArray) hooks = efp_agent_list_hooks (self->config->hooks_dir);
  g_autofree gchar *reason = clean_text (cmd->reason);
  g_autofree gchar *detail = NULL;

  if (self->dry_run || cmd->dry_run)
    {
      g_message ("DRY RUN: command %s: would run %u hooks and power off in %" G_GINT64_FORMAT
                 " s via %s (reason: %s)",
                 cmd->id, hooks->len, cmd->delay_sec, method_name (self), reason);
      detail =
        g_strdup_printf ("dry run: would power off in %" G_GINT64_FORMAT " s", cmd->delay_sec);
      send_ack (self, cmd, "scheduled", detail);
      return;
    }
  if (self->power == POWER_HOOKS || self->power == POWER_SCHEDULING)
    {
      detail = g_strdup_printf ("a shutdown is already in progress (command %s)", self->active->id);
      g_message ("SHUTDOWN command %s: %s", cmd->id, detail);
      send_ack (self, cmd, "scheduled", detail);
      return;
    }
  if (self->power == POWER_SCHEDULED && now_sec () + cmd->delay_sec >= self->power_off_at)
    {
      /* another policy, a cooldown re-fire or a resend: a later time would postpone the
       * power-off again and again while the battery drains */
      detail =
        g_strdup_printf ("power-off already scheduled in %" G_GINT64_FORMAT " s (command %s); kept",
                         MAX (self->power_off_at - now_sec (), 0), self->active->id);
      g_message ("SHUTDOWN command %s: %s", cmd->id, detail);
      send_ack (self, cmd, "scheduled", detail);
      return;
    }
  g_clear_pointer (&self->active, efp_command_free);
  self->active = efp_command_copy (cmd);
  g_clear_object (&self->power_work);
  self->power_work = g_cancellable_new ();
  if (self->power == POWER_SCHEDULED)
    {
      /* sooner than the schedule standing: the hooks have run, only the time moves */
      detail = g_strdup_printf ("rescheduled: power-off in %" G_GINT64_FORMAT " s via %s",
                                cmd->delay_sec, method_name (self));
      g_message ("SHUTDOWN command %s: %s (reason: %s)", cmd->id, detail, reason);
      send_ack (self, cmd, "scheduled", detail);
      schedule_power_off (self);
      return;
    }
  detail = g_strdup_printf ("power-off in %" G_GINT64_FORMAT " s via %s after %u hooks",
                            cmd->delay_sec, method_name (self), hooks->len);
  g_message ("SHUTDOWN command %s: %s (reason: %s)", cmd->id, detail, reason);
  /* acked now: hooks may take longer than the sender waits for an ack */
  send_ack (self, cmd, "scheduled", detail);
  self->power = POWER_HOOKS;
  {
    g_autofree gchar *env_reason = NULL;
    EfpAgentActionEnv env = action_env (cmd, "shutdown", &env_reason);
    efp_agent_run_hooks_async (self->config->hooks_dir, &env, self->config->hook_timeout_sec,
                               self->power_work, on_shutdown_hooks_done, work_ref_new (self));
  }
}

typedef struct
{
  EfpAgent *self;
  EfpCommand *cmd;
  gchar *stopped; /* what the abort interrupted (the hooks), for the ack */
} AbortRun;

static void
abort_run_free (AbortRun *a)
{
  g_object_unref (a->self);
  efp_command_free (a->cmd);
  g_free (a->stopped);
  g_free (a);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AbortRun, abort_run_free)

static void
on_abort_hooks_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  guint n = 0;
  if (efp_agent_run_hooks_finish (res, &n, &error) && n > 0)
    g_message ("%u abort hooks done", n);
}

static void
finish_abort (AbortRun *a, gboolean cancelled_schedule, GError *error)
{
  g_autofree gchar *detail = NULL;
  g_autofree gchar *reason = NULL;
  EfpAgentActionEnv env;

  if (error != NULL)
    {
      detail = g_strdup_printf ("abort failed: %s", error->message);
      g_warning ("ABORT command %s: %s", a->cmd->id, detail);
      send_ack (a->self, a->cmd, "rejected", detail);
      return;
    }
  if (cancelled_schedule)
    detail = g_strdup ("cancelled the scheduled power-off");
  else if (a->stopped != NULL)
    detail = g_strdup_printf ("stopped the %s", a->stopped);
  else if (a->self->config->method == EFP_AGENT_METHOD_COMMAND)
    detail = g_strdup ("no abort-command configured: nothing cancelled");
  else
    detail = g_strdup ("nothing was scheduled");
  g_message ("ABORT command %s: %s", a->cmd->id, detail);
  send_ack (a->self, a->cmd, "aborted", detail);
  env = action_env (a->cmd, "abort", &reason);
  efp_agent_run_hooks_async (a->self->config->hooks_dir, &env, a->self->config->hook_timeout_sec,
                             NULL, on_abort_hooks_done, NULL);
}

static void
on_logind_cancelled (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (AbortRun) a = user_data;
  g_autoptr (GError) error = NULL;
  gboolean cancelled = FALSE;
  efp_agent_logind_cancel_finish (res, &cancelled, &error);
  finish_abort (a, cancelled, error);
}

static void
on_abort_command_ran (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (AbortRun) a = user_data;
  g_autoptr (GError) error = NULL;
  efp_agent_run_command_finish (res, &error);
  finish_abort (a, error == NULL, error);
}

static void
do_abort (EfpAgent *self, const EfpCommand *cmd)
{
  AbortRun *a;
  g_autofree gchar *reason = clean_text (cmd->reason);

  if (self->dry_run || cmd->dry_run)
    {
      g_message ("DRY RUN: command %s: would cancel the power-off (reason: %s)", cmd->id, reason);
      send_ack (self, cmd, "aborted", "dry run: nothing cancelled");
      return;
    }
  a = g_new0 (AbortRun, 1);
  a->self = g_object_ref (self);
  a->cmd = efp_command_copy (cmd);
  if (self->power == POWER_HOOKS)
    a->stopped = g_strdup ("shutdown hooks");
  if (self->power_work != NULL)
    g_cancellable_cancel (self->power_work);
  self->power = POWER_IDLE;
  g_clear_pointer (&self->active, efp_command_free);

  if (self->config->method == EFP_AGENT_METHOD_LOGIND)
    efp_agent_logind_cancel_async (NULL, on_logind_cancelled, a);
  else if (self->config->abort_command != NULL)
    {
      g_autofree gchar *env_reason = NULL;
      EfpAgentActionEnv env = action_env (cmd, "abort", &env_reason);
      efp_agent_run_command_async (self->config->abort_command, &env,
                                   self->config->hook_timeout_sec, NULL, on_abort_command_ran, a);
    }
  else
    {
      finish_abort (a, FALSE, NULL);
      abort_run_free (a);
    }
}

/* ---- verification ---- */

/* The age rule of efp_command_verify(), for agents without a key. */
static gboolean
check_age (const EfpCommand *cmd, gint64 now, GError **error)
{
  if (now > cmd->issued_at + cmd->ttl_sec + EFP_COMMAND_CLOCK_SKEW_SEC)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "expired: issued %" G_GINT64_FORMAT " s ago, ttl %" G_GINT64_FORMAT " s",
                   now - cmd->issued_at, cmd->ttl_sec);
      return FALSE;
    }
  if (cmd->issued_at > now + EFP_COMMAND_CLOCK_SKEW_SEC)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "issued %" G_GINT64_FORMAT " s in the future", cmd->issued_at - now);
      return FALSE;
    }
  return TRUE;
}

static void
handle_command (EfpAgent *self, const gchar *data, gsize len)
{
  g_autoptr (EfpCommand) cmd = NULL;
  g_autoptr (GError) error = NULL;
  gint64 now = now_sec ();
  const EfpAgentConfig *c = self->config;

  cmd = efp_command_from_json (data, (gssize) len, &error);
  if (cmd == NULL)
    {
      reject (self, NULL, error->message);
      return;
    }
  if (c->key != NULL)
    {
      if (!efp_command_verify (cmd, c->id, c->key, c->key_len, now, &error))
        {
          reject (self, cmd, error->message);
          return;
        }
    }
  else if (!check_age (cmd, now, &error))
    {
      reject (self, cmd, error->message);
      return;
    }
  if (!g_str_equal (cmd->action, "shutdown") && !g_str_equal (cmd->action, "abort") &&
      !g_str_equal (cmd->action, "test"))
    {
      reject (self, cmd, "unknown action");
      return;
    }
  if (efp_agent_seen_contains (self->seen, cmd->id))
    {
      reject (self, cmd, EFP_COMMAND_REPLAYED_DETAIL);
      return;
    }
  if (!efp_agent_seen_add (self->seen, cmd->id, cmd->issued_at, cmd->ttl_sec, now, &error))
    g_warning ("replay memory not saved (kept in memory): %s", error->message);

  if (g_str_equal (cmd->action, "test"))
    {
      g_autofree gchar *detail = g_strdup_printf ("test received by %s", self->host);
      g_message ("TEST command %s: ok", cmd->id);
      send_ack (self, cmd, "tested", detail);
    }
  else if (g_str_equal (cmd->action, "shutdown"))
    do_shutdown (self, cmd);
  else
    do_abort (self, cmd);
}

/* ---- MQTT input ---- */

static void
on_message (EfpMqttClient *client, const gchar *topic, GBytes *payload, gboolean retained,
            EfpAgent *self)
{
  gsize len = 0;
  const gchar *data = g_bytes_get_data (payload, &len);

  if (g_strcmp0 (topic, self->cmd_topic) != 0)
    return;
  handle_command (self, data != NULL ? data : "", len);
}

static void
on_connected (EfpMqttClient *client, EfpAgent *self)
{
  gchar *json;

  publish_status (self, TRUE);
  while ((json = g_queue_pop_head (&self->pending_acks)) != NULL)
    {
      publish_json (self, self->ack_topic, json, FALSE);
      g_free (json);
    }
}

/* ---- lifecycle ---- */

EfpAgent *
efp_agent_new (EfpAgentConfig *config, gboolean dry_run, GError **error)
{
  g_autoptr (EfpAgent) self = g_object_new (EFP_TYPE_AGENT, NULL);
  g_autoptr (GError) local = NULL;
  g_autofree gchar *client_id = NULL;
  g_autofree gchar *offline = g_strdup ("{\"state\":\"offline\"}");
  EfpMqttOptions opts = { 0 };

  self->config = config;
  self->dry_run = dry_run;
  self->host = g_strdup (g_get_host_name ());
  self->cmd_topic = efp_agent_config_topic (config, "cmd");
  self->ack_topic = efp_agent_config_topic (config, "ack");
  self->status_topic = efp_agent_config_topic (config, "status");

  self->seen = efp_agent_seen_new (config->state_file);
  if (!efp_agent_seen_load (self->seen, &local))
    {
      /* the age check still refuses anything older than ttl + skew */
      g_warning ("replay memory unreadable, starting empty: %s", local->message);
      g_clear_error (&local);
    }
  if (!efp_agent_seen_save (self->seen, now_sec (), &local))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO,
                   "%s: [agent] state-file: expected a writable file, found: %s", config->path,
                   local->message);
      return NULL;
    }

  client_id = g_strdup_printf ("ecoflow-power-agent-%s", config->id);
  opts.host = config->host;
  opts.port = config->port;
  opts.client_id = client_id;
  opts.username = config->username;
  opts.password = config->password;
  opts.clean_session = FALSE; /* commands sent while we reconnect wait on the broker */
  opts.tls = config->tls;
  opts.ca_file = config->ca_file;
  opts.will_topic = self->status_topic;
  opts.will_payload = offline;
  self->mqtt = efp_mqtt_client_new (&opts, &local);
  if (self->mqtt == NULL)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID, "%s: [mqtt]: %s",
                   config->path, local->message);
      return NULL;
    }
  g_signal_connect (self->mqtt, "connected", G_CALLBACK (on_connected), self);
  g_signal_connect (self->mqtt, "message", G_CALLBACK (on_message), self);
  efp_mqtt_client_subscribe (self->mqtt, self->cmd_topic, 1);
  return g_steal_pointer (&self);
}

void
efp_agent_start (EfpAgent *self)
{
  const EfpAgentConfig *c = self->config;

  if (c->key == NULL)
    g_warning ("no [agent] key-file in %s: commands are not authenticated, anyone who can "
               "publish to %s on the broker can shut this host down",
               c->path, self->cmd_topic);
  if (self->dry_run)
    g_message ("dry run: commands are verified, logged and acknowledged, never carried out");
  g_message ("agent %s listening on %s (%s:%u, power-off via %s)", c->id, self->cmd_topic, c->host,
             c->port, method_name (self));
  efp_mqtt_client_start (self->mqtt);
}

void
efp_agent_stop (EfpAgent *self)
{
  if (efp_mqtt_client_is_connected (self->mqtt))
    publish_status (self, FALSE);
  efp_mqtt_client_stop (self->mqtt);
}

static void
efp_agent_finalize (GObject *object)
{
  EfpAgent *self = EFP_AGENT (object);

  if (self->mqtt != NULL)
    g_signal_handlers_disconnect_by_data (self->mqtt, self);
  g_clear_object (&self->mqtt);
  g_clear_pointer (&self->seen, efp_agent_seen_free);
  g_clear_pointer (&self->active, efp_command_free);
  g_clear_object (&self->power_work);
  g_queue_clear_full (&self->pending_acks, g_free);
  g_free (self->cmd_topic);
  g_free (self->ack_topic);
  g_free (self->status_topic);
  g_free (self->host);
  g_clear_pointer (&self->config, efp_agent_config_free);
  G_OBJECT_CLASS (efp_agent_parent_class)->finalize (object);
}

static void
efp_agent_class_init (EfpAgentClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = efp_agent_finalize;
}

static void
efp_agent_init (EfpAgent *self)
{
  g_queue_init (&self->pending_acks);
}

/* efp-command.c: build, sign, parse and verify agent commands (CONTRACT 4.3). */
#include "efp-command.h"

#include "efp-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

EfpCommand *
efp_command_new (const gchar *action, gint64 delay_sec, const gchar *reason, gint64 ttl_sec,
                 gint64 issued_at)
{
  EfpCommand *cmd = g_new0 (EfpCommand, 1);
  cmd->id = g_uuid_string_random ();
  cmd->action = g_strdup (action);
  cmd->delay_sec = delay_sec;
  cmd->reason = g_strdup (reason != NULL ? reason : "");
  cmd->ttl_sec = ttl_sec;
  cmd->issued_at = issued_at;
  cmd->stage = 1;
  return cmd;
}

void
efp_command_free (EfpCommand *cmd)
{
  if (cmd == NULL)
    return;
  g_free (cmd->id);
  g_free (cmd->action);
  g_free (cmd->reason);
  g_free (cmd->device);
  g_free (cmd->policy);
  g_free (cmd->sig);
  g_free (cmd);
}

EfpCommand *
efp_command_copy (const EfpCommand *c)
{
  EfpCommand *n = g_new0 (EfpCommand, 1);

  *n = *c;
  n->id = g_strdup (c->id);
  n->action = g_strdup (c->action);
  n->reason = g_strdup (c->reason);
  n->device = g_strdup (c->device);
  n->policy = g_strdup (c->policy);
  n->sig = g_strdup (c->sig);
  return n;
}

gchar *
efp_command_signing_text (const EfpCommand *cmd, const gchar *agent)
{
  return g_strdup_printf (
    "v1\n%s\n%s\n%s\n%" G_GINT64_FORMAT "\n%" G_GINT64_FORMAT "\n%" G_GINT64_FORMAT, agent, cmd->id,
    cmd->action, cmd->issued_at, cmd->delay_sec, cmd->ttl_sec);
}

gchar *
efp_command_compute_sig (const EfpCommand *cmd, const gchar *agent, const guint8 *key,
                         gsize key_len)
{
  g_autofree gchar *text = efp_command_signing_text (cmd, agent);
  /* g_compute_hmac_for_data returns lowercase hex */
  return g_compute_hmac_for_data (G_CHECKSUM_SHA256, key, key_len, (const guchar *) text,
                                  strlen (text));
}

void
efp_command_sign (EfpCommand *cmd, const gchar *agent, const guint8 *key, gsize key_len)
{
  g_clear_pointer (&cmd->sig, g_free);
  if (key != NULL)
    cmd->sig = efp_command_compute_sig (cmd, agent, key, key_len);
}

gchar *
efp_command_to_json (const EfpCommand *cmd)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, cmd->id);
  json_builder_set_member_name (b, "action");
  json_builder_add_string_value (b, cmd->action);
  json_builder_set_member_name (b, "delay_sec");
  json_builder_add_int_value (b, cmd->delay_sec);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, cmd->reason != NULL ? cmd->reason : "");
  json_builder_set_member_name (b, "ttl_sec");
  json_builder_add_int_value (b, cmd->ttl_sec);
  json_builder_set_member_name (b, "issued_at");
  json_builder_add_int_value (b, cmd->issued_at);
  /* CONTRACT 4.3 shows every key: a test command has no device or policy, so null */
  json_builder_set_member_name (b, "device");
  if (cmd->device != NULL)
    json_builder_add_string_value (b, cmd->device);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "policy");
  if (cmd->policy != NULL)
    json_builder_add_string_value (b, cmd->policy);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "stage");
  json_builder_add_int_value (b, cmd->stage);
  json_builder_set_member_name (b, "dry_run");
  json_builder_add_boolean_value (b, cmd->dry_run);
  if (cmd->sig != NULL)
    {
      json_builder_set_member_name (b, "sig");
      json_builder_add_string_value (b, cmd->sig);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static gboolean
get_int_member (JsonObject *o, const gchar *name, gboolean required, gint64 *out, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      if (required)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "command: missing \"%s\"", name);
          return FALSE;
        }
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "command: \"%s\" must be an integer",
                   name);
      return FALSE;
    }
  *out = json_node_get_int (n);
  return TRUE;
}

static gboolean
get_str_member (JsonObject *o, const gchar *name, gboolean required, gchar **out, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      if (required)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "command: missing \"%s\"", name);
          return FALSE;
        }
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "command: \"%s\" must be a string",
                   name);
      return FALSE;
    }
  g_free (*out);
  *out = g_strdup (json_node_get_string (n));
  return TRUE;
}

EfpCommand *
efp_command_from_json (const gchar *data, gssize len, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (EfpCommand) cmd = g_new0 (EfpCommand, 1);
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  JsonObject *o;
  JsonNode *dry;

  if (!efp_json_load (parser, data, len, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "command: not JSON: %s",
                   local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "command: not a JSON object");
      return NULL;
    }
  o = json_node_get_object (root);
  cmd->stage = 1;
  if (!get_str_member (o, "id", TRUE, &cmd->id, error) ||
      !get_str_member (o, "action", TRUE, &cmd->action, error) ||
      !get_int_member (o, "delay_sec", FALSE, &cmd->delay_sec, error) ||
      !get_str_member (o, "reason", FALSE, &cmd->reason, error) ||
      !get_int_member (o, "ttl_sec", FALSE, &cmd->ttl_sec, error) ||
      !get_int_member (o, "issued_at", FALSE, &cmd->issued_at, error) ||
      !get_str_member (o, "device", FALSE, &cmd->device, error) ||
      !get_str_member (o, "policy", FALSE, &cmd->policy, error) ||
      !get_int_member (o, "stage", FALSE, &cmd->stage, error) ||
      !get_str_member (o, "sig", FALSE, &cmd->sig, error))
    return NULL;
  dry = json_object_get_member (o, "dry_run");
  if (dry != NULL && !JSON_NODE_HOLDS_NULL (dry))
    {
      if (json_node_get_value_type (dry) != G_TYPE_BOOLEAN)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "command: \"dry_run\" must be a boolean");
          return NULL;
        }
      cmd->dry_run = json_node_get_boolean (dry);
    }
  if (cmd->delay_sec < 0 || cmd->ttl_sec < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "command: negative delay_sec or ttl_sec");
      return NULL;
    }
  return g_steal_pointer (&cmd);
}

static gboolean
equal_const_time (const gchar *a, const gchar *b)
{
  gsize la = strlen (a), lb = strlen (b), i;
  guint8 diff = (la != lb);
  for (i = 0; i < la && i < lb; i++)
    diff |= (guint8) (a[i] ^ b[i]);
  return diff == 0;
}

/* a + b and a - b clamped to the gint64 range: issued_at and ttl_sec are whatever the
 * sender wrote, and overflowing them would be undefined behaviour */
static gint64
add_clamped (gint64 a, gint64 b)
{
  if (b > 0 && a > G_MAXINT64 - b)
    return G_MAXINT64;
  if (b < 0 && a < G_MININT64 - b)
    return G_MININT64;
  return a + b;
}

static gint64
sub_clamped (gint64 a, gint64 b)
{
  if (b < 0 && a > G_MAXINT64 + b)
    return G_MAXINT64;
  if (b > 0 && a < G_MININT64 + b)
    return G_MININT64;
  return a - b;
}

gboolean
efp_command_verify (const EfpCommand *cmd, const gchar *agent, const guint8 *key, gsize key_len,
                    gint64 now, GError **error)
{
  g_autofree gchar *expected = NULL;

  if (cmd->sig == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "missing signature");
      return FALSE;
    }
  expected = efp_command_compute_sig (cmd, agent, key, key_len);
  if (!equal_const_time (expected, cmd->sig))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "bad signature");
      return FALSE;
    }
  if (now > add_clamped (add_clamped (cmd->issued_at, cmd->ttl_sec), EFP_COMMAND_CLOCK_SKEW_SEC))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "expired: issued %" G_GINT64_FORMAT " s ago, ttl %" G_GINT64_FORMAT " s",
                   sub_clamped (now, cmd->issued_at), cmd->ttl_sec);
      return FALSE;
    }
  if (cmd->issued_at > add_clamped (now, EFP_COMMAND_CLOCK_SKEW_SEC))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "issued %" G_GINT64_FORMAT " s in the future",
                   sub_clamped (cmd->issued_at, now));
      return FALSE;
    }
  return TRUE;
}

/* efp-agent-config.c: load and validate agent.conf; every error is one line. */
#include "config.h"

#include "efp-agent-config.h"

#include <string.h>

#include "efp-plugin-util.h"
#include "efp-secret.h"

static const gchar *const agent_keys[] = { "id", "key-file", "state-file", NULL };
static const gchar *const mqtt_keys[] = { "host", "port",    "username",       "password-file",
                                          "tls",  "ca-file", "command-prefix", NULL };
static const gchar *const shutdown_keys[] = { "method",    "command",          "abort-command",
                                              "hooks-dir", "hook-timeout-sec", NULL };

void
efp_agent_config_free (EfpAgentConfig *c)
{
  if (c == NULL)
    return;
  g_free (c->path);
  g_free (c->id);
  g_free (c->key_file);
  if (c->key != NULL)
    memset (c->key, 0, c->key_len);
  g_free (c->key);
  g_free (c->state_file);
  g_free (c->host);
  g_free (c->username);
  g_free (c->password_file);
  if (c->password != NULL)
    memset (c->password, 0, strlen (c->password));
  g_free (c->password);
  g_free (c->ca_file);
  g_free (c->command_prefix);
  g_free (c->command);
  g_free (c->abort_command);
  g_free (c->hooks_dir);
  g_free (c);
}

gchar *
efp_agent_config_topic (const EfpAgentConfig *c, const gchar *leaf)
{
  return g_strdup_printf ("%s/%s/%s", c->command_prefix, c->id, leaf);
}

/* Prefix a "[group] key: ..." error with the file name. */
static gboolean
fail_in_file (const gchar *path, GError *local, GError **error)
{
  g_set_error (error, EFP_CONFIG_ERROR, local->code, "%s: %s", path, local->message);
  g_error_free (local);
  return FALSE;
}

static gboolean
check_known (GKeyFile *kf, const gchar *path, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  guint i, j;

  for (i = 0; groups[i] != NULL; i++)
    {
      const gchar *const *known;
      g_auto (GStrv) keys = NULL;

      if (g_str_equal (groups[i], "agent"))
        known = agent_keys;
      else if (g_str_equal (groups[i], "mqtt"))
        known = mqtt_keys;
      else if (g_str_equal (groups[i], "shutdown"))
        known = shutdown_keys;
      else
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_UNKNOWN_KEY,
                       "%s: [%s]: expected one of the groups [agent], [mqtt], [shutdown], found "
                       "unknown group",
                       path, groups[i]);
          return FALSE;
        }
      keys = g_key_file_get_keys (kf, groups[i], NULL, NULL);
      for (j = 0; keys != NULL && keys[j] != NULL; j++)
        if (!g_strv_contains (known, keys[j]))
          {
            g_autofree gchar *list = g_strjoinv (", ", (gchar **) known);
            g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_UNKNOWN_KEY,
                         "%s: [%s] %s: expected one of %s, found unknown key", path, groups[i],
                         keys[j], list);
            return FALSE;
          }
    }
  return TRUE;
}

/* A string value, stripped; NULL when absent or empty. */
static gchar *
get_string (GKeyFile *kf, const gchar *group, const gchar *key)
{
  g_autofree gchar *raw = g_key_file_get_string (kf, group, key, NULL);
  if (raw == NULL)
    return NULL;
  g_strstrip (raw);
  if (raw[0] == '\0')
    return NULL;
  return g_steal_pointer (&raw);
}

/* An MQTT topic level: no '/', '+', '#', no control characters. */
static gboolean
is_topic_level (const gchar *s)
{
  const gchar *p;
  if (s == NULL || s[0] == '\0')
    return FALSE;
  for (p = s; *p != '\0'; p++)
    if (*p == '/' || *p == '+' || *p == '#' || (guchar) *p < 0x20 || *p == ' ')
      return FALSE;
  return g_utf8_validate (s, -1, NULL);
}

static gboolean
is_topic_prefix (const gchar *s)
{
  g_auto (GStrv) levels = NULL;
  guint i;
  if (s == NULL || s[0] == '\0' || s[0] == '/' || g_str_has_suffix (s, "/"))
    return FALSE;
  levels = g_strsplit (s, "/", -1);
  for (i = 0; levels[i] != NULL; i++)
    if (!is_topic_level (levels[i]))
      return FALSE;
  return TRUE;
}

static gboolean
read_secret (const gchar *path, const gchar *group, const gchar *key, const gchar *file,
             gchar **out, gsize *len, GError **error)
{
  g_autoptr (GError) local = NULL;
  *out = efp_secret_read_file (file, len, &local);
  if (*out == NULL)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO,
                   "%s: [%s] %s: expected a readable secret file, found: %s", path, group, key,
                   local->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_agent_group (EfpAgentConfig *c, GKeyFile *kf, GError **error)
{
  g_autofree gchar *raw_id = g_key_file_get_value (kf, "agent", "id", NULL);

  c->id = get_string (kf, "agent", "id");
  if (c->id == NULL)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_MISSING,
                   "%s: [agent] id: expected an agent id, found nothing", c->path);
      return FALSE;
    }
  if (!is_topic_level (c->id))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "%s: [agent] id: expected a name without '/', '+', '#' or spaces, found '%s'",
                   c->path, raw_id);
      return FALSE;
    }
  c->key_file = get_string (kf, "agent", "key-file");
  if (c->key_file != NULL)
    {
      gchar *key = NULL;
      if (!read_secret (c->path, "agent", "key-file", c->key_file, &key, &c->key_len, error))
        return FALSE;
      c->key = (guint8 *) key;
      if (c->key_len == 0)
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                       "%s: [agent] key-file: expected a non-empty key in %s, found an empty file",
                       c->path, c->key_file);
          return FALSE;
        }
    }
  c->state_file = get_string (kf, "agent", "state-file");
  if (c->state_file == NULL)
    c->state_file = g_strdup (EFP_AGENT_DEFAULT_STATE_FILE);
  return TRUE;
}

static gboolean
load_mqtt_group (EfpAgentConfig *c, GKeyFile *kf, GError **error)
{
  GError *local = NULL;
  gint64 port = 1883;

  c->host = get_string (kf, "mqtt", "host");
  if (c->host == NULL)
    c->host = g_strdup ("localhost");
  if (!efp_keyfile_get_int (kf, "mqtt", "port", 1883, 1, 65535, &port, &local))
    return fail_in_file (c->path, local, error);
  c->port = (guint16) port;
  c->username = get_string (kf, "mqtt", "username");
  c->password_file = get_string (kf, "mqtt", "password-file");
  if (c->password_file != NULL &&
      !read_secret (c->path, "mqtt", "password-file", c->password_file, &c->password, NULL, error))
    return FALSE;
  if (!efp_keyfile_get_bool (kf, "mqtt", "tls", FALSE, &c->tls, &local))
    return fail_in_file (c->path, local, error);
  c->ca_file = get_string (kf, "mqtt", "ca-file");
  if (c->ca_file != NULL && !g_file_test (c->ca_file, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (
        error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO,
        "%s: [mqtt] ca-file: expected a readable CA certificate file, found '%s' missing", c->path,
        c->ca_file);
      return FALSE;
    }
  c->command_prefix = get_string (kf, "mqtt", "command-prefix");
  if (c->command_prefix == NULL)
    c->command_prefix = g_strdup (EFP_AGENT_DEFAULT_COMMAND_PREFIX);
  if (!is_topic_prefix (c->command_prefix))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "%s: [mqtt] command-prefix: expected topic levels without '+', '#' or spaces, "
                   "found '%s'",
                   c->path, c->command_prefix);
      return FALSE;
    }
  return TRUE;
}

static gboolean
load_shutdown_group (EfpAgentConfig *c, GKeyFile *kf, GError **error)
{
  g_autofree gchar *method = get_string (kf, "shutdown", "method");
  GError *local = NULL;
  gint64 timeout = 60;

  if (method == NULL || g_str_equal (method, "logind"))
    c->method = EFP_AGENT_METHOD_LOGIND;
  else if (g_str_equal (method, "command"))
    c->method = EFP_AGENT_METHOD_COMMAND;
  else
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "%s: [shutdown] method: expected logind or command, found '%s'", c->path,
                   method);
      return FALSE;
    }
  c->command = get_string (kf, "shutdown", "command");
  c->abort_command = get_string (kf, "shutdown", "abort-command");
  if (c->method == EFP_AGENT_METHOD_COMMAND && c->command == NULL)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_MISSING,
                   "%s: [shutdown] command: expected a command line with method=command, found "
                   "nothing",
                   c->path);
      return FALSE;
    }
  c->hooks_dir = get_string (kf, "shutdown", "hooks-dir");
  if (c->hooks_dir == NULL)
    c->hooks_dir = g_strdup (EFP_AGENT_DEFAULT_HOOKS_DIR);
  if (!efp_keyfile_get_seconds (kf, "shutdown", "hook-timeout-sec", 60, FALSE, &timeout, &local))
    return fail_in_file (c->path, local, error);
  c->hook_timeout_sec = (guint) timeout;
  return TRUE;
}

EfpAgentConfig *
efp_agent_config_load (const gchar *path, GError **error)
{
  g_autoptr (EfpAgentConfig) c = g_new0 (EfpAgentConfig, 1);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  c->path = g_strdup (path);
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO,
                   "%s: expected a readable key file, found: %s", path, local->message);
      return NULL;
    }
  if (!check_known (kf, path, error) || !load_agent_group (c, kf, error) ||
      !load_mqtt_group (c, kf, error) || !load_shutdown_group (c, kf, error))
    return NULL;
  return g_steal_pointer (&c);
}

/* efp-config.c: load, validate and merge the key files and the seed .env.
 *
 * Every error is one line naming the file, the [group] and key (or the line),
 * what was expected and what was found; the daemon exits 78 with it.
 */
#include "config.h"
#include "efp-config-private.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "efp-cloud-login.h"
#include "efp-env-file.h"
#include "efp-secret.h"

#define DEFAULT_CONFIG_FILE EFP_SYSCONFDIR "/ecoflow-powerd.conf"

/* Keys of each fixed group (CONTRACT 3.1). */
static const gchar *const mqtt_keys[] = { "host",           "port",       "username",
                                          "password-file",  "tls",        "ca-file",
                                          "client-id",      "raw-prefix", "state-prefix",
                                          "command-prefix", NULL };
static const gchar *const cloud_keys[] = {
  "enabled",         "auth",    "region",        "api-url", "email", "password-file", "access-key",
  "secret-key-file", "ca-file", "republish-raw", NULL
};
static const gchar *const device_keys[] = { "serial", "decoder", "agents", "capacity-wh", NULL };
static const gchar *const group_keys[] = { "devices", NULL };
static const gchar *const policy_keys[] = { "module", "devices", "agents", NULL };
static const gchar *const agent_keys[] = { "key-file", "stage", "stage-timeout-sec", NULL };
static const gchar *const daemon_keys[] = { "state-file", "dry-run", NULL };
static const gchar *const nut_keys[] = { "enabled", "listen", "port", "users-file", NULL };
static const gchar *const notify_keys[] = {
  "pushover-token-file", "pushover-user",    "telegram-token-file",
  "telegram-chat",       "ntfy-url",         "webhook-url",
  "pushover-api-url",    "telegram-api-url", NULL
};
static const gchar *const wol_keys[] = {
  "mac", "address", "port", "after-grid-sec", "min-soc", NULL
};
static const gchar *const metrics_keys[] = { "listen", "port", NULL };

/* Seed names (CONTRACT 3.3) plus the names the seed's own .env-example uses. */
static const gchar *const seed_names[] = { "MQTT_HOST",
                                           "MQTT_PORT",
                                           "MQTT_USER",
                                           "MQTT_PASS",
                                           "ECOFLOW_BASE",
                                           "POLICY_SOC_MIN",
                                           "POLICY_DEBOUNCE_SEC",
                                           "POLICY_COOLDOWN_SEC",
                                           "DEVICE_TO_AGENTS_JSON",
                                           "ECOFLOW_ACCESS_KEY",
                                           "ECOFLOW_SECRET_KEY",
                                           "ECOFLOW_DEVICE_LIST",
                                           "ECOFLOW_USER",
                                           "ECOFLOW_PASS",
                                           "ECOFLOW_USERNAME",
                                           "ECOFLOW_PASSWORD",
                                           NULL };

typedef struct
{
  EfpConfig *config;
  const EfpConfigLoadOptions *options;
  GHashTable *origin; /* "group\x1fkey" and "group" -> file name */
  GPtrArray *groups;  /* every group seen, in file order: a group may have no keys */
} Loader;

static const gchar *
origin_of (Loader *l, const gchar *group, const gchar *key)
{
  g_autofree gchar *k = key != NULL ? g_strdup_printf ("%s\x1f%s", group, key) : g_strdup (group);
  const gchar *f = g_hash_table_lookup (l->origin, k);
  if (f == NULL && key != NULL)
    f = g_hash_table_lookup (l->origin, group);
  if (f == NULL && l->config->files->len > 0)
    f = l->config->files->pdata[0];
  return f != NULL ? f : "configuration";
}

/* Prefix @error with the file that defined group/key. */
static gboolean
fail_at (Loader *l, const gchar *group, const gchar *key, GError **error)
{
  g_prefix_error (error, "%s: ", origin_of (l, group, key));
  return FALSE;
}

static gboolean G_GNUC_PRINTF (5, 6)
  set_fail (Loader *l, const gchar *group, const gchar *key, GError **error, const gchar *fmt, ...)
{
  va_list ap;
  g_autofree gchar *msg = NULL;
  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID, "%s: %s",
               origin_of (l, group, key), msg);
  return FALSE;
}

static void
device_config_free (gpointer p)
{
  EfpDeviceConfig *d = p;
  g_free (d->name);
  g_free (d->serial);
  g_free (d->decoder);
  g_strfreev (d->agents);
  g_clear_pointer (&d->options, g_hash_table_unref);
  g_free (d);
}

static void
group_config_free (gpointer p)
{
  EfpGroupConfig *g = p;
  g_free (g->name);
  g_strfreev (g->devices);
  g_free (g);
}

static void
policy_config_free (gpointer p)
{
  EfpPolicyConfig *c = p;
  if (c->module_config != NULL && c->vtable != NULL)
    c->vtable->config_free (c->module_config);
  g_free (c->name);
  g_free (c->module);
  g_strfreev (c->devices);
  g_strfreev (c->agents);
  g_free (c->group);
  g_free (c);
}

static void
agent_config_free (gpointer p)
{
  EfpAgentConfig *a = p;
  g_free (a->id);
  g_free (a->key_file);
  if (a->key != NULL)
    memset (a->key, 0, a->key_len);
  g_free (a->key);
  g_free (a);
}

void
efp_config_secret_free (gchar *s)
{
  if (s != NULL)
    memset (s, 0, strlen (s));
  g_free (s);
}

void
efp_config_free (EfpConfig *c)
{
  if (c == NULL)
    return;
  g_ptr_array_unref (c->files);
  g_free (c->env_file);
  g_free (c->mqtt.host);
  g_free (c->mqtt.username);
  efp_config_secret_free (c->mqtt.password);
  g_free (c->mqtt.password_file);
  g_free (c->mqtt.ca_file);
  g_free (c->mqtt.client_id);
  g_free (c->mqtt.raw_prefix);
  g_free (c->mqtt.state_prefix);
  g_free (c->mqtt.command_prefix);
  g_free (c->cloud.region);
  g_free (c->cloud.api_url);
  g_free (c->cloud.email);
  efp_config_secret_free (c->cloud.password);
  g_free (c->cloud.password_file);
  g_free (c->cloud.access_key);
  efp_config_secret_free (c->cloud.secret_key);
  g_free (c->cloud.secret_key_file);
  g_free (c->cloud.ca_file);
  g_strfreev (c->cloud.serials);
  g_free (c->nut.listen);
  g_free (c->nut.users_file);
  g_free (c->state_file);
  g_ptr_array_unref (c->devices);
  g_ptr_array_unref (c->groups);
  g_ptr_array_unref (c->policies);
  g_ptr_array_unref (c->agents);
  g_clear_pointer (&c->keyfile, g_key_file_unref);
  g_clear_pointer (&c->group_origin, g_hash_table_unref);
  g_free (c);
}

static EfpConfig *
config_new_defaults (void)
{
  EfpConfig *c = g_new0 (EfpConfig, 1);
  const gchar *statedir = g_getenv ("STATE_DIRECTORY");

  c->files = g_ptr_array_new_with_free_func (g_free);
  c->mqtt.host = g_strdup ("localhost");
  c->mqtt.port = 1883;
  c->mqtt.client_id = g_strdup ("ecoflow-powerd");
  c->mqtt.raw_prefix = g_strdup ("bridge-ecoflow");
  c->mqtt.state_prefix = g_strdup ("bridge-ecoflow");
  c->mqtt.command_prefix = g_strdup ("power-manager");
  c->cloud.auth = EFP_CLOUD_AUTH_APP;
  c->cloud.region = g_strdup ("eu");
  c->cloud.republish_raw = TRUE;
  c->nut.listen = g_strdup ("127.0.0.1");
  c->nut.port = 3493;
  /* CONTRACT 7: [daemon] state-file, else $STATE_DIRECTORY/state.json, else /var/lib */
  if (statedir != NULL && *statedir != '\0')
    {
      g_auto (GStrv) dirs = g_strsplit (statedir, ":", 2);
      c->state_file = g_build_filename (dirs[0], "state.json", NULL);
    }
  else
    c->state_file = g_strdup (EFP_LOCALSTATEDIR "/lib/ecoflow-power/state.json");
  c->devices = g_ptr_array_new_with_free_func (device_config_free);
  c->groups = g_ptr_array_new_with_free_func (group_config_free);
  c->policies = g_ptr_array_new_with_free_func (policy_config_free);
  c->agents = g_ptr_array_new_with_free_func (agent_config_free);
  c->keyfile = g_key_file_new ();
  c->group_origin = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return c;
}

/* ---- key files ---------------------------------------------------------------------- */

static const gchar *const *
fixed_group_keys (const gchar *group, const gchar **kind)
{
  static const struct
  {
    const gchar *name;
    const gchar *const *keys;
    gboolean named;
  } table[] = {
    { "mqtt", mqtt_keys, FALSE },     { "cloud", cloud_keys, FALSE },
    { "daemon", daemon_keys, FALSE }, { "nut", nut_keys, FALSE },
    { "notify", notify_keys, FALSE }, { "metrics", metrics_keys, FALSE },
    { "device", device_keys, TRUE },  { "group", group_keys, TRUE },
    { "policy", policy_keys, TRUE },  { "agent", agent_keys, TRUE },
    { "wol", wol_keys, TRUE },
  };
  const gchar *colon = strchr (group, ':');
  gsize n = colon != NULL ? (gsize) (colon - group) : strlen (group);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (table); i++)
    {
      if (strlen (table[i].name) != n || strncmp (group, table[i].name, n) != 0)
        continue;
      if (table[i].named != (colon != NULL && colon[1] != '\0'))
        return NULL;
      *kind = table[i].name;
      return table[i].keys;
    }
  return NULL;
}

static gchar *
join_keys (const gchar *const *a, const gchar *const *b)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (; a != NULL && *a != NULL; a++)
    g_string_append_printf (s, "%s%s", s->len ? ", " : "", *a);
  for (; b != NULL && *b != NULL; b++)
    g_string_append_printf (s, "%s%s", s->len ? ", " : "", *b);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Extra keys a [device:] or [policy:] group may carry, from the plugins. */
static gboolean
extra_key_allowed (Loader *l, GKeyFile *kf, const gchar *group, const gchar *kind, const gchar *key,
                   const gchar *const **extra)
{
  EfpPluginRegistry *reg = l->options->registry;
  *extra = NULL;
  if (reg == NULL)
    return g_str_equal (kind, "policy"); /* unchecked without plugins */
  if (g_str_equal (kind, "policy"))
    {
      g_autofree gchar *module = g_key_file_get_value (kf, group, "module", NULL);
      const EfpPolicyVTable *vt =
        module != NULL ? efp_plugin_registry_get_policy (reg, g_strstrip (module)) : NULL;
      if (vt == NULL)
        return TRUE; /* the unknown module is reported later */
      *extra = vt->option_keys;
      return vt->option_keys != NULL && g_strv_contains (vt->option_keys, key);
    }
  if (g_str_equal (kind, "device"))
    {
      g_autofree gchar *decoder = g_key_file_get_value (kf, group, "decoder", NULL);
      GPtrArray *decs = efp_plugin_registry_get_decoders (reg);
      guint i;
      if (decoder != NULL && !g_str_equal (g_strstrip (decoder), "auto"))
        {
          const EfpDecoderVTable *vt = efp_plugin_registry_get_decoder (reg, decoder);
          if (vt == NULL)
            return TRUE;
          *extra = vt->option_keys;
          return vt->option_keys != NULL && g_strv_contains (vt->option_keys, key);
        }
      /* decoder chosen at run time: any decoder's option key is fine */
      for (i = 0; i < decs->len; i++)
        {
          const EfpDecoderVTable *vt = decs->pdata[i];
          if (vt->option_keys != NULL && g_strv_contains (vt->option_keys, key))
            return TRUE;
        }
    }
  return FALSE;
}

static gboolean
check_keyfile_names (Loader *l, GKeyFile *kf, const gchar *path, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  guint i, j;

  for (i = 0; groups[i] != NULL; i++)
    {
      const gchar *kind = NULL;
      const gchar *const *keys = fixed_group_keys (groups[i], &kind);
      g_auto (GStrv) present = NULL;

      if (keys == NULL)
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_UNKNOWN_KEY,
                       "%s: [%s]: expected one of [mqtt] [cloud] [daemon] [nut] [notify] "
                       "[metrics] [device:NAME] [group:NAME] [policy:NAME] [agent:ID] "
                       "[wol:NAME], found an unknown group",
                       path, groups[i]);
          return FALSE;
        }
      present = g_key_file_get_keys (kf, groups[i], NULL, NULL);
      for (j = 0; present[j] != NULL; j++)
        {
          const gchar *const *extra = NULL;
          if (g_strv_contains (keys, present[j]))
            continue;
          if (extra_key_allowed (l, kf, groups[i], kind, present[j], &extra))
            continue;
          {
            g_autofree gchar *all = join_keys (keys, extra);
            g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_UNKNOWN_KEY,
                         "%s: [%s] %s: expected one of %s, found an unknown key", path, groups[i],
                         present[j], all);
            return FALSE;
          }
        }
    }
  return TRUE;
}

static gboolean
merge_keyfile (Loader *l, const gchar *path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) groups = NULL;
  guint i, j;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, EFP_CONFIG_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? EFP_CONFIG_ERROR_IO
                     : EFP_CONFIG_ERROR_INVALID,
                   "%s: %s", path, local->message);
      return FALSE;
    }
  if (!check_keyfile_names (l, kf, path, error))
    return FALSE;
  g_ptr_array_add (l->config->files, g_strdup (path));
  groups = g_key_file_get_groups (kf, NULL);
  for (i = 0; groups[i] != NULL; i++)
    {
      g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[i], NULL, NULL);
      if (!g_hash_table_contains (l->origin, groups[i]))
        g_ptr_array_add (l->groups, g_strdup (groups[i]));
      g_hash_table_replace (l->config->group_origin, g_strdup (groups[i]), g_strdup (path));
      g_hash_table_replace (l->origin, g_strdup (groups[i]), g_strdup (path));
      for (j = 0; keys[j] != NULL; j++)
        {
          g_autofree gchar *v = g_key_file_get_value (kf, groups[i], keys[j], NULL);
          g_key_file_set_value (l->config->keyfile, groups[i], keys[j], v);
          g_hash_table_replace (l->origin, g_strdup_printf ("%s\x1f%s", groups[i], keys[j]),
                                g_strdup (path));
        }
    }
  return TRUE;
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *) a, *(const gchar *const *) b);
}

static gboolean
load_keyfiles (Loader *l, GError **error)
{
  const gchar *path =
    l->options->config_file != NULL ? l->options->config_file : DEFAULT_CONFIG_FILE;
  g_autofree gchar *dir = NULL;
  g_autofree gchar *confd = NULL;
  g_autoptr (GDir) d = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const gchar *name;
  guint i;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (!merge_keyfile (l, path, error))
        return FALSE;
    }
  else if (l->options->config_explicit)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO,
                   "%s: expected a configuration file, found nothing", path);
      return FALSE;
    }
  /* the conf.d folder beside the main file: every .conf in it, in name order */
  dir = g_path_get_dirname (path);
  confd = g_build_filename (dir, "conf.d", NULL);
  d = g_dir_open (confd, 0, NULL);
  if (d == NULL)
    return TRUE;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".conf"))
      g_ptr_array_add (names, g_build_filename (confd, name, NULL));
  g_ptr_array_sort (names, cmp_str);
  for (i = 0; i < names->len; i++)
    if (!merge_keyfile (l, names->pdata[i], error))
      return FALSE;
  return TRUE;
}

/* ---- typed getters on the merged key file ------------------------------------------ */

static gboolean
get_string (Loader *l, const gchar *group, const gchar *key, gchar **inout, GError **error)
{
  g_autofree gchar *v = g_key_file_get_string (l->config->keyfile, group, key, NULL);
  if (v == NULL)
    {
      /* present but not a valid string (bad escape) */
      if (g_key_file_has_key (l->config->keyfile, group, key, NULL))
        return set_fail (l, group, key, error,
                         "[%s] %s: expected a string, found an invalid "
                         "escape sequence",
                         group, key);
      return TRUE;
    }
  g_strstrip (v);
  g_free (*inout);
  *inout = *v != '\0' ? g_steal_pointer (&v) : NULL;
  return TRUE;
}

static gboolean
get_bool (Loader *l, const gchar *group, const gchar *key, gboolean *inout, GError **error)
{
  if (!efp_keyfile_get_bool (l->config->keyfile, group, key, *inout, inout, error))
    return fail_at (l, group, key, error);
  return TRUE;
}

static gboolean
get_int (Loader *l, const gchar *group, const gchar *key, gint64 min, gint64 max, gint64 *inout,
         GError **error)
{
  if (!efp_keyfile_get_int (l->config->keyfile, group, key, *inout, min, max, inout, error))
    return fail_at (l, group, key, error);
  return TRUE;
}

static gboolean
get_port (Loader *l, const gchar *group, const gchar *key, guint16 *inout, GError **error)
{
  gint64 v = *inout;
  if (!get_int (l, group, key, 1, 65535, &v, error))
    return FALSE;
  *inout = (guint16) v;
  return TRUE;
}

GStrv
efp_config_split_list (const gchar *s)
{
  g_auto (GStrv) parts = g_strsplit_set (s, ";,", -1);
  g_autoptr (GPtrArray) out = g_ptr_array_new ();
  guint i;
  for (i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (*parts[i] != '\0')
        g_ptr_array_add (out, g_strdup (parts[i]));
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

static gboolean
get_list (Loader *l, const gchar *group, const gchar *key, GStrv *out, GError **error)
{
  g_autofree gchar *v = NULL;
  if (!get_string (l, group, key, &v, error))
    return FALSE;
  if (v != NULL)
    {
      g_strfreev (*out);
      *out = efp_config_split_list (v);
    }
  return TRUE;
}

static gboolean
read_secret (Loader *l, const gchar *group, const gchar *key, const gchar *path, gchar **out,
             gsize *len, GError **error)
{
  g_autoptr (GError) local = NULL;
  gchar *s = efp_secret_read_file (path, len, &local);
  if (s == NULL)
    return set_fail (l, group, key, error, "[%s] %s: expected a readable secret file, found %s",
                     group, key, local->message);
  efp_config_secret_free (*out);
  *out = s;
  return TRUE;
}

gboolean
efp_config_valid_name (const gchar *s)
{
  return s != NULL && *s != '\0' && strpbrk (s, "/+#") == NULL && g_utf8_validate (s, -1, NULL);
}

/* ---- sections ------------------------------------------------------------------------ */

static gboolean
load_mqtt (Loader *l, GError **error)
{
  EfpMqttConfig *m = &l->config->mqtt;
  const gchar *g = "mqtt";
  g_autofree gchar *host = NULL;

  if (!get_string (l, g, "host", &host, error) || !get_port (l, g, "port", &m->port, error) ||
      !get_string (l, g, "username", &m->username, error) ||
      !get_string (l, g, "password-file", &m->password_file, error) ||
      !get_bool (l, g, "tls", &m->tls, error) ||
      !get_string (l, g, "ca-file", &m->ca_file, error) ||
      !get_string (l, g, "client-id", &m->client_id, error) ||
      !get_string (l, g, "raw-prefix", &m->raw_prefix, error) ||
      !get_string (l, g, "state-prefix", &m->state_prefix, error) ||
      !get_string (l, g, "command-prefix", &m->command_prefix, error))
    return FALSE;
  if (host != NULL)
    {
      g_free (m->host);
      m->host = g_steal_pointer (&host);
    }
  if (m->password_file != NULL &&
      !read_secret (l, g, "password-file", m->password_file, &m->password, NULL, error))
    return FALSE;
  if (m->password == NULL)
    m->password = efp_secret_read_credential ("mqtt-password", NULL);
  if (m->client_id == NULL || m->raw_prefix == NULL || m->state_prefix == NULL ||
      m->command_prefix == NULL)
    return set_fail (l, g, NULL, error, "[mqtt] client-id and the prefixes must not be empty");
  return TRUE;
}

static gboolean
load_cloud (Loader *l, GError **error)
{
  EfpCloudConfig *c = &l->config->cloud;
  const gchar *g = "cloud";
  g_autofree gchar *auth = NULL;

  if (!get_bool (l, g, "enabled", &c->enabled, error) || !get_string (l, g, "auth", &auth, error) ||
      !get_string (l, g, "region", &c->region, error) ||
      !get_string (l, g, "api-url", &c->api_url, error) ||
      !get_string (l, g, "email", &c->email, error) ||
      !get_string (l, g, "password-file", &c->password_file, error) ||
      !get_string (l, g, "access-key", &c->access_key, error) ||
      !get_string (l, g, "secret-key-file", &c->secret_key_file, error) ||
      !get_string (l, g, "ca-file", &c->ca_file, error) ||
      !get_bool (l, g, "republish-raw", &c->republish_raw, error))
    return FALSE;
  if (auth != NULL)
    {
      if (g_str_equal (auth, "app"))
        c->auth = EFP_CLOUD_AUTH_APP;
      else if (g_str_equal (auth, "open-api"))
        c->auth = EFP_CLOUD_AUTH_OPEN_API;
      else
        return set_fail (l, g, "auth", error, "[cloud] auth: expected app or open-api, found '%s'",
                         auth);
    }
  if (c->region == NULL)
    c->region = g_strdup ("eu");
  if (!g_str_equal (c->region, "eu") && !g_str_equal (c->region, "us"))
    return set_fail (l, g, "region", error, "[cloud] region: expected eu or us, found '%s'",
                     c->region);
  if (c->api_url != NULL)
    {
      g_autoptr (GError) local = NULL;
      g_autofree gchar *url = efp_cloud_resolve_api_url (c->api_url, c->region, &local);
      /* plain http only to loopback test servers; TLS everywhere else */
      if (url == NULL)
        return set_fail (l, g, "api-url", error,
                         "[cloud] api-url: expected an https:// URL (http:// only to a loopback "
                         "host), found '%s'",
                         c->api_url);
    }
  if (c->password_file != NULL &&
      !read_secret (l, g, "password-file", c->password_file, &c->password, NULL, error))
    return FALSE;
  if (c->secret_key_file != NULL &&
      !read_secret (l, g, "secret-key-file", c->secret_key_file, &c->secret_key, NULL, error))
    return FALSE;
  if (c->password == NULL)
    c->password = efp_secret_read_credential ("cloud-password", NULL);
  if (c->secret_key == NULL)
    c->secret_key = efp_secret_read_credential ("cloud-secret-key", NULL);
  return TRUE;
}

static gboolean
load_daemon_nut (Loader *l, GError **error)
{
  EfpConfig *c = l->config;
  g_autofree gchar *state_file = NULL;
  gint64 port;

  if (!get_string (l, "daemon", "state-file", &state_file, error) ||
      !get_bool (l, "daemon", "dry-run", &c->dry_run, error) ||
      !get_bool (l, "nut", "enabled", &c->nut.enabled, error) ||
      !get_string (l, "nut", "listen", &c->nut.listen, error) ||
      !get_port (l, "nut", "port", &c->nut.port, error) ||
      !get_string (l, "nut", "users-file", &c->nut.users_file, error))
    return FALSE;
  if (state_file != NULL)
    {
      g_free (c->state_file);
      c->state_file = g_steal_pointer (&state_file);
    }
  if (c->nut.listen == NULL)
    c->nut.listen = g_strdup ("127.0.0.1");
  port = 9787;
  if (!get_int (l, "metrics", "port", 1, 65535, &port, error))
    return FALSE;
  return TRUE;
}

EfpDeviceConfig *
efp_config_device_new (const gchar *name)
{
  EfpDeviceConfig *d = g_new0 (EfpDeviceConfig, 1);
  d->name = g_strdup (name);
  d->capacity_wh = NAN;
  d->options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return d;
}

EfpDeviceConfig *
efp_config_find_device_mut (EfpConfig *c, const gchar *name_or_serial)
{
  return (EfpDeviceConfig *) efp_config_find_device (c, name_or_serial);
}

static gboolean
load_device (Loader *l, const gchar *group, const gchar *name, GError **error)
{
  EfpDeviceConfig *d;
  g_autofree gchar *cap = NULL;
  g_auto (GStrv) keys = NULL;
  guint i;

  if (!efp_config_valid_name (name))
    return set_fail (l, group, NULL, error,
                     "[%s]: expected a device name without '/', '+' or '#', found '%s'", group,
                     name);
  d = efp_config_device_new (name);
  g_ptr_array_add (l->config->devices, d);
  if (!get_string (l, group, "serial", &d->serial, error) ||
      !get_string (l, group, "decoder", &d->decoder, error) ||
      !get_list (l, group, "agents", &d->agents, error) ||
      !get_string (l, group, "capacity-wh", &cap, error))
    return FALSE;
  if (d->serial != NULL && !efp_config_valid_name (d->serial))
    return set_fail (l, group, "serial", error, "[%s] serial: expected a serial number, found '%s'",
                     group, d->serial);
  if (d->decoder != NULL && g_str_equal (d->decoder, "auto"))
    g_clear_pointer (&d->decoder, g_free);
  if (d->decoder != NULL && l->options->registry != NULL &&
      efp_plugin_registry_get_decoder (l->options->registry, d->decoder) == NULL)
    return set_fail (l, group, "decoder", error,
                     "[%s] decoder: expected auto or a loaded decoder, found '%s'", group,
                     d->decoder);
  if (cap != NULL)
    {
      gchar *end = NULL;
      gdouble v = g_ascii_strtod (cap, &end);
      if (end == NULL || *end != '\0' || !(v > 0 && v < 1e6))
        return set_fail (l, group, "capacity-wh", error,
                         "[%s] capacity-wh: expected a number of watt-hours above 0, found '%s'",
                         group, cap);
      d->capacity_wh = v;
    }
  /* everything else was accepted as a decoder option by check_keyfile_names */
  keys = g_key_file_get_keys (l->config->keyfile, group, NULL, NULL);
  for (i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (device_keys, keys[i]))
      {
        g_autofree gchar *v = NULL;
        if (!get_string (l, group, keys[i], &v, error))
          return FALSE;
        g_hash_table_replace (d->options, g_strdup (keys[i]), g_strdup (v != NULL ? v : ""));
      }
  return TRUE;
}

static gboolean
load_agent (Loader *l, const gchar *group, const gchar *id, GError **error)
{
  EfpAgentConfig *a = g_new0 (EfpAgentConfig, 1);
  gint64 stage = 1, timeout = 0;
  g_autofree gchar *cred = NULL;

  a->id = g_strdup (id);
  g_ptr_array_add (l->config->agents, a);
  if (!efp_config_valid_name (id))
    return set_fail (l, group, NULL, error,
                     "[%s]: expected an agent id without '/', '+' or '#', found '%s'", group, id);
  if (!get_string (l, group, "key-file", &a->key_file, error) ||
      !get_int (l, group, "stage", 1, 16, &stage, error) ||
      !get_int (l, group, "stage-timeout-sec", 1, 604800, &timeout, error))
    return FALSE;
  a->stage = (gint) stage;
  a->stage_timeout_sec = (gint) timeout;
  if (a->key_file != NULL)
    {
      gchar *key = NULL;
      if (!read_secret (l, group, "key-file", a->key_file, &key, &a->key_len, error))
        return FALSE;
      a->key = (guint8 *) key;
      if (a->key_len == 0)
        return set_fail (l, group, "key-file", error,
                         "[%s] key-file: expected a non-empty key, found an empty file", group);
    }
  else
    {
      /* systemd LoadCredential=agent-<id>.key */
      g_autofree gchar *name = g_strdup_printf ("agent-%s.key", id);
      a->key = (guint8 *) efp_secret_read_credential (name, &a->key_len);
    }
  return TRUE;
}

EfpAgentConfig *
efp_config_ensure_agent (EfpConfig *c, const gchar *id)
{
  EfpAgentConfig *a = (EfpAgentConfig *) efp_config_find_agent (c, id);
  if (a == NULL)
    {
      a = g_new0 (EfpAgentConfig, 1);
      a->id = g_strdup (id);
      a->stage = 1;
      g_ptr_array_add (c->agents, a);
    }
  return a;
}

static gboolean
load_named_groups (Loader *l, GError **error)
{
  const gchar *const *groups;
  guint i;

  g_ptr_array_add (l->groups, NULL);
  groups = (const gchar *const *) l->groups->pdata;

  /* agents first: devices and policies refer to them */
  for (i = 0; groups[i] != NULL; i++)
    if (g_str_has_prefix (groups[i], "agent:") && !load_agent (l, groups[i], groups[i] + 6, error))
      return FALSE;
  for (i = 0; groups[i] != NULL; i++)
    if (g_str_has_prefix (groups[i], "device:") &&
        !load_device (l, groups[i], groups[i] + 7, error))
      return FALSE;
  for (i = 0; groups[i] != NULL; i++)
    {
      if (g_str_has_prefix (groups[i], "group:"))
        {
          EfpGroupConfig *g = g_new0 (EfpGroupConfig, 1);
          g->name = g_strdup (groups[i] + 6);
          g_ptr_array_add (l->config->groups, g);
          if (!efp_config_valid_name (g->name))
            return set_fail (l, groups[i], NULL, error,
                             "[%s]: expected a group name without '/', '+' or '#'", groups[i]);
          if (!get_list (l, groups[i], "devices", &g->devices, error))
            return FALSE;
          if (g->devices == NULL || g->devices[0] == NULL)
            return set_fail (l, groups[i], "devices", error,
                             "[%s] devices: expected a list of devices, found nothing", groups[i]);
        }
      /* [wol:NAME] values are checked by efp_wol_new () with the rest of the outputs */
    }
  for (i = 0; groups[i] != NULL; i++)
    if (g_str_has_prefix (groups[i], "policy:"))
      {
        EfpPolicyConfig *p = g_new0 (EfpPolicyConfig, 1);
        p->name = g_strdup (groups[i] + 7);
        p->group = g_strdup (groups[i]);
        g_ptr_array_add (l->config->policies, p);
        if (!get_string (l, groups[i], "module", &p->module, error) ||
            !get_list (l, groups[i], "devices", &p->devices, error) ||
            !get_list (l, groups[i], "agents", &p->agents, error))
          return FALSE;
        if (p->module == NULL)
          return set_fail (l, groups[i], "module", error,
                           "[%s] module: expected a policy module name, found nothing", groups[i]);
      }
  return TRUE;
}

/* ---- cross references ---------------------------------------------------------------- */

static gboolean
is_device_or_group (EfpConfig *c, const gchar *name)
{
  guint i;
  if (efp_config_find_device (c, name) != NULL)
    return TRUE;
  for (i = 0; i < c->groups->len; i++)
    if (g_str_equal (((EfpGroupConfig *) c->groups->pdata[i])->name, name))
      return TRUE;
  return FALSE;
}

static gboolean
check_references (Loader *l, GError **error)
{
  EfpConfig *c = l->config;
  guint i, j;

  for (i = 0; i < c->devices->len; i++)
    {
      EfpDeviceConfig *d = c->devices->pdata[i];
      g_autofree gchar *group = g_strdup_printf ("device:%s", d->name);
      for (j = 0; d->agents != NULL && d->agents[j] != NULL; j++)
        if (efp_config_find_agent (c, d->agents[j]) == NULL)
          return set_fail (l, group, "agents", error,
                           "[%s] agents: expected agents defined by [agent:ID] groups, found "
                           "'%s' which is not defined",
                           group, d->agents[j]);
    }
  for (i = 0; i < c->groups->len; i++)
    {
      EfpGroupConfig *g = c->groups->pdata[i];
      g_autofree gchar *group = g_strdup_printf ("group:%s", g->name);
      if (efp_config_find_device (c, g->name) != NULL)
        return set_fail (l, group, NULL, error,
                         "[%s]: expected a name no device uses, found a device of that name",
                         group);
      for (j = 0; g->devices[j] != NULL; j++)
        if (efp_config_find_device (c, g->devices[j]) == NULL)
          return set_fail (l, group, "devices", error,
                           "[%s] devices: expected configured devices, found unknown '%s'", group,
                           g->devices[j]);
    }
  for (i = 0; i < c->policies->len; i++)
    {
      EfpPolicyConfig *p = c->policies->pdata[i];
      for (j = 0; p->devices != NULL && p->devices[j] != NULL; j++)
        if (!is_device_or_group (c, p->devices[j]))
          return set_fail (l, p->group, "devices", error,
                           "[%s] devices: expected configured devices or groups, found unknown "
                           "'%s'",
                           p->group, p->devices[j]);
      for (j = 0; p->agents != NULL && p->agents[j] != NULL; j++)
        if (efp_config_find_agent (c, p->agents[j]) == NULL)
          return set_fail (l, p->group, "agents", error,
                           "[%s] agents: expected agents defined by [agent:ID] groups, found "
                           "'%s' which is not defined",
                           p->group, p->agents[j]);
      if (l->options->registry != NULL)
        {
          p->vtable = efp_plugin_registry_get_policy (l->options->registry, p->module);
          if (p->vtable == NULL)
            return set_fail (l, p->group, "module", error,
                             "[%s] module: expected a loaded policy module, found '%s'", p->group,
                             p->module);
          p->module_config = p->vtable->config_new (c->keyfile, p->group, error);
          if (p->module_config == NULL)
            return fail_at (l, p->group, NULL, error);
        }
    }
  return TRUE;
}

static void
collect_cloud_serials (EfpConfig *c)
{
  g_autoptr (GPtrArray) s = g_ptr_array_new ();
  guint i;
  for (i = 0; i < c->devices->len; i++)
    {
      EfpDeviceConfig *d = c->devices->pdata[i];
      if (d->serial != NULL)
        g_ptr_array_add (s, g_strdup (d->serial));
    }
  g_ptr_array_add (s, NULL);
  g_strfreev (c->cloud.serials);
  c->cloud.serials = (GStrv) g_ptr_array_free (g_steal_pointer (&s), FALSE);
}

EfpConfig *
efp_config_load (const EfpConfigLoadOptions *options, GError **error)
{
  g_autoptr (EfpConfig) config = config_new_defaults ();
  g_autoptr (GHashTable) origin = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) env = NULL;
  g_autoptr (GPtrArray) groups = g_ptr_array_new_with_free_func (g_free);
  Loader l = { config, options, origin, groups };

  /* CONTRACT 1: with --env-file and no --config no key file is read */
  if (options->env_file == NULL || options->config_explicit)
    if (!load_keyfiles (&l, error))
      return NULL;
  if (!load_mqtt (&l, error) || !load_cloud (&l, error) || !load_daemon_nut (&l, error) ||
      !load_named_groups (&l, error))
    return NULL;
  if (options->env_file != NULL)
    {
      env = efp_env_file_parse (options->env_file, error);
      if (env == NULL)
        return NULL;
      config->env_file = g_strdup (options->env_file);
    }
  if (options->use_environment)
    {
      if (env == NULL)
        env = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, NULL);
      efp_env_file_add_environment (env, seed_names);
    }
  if (env != NULL && !efp_config_apply_seed_env (config, env, error))
    return NULL;
  if (!check_references (&l, error))
    return NULL;
  collect_cloud_serials (config);
  return g_steal_pointer (&config);
}

void
efp_config_prefix_error (const EfpConfig *config, GError **error)
{
  const gchar *msg, *end, *file = NULL;
  g_autofree gchar *group = NULL;

  if (error == NULL || *error == NULL)
    return;
  msg = (*error)->message;
  if (msg[0] == '[' && (end = strchr (msg, ']')) != NULL)
    {
      group = g_strndup (msg + 1, end - msg - 1);
      file = g_hash_table_lookup (config->group_origin, group);
    }
  if (file == NULL && config->files->len > 0)
    file = config->files->pdata[config->files->len - 1];
  if (file != NULL)
    g_prefix_error (error, "%s: ", file);
}

const EfpDeviceConfig *
efp_config_find_device (const EfpConfig *config, const gchar *name_or_serial)
{
  guint i;
  for (i = 0; i < config->devices->len; i++)
    {
      const EfpDeviceConfig *d = config->devices->pdata[i];
      if (g_strcmp0 (d->name, name_or_serial) == 0)
        return d;
    }
  for (i = 0; i < config->devices->len; i++)
    {
      const EfpDeviceConfig *d = config->devices->pdata[i];
      if (g_strcmp0 (d->serial, name_or_serial) == 0)
        return d;
    }
  return NULL;
}

const EfpAgentConfig *
efp_config_find_agent (const EfpConfig *config, const gchar *id)
{
  guint i;
  for (i = 0; i < config->agents->len; i++)
    {
      const EfpAgentConfig *a = config->agents->pdata[i];
      if (g_strcmp0 (a->id, id) == 0)
        return a;
    }
  return NULL;
}

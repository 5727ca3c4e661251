/* efp-config-dump.c: the effective configuration in key-file syntax, secrets masked
 * (ecoflow-powerd --check-config). */
#include "config.h"
#include "efp-config.h"

#include <math.h>
#include <string.h>

/* ---- effective configuration --------------------------------------------------------- */

static void
set_str (GKeyFile *kf, const gchar *g, const gchar *k, const gchar *v)
{
  g_key_file_set_string (kf, g, k, v != NULL ? v : "");
}

static void
set_list (GKeyFile *kf, const gchar *g, const gchar *k, GStrv v)
{
  g_autofree gchar *s = v != NULL ? g_strjoinv (";", v) : g_strdup ("");
  g_key_file_set_value (kf, g, k, s);
}

gchar *
efp_config_dump (const EfpConfig *c)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GString) head = g_string_new ("# effective configuration of ecoflow-powerd\n");
  g_autofree gchar *body = NULL;
  guint i;

  for (i = 0; i < c->files->len; i++)
    g_string_append_printf (head, "# from %s\n", (const gchar *) c->files->pdata[i]);
  if (c->env_file != NULL)
    g_string_append_printf (head, "# from %s (seed .env)\n", c->env_file);

  set_str (kf, "mqtt", "host", c->mqtt.host);
  g_key_file_set_integer (kf, "mqtt", "port", c->mqtt.port);
  set_str (kf, "mqtt", "username", c->mqtt.username);
  set_str (kf, "mqtt", "password-file", c->mqtt.password_file);
  if (c->mqtt.password != NULL)
    g_key_file_set_comment (kf, "mqtt", "password-file", " password: ******** (set)", NULL);
  g_key_file_set_boolean (kf, "mqtt", "tls", c->mqtt.tls);
  set_str (kf, "mqtt", "ca-file", c->mqtt.ca_file);
  set_str (kf, "mqtt", "client-id", c->mqtt.client_id);
  set_str (kf, "mqtt", "raw-prefix", c->mqtt.raw_prefix);
  set_str (kf, "mqtt", "state-prefix", c->mqtt.state_prefix);
  set_str (kf, "mqtt", "command-prefix", c->mqtt.command_prefix);

  g_key_file_set_boolean (kf, "cloud", "enabled", c->cloud.enabled);
  set_str (kf, "cloud", "auth", c->cloud.auth == EFP_CLOUD_AUTH_APP ? "app" : "open-api");
  set_str (kf, "cloud", "region", c->cloud.region);
  set_str (kf, "cloud", "api-url", c->cloud.api_url);
  set_str (kf, "cloud", "email", c->cloud.email);
  set_str (kf, "cloud", "password-file", c->cloud.password_file);
  if (c->cloud.password != NULL)
    g_key_file_set_comment (kf, "cloud", "password-file", " password: ******** (set)", NULL);
  set_str (kf, "cloud", "access-key", c->cloud.access_key);
  set_str (kf, "cloud", "secret-key-file", c->cloud.secret_key_file);
  if (c->cloud.secret_key != NULL)
    g_key_file_set_comment (kf, "cloud", "secret-key-file", " secret key: ******** (set)", NULL);
  set_str (kf, "cloud", "ca-file", c->cloud.ca_file);
  g_key_file_set_boolean (kf, "cloud", "republish-raw", c->cloud.republish_raw);

  for (i = 0; i < c->devices->len; i++)
    {
      const EfpDeviceConfig *d = c->devices->pdata[i];
      g_autofree gchar *g = g_strdup_printf ("device:%s", d->name);
      GHashTableIter it;
      gpointer k, v;
      set_str (kf, g, "serial", d->serial);
      set_str (kf, g, "decoder", d->decoder != NULL ? d->decoder : "auto");
      set_list (kf, g, "agents", d->agents);
      if (!isnan (d->capacity_wh))
        g_key_file_set_double (kf, g, "capacity-wh", d->capacity_wh);
      g_hash_table_iter_init (&it, d->options);
      while (g_hash_table_iter_next (&it, &k, &v))
        set_str (kf, g, k, v);
    }
  for (i = 0; i < c->groups->len; i++)
    {
      const EfpGroupConfig *gr = c->groups->pdata[i];
      g_autofree gchar *g = g_strdup_printf ("group:%s", gr->name);
      set_list (kf, g, "devices", gr->devices);
    }
  for (i = 0; i < c->policies->len; i++)
    {
      const EfpPolicyConfig *p = c->policies->pdata[i];
      set_str (kf, p->group, "module", p->module);
      set_list (kf, p->group, "devices", p->devices);
      set_list (kf, p->group, "agents", p->agents);
      if (p->vtable != NULL && p->vtable->config_dump != NULL)
        p->vtable->config_dump (p->module_config, kf, p->group);
    }
  for (i = 0; i < c->agents->len; i++)
    {
      const EfpAgentConfig *a = c->agents->pdata[i];
      g_autofree gchar *g = g_strdup_printf ("agent:%s", a->id);
      set_str (kf, g, "key-file", a->key_file);
      if (a->key != NULL)
        g_key_file_set_comment (kf, g, "key-file", " key: ******** (set)", NULL);
      g_key_file_set_integer (kf, g, "stage", a->stage);
      if (a->stage_timeout_sec > 0)
        g_key_file_set_integer (kf, g, "stage-timeout-sec", a->stage_timeout_sec);
    }
  set_str (kf, "daemon", "state-file", c->state_file);
  g_key_file_set_boolean (kf, "daemon", "dry-run", c->dry_run);
  g_key_file_set_boolean (kf, "nut", "enabled", c->nut.enabled);
  set_str (kf, "nut", "listen", c->nut.listen);
  g_key_file_set_integer (kf, "nut", "port", c->nut.port);
  set_str (kf, "nut", "users-file", c->nut.users_file);

  /* the output groups as written: their modules check them (no secrets here, only
   * the names of the files that hold them) */
  {
    g_auto (GStrv) groups = g_key_file_get_groups (c->keyfile, NULL);
    for (i = 0; groups[i] != NULL; i++)
      {
        g_auto (GStrv) keys = NULL;
        guint j;
        if (!g_str_equal (groups[i], "notify") && !g_str_equal (groups[i], "metrics") &&
            !g_str_has_prefix (groups[i], "wol:"))
          continue;
        keys = g_key_file_get_keys (c->keyfile, groups[i], NULL, NULL);
        for (j = 0; keys != NULL && keys[j] != NULL; j++)
          {
            g_autofree gchar *v = g_key_file_get_value (c->keyfile, groups[i], keys[j], NULL);
            const gchar *scheme = v != NULL ? strstr (v, "://") : NULL;
            const gchar *path = scheme != NULL ? strchr (scheme + 3, '/') : NULL;
            /* a webhook or ntfy topic path is as good as a password: show the host only */
            if (path != NULL && path[1] != '\0')
              {
                g_autofree gchar *masked = g_strdup_printf ("%.*s/********", (int) (path - v), v);
                g_key_file_set_value (kf, groups[i], keys[j], masked);
              }
            else
              g_key_file_set_value (kf, groups[i], keys[j], v);
          }
      }
  }
  body = g_key_file_to_data (kf, NULL, NULL);
  g_string_append (head, body);
  return g_string_free (g_steal_pointer (&head), FALSE);
}

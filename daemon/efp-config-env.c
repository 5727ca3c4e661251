/* efp-config-env.c: the seed project's .env names (CONTRACT 3.3) applied to a
 * configuration: a seed user's .env runs unchanged. */
#include "config.h"
#include "efp-config-private.h"
#include "efp-json.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* ---- seed .env ----------------------------------------------------------------------- */

static const gchar *
env_value (GHashTable *env, const gchar *name)
{
  EfpEnvEntry *e = g_hash_table_lookup (env, name);
  return e != NULL && *e->value != '\0' ? e->value : NULL;
}

static gboolean
env_int (GHashTable *env, const gchar *name, gint64 min, gint64 max, gint64 *out, GError **error)
{
  EfpEnvEntry *e = g_hash_table_lookup (env, name);
  gchar *end = NULL;
  gint64 v;

  if (e == NULL || *e->value == '\0')
    return TRUE;
  v = g_ascii_strtoll (e->value, &end, 10);
  if (end == NULL || *end != '\0' || v < min || v > max)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "%s: %s: expected an integer %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
                   ", found '%s'",
                   e->origin, name, min, max, e->value);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

static gboolean
apply_device_map (EfpConfig *c, EfpEnvEntry *e, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  JsonObject *o;
  g_autoptr (GList) members = NULL;
  GList *it;

  if (!efp_json_load (parser, e->value, -1, &local))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "%s: DEVICE_TO_AGENTS_JSON: expected a JSON object, found invalid JSON (%s)",
                   e->origin, local->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "%s: DEVICE_TO_AGENTS_JSON: expected a JSON object, found another JSON value",
                   e->origin);
      return FALSE;
    }
  o = json_node_get_object (root);
  members = json_object_get_members (o);
  for (it = members; it != NULL; it = it->next)
    {
      const gchar *dev = it->data;
      JsonNode *n = json_object_get_member (o, dev);
      g_autoptr (GPtrArray) agents = g_ptr_array_new ();
      EfpDeviceConfig *d;
      JsonArray *a;
      guint i;

      if (!JSON_NODE_HOLDS_ARRAY (n))
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                       "%s: DEVICE_TO_AGENTS_JSON: \"%s\": expected an array of agent ids, "
                       "found another JSON value",
                       e->origin, dev);
          return FALSE;
        }
      if (!efp_config_valid_name (dev))
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                       "%s: DEVICE_TO_AGENTS_JSON: expected device names without '/', '+' or "
                       "'#', found \"%s\"",
                       e->origin, dev);
          return FALSE;
        }
      a = json_node_get_array (n);
      for (i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *el = json_array_get_element (a, i);
          const gchar *id;
          if (!JSON_NODE_HOLDS_VALUE (el) || json_node_get_value_type (el) != G_TYPE_STRING ||
              !efp_config_valid_name (json_node_get_string (el)))
            {
              g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                           "%s: DEVICE_TO_AGENTS_JSON: \"%s\": expected agent id strings, "
                           "found another JSON value",
                           e->origin, dev);
              return FALSE;
            }
          id = json_node_get_string (el);
          g_ptr_array_add (agents, g_strdup (id));
          efp_config_ensure_agent (c, id);
        }
      g_ptr_array_add (agents, NULL);
      d = efp_config_find_device_mut (c, dev);
      if (d == NULL)
        {
          d = efp_config_device_new (dev);
          g_ptr_array_add (c->devices, d);
        }
      g_strfreev (d->agents);
      d->agents = (GStrv) g_ptr_array_free (g_steal_pointer (&agents), FALSE);
    }
  return TRUE;
}

gboolean
efp_config_apply_seed_env (EfpConfig *c, GHashTable *env, GError **error)
{
  const gchar *v;
  gint64 port = c->mqtt.port, soc_min = 10, debounce = 180, cooldown = 300;
  gboolean have_policy_keys;
  EfpEnvEntry *e;

  if ((v = env_value (env, "MQTT_HOST")) != NULL)
    {
      g_free (c->mqtt.host);
      c->mqtt.host = g_strdup (v);
    }
  if (!env_int (env, "MQTT_PORT", 1, 65535, &port, error))
    return FALSE;
  c->mqtt.port = (guint16) port;
  if ((v = env_value (env, "MQTT_USER")) != NULL)
    {
      g_free (c->mqtt.username);
      c->mqtt.username = g_strdup (v);
    }
  if ((v = env_value (env, "MQTT_PASS")) != NULL)
    {
      efp_config_secret_free (c->mqtt.password);
      c->mqtt.password = g_strdup (v);
    }
  if ((v = env_value (env, "ECOFLOW_BASE")) != NULL)
    {
      if (!efp_config_valid_name (v))
        {
          e = g_hash_table_lookup (env, "ECOFLOW_BASE");
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                       "%s: ECOFLOW_BASE: expected a topic prefix without '+' or '#', found '%s'",
                       e->origin, v);
          return FALSE;
        }
      g_free (c->mqtt.raw_prefix);
      g_free (c->mqtt.state_prefix);
      c->mqtt.raw_prefix = g_strdup (v);
      c->mqtt.state_prefix = g_strdup (v);
    }
  have_policy_keys = env_value (env, "POLICY_SOC_MIN") != NULL ||
                     env_value (env, "POLICY_DEBOUNCE_SEC") != NULL ||
                     env_value (env, "POLICY_COOLDOWN_SEC") != NULL ||
                     env_value (env, "DEVICE_TO_AGENTS_JSON") != NULL;
  if (!env_int (env, "POLICY_SOC_MIN", 0, 100, &soc_min, error) ||
      !env_int (env, "POLICY_DEBOUNCE_SEC", 0, 604800, &debounce, error) ||
      !env_int (env, "POLICY_COOLDOWN_SEC", 0, 604800, &cooldown, error))
    return FALSE;
  e = g_hash_table_lookup (env, "DEVICE_TO_AGENTS_JSON");
  if (e != NULL && *e->value != '\0' && !apply_device_map (c, e, error))
    return FALSE;
  if ((v = env_value (env, "ECOFLOW_DEVICE_LIST")) != NULL)
    {
      g_auto (GStrv) serials = efp_config_split_list (v);
      guint i;
      for (i = 0; serials[i] != NULL; i++)
        if (efp_config_find_device_mut (c, serials[i]) == NULL)
          {
            EfpDeviceConfig *d = efp_config_device_new (serials[i]);
            d->serial = g_strdup (serials[i]);
            g_ptr_array_add (c->devices, d);
          }
    }
  /* cloud credentials: the developer keys win, as in the seed */
  if ((v = env_value (env, "ECOFLOW_ACCESS_KEY")) != NULL)
    {
      g_free (c->cloud.access_key);
      c->cloud.access_key = g_strdup (v);
    }
  if ((v = env_value (env, "ECOFLOW_SECRET_KEY")) != NULL)
    {
      efp_config_secret_free (c->cloud.secret_key);
      c->cloud.secret_key = g_strdup (v);
    }
  if ((v = env_value (env, "ECOFLOW_USER")) != NULL ||
      (v = env_value (env, "ECOFLOW_USERNAME")) != NULL)
    {
      g_free (c->cloud.email);
      c->cloud.email = g_strdup (v);
    }
  if ((v = env_value (env, "ECOFLOW_PASS")) != NULL ||
      (v = env_value (env, "ECOFLOW_PASSWORD")) != NULL)
    {
      efp_config_secret_free (c->cloud.password);
      c->cloud.password = g_strdup (v);
    }
  if (c->cloud.access_key != NULL && c->cloud.secret_key != NULL)
    {
      c->cloud.enabled = TRUE;
      c->cloud.auth = EFP_CLOUD_AUTH_OPEN_API;
    }
  else if (c->cloud.email != NULL && c->cloud.password != NULL)
    {
      c->cloud.enabled = TRUE;
      c->cloud.auth = EFP_CLOUD_AUTH_APP;
    }
  if (have_policy_keys)
    {
      /* the seed's single policy, as a critical-soc policy named "critical" */
      EfpPolicyConfig *p = NULL;
      guint i;
      for (i = 0; i < c->policies->len; i++)
        if (g_str_equal (((EfpPolicyConfig *) c->policies->pdata[i])->name, "critical"))
          p = c->policies->pdata[i];
      if (p == NULL)
        {
          p = g_new0 (EfpPolicyConfig, 1);
          p->name = g_strdup ("critical");
          p->group = g_strdup ("policy:critical");
          p->module = g_strdup ("critical-soc");
          g_ptr_array_add (c->policies, p);
          g_key_file_set_value (c->keyfile, p->group, "module", "critical-soc");
        }
      if (env_value (env, "POLICY_SOC_MIN") != NULL)
        g_key_file_set_int64 (c->keyfile, p->group, "soc-min", soc_min);
      if (env_value (env, "POLICY_DEBOUNCE_SEC") != NULL)
        g_key_file_set_int64 (c->keyfile, p->group, "debounce-sec", debounce);
      if (env_value (env, "POLICY_COOLDOWN_SEC") != NULL)
        g_key_file_set_int64 (c->keyfile, p->group, "cooldown-sec", cooldown);
    }
  return TRUE;
}

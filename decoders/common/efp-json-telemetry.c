/* efp-json-telemetry.c: envelope shapes, key routing, grid rule for JSON devices. */
#include "efp-json-telemetry.h"

#include <json-glib/json-glib.h>
#include <math.h>

#include "efp-decoder.h"
#include "efp-json-keys.h"
#include "efp-pb-telemetry.h"

/* inv.acInVol is in mV: mains above 80 V */
#define AC_IN_MIN_MILLIVOLTS 80000.0

typedef struct
{
  gboolean has_flag;
  gboolean flag;
  gboolean has_millivolts;
  gdouble millivolts;
  gboolean has_freq;
  gdouble freq;
  gboolean has_watts;
  gdouble watts;
  gboolean has_volts;
  gdouble volts;
} JsonGrid;

/* json-glib quotes the offending input in its messages: keep our error one
 * short line whatever the input held. */
static gchar *
one_line (const gchar *msg)
{
  GString *s = g_string_new (NULL);
  const gchar *p;

  for (p = msg; *p != '\0' && s->len < 160; p++)
    g_string_append_c (s, (guchar) *p < 0x20 || *p == 0x7f ? ' ' : *p);
  if (*p != '\0')
    g_string_append (s, "...");
  if (!g_utf8_validate (s->str, -1, NULL))
    {
      gchar *valid = g_utf8_make_valid (s->str, -1);
      g_string_free (s, TRUE);
      return valid;
    }
  return g_string_free (s, FALSE);
}

/* Nesting depth of JSON text, strings skipped; stops counting past the limit. */
static guint
json_depth (const guint8 *p, gsize len)
{
  guint depth = 0, max = 0;
  gboolean in_string = FALSE;
  gsize i;

  for (i = 0; i < len; i++)
    {
      guint8 c = p[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        {
          if (++depth > max)
            max = depth;
          if (max > EFP_JSON_MAX_DEPTH)
            return max;
        }
      else if ((c == '}' || c == ']') && depth > 0)
        depth--;
    }
  return max;
}

/* An integer or a decimal string ("2" as moduleType); FALSE otherwise. */
static gboolean
node_get_int (JsonNode *n, gint64 *out)
{
  GType t;

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  t = json_node_get_value_type (n);
  if (t == G_TYPE_INT64)
    {
      *out = json_node_get_int (n);
      return TRUE;
    }
  if (t == G_TYPE_DOUBLE)
    {
      gdouble d = json_node_get_double (n);
      if (!isfinite (d) || d != floor (d) || fabs (d) > 1e15)
        return FALSE;
      *out = (gint64) d;
      return TRUE;
    }
  if (t == G_TYPE_STRING)
    {
      const gchar *s = json_node_get_string (n);
      gchar *end = NULL;
      if (s == NULL || *s == '\0')
        return FALSE;
      *out = g_ascii_strtoll (s, &end, 10);
      return *end == '\0';
    }
  return FALSE;
}

/* Open API pushes name the group by moduleType (and typeCode for the BMS). */
static gchar *
module_prefix (JsonObject *root)
{
  JsonNode *tc = json_object_get_member (root, "typeCode");
  const gchar *type_code = NULL;
  gint64 module = 0;

  if (!node_get_int (json_object_get_member (root, "moduleType"), &module))
    return NULL;
  if (tc != NULL && JSON_NODE_HOLDS_VALUE (tc) && json_node_get_value_type (tc) == G_TYPE_STRING)
    type_code = json_node_get_string (tc);
  switch (module)
    {
      case 1:
        return g_strdup ("pd");
      case 3:
        return g_strdup ("inv");
      case 5:
        return g_strdup ("mppt");
      case 2:
        if (type_code == NULL || *type_code == '\0')
          return NULL;
        if (g_str_has_prefix (type_code, "bmsSlaveStatus"))
          return g_strconcat ("bms_slave_", type_code, NULL);
        return g_strconcat ("bms_", type_code, NULL);
      default:
        return NULL;
    }
}

static gboolean
check_cloud_code (JsonObject *root, GError **error)
{
  JsonNode *code = json_object_get_member (root, "code");
  gint64 v = 0;

  if (code == NULL || JSON_NODE_HOLDS_NULL (code))
    return TRUE;
  if (node_get_int (code, &v) && v == 0)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (code) && json_node_get_value_type (code) == G_TYPE_STRING)
    {
      g_autofree gchar *text = one_line (json_node_get_string (code));
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID,
                   "cloud reply carries error code '%s'", text);
    }
  else
    g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID,
                 "cloud reply carries an error code");
  return FALSE;
}

static gboolean
apply_value (EfpStation *st, const gchar *key, const EfpJsonKey *k, gdouble v, JsonGrid *g,
             GError **error)
{
  EfpStationPack *sp = NULL;

  if (!isfinite (v))
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID, "%s is not a finite number",
                   key);
      return FALSE;
    }
  if ((k->kind == EFP_JSON_KEY_SOC || k->kind == EFP_JSON_KEY_PACK_SOC ||
       k->kind == EFP_JSON_KEY_PACK_F32_SOC) &&
      (v < 0 || v > 100))
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID, "%s %g outside 0-100", key,
                   v);
      return FALSE;
    }
  if (k->kind >= EFP_JSON_KEY_PACK_SOC)
    {
      sp = efp_station_pack (st, k->arg);
      if (sp == NULL)
        return TRUE;
    }

  switch (k->kind)
    {
      case EFP_JSON_KEY_SOC:
        efp_known_set (&st->soc[k->arg], v);
        break;
      case EFP_JSON_KEY_INPUT_WATTS:
        efp_known_set (&st->input_watts, v);
        break;
      case EFP_JSON_KEY_OUTPUT_WATTS:
        efp_known_set (&st->output_watts, v);
        break;
      case EFP_JSON_KEY_AC_IN_MILLIVOLTS:
        g->has_millivolts = TRUE;
        g->millivolts = v;
        break;
      case EFP_JSON_KEY_AC_IN_FREQ:
        g->has_freq = TRUE;
        g->freq = v;
        break;
      case EFP_JSON_KEY_AC_IN_VOLTS:
        g->has_volts = TRUE;
        g->volts = v;
        break;
      case EFP_JSON_KEY_AC_IN_WATTS:
        g->has_watts = TRUE;
        g->watts = v;
        break;
      case EFP_JSON_KEY_CHARGER_FLAG:
        g->has_flag = TRUE;
        g->flag = v != 0;
        break;
      case EFP_JSON_KEY_DSG_MINUTES:
        efp_known_set (&st->dsg_minutes[k->arg], v < 0 ? EFP_REMAIN_SENTINEL : v);
        break;
      case EFP_JSON_KEY_SIGNED_MINUTES:
        /* negative = minutes to empty; positive (to full) or 0 = no time to empty */
        efp_known_set (&st->dsg_minutes[k->arg], v < 0 ? -v : EFP_REMAIN_SENTINEL);
        break;
      case EFP_JSON_KEY_STATE:
        if (v == 0 || v == 1 || v == 2)
          efp_known_set (&st->chg_dsg_state[k->arg], v);
        break;
      case EFP_JSON_KEY_PACK_SOC:
        efp_station_pack_set_soc (sp, v, FALSE);
        break;
      case EFP_JSON_KEY_PACK_F32_SOC:
        efp_station_pack_set_soc (sp, v, TRUE);
        break;
      case EFP_JSON_KEY_PACK_TEMP:
        sp->pack.temp_celsius = v;
        break;
      case EFP_JSON_KEY_PACK_DESIGN_CAP:
        sp->pack.design_mah = v < 0 ? -1 : (gint64) v;
        break;
      case EFP_JSON_KEY_PACK_FULL_CAP:
        sp->pack.full_mah = v < 0 ? -1 : (gint64) v;
        break;
      case EFP_JSON_KEY_PACK_REMAIN_CAP:
        sp->pack.remain_mah = v < 0 ? -1 : (gint64) v;
        break;
      case EFP_JSON_KEY_PACK_INPUT_WATTS:
        sp->pack.input_watts = v;
        break;
      case EFP_JSON_KEY_PACK_OUTPUT_WATTS:
        sp->pack.output_watts = v;
        break;
      case EFP_JSON_KEY_PACK_REMAIN_TIME:
        sp->remain_known = TRUE;
        sp->pack.remain_minutes = v < 0 || v >= EFP_REMAIN_SENTINEL ? -1 : (gint) v;
        break;
      default:
        break;
    }
  return TRUE;
}

static void
decide_grid (EfpStation *st, const JsonGrid *g)
{
  EfpTristate grid = EFP_TRISTATE_UNKNOWN;
  const gchar *source = NULL;

  if (g->has_flag)
    {
      grid = g->flag ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE;
      source = EFP_GRID_SOURCE_CHARGER_FLAG;
    }
  else if (g->has_millivolts)
    {
      /* SPEC 7.2: present if acInVol > 80 V or acInFreq > 0 */
      if (g->millivolts > AC_IN_MIN_MILLIVOLTS)
        {
          grid = EFP_TRISTATE_TRUE;
          source = EFP_GRID_SOURCE_AC_IN_VOLTS;
        }
      else if (g->has_freq && g->freq > 0)
        {
          grid = EFP_TRISTATE_TRUE;
          source = EFP_GRID_SOURCE_AC_IN_FREQ;
        }
      else
        {
          grid = EFP_TRISTATE_FALSE;
          source = EFP_GRID_SOURCE_AC_IN_VOLTS;
        }
    }
  else if (g->has_freq)
    {
      grid = g->freq > 0 ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE;
      source = EFP_GRID_SOURCE_AC_IN_FREQ;
    }
  else if (g->has_watts && g->watts > EFP_GRID_MIN_AC_IN_WATTS)
    {
      grid = EFP_TRISTATE_TRUE;
      source = EFP_GRID_SOURCE_AC_IN_WATTS;
    }
  else if (g->has_volts && g->volts >= EFP_GRID_MIN_AC_IN_VOLTS)
    {
      grid = EFP_TRISTATE_TRUE;
      source = EFP_GRID_SOURCE_AC_IN_VOLTS;
    }
  if (grid != EFP_TRISTATE_UNKNOWN)
    {
      st->grid = grid;
      st->grid_source = source;
    }
}

gboolean
efp_json_telemetry_apply (EfpStation *st, const guint8 *data, gsize len, guint families,
                          const EfpModelTable *models, GError **error)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree gchar *prefix = NULL;
  JsonObject *root, *map = NULL;
  JsonNode *node;
  JsonObjectIter iter;
  const gchar *key;
  JsonGrid g = { 0 };

  if (json_depth (data, len) > EFP_JSON_MAX_DEPTH)
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                   "JSON nested deeper than %d levels", EFP_JSON_MAX_DEPTH);
      return FALSE;
    }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, (const gchar *) data, (gssize) len, &local))
    {
      g_autofree gchar *msg = one_line (local->message);
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED, "not JSON: %s", msg);
      return FALSE;
    }
  node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED, "expected a JSON object");
      return FALSE;
    }
  root = json_node_get_object (node);
  if (!check_cloud_code (root, error))
    return FALSE;

  node = json_object_get_member (root, "data");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *d = json_node_get_object (node);
      JsonNode *qm = json_object_get_member (d, "quotaMap");
      gint64 v;

      if (node_get_int (json_object_get_member (d, "online"), &v) && v == 0)
        {
          g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID,
                       "the cloud reports the device offline (online=0); quotaMap ignored");
          return FALSE;
        }
      if (models != NULL && node_get_int (json_object_get_member (d, "productType"), &v) &&
          v >= 0 && v <= G_MAXUINT32)
        {
          const EfpModelEntry *e =
            efp_model_table_lookup_number (models, EFP_MODEL_KEY_PRODUCT_TYPE, (guint32) v);
          if (e != NULL)
            efp_station_set_model (st, e->model);
        }
      map = qm != NULL && JSON_NODE_HOLDS_OBJECT (qm) ? json_node_get_object (qm) : d;
    }
  else
    {
      node = json_object_get_member (root, "params");
      if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        node = json_object_get_member (root, "param");
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        {
          map = json_node_get_object (node);
          prefix = module_prefix (root);
        }
      else
        map = root;
    }

  json_object_iter_init_ordered (&iter, map);
  while (json_object_iter_next_ordered (&iter, &key, &node))
    {
      g_autofree gchar *full = NULL;
      const gchar *name = key;
      EfpJsonKey k;
      GType t;

      if (prefix != NULL && strchr (key, '.') == NULL)
        name = full = g_strconcat (prefix, ".", key, NULL);
      if (!efp_json_key_classify (name, families, &k))
        continue;
      if (JSON_NODE_HOLDS_NULL (node))
        continue; /* null says nothing: keep the last value */
      t = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
      if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE && t != G_TYPE_BOOLEAN)
        {
          g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID, "%s: expected a number",
                       name);
          return FALSE;
        }
      if (!apply_value (st, name, &k,
                        t == G_TYPE_BOOLEAN ? (json_node_get_boolean (node) ? 1.0 : 0.0)
                                            : json_node_get_double (node),
                        &g, error))
        return FALSE;
    }
  decide_grid (st, &g);
  return TRUE;
}

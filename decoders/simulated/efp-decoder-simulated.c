/* efp-decoder-simulated.c: the seed's simulated station (CONTRACT 4.1).
 *
 * {"soc": 5, "grid_connected": false, "temp_celsius": 35.0, "input_watts": 0,
 *  "output_watts": 120, "remain_minutes": 14}; any key may be missing.
 */
#include <json-glib/json-glib.h>
#include <gmodule.h>
#include <string.h>

#include "efp-decoder.h"

static EfpProbeScore
simulated_probe (const gchar *serial, const guint8 *data, gsize len)
{
  gsize i = 0;
  while (i < len && g_ascii_isspace (data[i]))
    i++;
  if (i == len || data[i] != '{')
    return EFP_PROBE_NO;
  /* a JSON object with a "soc" key selects us; EcoFlow JSON never has a bare soc key */
  if (g_strstr_len ((const gchar *) data, (gssize) len, "\"soc\"") != NULL)
    return EFP_PROBE_LIKELY;
  return EFP_PROBE_NO;
}

static gboolean
get_number (JsonObject *o, const gchar *key, gdouble *out, gboolean *present, GError **error)
{
  JsonNode *n = json_object_get_member (o, key);
  GType t;

  *present = FALSE;
  if (n == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_NULL (n))
    {
      *present = TRUE;
      *out = NAN;
      return TRUE;
    }
  t = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
  if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                   "simulated: \"%s\" must be a number", key);
      return FALSE;
    }
  *out = json_node_get_double (n);
  *present = TRUE;
  return TRUE;
}

static gboolean
simulated_decode (gpointer context, const guint8 *data, gsize len, EfpReading *r, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local = NULL;
  JsonObject *o;
  JsonNode *root, *grid;
  gdouble v;
  gboolean present;

  if (!json_parser_load_from_data (parser, (const gchar *) data, (gssize) len, &local))
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED, "simulated: not JSON: %s",
                   local->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                   "simulated: expected a JSON object");
      return FALSE;
    }
  o = json_node_get_object (root);

  if (!get_number (o, "soc", &v, &present, error))
    return FALSE;
  if (present)
    {
      if (!isnan (v) && (v < 0 || v > 100))
        {
          g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID,
                       "simulated: soc %g outside 0-100", v);
          return FALSE;
        }
      r->soc = v;
    }
  grid = json_object_get_member (o, "grid_connected");
  if (grid != NULL)
    {
      if (JSON_NODE_HOLDS_NULL (grid))
        r->grid_connected = EFP_TRISTATE_UNKNOWN;
      else if (JSON_NODE_HOLDS_VALUE (grid) && json_node_get_value_type (grid) == G_TYPE_BOOLEAN)
        r->grid_connected = json_node_get_boolean (grid) ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE;
      else
        {
          g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                       "simulated: \"grid_connected\" must be true or false");
          return FALSE;
        }
      r->grid_source = "simulated";
    }
  if (!get_number (o, "temp_celsius", &v, &present, error))
    return FALSE;
  if (present)
    r->temp_celsius = v;
  if (!get_number (o, "input_watts", &v, &present, error))
    return FALSE;
  if (present)
    r->input_watts = v;
  if (!get_number (o, "output_watts", &v, &present, error))
    return FALSE;
  if (present)
    r->output_watts = v;
  if (!get_number (o, "remain_minutes", &v, &present, error))
    return FALSE;
  if (present)
    r->remain_minutes = isnan (v) || v < 0 ? -1 : (gint) v;
  if (r->model[0] == '\0')
    g_strlcpy (r->model, "Simulated", sizeof (r->model));
  return TRUE;
}

static const EfpDecoderVTable simulated_vtable = {
  .abi_major = EFP_DECODER_ABI_MAJOR,
  .abi_minor = EFP_DECODER_ABI_MINOR,
  .struct_size = sizeof (EfpDecoderVTable),
  .name = "simulated",
  .description = "Simulated station JSON (ecoflow-simulate, the seed's SimulatedDevice)",
  .option_keys = NULL,
  .probe = simulated_probe,
  .context_new = NULL,
  .context_free = NULL,
  .decode = simulated_decode,
};

EFP_DECODER_DEFINE (simulated_vtable)

/* efp-probe.c: side-effect-free scoring of a frame against one decoder. */
#include "efp-probe.h"

#include <json-glib/json-glib.h>

#include "efp-envelope.h"
#include "efp-json-telemetry.h"

static EfpProbeScore
by_entry (const EfpDecoderTraits *traits, const EfpModelEntry *e)
{
  return g_str_equal (e->decoder, traits->name) ? EFP_PROBE_SURE : EFP_PROBE_NO;
}

static gboolean
station_has_data (const EfpStation *st)
{
  guint i;

  for (i = 0; i < EFP_STATION_RANKS; i++)
    if (st->soc[i].known || st->temp[i].known || st->dsg_minutes[i].known ||
        st->chg_dsg_state[i].known)
      return TRUE;
  if (st->input_watts.known || st->output_watts.known || st->grid != EFP_TRISTATE_UNKNOWN)
    return TRUE;
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (st->packs[i].pack.present)
      return TRUE;
  return FALSE;
}

/* The first product id or internal-pack BMS type in the bundle, else NULL. */
static const EfpModelEntry *
envelope_model (const EfpModelTable *models, const EfpEnvelope *env)
{
  guint i;

  for (i = 0; i < env->n_items; i++)
    {
      const EfpEnvelopeItem *it = &env->items[i];
      const EfpModelEntry *e = NULL;

      if (it->header->has_product_id)
        e = efp_model_table_lookup_number (models, EFP_MODEL_KEY_PRODUCT_ID,
                                           (guint32) it->header->product_id);
      if (e == NULL && it->kind == EFP_PAYLOAD_BMS_HEARTBEAT)
        {
          const Efp__BmsHeartBeatReport *b = (const Efp__BmsHeartBeatReport *) it->message;
          if ((!b->has_num || b->num == 0) && b->has_product_type)
            e = efp_model_table_lookup_number (models, EFP_MODEL_KEY_BMS_TYPE, b->product_type);
        }
      if (e != NULL)
        return e;
    }
  return NULL;
}

static EfpProbeScore
probe_protobuf (const EfpDecoderTraits *traits, const EfpModelTable *models, const guint8 *data,
                gsize len)
{
  EfpArena arena;
  EfpEnvelope env;
  EfpStation st;
  const EfpModelEntry *e;
  EfpProbeScore score = EFP_PROBE_NO;

  efp_arena_init (&arena, 4096);
  if (efp_envelope_parse (&arena, data, len, &env, NULL) && efp_envelope_unpack_all (&env, NULL))
    {
      e = envelope_model (models, &env);
      efp_station_init (&st, NULL);
      if (e != NULL)
        score = by_entry (traits, e);
      else if (efp_pb_telemetry_apply (&st, &env, EFP_GRID_MODE_AUTO, NULL, NULL) &&
               station_has_data (&st))
        score = EFP_PROBE_MAYBE;
    }
  efp_arena_clear (&arena);
  return score;
}

static EfpProbeScore
probe_json (const EfpDecoderTraits *traits, const EfpModelTable *models, const guint8 *data,
            gsize len)
{
  g_autoptr (JsonParser) parser = NULL;
  JsonNode *root, *d, *pt;
  EfpStation st;

  efp_station_init (&st, NULL);
  /* also rejects over-deep JSON before the parser below sees it */
  if (!efp_json_telemetry_apply (&st, data, len, traits->json_families, NULL, NULL))
    return EFP_PROBE_NO;

  parser = json_parser_new_immutable ();
  if (json_parser_load_from_data (parser, (const gchar *) data, (gssize) len, NULL) &&
      (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root) &&
      (d = json_object_get_member (json_node_get_object (root), "data")) != NULL &&
      JSON_NODE_HOLDS_OBJECT (d) &&
      (pt = json_object_get_member (json_node_get_object (d), "productType")) != NULL &&
      JSON_NODE_HOLDS_VALUE (pt) && json_node_get_value_type (pt) == G_TYPE_INT64)
    {
      gint64 v = json_node_get_int (pt);
      const EfpModelEntry *e = NULL;
      if (v >= 0 && v <= G_MAXUINT32)
        e = efp_model_table_lookup_number (models, EFP_MODEL_KEY_PRODUCT_TYPE, (guint32) v);
      if (e != NULL)
        return by_entry (traits, e);
    }
  return station_has_data (&st) ? EFP_PROBE_LIKELY : EFP_PROBE_NO;
}

EfpProbeScore
efp_probe_frame (const EfpDecoderTraits *traits, const gchar *serial, const guint8 *data, gsize len)
{
  g_autoptr (EfpModelTable) models = efp_model_table_new_builtin ();
  gint first;

  if (serial != NULL)
    {
      const EfpModelEntry *e = efp_model_table_lookup_serial (models, serial);
      if (e != NULL)
        return by_entry (traits, e);
    }
  if (data == NULL || len == 0 || len > EFP_MAX_FRAME_BYTES)
    return EFP_PROBE_NO;
  first = efp_frame_first_byte (data, len);
  if (data[0] == 0x0a && (traits->formats & EFP_FORMAT_PROTOBUF) != 0)
    return probe_protobuf (traits, models, data, len);
  if (first == '{' && (traits->formats & EFP_FORMAT_JSON) != 0)
    return probe_json (traits, models, data, len);
  return EFP_PROBE_NO;
}

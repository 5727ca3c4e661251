/* efp-decode-context.c: size checks, format dispatch, copy-apply-commit. */
#include "efp-decode-context.h"

#include "efp-envelope.h"
#include "efp-json-telemetry.h"

/* fits a 2 KB get_reply bundle without growing */
#define ARENA_INITIAL_BYTES (32 * 1024)

struct _EfpDecodeContext
{
  const EfpDecoderTraits *traits;
  EfpGridMode grid_mode;
  EfpModelTable *models;
  EfpArena arena;
  EfpStation station;
  EfpStation staged;
};

EfpDecodeContext *
efp_decode_context_new (const EfpDecoderTraits *traits, const EfpDecoderSetup *setup,
                        GError **error)
{
  g_autoptr (EfpDecodeContext) self = g_new0 (EfpDecodeContext, 1);
  const gchar *model = NULL;

  self->traits = traits;
  self->grid_mode = EFP_GRID_MODE_AUTO;
  if (setup != NULL && setup->options != NULL && traits->has_grid_option)
    {
      const gchar *v = g_hash_table_lookup (setup->options, "grid-source");
      if (v != NULL && !efp_grid_mode_parse (v, &self->grid_mode))
        {
          g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_OPTION,
                       "%s: grid-source: expected auto, charger-flag or tag27, found '%s'",
                       traits->name, v);
          return NULL;
        }
    }
  if (setup != NULL &&
      setup->struct_size >= G_STRUCT_OFFSET (EfpDecoderSetup, model) + sizeof (setup->model))
    model = setup->model;
  self->models = efp_model_table_new_builtin ();
  efp_arena_init (&self->arena, ARENA_INITIAL_BYTES);
  efp_station_init (&self->station, model);
  return g_steal_pointer (&self);
}

void
efp_decode_context_free (EfpDecodeContext *self)
{
  if (self == NULL)
    return;
  efp_arena_clear (&self->arena);
  g_clear_pointer (&self->models, efp_model_table_free);
  g_free (self);
}

EfpGridMode
efp_decode_context_get_grid_mode (EfpDecodeContext *self)
{
  return self->grid_mode;
}

gint
efp_frame_first_byte (const guint8 *data, gsize len)
{
  gsize i;

  for (i = 0; i < len; i++)
    if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r' && data[i] != '\n')
      return data[i];
  return -1;
}

static gboolean
apply_protobuf (EfpDecodeContext *self, const guint8 *data, gsize len, GError **error)
{
  EfpEnvelope env;
  gboolean ok;

  efp_arena_reset (&self->arena);
  ok = efp_envelope_parse (&self->arena, data, len, &env, error) &&
       efp_pb_telemetry_apply (&self->staged, &env, self->grid_mode, self->models, error);
  efp_arena_reset (&self->arena);
  return ok;
}

gboolean
efp_decode_context_decode (EfpDecodeContext *self, const guint8 *data, gsize len,
                           EfpReading *reading, GError **error)
{
  const EfpDecoderTraits *t = self->traits;
  gint first;
  gboolean ok;

  if (len == 0)
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_TRUNCATED, "%s: empty frame",
                   t->name);
      return FALSE;
    }
  if (len > EFP_MAX_FRAME_BYTES)
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID,
                   "%s: frame of %" G_GSIZE_FORMAT " bytes exceeds the %d-byte limit", t->name, len,
                   EFP_MAX_FRAME_BYTES);
      return FALSE;
    }

  /* SPEC 1: a JSON payload starts with '{', a protobuf envelope with 0x0a */
  first = efp_frame_first_byte (data, len);
  self->staged = self->station;
  if (data[0] == 0x0a && (t->formats & EFP_FORMAT_PROTOBUF) != 0)
    ok = apply_protobuf (self, data, len, error);
  else if (first == '{' && (t->formats & EFP_FORMAT_JSON) != 0)
    ok = efp_json_telemetry_apply (&self->staged, data, len, t->json_families, self->models, error);
  else if (first == '{' || data[0] == 0x0a)
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_UNSUPPORTED,
                   "%s: %s frame, but this decoder reads %s only", t->name,
                   first == '{' ? "JSON" : "protobuf",
                   (t->formats & EFP_FORMAT_JSON) != 0 ? "JSON" : "protobuf");
      return FALSE;
    }
  else
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                   "%s: neither a protobuf envelope (0x0a) nor JSON ('{'): first byte 0x%02x",
                   t->name, data[0]);
      return FALSE;
    }
  if (!ok)
    {
      g_prefix_error (error, "%s: ", t->name);
      return FALSE;
    }
  self->station = self->staged;
  efp_station_to_reading (&self->station, reading);
  return TRUE;
}

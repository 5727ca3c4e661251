/* efp-decoder-river2.c: RIVER 2, RIVER 2 Max, RIVER 2 Pro (JSON).
 *
 * The v2 JSON key family (pd.*, inv.*, bms_bmsStatus.*, bms_emsStatus.*):
 * App-API pushes, latestQuotas replies and Open API messages.
 */
#include <gmodule.h>

#include "efp-decode-context.h"
#include "efp-json-keys.h"
#include "efp-probe.h"

static const EfpDecoderTraits river2_traits = {
  .name = "river2",
  .formats = EFP_FORMAT_JSON,
  .json_families = EFP_JSON_FAMILY_V2,
  .has_grid_option = FALSE,
};

static EfpProbeScore
river2_probe (const gchar *serial, const guint8 *data, gsize len)
{
  return efp_probe_frame (&river2_traits, serial, data, len);
}

static gpointer
river2_context_new (const EfpDecoderSetup *setup, GError **error)
{
  return efp_decode_context_new (&river2_traits, setup, error);
}

static void
river2_context_free (gpointer context)
{
  efp_decode_context_free (context);
}

static gboolean
river2_decode (gpointer context, const guint8 *data, gsize len, EfpReading *reading, GError **error)
{
  return efp_decode_context_decode (context, data, len, reading, error);
}

static const EfpDecoderVTable river2_vtable = {
  .abi_major = EFP_DECODER_ABI_MAJOR,
  .abi_minor = EFP_DECODER_ABI_MINOR,
  .struct_size = sizeof (EfpDecoderVTable),
  .name = "river2",
  .description = "EcoFlow RIVER 2 / 2 Max / 2 Pro (JSON)",
  .option_keys = NULL,
  .probe = river2_probe,
  .context_new = river2_context_new,
  .context_free = river2_context_free,
  .decode = river2_decode,
};

EFP_DECODER_DEFINE (river2_vtable)

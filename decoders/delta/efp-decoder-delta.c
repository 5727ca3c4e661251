/* efp-decoder-delta.c: DELTA 3 / 3 Plus / Pro 3 (protobuf), DELTA 2 / 2 Max / Max / Pro (JSON).
 *
 * Protobuf frames take the shared protobuf path with the automatic grid rule;
 * JSON frames accept both key families (bms_bmsStatus / bms_emsStatus and
 * bmsMaster / ems), the extra batteries of each, and the Open API camelCase
 * names of the DELTA 3 class.
 */
#include <gmodule.h>

#include "efp-decode-context.h"
#include "efp-json-keys.h"
#include "efp-probe.h"

static const EfpDecoderTraits delta_traits = {
  .name = "delta",
  .formats = EFP_FORMAT_PROTOBUF | EFP_FORMAT_JSON,
  .json_families = EFP_JSON_FAMILY_V1 | EFP_JSON_FAMILY_V2 | EFP_JSON_FAMILY_CAMEL,
  .has_grid_option = FALSE,
};

static EfpProbeScore
delta_probe (const gchar *serial, const guint8 *data, gsize len)
{
  return efp_probe_frame (&delta_traits, serial, data, len);
}

static gpointer
delta_context_new (const EfpDecoderSetup *setup, GError **error)
{
  return efp_decode_context_new (&delta_traits, setup, error);
}

static void
delta_context_free (gpointer context)
{
  efp_decode_context_free (context);
}

static gboolean
delta_decode (gpointer context, const guint8 *data, gsize len, EfpReading *reading, GError **error)
{
  return efp_decode_context_decode (context, data, len, reading, error);
}

static const EfpDecoderVTable delta_vtable = {
  .abi_major = EFP_DECODER_ABI_MAJOR,
  .abi_minor = EFP_DECODER_ABI_MINOR,
  .struct_size = sizeof (EfpDecoderVTable),
  .name = "delta",
  .description = "EcoFlow DELTA 3 / 3 Plus / Pro 3 (protobuf), DELTA 2 / 2 Max / Max / Pro (JSON)",
  .option_keys = NULL,
  .probe = delta_probe,
  .context_new = delta_context_new,
  .context_free = delta_context_free,
  .decode = delta_decode,
};

EFP_DECODER_DEFINE (delta_vtable)

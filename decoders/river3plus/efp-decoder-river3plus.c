/* efp-decoder-river3plus.c: RIVER 3 and RIVER 3 Plus (protobuf).
 *
 * grid-source=auto (default) | charger-flag | tag27 selects the signal that
 * decides grid_connected; everything else is the shared protobuf decoding.
 */
#include <gmodule.h>

#include "efp-decode-context.h"
#include "efp-probe.h"

static const EfpDecoderTraits river3plus_traits = {
  .name = "river3plus",
  .formats = EFP_FORMAT_PROTOBUF,
  .json_families = 0,
  .has_grid_option = TRUE,
};

static const gchar *const river3plus_option_keys[] = { "grid-source", NULL };

static EfpProbeScore
river3plus_probe (const gchar *serial, const guint8 *data, gsize len)
{
  return efp_probe_frame (&river3plus_traits, serial, data, len);
}

static gpointer
river3plus_context_new (const EfpDecoderSetup *setup, GError **error)
{
  return efp_decode_context_new (&river3plus_traits, setup, error);
}

static void
river3plus_context_free (gpointer context)
{
  efp_decode_context_free (context);
}

static gboolean
river3plus_decode (gpointer context, const guint8 *data, gsize len, EfpReading *reading,
                   GError **error)
{
  return efp_decode_context_decode (context, data, len, reading, error);
}

static const EfpDecoderVTable river3plus_vtable = {
  .abi_major = EFP_DECODER_ABI_MAJOR,
  .abi_minor = EFP_DECODER_ABI_MINOR,
  .struct_size = sizeof (EfpDecoderVTable),
  .name = "river3plus",
  .description = "EcoFlow RIVER 3 / RIVER 3 Plus (protobuf)",
  .option_keys = river3plus_option_keys,
  .probe = river3plus_probe,
  .context_new = river3plus_context_new,
  .context_free = river3plus_context_free,
  .decode = river3plus_decode,
};

EFP_DECODER_DEFINE (river3plus_vtable)

/* A decoder built against a future, incompatible ABI: the loader must refuse it. */
#include <gmodule.h>
#include "efp-decoder.h"

static gboolean
never (gpointer c, const guint8 *d, gsize l, EfpReading *r, GError **e)
{
  return FALSE;
}

static EfpProbeScore
probe (const gchar *s, const guint8 *d, gsize l)
{
  return EFP_PROBE_NO;
}

static const EfpDecoderVTable vt = {
  .abi_major = EFP_DECODER_ABI_MAJOR + 1,
  .abi_minor = 0,
  .struct_size = sizeof (EfpDecoderVTable),
  .name = "bad-abi",
  .probe = probe,
  .decode = never,
};

EFP_DECODER_DEFINE (vt)

/* efp-probe.h: the probe every EcoFlow decoder plugin uses.
 *
 * Data-driven through the built-in model table: a serial prefix, a protobuf
 * product id, the internal pack's BMS type or a JSON productType naming this
 * decoder gives EFP_PROBE_SURE (naming another one gives EFP_PROBE_NO). Else a
 * frame this decoder reads and takes station data from scores
 * EFP_PROBE_LIKELY (JSON) or EFP_PROBE_MAYBE (protobuf).
 */
#pragma once

#include <glib.h>

#include "efp-decode-context.h"

G_BEGIN_DECLS

EfpProbeScore efp_probe_frame (const EfpDecoderTraits *traits, const gchar *serial,
                               const guint8 *data, gsize len);

G_END_DECLS

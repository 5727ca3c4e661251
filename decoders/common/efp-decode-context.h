/* efp-decode-context.h: the per-device context every EcoFlow decoder plugin uses.
 *
 * A plugin's context_new/decode/context_free map onto this object; the plugin
 * only says which payload formats and JSON key families it accepts and
 * whether it takes the grid-source option. decode() checks the frame size,
 * tells protobuf from JSON, applies the frame to a copy of the station and
 * commits the copy only when the whole frame was good.
 */
#pragma once

#include <glib.h>

#include "efp-arena.h"
#include "efp-decoder.h"
#include "efp-model-table.h"
#include "efp-pb-telemetry.h"
#include "efp-station.h"

G_BEGIN_DECLS

/* Larger frames are refused: EcoFlow payloads are a few KB (the biggest JSON
 * quota reply in the captures is 11 KB). */
#define EFP_MAX_FRAME_BYTES (128 * 1024)

typedef enum
{
  EFP_FORMAT_PROTOBUF = 1 << 0,
  EFP_FORMAT_JSON = 1 << 1,
} EfpFormat;

typedef struct
{
  const gchar *name;        /* decoder name, prefixes every error */
  guint formats;            /* EfpFormat bits */
  guint json_families;      /* EfpJsonFamily bits */
  gboolean has_grid_option; /* accepts grid-source= */
} EfpDecoderTraits;

typedef struct _EfpDecodeContext EfpDecodeContext;

EfpDecodeContext *efp_decode_context_new (const EfpDecoderTraits *traits,
                                          const EfpDecoderSetup *setup, GError **error);
void efp_decode_context_free (EfpDecodeContext *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpDecodeContext, efp_decode_context_free)

gboolean efp_decode_context_decode (EfpDecodeContext *self, const guint8 *data, gsize len,
                                    EfpReading *reading, GError **error);
EfpGridMode efp_decode_context_get_grid_mode (EfpDecodeContext *self);

/* First byte that is not JSON whitespace, or -1 when there is none. */
gint efp_frame_first_byte (const guint8 *data, gsize len);

G_END_DECLS

/* efp-decoder-session.h: one device's decoder context and merged reading.
 *
 * The one place frames are merged: the daemon and ecoflow-decode both use it,
 * so a capture decodes offline exactly as the daemon would see it. A frame is
 * decoded into a copy of the reading, which replaces the reading only when the
 * decoder succeeds: a bad frame never changes state.
 */
#pragma once

#include <glib.h>
#include "efp-decoder.h"

G_BEGIN_DECLS

typedef struct _EfpDecoderSession EfpDecoderSession;

EfpDecoderSession *efp_decoder_session_new (const EfpDecoderVTable *vtable,
                                            const EfpDecoderSetup *setup, GError **error);
void efp_decoder_session_free (EfpDecoderSession *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpDecoderSession, efp_decoder_session_free)

gboolean efp_decoder_session_feed (EfpDecoderSession *self, const guint8 *data, gsize len,
                                   gint64 now_us, GError **error);
const EfpReading *efp_decoder_session_get_reading (EfpDecoderSession *self);
/* 0 when no frame was accepted yet */
gint64 efp_decoder_session_get_last_frame_us (EfpDecoderSession *self);
const EfpDecoderVTable *efp_decoder_session_get_vtable (EfpDecoderSession *self);
guint64 efp_decoder_session_get_n_frames (EfpDecoderSession *self);
guint64 efp_decoder_session_get_n_errors (EfpDecoderSession *self);

G_END_DECLS

/* efp-device.h: one power station as the daemon sees it: config, decoder, freshness. */
#pragma once

#include <glib.h>
#include "efp-config.h"
#include "efp-decoder-session.h"
#include "efp-model-table.h"
#include "efp-reading-json.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *name;
  gchar *serial;                 /* NULL when frames arrive under the name */
  const EfpDeviceConfig *config; /* NULL for a device no config names */
  EfpDecoderSession *session;    /* NULL until the first frame picks a decoder */
  EfpReading reading;            /* last merged reading (restored or decoded) */
  gint64 last_frame_us;          /* wall clock, 0 never */
  gboolean stale;
  gint stale_after_sec;
  EfpTristate last_grid; /* for grid-lost / grid-restored events */
  guint stale_timer;
} EfpDevice;

EfpDevice *efp_device_new (const gchar *name, const gchar *serial, const EfpDeviceConfig *config);
void efp_device_free (EfpDevice *self);

/* Pick the decoder for this device: decoder= from config, else the model
 * table by serial prefix, else the best probe of @payload. */
gboolean efp_device_ensure_session (EfpDevice *self, EfpPluginRegistry *registry,
                                    const EfpModelTable *models, const guint8 *payload, gsize len,
                                    GError **error);
/* Decode and merge one frame; FALSE leaves the state untouched. */
gboolean efp_device_feed (EfpDevice *self, const guint8 *payload, gsize len, gint64 now_us,
                          GError **error);
void efp_device_meta (EfpDevice *self, EfpReadingMeta *meta);
gchar *efp_device_to_json (EfpDevice *self);

G_END_DECLS

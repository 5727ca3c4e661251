/* efp-reading-json.h: the normalized state JSON of CONTRACT 4.2. */
#pragma once

#include <json-glib/json-glib.h>
#include "efp-reading.h"

G_BEGIN_DECLS

typedef struct
{
  const gchar *device;  /* name (required) */
  const gchar *serial;  /* NULL for groups / unknown */
  const gchar *decoder; /* NULL for groups */
  gboolean stale;
  gint64 ts; /* unix seconds of the last valid frame, 0 never */
} EfpReadingMeta;

/* grid_connected false means on battery; unknown grid is not on battery. */
static inline gboolean
efp_reading_on_battery (const EfpReading *r)
{
  return r->grid_connected == EFP_TRISTATE_FALSE;
}

void efp_reading_build_json (JsonBuilder *b, const EfpReading *r, const EfpReadingMeta *meta);
/* One line of compact JSON. */
gchar *efp_reading_to_json (const EfpReading *r, const EfpReadingMeta *meta);

G_END_DECLS

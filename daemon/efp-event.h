/* efp-event.h: one transition as the JSON of CONTRACT 4.5, for MQTT and webhooks alike. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* {"ts":…,"device":…,"policy":…|null,"event":…,"detail":…} on one line */
gchar *efp_event_to_json (gint64 ts, const gchar *device, const gchar *policy, const gchar *event,
                          const gchar *detail);

G_END_DECLS

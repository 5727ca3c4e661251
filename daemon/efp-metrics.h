/* efp-metrics.h: Prometheus text exposition on [metrics] listen:port, /metrics. */
#pragma once

#include <glib.h>
#include "efp-reading-json.h"

G_BEGIN_DECLS

typedef struct _EfpMetrics EfpMetrics;

EfpMetrics *efp_metrics_new (const gchar *listen, guint16 port);
/* Bind and serve; FALSE with @error when the address cannot be bound. */
gboolean efp_metrics_start (EfpMetrics *self, GError **error);
void efp_metrics_free (EfpMetrics *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpMetrics, efp_metrics_free)

void efp_metrics_update_device (EfpMetrics *self, const EfpReading *reading,
                                const EfpReadingMeta *meta);
/* @phase: idle|armed|triggered|cooldown; @deadline_us 0 when none */
void efp_metrics_update_policy (EfpMetrics *self, const gchar *name, const gchar *phase,
                                gint64 deadline_us);
void efp_metrics_update_agent (EfpMetrics *self, const gchar *id, gboolean online,
                               gint64 last_seen_us);
void efp_metrics_set_connected (EfpMetrics *self, gboolean mqtt, gboolean cloud);
/* Counters: frames accepted/dropped per device, commands sent per action, events per kind. */
void efp_metrics_count_frame (EfpMetrics *self, const gchar *device, gboolean accepted);
void efp_metrics_count_command (EfpMetrics *self, const gchar *action);
void efp_metrics_count_event (EfpMetrics *self, const gchar *event);

/* Appended for the daemon and the tests. */
/* [metrics] of the merged key file: NULL without an error when the group is absent
 * (metrics are served only when asked for); NULL with @error for a bad port=.
 * listen= defaults to 127.0.0.1 (an address, "[::1]", a host name, or "*" for all). */
EfpMetrics *efp_metrics_new_from_keyfile (GKeyFile *keyfile, GError **error);
/* A connection idle this long is closed (default 30 s; tests shorten it). */
void efp_metrics_set_idle_timeout (EfpMetrics *self, guint seconds);
/* The port actually listened on (useful with port 0); 0 before start. */
guint16 efp_metrics_get_port (EfpMetrics *self);
/* The exposition text a scrape returns now (sorted, deterministic). */
gchar *efp_metrics_render (EfpMetrics *self);
/* Forget what a reload removed, so no series lingers. */
void efp_metrics_remove_device (EfpMetrics *self, const gchar *name);
void efp_metrics_remove_policy (EfpMetrics *self, const gchar *name);
void efp_metrics_remove_agent (EfpMetrics *self, const gchar *id);

G_END_DECLS

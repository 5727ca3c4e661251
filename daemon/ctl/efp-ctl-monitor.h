/* efp-ctl-monitor.h: `ecoflow-powerctl monitor`, live signals until interrupted. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Runs until SIGINT/SIGTERM (returns 0) or the bus goes away (returns 69). */
int efp_ctl_monitor (GDBusConnection *connection, gboolean json);

G_END_DECLS

/* efp-sd-notify.h: tell systemd we are ready (Type=notify) and alive (WatchdogSec=)
 * without libsystemd. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Send @state (e.g. "READY=1") to $NOTIFY_SOCKET; a no-op outside systemd. */
gboolean efp_sd_notify (const gchar *state);
/* When systemd watches us, ping it from the default main context twice per period, so a
 * loop that stops turning (and so stops acting) is restarted. Returns the source id, 0
 * without a watchdog. */
guint efp_sd_watchdog_start (void);

G_END_DECLS

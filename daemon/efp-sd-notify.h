/* efp-sd-notify.h: tell systemd we are ready (Type=notify) without libsystemd. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Send @state (e.g. "READY=1") to $NOTIFY_SOCKET; a no-op outside systemd. */
gboolean efp_sd_notify (const gchar *state);

G_END_DECLS

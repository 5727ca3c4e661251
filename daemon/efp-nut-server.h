/* efp-nut-server.h: the NUT network protocol server (CONTRACT 6, [nut] of 3.1).
 *
 * Every device and group the daemon publishes is a UPS named after it
 * (efp_nut_ups_name). Reads (LIST, GET) need no login. LOGIN, PRIMARY/MASTER and
 * FSD check the upsd.users(5) file of [nut] users-file; without one they are
 * refused with ERR ACCESS-DENIED. Everything runs in the GLib main loop.
 */
#pragma once

#include <gio/gio.h>
#include "efp-config.h"
#include "efp-reading.h"
#include "efp-reading-json.h"

G_BEGIN_DECLS

typedef struct _EfpNutServer EfpNutServer;

/* Reads users-file (NUT's upsd.users(5) format: [name], password = x,
 * upsmon primary|secondary|master|slave, actions = ...); a bad users file is a
 * config error (EFP_CONFIG_ERROR) with a one-line message naming file and line. */
EfpNutServer *efp_nut_server_new (const EfpNutConfig *config, GError **error);
/* GSocketService on listen:port (listen: an address, a host name, or "*" for all). */
gboolean efp_nut_server_start (EfpNutServer *self, GError **error);
void efp_nut_server_stop (EfpNutServer *self);
void efp_nut_server_free (EfpNutServer *self);
/* create/update UPS @meta->device (NUT name = lowercase, non [a-z0-9_-] chars -> '_');
 * @fsd: a policy triggered a shutdown for it; @charge_low: the soc-min that applies
 * (NAN unknown) */
void efp_nut_server_update_ups (EfpNutServer *self, const EfpReading *reading,
                                const EfpReadingMeta *meta, gboolean fsd, gdouble charge_low);

/* The port actually listened on (useful with port 0); 0 before start. */
guint16 efp_nut_server_get_port (EfpNutServer *self);
/* Limits; the defaults are 64 clients, 300 s idle, FSD set by a client held
 * for at least 120 s. Tests shorten them. */
void efp_nut_server_set_limits (EfpNutServer *self, guint max_clients, guint idle_timeout_sec,
                                guint fsd_hold_sec);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpNutServer, efp_nut_server_free)

G_END_DECLS

/* efp-wol.h: Wake-on-LAN after the power returns (CONTRACT 3.1 [wol:NAME]).
 *
 * Each [wol:NAME] host is woken once the grid has been back for
 * after-grid-sec on every device that was on battery, and the SoC is at least
 * min-soc: the machines the policies shut down come back by themselves. */
#pragma once

#include <glib.h>
#include "efp-reading.h"

G_BEGIN_DECLS

typedef struct _EfpWol EfpWol;

/* Called when a magic packet went out (the daemon publishes a "wol-sent" event). */
typedef void (*EfpWolSentFunc) (gpointer user_data, const gchar *host, const gchar *detail);

EfpWol *efp_wol_new (GKeyFile *keyfile, EfpWolSentFunc sent, gpointer user_data, GError **error);
void efp_wol_free (EfpWol *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpWol, efp_wol_free)
/* Feed each device's merged reading as frames arrive; the module owns its timers. */
void efp_wol_device_update (EfpWol *self, const gchar *device, const EfpReading *reading);
/* A shutdown went out: the hosts are expected down, arm the wake-up. */
void efp_wol_shutdown_issued (EfpWol *self, const gchar *device);

G_END_DECLS

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
/* The configured hosts, one line each: "NAME 00:11:22:33:44:55 via 255.255.255.255:9
 * after-grid-sec=60 min-soc=0" (logs, --check-config, tests). */
gchar *efp_wol_describe (EfpWol *self);

/* "00:11:22:33:44:55" (hex, any case) to 6 bytes; FALSE when it is not one. */
gboolean efp_wol_parse_mac (const gchar *text, guint8 mac[6]);
#define EFP_WOL_PACKET_LEN 102
/* The magic packet: 6 x 0xFF, then the MAC 16 times. */
void efp_wol_magic_packet (const guint8 mac[6], guint8 out[EFP_WOL_PACKET_LEN]);

G_END_DECLS

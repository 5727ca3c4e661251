/* efp-cloud.h: the EcoFlow cloud connection inside the daemon (SPEC section 2).
 *
 * Logs in (app or Open API), fetches MQTT credentials, connects with TLS
 * verified, subscribes to each device's topics, sends wake ("get all quotas")
 * requests, and hands every frame to the daemon through the "frame" signal.
 */
#pragma once

#include <gio/gio.h>
#include "efp-config.h"

G_BEGIN_DECLS

#define EFP_TYPE_CLOUD (efp_cloud_get_type ())
G_DECLARE_FINAL_TYPE (EfpCloud, efp_cloud, EFP, CLOUD, GObject)

/* Signals:
 *  "frame" (const gchar *serial, GBytes *payload)   raw device frame (protobuf or JSON)
 *  "connection-changed" (gboolean connected)
 *  "device-status" (const gchar *serial, gboolean online)  the cloud reports the device
 *      (un)reachable: Open API status topic, or a latestQuotas answer with "online":0
 */

/* @config is copied. Fails (78-style config error) only on unusable settings. */
EfpCloud *efp_cloud_new (const EfpCloudConfig *config, GError **error);
void efp_cloud_start (EfpCloud *self);
void efp_cloud_stop (EfpCloud *self);
gboolean efp_cloud_is_connected (EfpCloud *self);
/* Tests shorten the timers; 0 keeps the default: silence before a wake request
 * or quota poll (35000 ms), HTTP timeout (20 s), first login retry (1000 ms,
 * doubling to 5 min). */
void efp_cloud_set_timing (EfpCloud *self, guint wake_interval_ms, guint http_timeout_sec,
                           guint login_backoff_initial_ms);

G_END_DECLS

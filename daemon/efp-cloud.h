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
 */

/* @config is copied. Fails (78-style config error) only on unusable settings. */
EfpCloud *efp_cloud_new (const EfpCloudConfig *config, GError **error);
void efp_cloud_start (EfpCloud *self);
void efp_cloud_stop (EfpCloud *self);
gboolean efp_cloud_is_connected (EfpCloud *self);

G_END_DECLS

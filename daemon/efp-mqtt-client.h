/* efp-mqtt-client.h: libmosquitto driven by the GLib main loop, no second thread.
 *
 * The client connects asynchronously, never gives up: on any loss it waits
 * (first retry after backoff_initial_ms, doubling, capped at backoff_max_ms,
 * +-20 % jitter, reset on CONNACK) and reconnects, then re-subscribes every
 * pattern given to efp_mqtt_client_subscribe(). See STYLE.md 8.4.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define EFP_TYPE_MQTT_CLIENT (efp_mqtt_client_get_type ())
G_DECLARE_FINAL_TYPE (EfpMqttClient, efp_mqtt_client, EFP, MQTT_CLIENT, GObject)

typedef struct
{
  const gchar *host;       /* default "localhost" */
  guint16 port;            /* default 1883 */
  const gchar *client_id;  /* required; stable ids keep persistent sessions */
  const gchar *username;   /* NULL none */
  const gchar *password;   /* NULL none; never logged */
  gboolean clean_session;  /* FALSE keeps a persistent session on the broker */
  gboolean tls;            /* verify the server certificate, always */
  const gchar *ca_file;    /* NULL: the system CA store */
  guint keepalive_sec;     /* default 30 */
  const gchar *will_topic; /* NULL none; will is retained, QoS 1 */
  const gchar *will_payload;
  guint backoff_initial_ms; /* default 1000 */
  guint backoff_max_ms;     /* default 30000 */
} EfpMqttOptions;

/* Signals:
 *  "connected" ()                          CONNACK accepted, subscriptions re-sent
 *  "disconnected" (gint rc)                connection lost or refused (mosquitto rc / CONNACK rc)
 *  "message" (const gchar *topic, GBytes *payload, gboolean retained)
 */

EfpMqttClient *efp_mqtt_client_new (const EfpMqttOptions *options, GError **error);
/* Begin connecting; never fails (errors are logged once per state change and retried). */
void efp_mqtt_client_start (EfpMqttClient *self);
/* Send DISCONNECT (flushing for at most 100 ms) and stop reconnecting. */
void efp_mqtt_client_stop (EfpMqttClient *self);
gboolean efp_mqtt_client_is_connected (EfpMqttClient *self);
/* Remembered and re-sent after every reconnect. */
void efp_mqtt_client_subscribe (EfpMqttClient *self, const gchar *pattern, gint qos);
gboolean efp_mqtt_client_publish (EfpMqttClient *self, const gchar *topic, gconstpointer payload,
                                  gsize len, gint qos, gboolean retain, GError **error);
/* Replace credentials for the next (re)connect, e.g. after a cloud re-login. */
void efp_mqtt_client_set_credentials (EfpMqttClient *self, const gchar *username,
                                      const gchar *password);
/* Reconnect now with the current options (drops the current connection). */
void efp_mqtt_client_reconnect (EfpMqttClient *self);
/* Number of main-loop wakeups spent on this client (tests assert no busy loop). */
guint64 efp_mqtt_client_get_wakeups (EfpMqttClient *self);

G_END_DECLS

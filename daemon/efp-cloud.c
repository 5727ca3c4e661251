/* efp-cloud.c: EfpCloud, the EcoFlow cloud connection (SPEC section 2).
 *
 * States: LOGIN (app: POST /auth/login) -> CERT (certification request) ->
 * SESSION (EfpMqttClient connects and reconnects by itself), and WAIT (a
 * backoff timer before the next login). A login happens at start, after an
 * HTTP failure, and after the broker refuses the credentials (CONNACK rc 5);
 * consecutive logins are spaced by a backoff that only a CONNACK resets, so a
 * broken account can never cause a login or client-id storm.
 */
#include "efp-cloud.h"

#include <libsoup/soup.h>
#include <string.h>
#include "config.h"
#include "efp-cloud-login.h"
#include "efp-cloud-wake.h"
#include "efp-log.h"
#include "efp-mqtt-client.h"
#include "efp-secret.h"
#include "efp-json.h"

#define WAKE_INTERVAL_MS_DEFAULT 35000 /* SPEC 2.2: data older than 35 s is stale */
#define HTTP_TIMEOUT_SEC_DEFAULT 20
#define LOGIN_BACKOFF_INITIAL_MS 1000
#define LOGIN_BACKOFF_MAX_MS     (5 * 60 * 1000)
#define MQTT_BACKOFF_MAX_MS      60000
#define MQTT_KEEPALIVE_SEC       30
#define CONNACK_NOT_AUTHORISED   5 /* also MOSQ_ERR_CONN_REFUSED */

typedef enum
{
  STATE_STOPPED,
  STATE_LOGIN,
  STATE_CERT,
  STATE_SESSION,
  STATE_WAIT,
} State;

typedef struct
{
  EfpCloud *cloud;
  gchar *serial;
  EfpCloudFormat format;
  gint64 last_heard_us; /* monotonic; 0 never */
  gint64 last_wake_us;  /* last wake request or quota poll */
  gint online;          /* -1 unknown, 0, 1 */
  gboolean poll_in_flight;
  gboolean poll_failing;
} Device;

struct _EfpCloud
{
  GObject parent_instance;

  EfpCloudConfig config;
  gchar *api_url;
  gchar *secret;   /* app password or Open API secret key */
  gchar *app_uuid; /* ANDROID_<uuid>_<userId>: fixed for the life of the process */
  gchar *open_client_id;
  SoupSession *session;
  GCancellable *cancellable;

  State state;
  guint login_failures; /* consecutive logins without a CONNACK in between */
  guint retry_id;
  guint rejected_id;
  guint wake_id;
  gchar *last_problem;

  gchar *token;
  gchar *user_id;
  EfpCloudCert *cert;
  EfpMqttClient *mqtt;
  gboolean connected;
  GPtrArray *devices; /* Device* */
  guint32 seq;

  guint wake_interval_ms;
  guint login_backoff_initial_ms;
};

enum
{
  SIGNAL_FRAME,
  SIGNAL_CONNECTION_CHANGED,
  SIGNAL_DEVICE_STATUS,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (EfpCloud, efp_cloud, G_TYPE_OBJECT)

static void begin_login (EfpCloud *self);
static void reschedule_wake (EfpCloud *self);

static void
wipe_string (gchar **s)
{
  if (*s != NULL)
    memset (*s, 0, strlen (*s));
  g_clear_pointer (s, g_free);
}

static void
device_free (Device *d)
{
  g_free (d->serial);
  g_free (d);
}

/* One warning per state change: the same problem again is only a debug line. */
static void
report_problem (EfpCloud *self, const gchar *problem)
{
  if (g_strcmp0 (self->last_problem, problem) == 0)
    {
      g_debug ("%s", problem);
      return;
    }
  g_warning ("%s", problem);
  g_free (self->last_problem);
  self->last_problem = g_strdup (problem);
}

static void
set_connected (EfpCloud *self, gboolean connected)
{
  if (self->connected == connected)
    return;
  self->connected = connected;
  g_signal_emit (self, signals[SIGNAL_CONNECTION_CHANGED], 0, connected);
}

static void
set_online (EfpCloud *self, Device *d, gboolean online)
{
  if (d->online == (online ? 1 : 0))
    return;
  d->online = online ? 1 : 0;
  g_info ("EcoFlow cloud: device %s is %s", efp_log_redact (d->serial),
          online ? "online" : "offline");
  g_signal_emit (self, signals[SIGNAL_DEVICE_STATUS], 0, d->serial, online);
}

static Device *
find_device (EfpCloud *self, const gchar *serial)
{
  for (guint i = 0; i < self->devices->len; i++)
    {
      Device *d = g_ptr_array_index (self->devices, i);
      if (g_strcmp0 (d->serial, serial) == 0)
        return d;
    }
  return NULL;
}

/* ---- HTTP ---------------------------------------------------------------- */

static void
send_request (EfpCloud *self, SoupMessage *msg, GAsyncReadyCallback callback, gpointer data)
{
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, self->cancellable,
                                    callback, data);
}

/* The "data" of the answer, or NULL. A cancelled request (stop or dispose)
 * sets G_IO_ERROR_CANCELLED, and then the caller must not touch its object. */
static JsonNode *
finish_request (GObject *source, GAsyncResult *result, GError **error)
{
  SoupSession *session = SOUP_SESSION (source);
  SoupMessage *msg = soup_session_get_async_result_message (session, result);
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (session, result, error);

  if (body == NULL)
    return NULL;
  return efp_cloud_parse_response (soup_message_get_status (msg),
                                   soup_message_get_reason_phrase (msg), body, error);
}

static guint
backoff_ms (EfpCloud *self, guint level)
{
  guint64 ms = self->login_backoff_initial_ms;

  for (guint i = 0; i < level && ms < LOGIN_BACKOFF_MAX_MS; i++)
    ms *= 2;
  ms = MIN (ms, LOGIN_BACKOFF_MAX_MS);
  /* +-20 % jitter so many daemons do not log in at the same instant */
  return (guint) (ms * g_random_double_range (0.8, 1.2));
}

static gboolean
on_retry_login (gpointer user_data)
{
  EfpCloud *self = user_data;

  self->retry_id = 0;
  begin_login (self);
  return G_SOURCE_REMOVE;
}

/* @rejected: the broker refused the credentials of a certification that worked
 * until now; the first such login is immediate, later ones follow the backoff. */
static void
schedule_login (EfpCloud *self, gboolean rejected)
{
  guint delay;

  if (rejected && self->login_failures == 0)
    delay = 0;
  else
    delay = backoff_ms (self, rejected ? self->login_failures - 1 : self->login_failures);
  self->login_failures++;
  self->state = STATE_WAIT;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_debug ("EcoFlow cloud: next login in %u ms", delay);
  self->retry_id = g_timeout_add (delay, on_retry_login, self);
}

static void
login_failed (EfpCloud *self, const gchar *step, const GError *error)
{
  g_autofree gchar *problem =
    g_strdup_printf ("EcoFlow cloud %s failed: %s; retrying with backoff", step, error->message);

  report_problem (self, problem);
  schedule_login (self, FALSE);
}

/* ---- MQTT session ---------------------------------------------------------- */

static void
send_wake (EfpCloud *self, Device *d)
{
  g_autofree gchar *topic = NULL;
  g_autoptr (GError) error = NULL;

  d->last_wake_us = g_get_monotonic_time ();
  if (self->mqtt == NULL || self->user_id == NULL)
    return;
  topic = g_strdup_printf ("/app/%s/%s/thing/property/get", self->user_id, d->serial);
  /* unknown format: both requests; the device ignores the one it does not speak */
  if (d->format != EFP_CLOUD_FORMAT_JSON)
    {
      g_autoptr (GBytes) pb = NULL;
      gsize len;
      gconstpointer data;

      self->seq = (self->seq + 1) & 0x7fffffff;
      pb = efp_cloud_wake_protobuf (self->seq);
      data = g_bytes_get_data (pb, &len);
      if (!efp_mqtt_client_publish (self->mqtt, topic, data, len, 1, FALSE, &error))
        {
          g_debug ("EcoFlow cloud: wake request for %s not sent: %s", efp_log_redact (d->serial),
                   error->message);
          return;
        }
    }
  if (d->format != EFP_CLOUD_FORMAT_PROTOBUF)
    {
      g_autofree gchar *json = efp_cloud_wake_json (g_get_real_time () / 1000);
      if (!efp_mqtt_client_publish (self->mqtt, topic, json, strlen (json), 1, FALSE, &error))
        {
          g_debug ("EcoFlow cloud: wake request for %s not sent: %s", efp_log_redact (d->serial),
                   error->message);
          return;
        }
    }
  g_debug ("EcoFlow cloud: sent wake request to %s", efp_log_redact (d->serial));
}

static void
emit_frame (EfpCloud *self, Device *d, GBytes *payload)
{
  EfpCloudFormat format;
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);

  if (len == 0)
    return;
  d->last_heard_us = g_get_monotonic_time ();
  format = efp_cloud_detect_format (data, len);
  if (format != EFP_CLOUD_FORMAT_UNKNOWN && format != d->format)
    {
      g_debug ("EcoFlow cloud: device %s speaks %s", efp_log_redact (d->serial),
               format == EFP_CLOUD_FORMAT_JSON ? "JSON" : "protobuf");
      d->format = format;
    }
  set_online (self, d, TRUE);
  g_signal_emit (self, signals[SIGNAL_FRAME], 0, d->serial, payload);
}

static void
on_poll_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) data = finish_request (source, result, &error);
  Device *d;
  EfpCloud *self;
  g_autofree gchar *text = NULL;
  g_autoptr (GBytes) payload = NULL;
  gsize len;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  d = user_data;
  self = d->cloud;
  d->poll_in_flight = FALSE;
  if (data != NULL && !JSON_NODE_HOLDS_OBJECT (data))
    g_set_error (&error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE,
                 "expected an object in \"data\", found another JSON value");
  if (error != NULL)
    {
      if (!d->poll_failing)
        g_warning ("EcoFlow cloud quota poll for %s failed: %s", efp_log_redact (d->serial),
                   error->message);
      d->poll_failing = TRUE;
      return;
    }
  if (d->poll_failing)
    g_info ("EcoFlow cloud quota poll for %s works again", efp_log_redact (d->serial));
  d->poll_failing = FALSE;
  text = json_to_string (data, FALSE);
  len = strlen (text);
  payload = g_bytes_new_take (g_steal_pointer (&text), len);
  emit_frame (self, d, payload);
}

static void
poll_device (EfpCloud *self, Device *d)
{
  const gchar *query[] = { "sn", d->serial, NULL };
  g_autoptr (SoupMessage) msg = NULL;

  d->last_wake_us = g_get_monotonic_time ();
  if (d->poll_in_flight)
    return;
  msg = efp_cloud_open_get_message (self->api_url, "/iot-open/sign/device/quota/all",
                                    self->config.access_key, self->secret, query);
  d->poll_in_flight = TRUE;
  g_debug ("EcoFlow cloud: polling the quotas of %s", efp_log_redact (d->serial));
  send_request (self, msg, on_poll_done, d);
}

/* App API: wake requests need the MQTT session; Open API: the HTTP poll only
 * needs valid keys, and is the fallback exactly when MQTT is silent. */
static gboolean
wake_active (EfpCloud *self)
{
  if (self->config.auth == EFP_CLOUD_AUTH_APP)
    return self->connected && self->user_id != NULL;
  return self->state == STATE_SESSION;
}

static void
wake_or_poll (EfpCloud *self, Device *d)
{
  if (self->config.auth == EFP_CLOUD_AUTH_APP)
    send_wake (self, d);
  else
    poll_device (self, d);
}

static gboolean
on_wake_timer (gpointer user_data)
{
  EfpCloud *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 interval = (gint64) self->wake_interval_ms * 1000;

  self->wake_id = 0;
  for (guint i = 0; i < self->devices->len; i++)
    {
      Device *d = g_ptr_array_index (self->devices, i);
      if (MAX (d->last_heard_us, d->last_wake_us) + interval <= now)
        wake_or_poll (self, d);
    }
  reschedule_wake (self);
  return G_SOURCE_REMOVE;
}

/* One timer for all devices, due when the first of them has been silent for
 * the interval; a frame only moves its device's deadline, no timer churn. */
static void
reschedule_wake (EfpCloud *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 interval = (gint64) self->wake_interval_ms * 1000;
  gint64 next = G_MAXINT64;

  g_clear_handle_id (&self->wake_id, g_source_remove);
  if (!wake_active (self) || self->devices->len == 0)
    return;
  for (guint i = 0; i < self->devices->len; i++)
    {
      Device *d = g_ptr_array_index (self->devices, i);
      next = MIN (next, MAX (d->last_heard_us, d->last_wake_us) + interval);
    }
  self->wake_id =
    g_timeout_add (next > now ? (guint) ((next - now + 999) / 1000) : 0, on_wake_timer, self);
}

static void
wake_all (EfpCloud *self)
{
  for (guint i = 0; i < self->devices->len; i++)
    wake_or_poll (self, g_ptr_array_index (self->devices, i));
  reschedule_wake (self);
}

/* The "online" flag of a latestQuotas answer; -1 when absent. */
static gint
json_reply_online (GBytes *payload)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len;
  const gchar *text = g_bytes_get_data (payload, &len);
  JsonNode *root;
  JsonObject *data;
  JsonNode *online;

  if (!efp_json_load (parser, text, len, NULL))
    return -1;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return -1;
  data = json_object_get_object_member (json_node_get_object (root), "data");
  online = data != NULL ? json_object_get_member (data, "online") : NULL;
  if (online == NULL || !JSON_NODE_HOLDS_VALUE (online))
    return -1;
  if (json_node_get_value_type (online) == G_TYPE_INT64)
    return json_node_get_int (online) != 0;
  if (json_node_get_value_type (online) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (online);
  return -1;
}

/* {"params":{"status":1}} (older envelopes: "param"; flat "status" accepted too) */
static gint
json_status (GBytes *payload)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len;
  const gchar *text = g_bytes_get_data (payload, &len);
  JsonObject *obj;
  JsonObject *params;
  JsonNode *status;

  if (!efp_json_load (parser, text, len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return -1;
  obj = json_node_get_object (json_parser_get_root (parser));
  params = json_object_get_object_member (obj, "params");
  if (params == NULL)
    params = json_object_get_object_member (obj, "param");
  status = json_object_get_member (params != NULL ? params : obj, "status");
  if (status == NULL || !JSON_NODE_HOLDS_VALUE (status) ||
      json_node_get_value_type (status) != G_TYPE_INT64)
    return -1;
  return json_node_get_int (status) != 0;
}

static void
on_mqtt_message (EfpMqttClient *client, const gchar *topic, GBytes *payload, gboolean retained,
                 gpointer user_data)
{
  EfpCloud *self = user_data;
  g_auto (GStrv) parts = g_strsplit (topic, "/", -1);
  guint n = g_strv_length (parts);
  const gchar *serial = NULL;
  gboolean get_reply = FALSE;
  gboolean status = FALSE;
  Device *d;

  /* parts[0] is "" for the leading slash */
  if (self->config.auth == EFP_CLOUD_AUTH_APP)
    {
      if (n == 5 && g_str_equal (parts[1], "app") && g_str_equal (parts[2], "device") &&
          g_str_equal (parts[3], "property"))
        serial = parts[4];
      else if (n == 7 && g_str_equal (parts[1], "app") && g_str_equal (parts[4], "thing") &&
               g_str_equal (parts[5], "property") && g_str_equal (parts[6], "get_reply"))
        {
          serial = parts[3];
          get_reply = TRUE;
        }
    }
  else if (n == 5 && g_str_equal (parts[1], "open"))
    {
      if (g_str_equal (parts[4], "quota"))
        serial = parts[3];
      else if (g_str_equal (parts[4], "status"))
        {
          serial = parts[3];
          status = TRUE;
        }
    }
  d = serial != NULL ? find_device (self, serial) : NULL;
  if (d == NULL)
    {
      g_debug ("EcoFlow cloud: ignoring a message on an unexpected topic");
      return;
    }

  if (status)
    {
      gint online = json_status (payload);
      if (online < 0)
        {
          g_debug ("EcoFlow cloud: unreadable status message for %s", efp_log_redact (serial));
          return;
        }
      set_online (self, d, online);
      if (online && self->state == STATE_SESSION)
        poll_device (self, d); /* prime the state as soon as the device is back */
      reschedule_wake (self);
      return;
    }

  /* "online":0 in a latestQuotas answer: the cloud has no live device and the
   * quotaMap is its last memory; decoding it would present stale data as fresh */
  if (get_reply && g_bytes_get_size (payload) > 0 &&
      efp_cloud_detect_format (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload)) ==
        EFP_CLOUD_FORMAT_JSON &&
      json_reply_online (payload) == 0)
    {
      set_online (self, d, FALSE);
      return;
    }
  emit_frame (self, d, payload);
}

static void
on_mqtt_connected (EfpMqttClient *client, gpointer user_data)
{
  EfpCloud *self = user_data;

  self->login_failures = 0;
  g_clear_pointer (&self->last_problem, g_free);
  if (!self->connected)
    g_message ("Connected to the EcoFlow cloud broker %s:%u (%u devices)", self->cert->host,
               self->cert->port, self->devices->len);
  set_connected (self, TRUE);
  /* SUBSCRIBE went out before this PUBLISH on the same connection, so the
   * broker has the subscription when the answer comes */
  if (self->config.auth == EFP_CLOUD_AUTH_APP)
    wake_all (self);
  else
    reschedule_wake (self);
}

static void
drop_mqtt (EfpCloud *self)
{
  if (self->mqtt != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->mqtt, self);
      efp_mqtt_client_stop (self->mqtt);
      g_clear_object (&self->mqtt);
    }
  set_connected (self, FALSE);
  g_clear_handle_id (&self->wake_id, g_source_remove);
}

/* Out of the client's signal: the client is destroyed here. */
static gboolean
on_rejected (gpointer user_data)
{
  EfpCloud *self = user_data;

  self->rejected_id = 0;
  if (self->state != STATE_SESSION)
    return G_SOURCE_REMOVE;
  report_problem (self, "The EcoFlow cloud broker refused the MQTT credentials; logging in "
                        "again for new ones");
  drop_mqtt (self);
  schedule_login (self, TRUE);
  return G_SOURCE_REMOVE;
}

static void
on_mqtt_disconnected (EfpMqttClient *client, gint rc, gpointer user_data)
{
  EfpCloud *self = user_data;

  if (self->connected)
    {
      g_autofree gchar *problem = g_strdup_printf (
        "Lost the connection to the EcoFlow cloud broker (rc %d); reconnecting", rc);
      report_problem (self, problem);
    }
  set_connected (self, FALSE);
  if (self->config.auth == EFP_CLOUD_AUTH_APP)
    g_clear_handle_id (&self->wake_id, g_source_remove);
  if (rc == CONNACK_NOT_AUTHORISED && self->rejected_id == 0)
    self->rejected_id = g_idle_add (on_rejected, self);
}

static void
start_session (EfpCloud *self, EfpCloudCert *cert)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *client_id = NULL;
  EfpMqttOptions options = { 0 };

  drop_mqtt (self);
  g_clear_pointer (&self->cert, efp_cloud_cert_free);
  self->cert = cert;
  if (self->config.auth == EFP_CLOUD_AUTH_APP)
    client_id = g_strdup_printf ("ANDROID_%s_%s", self->app_uuid, self->user_id);
  else
    client_id = g_strdup (self->open_client_id);

  options.host = cert->host;
  options.port = cert->port;
  options.client_id = client_id;
  options.username = cert->username;
  options.password = cert->password;
  options.clean_session = TRUE;
  options.tls = TRUE; /* whatever "protocol" says: the cloud is never spoken to in the clear */
  options.ca_file = self->config.ca_file;
  options.keepalive_sec = MQTT_KEEPALIVE_SEC;
  options.backoff_initial_ms = 1000;
  options.backoff_max_ms = MQTT_BACKOFF_MAX_MS;
  self->mqtt = efp_mqtt_client_new (&options, &error);
  if (self->mqtt == NULL)
    {
      login_failed (self, "MQTT setup", error);
      return;
    }
  g_signal_connect (self->mqtt, "connected", G_CALLBACK (on_mqtt_connected), self);
  g_signal_connect (self->mqtt, "disconnected", G_CALLBACK (on_mqtt_disconnected), self);
  g_signal_connect (self->mqtt, "message", G_CALLBACK (on_mqtt_message), self);

  for (guint i = 0; i < self->devices->len; i++)
    {
      Device *d = g_ptr_array_index (self->devices, i);
      g_autofree gchar *t1 = NULL;
      g_autofree gchar *t2 = NULL;

      if (self->config.auth == EFP_CLOUD_AUTH_APP)
        {
          t1 = g_strdup_printf ("/app/device/property/%s", d->serial);
          t2 = g_strdup_printf ("/app/%s/%s/thing/property/get_reply", self->user_id, d->serial);
        }
      else
        {
          t1 = g_strdup_printf ("/open/%s/%s/quota", cert->username, d->serial);
          t2 = g_strdup_printf ("/open/%s/%s/status", cert->username, d->serial);
        }
      efp_mqtt_client_subscribe (self->mqtt, t1, 1);
      efp_mqtt_client_subscribe (self->mqtt, t2, 1);
    }

  self->state = STATE_SESSION;
  g_info ("EcoFlow cloud: got MQTT credentials, connecting to %s:%u", cert->host, cert->port);
  efp_mqtt_client_start (self->mqtt);
  if (self->config.auth == EFP_CLOUD_AUTH_OPEN_API)
    wake_all (self); /* prime every device over HTTP right away */
}

/* ---- login ------------------------------------------------------------------ */

static void
on_cert_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) data = finish_request (source, result, &error);
  EfpCloud *self;
  EfpCloudCert *cert;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = user_data;
  cert = data != NULL ? efp_cloud_parse_cert (data, &error) : NULL;
  if (cert == NULL)
    {
      login_failed (self, "certification request", error);
      return;
    }
  start_session (self, cert);
}

static void
request_app_cert (EfpCloud *self)
{
  g_autoptr (SoupMessage) msg =
    efp_cloud_app_cert_message (self->api_url, self->token, self->user_id);

  self->state = STATE_CERT;
  send_request (self, msg, on_cert_done, self);
}

static void
on_login_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) data = finish_request (source, result, &error);
  EfpCloud *self;
  g_autofree gchar *user_id = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = user_data;
  wipe_string (&self->token);
  if (data == NULL || !efp_cloud_parse_login (data, &self->token, &user_id, &error))
    {
      login_failed (self, "login", error);
      return;
    }
  if (g_strcmp0 (user_id, self->user_id) != 0)
    {
      g_free (self->user_id);
      self->user_id = g_steal_pointer (&user_id);
    }
  g_info ("EcoFlow cloud: logged in as user %s", efp_log_redact (self->user_id));
  request_app_cert (self);
}

static void
begin_login (EfpCloud *self)
{
  g_autoptr (SoupMessage) msg = NULL;

  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->config.auth == EFP_CLOUD_AUTH_APP)
    {
      self->state = STATE_LOGIN;
      msg = efp_cloud_login_message (self->api_url, self->config.email, self->secret);
      g_debug ("EcoFlow cloud: logging in at %s", self->api_url);
      send_request (self, msg, on_login_done, self);
    }
  else
    {
      self->state = STATE_CERT;
      msg = efp_cloud_open_get_message (self->api_url, "/iot-open/sign/certification",
                                        self->config.access_key, self->secret, NULL);
      g_debug ("EcoFlow cloud: requesting Open API MQTT credentials at %s", self->api_url);
      send_request (self, msg, on_cert_done, self);
    }
}

/* ---- object ----------------------------------------------------------------- */

static void
config_copy (EfpCloudConfig *dst, const EfpCloudConfig *src)
{
  dst->enabled = src->enabled;
  dst->auth = src->auth;
  dst->region = g_strdup (src->region);
  dst->api_url = g_strdup (src->api_url);
  dst->email = g_strdup (src->email);
  dst->password = g_strdup (src->password);
  dst->password_file = g_strdup (src->password_file);
  dst->access_key = g_strdup (src->access_key);
  dst->secret_key = g_strdup (src->secret_key);
  dst->secret_key_file = g_strdup (src->secret_key_file);
  dst->ca_file = g_strdup (src->ca_file);
  dst->republish_raw = src->republish_raw;
  dst->serials = g_strdupv (src->serials);
}

static void
config_clear (EfpCloudConfig *c)
{
  g_clear_pointer (&c->region, g_free);
  g_clear_pointer (&c->api_url, g_free);
  g_clear_pointer (&c->email, g_free);
  wipe_string (&c->password);
  g_clear_pointer (&c->password_file, g_free);
  g_clear_pointer (&c->access_key, g_free);
  wipe_string (&c->secret_key);
  g_clear_pointer (&c->secret_key_file, g_free);
  g_clear_pointer (&c->ca_file, g_free);
  g_clear_pointer (&c->serials, g_strfreev);
}

static void
efp_cloud_dispose (GObject *object)
{
  EfpCloud *self = EFP_CLOUD (object);

  efp_cloud_stop (self);
  g_clear_object (&self->session);
  G_OBJECT_CLASS (efp_cloud_parent_class)->dispose (object);
}

static void
efp_cloud_finalize (GObject *object)
{
  EfpCloud *self = EFP_CLOUD (object);

  config_clear (&self->config);
  g_free (self->api_url);
  wipe_string (&self->secret);
  wipe_string (&self->token);
  g_free (self->app_uuid);
  g_free (self->open_client_id);
  g_free (self->last_problem);
  g_free (self->user_id);
  g_clear_pointer (&self->cert, efp_cloud_cert_free);
  g_ptr_array_unref (self->devices);
  G_OBJECT_CLASS (efp_cloud_parent_class)->finalize (object);
}

static void
efp_cloud_class_init (EfpCloudClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = efp_cloud_dispose;
  object_class->finalize = efp_cloud_finalize;

  signals[SIGNAL_FRAME] =
    g_signal_new ("frame", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BYTES);
  signals[SIGNAL_CONNECTION_CHANGED] =
    g_signal_new ("connection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  signals[SIGNAL_DEVICE_STATUS] =
    g_signal_new ("device-status", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);
}

static void
efp_cloud_init (EfpCloud *self)
{
  self->devices = g_ptr_array_new_with_free_func ((GDestroyNotify) device_free);
  self->wake_interval_ms = WAKE_INTERVAL_MS_DEFAULT;
  self->login_backoff_initial_ms = LOGIN_BACKOFF_INITIAL_MS;
  self->seq = g_random_int () & 0x7fffffff;
}

/* A secret from the config value, else from its *-file key. */
static gchar *
load_secret (const gchar *value, const gchar *file, const gchar *file_key, const gchar *what,
             GError **error)
{
  g_autoptr (GError) local = NULL;
  gchar *secret;

  if (value != NULL && *value != '\0')
    return g_strdup (value);
  if (file == NULL || *file == '\0')
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_MISSING, "[cloud] %s: required for %s",
                   file_key, what);
      return NULL;
    }
  secret = efp_secret_read_file (file, NULL, &local);
  if (secret == NULL)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO, "[cloud] %s: %s", file_key,
                   local->message);
      return NULL;
    }
  if (*secret == '\0')
    {
      g_free (secret);
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[cloud] %s: expected a secret, found an empty file '%s'", file_key, file);
      return NULL;
    }
  return secret;
}

/* MQTT topic levels: a serial must not contain separators or wildcards. */
static gboolean
serial_is_valid (const gchar *serial)
{
  if (serial == NULL || *serial == '\0' || strlen (serial) > 64)
    return FALSE;
  for (const gchar *p = serial; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

EfpCloud *
efp_cloud_new (const EfpCloudConfig *config, GError **error)
{
  g_autoptr (EfpCloud) self = NULL;
  g_autoptr (GTlsDatabase) ca = NULL;
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (config != NULL, NULL);

  self = g_object_new (EFP_TYPE_CLOUD, NULL);
  config_copy (&self->config, config);
  self->api_url = efp_cloud_resolve_api_url (config->api_url, config->region, error);
  if (self->api_url == NULL)
    return NULL;

  if (config->auth == EFP_CLOUD_AUTH_APP)
    {
      g_autofree gchar *uuid = g_uuid_string_random ();
      GString *hex;

      if (config->email == NULL || *config->email == '\0')
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_MISSING,
                       "[cloud] email: required for auth=app");
          return NULL;
        }
      self->secret =
        load_secret (config->password, config->password_file, "password-file", "auth=app", error);
      if (self->secret == NULL)
        return NULL;
      /* the app's format: 32 upper-case hex digits, one id per process start */
      hex = g_string_new (NULL);
      for (const gchar *p = uuid; *p != '\0'; p++)
        if (*p != '-')
          g_string_append_c (hex, g_ascii_toupper (*p));
      self->app_uuid = g_string_free (hex, FALSE);
    }
  else
    {
      g_autofree gchar *seed = NULL;
      g_autofree gchar *digest = NULL;

      if (config->access_key == NULL || *config->access_key == '\0')
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_MISSING,
                       "[cloud] access-key: required for auth=open-api");
          return NULL;
        }
      self->secret = load_secret (config->secret_key, config->secret_key_file, "secret-key-file",
                                  "auth=open-api", error);
      if (self->secret == NULL)
        return NULL;
      /* stable across restarts: EcoFlow allows only ~10 client ids a day */
      seed = g_strdup_printf ("%s|%s", config->access_key, g_get_host_name ());
      digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, seed, -1);
      self->open_client_id = g_strdup_printf ("efp-%.24s", digest);
    }

  for (guint i = 0; config->serials != NULL && config->serials[i] != NULL; i++)
    {
      Device *d;

      if (!serial_is_valid (config->serials[i]))
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                       "[cloud] device serial: expected letters and digits, found '%s'",
                       config->serials[i]);
          return NULL;
        }
      if (find_device (self, config->serials[i]) != NULL)
        continue;
      d = g_new0 (Device, 1);
      d->cloud = self;
      d->serial = g_strdup (config->serials[i]);
      d->online = -1;
      g_ptr_array_add (self->devices, d);
    }

  self->session = soup_session_new_with_options ("timeout", HTTP_TIMEOUT_SEC_DEFAULT, "user-agent",
                                                 "ecoflow-powerd/" PACKAGE_VERSION, NULL);
  if (config->ca_file != NULL && *config->ca_file != '\0')
    {
      ca = g_tls_file_database_new (config->ca_file, &local);
      if (ca == NULL)
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO,
                       "[cloud] ca-file: cannot load '%s': %s", config->ca_file, local->message);
          return NULL;
        }
      soup_session_set_tls_database (self->session, ca);
    }
  return g_steal_pointer (&self);
}

void
efp_cloud_start (EfpCloud *self)
{
  g_return_if_fail (EFP_IS_CLOUD (self));

  if (self->state != STATE_STOPPED)
    return;
  if (self->devices->len == 0)
    g_warning ("EcoFlow cloud: no device serials configured ([device:*] serial= or "
               "ECOFLOW_DEVICE_LIST); nothing will be received");
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->login_failures = 0;
  begin_login (self);
}

void
efp_cloud_stop (EfpCloud *self)
{
  g_return_if_fail (EFP_IS_CLOUD (self));

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->rejected_id, g_source_remove);
  drop_mqtt (self);
  for (guint i = 0; i < self->devices->len; i++)
    ((Device *) g_ptr_array_index (self->devices, i))->poll_in_flight = FALSE;
  self->state = STATE_STOPPED;
}

gboolean
efp_cloud_is_connected (EfpCloud *self)
{
  g_return_val_if_fail (EFP_IS_CLOUD (self), FALSE);
  return self->connected;
}

void
efp_cloud_set_timing (EfpCloud *self, guint wake_interval_ms, guint http_timeout_sec,
                      guint login_backoff_initial_ms)
{
  g_return_if_fail (EFP_IS_CLOUD (self));

  if (wake_interval_ms > 0)
    self->wake_interval_ms = wake_interval_ms;
  if (http_timeout_sec > 0)
    g_object_set (self->session, "timeout", http_timeout_sec, NULL);
  if (login_backoff_initial_ms > 0)
    self->login_backoff_initial_ms = login_backoff_initial_ms;
}

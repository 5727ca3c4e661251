/* test-cloud.c: EfpCloud against a fake EcoFlow cloud on loopback.
 *
 * The REST API is a SoupServer (fake-ecoflow-cloud.c); the cloud broker is a
 * real mosquitto with TLS (a throw-away CA made by tests/data/tls/make-test-pki.sh)
 * that requires the username/password the fake API issued. A second MQTT
 * client, the "peer", plays the devices: it answers wake requests with
 * captured get_reply bundles and replays the captured pushes of vectors.json.
 */
#include "efp-cloud.h"
#include "efp-decoder-session.h"
#include "efp-mqtt-client.h"
#include "efp-plugin-loader.h"
#include "efp-test-broker.h"
#include "efp-test-log.h"
#include "fake-ecoflow-cloud.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <mosquitto.h>
#include <stdlib.h>
#include <string.h>

#define PB_SN        "R631ZEB4WH000001" /* a protobuf device */
#define JSON_SN      "R331ZEB4XE000002" /* a JSON device */
#define OPEN_SN      "MR51ZAS5PG000003"
#define R3_SN        "R655ZEB5XF000004" /* a RIVER 3 (UPS variant) */
#define EMAIL        "owner@example.test"
#define PASSWORD     "app-pässword-1"
#define TOKEN        "eyJ0b2tlbi1zZWNyZXQ"
#define USER_ID      "1234567890123456789"
#define ACCOUNT      "app-4f1c2d"
#define MQTT_PW_1    "mqtt-secret-one"
#define MQTT_PW_2    "mqtt-secret-two"
#define ACCESS_KEY   "Fp4SvIprYSL3Tn2Lq0FhK3M2wZ1s1XWx"
#define SECRET_KEY   "WIbFEKre0s6sLnh4ei7SPUeYnptHG6V"
#define OPEN_ACCOUNT "open-9a8b7c"
#define PEER_USER    "tester"
#define PEER_PW      "tester-pw"

static gchar *pki_dir;
static GPtrArray *vectors; /* Vector* */

typedef struct
{
  gchar *name;
  gchar *topic; /* template with {sn} and {userId} */
  gboolean json;
  GBytes *payload;
} Vector;

typedef struct
{
  gchar *serial;
  GBytes *payload;
} Frame;

typedef struct
{
  gchar *topic;
  GBytes *payload;
} Msg;

typedef struct
{
  EfpTestBroker *broker;
  gchar *passwd;
  FakeEcoflowCloud *fake;
  EfpCloud *cloud;
  EfpMqttClient *peer;
  gboolean peer_up;
  gboolean answer_wakes;
  GPtrArray *frames;           /* Frame* */
  GPtrArray *wakes;            /* Msg*: what arrived on .../thing/property/get */
  GPtrArray *statuses;         /* "SN=0|1" */
  EfpPluginRegistry *registry; /* when set, frames are decoded as the daemon does */
  GHashTable *sessions;        /* serial -> EfpDecoderSession */
  gboolean connected;
  guint n_up;
  guint n_down;
} Fixture;

/* ---- helpers ----------------------------------------------------------------- */

/* A publish right after CONNACK can reach the broker before the cloud's
 * SUBSCRIBE; repeat it until the effect shows. */
#define PUBLISH_UNTIL(client, topic, payload, cond)                                                \
  G_STMT_START                                                                                     \
  {                                                                                                \
    for (guint try_ = 0; try_ < 25 && !(cond); try_++)                                             \
      {                                                                                            \
        publish ((client), (topic), (payload));                                                    \
        for (guint w_ = 0; w_ < 40 && !(cond); w_++)                                               \
          spin (5);                                                                                \
      }                                                                                            \
    g_assert_true (cond);                                                                          \
  }                                                                                                \
  G_STMT_END

static void publish (EfpMqttClient *client, const gchar *topic, GBytes *payload);

/* Run the loop until @t0 + @ms (monotonic): upper bounds "by then" hold even on a slow machine. */
static void
spin_until (gint64 t0, guint ms)
{
  gint64 now = g_get_monotonic_time ();

  if (t0 + (gint64) ms * 1000 > now)
    spin ((guint) ((t0 + (gint64) ms * 1000 - now) / 1000));
}

static GBytes *
decode_hex (const gchar *hex)
{
  gsize n = strlen (hex) / 2;
  guint8 *buf = g_malloc (n);

  for (gsize i = 0; i < n; i++)
    buf[i] = (g_ascii_xdigit_value (hex[2 * i]) << 4) | g_ascii_xdigit_value (hex[2 * i + 1]);
  return g_bytes_new_take (buf, n);
}

static void
vector_free (Vector *v)
{
  g_free (v->name);
  g_free (v->topic);
  g_bytes_unref (v->payload);
  g_free (v);
}

/* Envelope and JSON vectors on the topics the cloud subscribes to. */
static void
load_vectors (void)
{
  g_autofree gchar *path =
    g_build_filename (g_getenv ("EFP_SHARED_DIR"), "protocol", "vectors.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  JsonArray *arr;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  arr = json_node_get_array (json_parser_get_root (parser));
  vectors = g_ptr_array_new_with_free_func ((GDestroyNotify) vector_free);
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonObject *o = json_array_get_object_element (arr, i);
      const gchar *kind = json_object_get_string_member (o, "payload_kind");
      const gchar *enc = json_object_get_string_member (o, "encoding");
      const gchar *topic = json_object_get_string_member (o, "topic");
      const gchar *payload = json_object_get_string_member (o, "payload");
      Vector *v;

      if (g_str_equal (kind, "pdata") || !(g_str_has_prefix (topic, "/app/device/property/") ||
                                           g_str_has_suffix (topic, "/get_reply")))
        continue;
      v = g_new0 (Vector, 1);
      v->name = g_strdup (json_object_get_string_member (o, "name"));
      v->topic = g_strdup (topic);
      v->json = g_str_equal (enc, "json");
      if (g_str_equal (enc, "hex"))
        v->payload = decode_hex (payload);
      else if (g_str_equal (enc, "base64"))
        {
          gsize n = 0;
          guchar *raw = g_base64_decode (payload, &n);
          v->payload = g_bytes_new_take (raw, n);
        }
      else
        v->payload = g_bytes_new (payload, strlen (payload));
      g_assert_cmpuint (g_bytes_get_size (v->payload), ==,
                        json_object_get_int_member (o, "payload_len"));
      g_ptr_array_add (vectors, v);
    }
  g_assert_cmpuint (vectors->len, >=, 15);
}

static const Vector *
find_vector (const gchar *name)
{
  for (guint i = 0; i < vectors->len; i++)
    if (g_str_equal (((Vector *) g_ptr_array_index (vectors, i))->name, name))
      return g_ptr_array_index (vectors, i);
  g_assert_not_reached ();
  return NULL;
}

static gchar *
vector_topic (const Vector *v, const gchar *serial, const gchar *user_id)
{
  g_autofree gchar *t = NULL;
  gchar **parts = g_strsplit (v->topic, "{sn}", -1);

  t = g_strjoinv (serial, parts);
  g_strfreev (parts);
  parts = g_strsplit (t, "{userId}", -1);
  g_free (t);
  t = g_strjoinv (user_id, parts);
  g_strfreev (parts);
  return g_steal_pointer (&t);
}

static void
run_or_die (const gchar *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *err = NULL;
  gint status = 0;

  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_printerr ("# %s failed: %s\n", argv[0], err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static gchar *
pki (const gchar *name)
{
  return g_build_filename (pki_dir, name, NULL);
}

/* The broker accepts @account/@password (the cloud) and the test peer. */
static void
write_passwd (Fixture *f, const gchar *account, const gchar *password)
{
  const gchar *create[] = { "mosquitto_passwd", "-c", "-b", f->passwd, account, password, NULL };
  const gchar *add[] = { "mosquitto_passwd", "-b", f->passwd, PEER_USER, PEER_PW, NULL };
  const gchar *open[] = { "mosquitto_passwd", "-b", f->passwd, OPEN_ACCOUNT, MQTT_PW_1, NULL };

  run_or_die (create);
  run_or_die (add);
  run_or_die (open);
}

static void
broker_restart (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  efp_test_broker_stop (f->broker);
  efp_test_broker_start (f->broker, &error);
  g_assert_no_error (error);
}

/* Client ids the broker saw connecting successfully with username @user. */
static GPtrArray *
broker_client_ids (Fixture *f, const gchar *user)
{
  g_autofree gchar *path =
    g_build_filename (efp_test_broker_get_dir (f->broker), "mosquitto.log", NULL);
  g_autofree gchar *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autofree gchar *tag = g_strdup_printf ("u'%s')", user);
  GPtrArray *ids = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return ids;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const gchar *as = strstr (lines[i], " as ");
      if (strstr (lines[i], "New client connected") == NULL || as == NULL ||
          strstr (lines[i], tag) == NULL)
        continue;
      g_ptr_array_add (ids, g_strndup (as + 4, strcspn (as + 4, " ")));
    }
  return ids;
}

/* Connection attempts with @user the broker refused ("not authorised"). */
static guint
broker_refusals (Fixture *f)
{
  g_autofree gchar *path =
    g_build_filename (efp_test_broker_get_dir (f->broker), "mosquitto.log", NULL);
  g_autofree gchar *text = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  for (const gchar *p = strstr (text, "not authorised"); p != NULL;
       p = strstr (p + 1, "not authorised"))
    n++;
  return n;
}

/* ---- fixture ------------------------------------------------------------------- */

static void
on_frame (EfpCloud *cloud, const gchar *serial, GBytes *payload, Fixture *f)
{
  Frame *fr = g_new0 (Frame, 1);

  fr->serial = g_strdup (serial);
  fr->payload = g_bytes_ref (payload);
  g_ptr_array_add (f->frames, fr);
  if (f->registry != NULL)
    {
      EfpDecoderSession *session = g_hash_table_lookup (f->sessions, serial);
      g_autoptr (GError) error = NULL;
      gsize len;
      const guint8 *data = g_bytes_get_data (payload, &len);

      if (session == NULL)
        {
          /* like the daemon: the decoder whose probe fits the first frame */
          const EfpDecoderVTable *vt = efp_plugin_registry_probe (f->registry, serial, data, len);
          EfpDecoderSetup setup = { sizeof (EfpDecoderSetup), serial, NULL, NULL };

          g_assert_nonnull (vt);
          session = efp_decoder_session_new (vt, &setup, &error);
          g_assert_no_error (error);
          g_hash_table_insert (f->sessions, g_strdup (serial), session);
        }
      efp_decoder_session_feed (session, data, len, g_get_real_time (), &error);
      g_assert_no_error (error);
    }
}

static void
on_connection_changed (EfpCloud *cloud, gboolean connected, Fixture *f)
{
  g_assert_cmpint (connected, !=, f->connected); /* only real changes are signalled */
  f->connected = connected;
  if (connected)
    f->n_up++;
  else
    f->n_down++;
  g_assert_cmpint (connected, ==, efp_cloud_is_connected (cloud));
}

static void
on_device_status (EfpCloud *cloud, const gchar *serial, gboolean online, Fixture *f)
{
  g_ptr_array_add (f->statuses, g_strdup_printf ("%s=%d", serial, online));
}

static void
publish (EfpMqttClient *client, const gchar *topic, GBytes *payload)
{
  g_autoptr (GError) error = NULL;
  gsize len;
  gconstpointer data = g_bytes_get_data (payload, &len);

  g_assert_true (efp_mqtt_client_publish (client, topic, data, len, 1, FALSE, &error));
  g_assert_no_error (error);
}

static void
on_peer_message (EfpMqttClient *client, const gchar *topic, GBytes *payload, gboolean retained,
                 Fixture *f)
{
  Msg *m = g_new0 (Msg, 1);
  g_auto (GStrv) parts = g_strsplit (topic, "/", -1);
  const guint8 *data = g_bytes_get_data (payload, NULL);
  gboolean json = g_bytes_get_size (payload) > 0 && data[0] == '{';
  const Vector *reply = NULL;
  g_autofree gchar *reply_topic = NULL;

  m->topic = g_strdup (topic);
  m->payload = g_bytes_ref (payload);
  g_ptr_array_add (f->wakes, m);
  if (!f->answer_wakes || g_strv_length (parts) != 7)
    return;
  /* like a real device: answer only the request in the format it speaks */
  if (g_str_equal (parts[3], PB_SN) && !json)
    reply = find_vector ("river3plus_get_reply_two_batteries");
  else if (g_str_equal (parts[3], JSON_SN) && json)
    reply = find_vector ("delta2_latest_quotas_ac_present_not_charging");
  if (reply == NULL)
    return;
  reply_topic = g_strdup_printf ("%s_reply", topic);
  publish (client, reply_topic, reply->payload);
}

static void
on_peer_connected (EfpMqttClient *client, Fixture *f)
{
  f->peer_up = TRUE;
}

static void
on_peer_disconnected (EfpMqttClient *client, gint rc, Fixture *f)
{
  f->peer_up = FALSE;
}

static void
frame_free (Frame *fr)
{
  g_free (fr->serial);
  g_bytes_unref (fr->payload);
  g_free (fr);
}

static void
msg_free (Msg *m)
{
  g_free (m->topic);
  g_bytes_unref (m->payload);
  g_free (m);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *ca = pki ("ca.crt");
  g_autofree gchar *crt = pki ("server.crt");
  g_autofree gchar *key = pki ("server.key");
  g_autofree gchar *extra = NULL;
  EfpMqttOptions peer = { 0 };

  memset (f, 0, sizeof *f);
  log_clear ();
  f->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) frame_free);
  f->wakes = g_ptr_array_new_with_free_func ((GDestroyNotify) msg_free);
  f->statuses = g_ptr_array_new_with_free_func (g_free);

  f->broker = efp_test_broker_new ();
  f->passwd = g_build_filename (efp_test_broker_get_dir (f->broker), "passwd", NULL);
  write_passwd (f, ACCOUNT, MQTT_PW_1);
  extra = g_strdup_printf ("allow_anonymous false\npassword_file %s\n"
                           "cafile %s\ncertfile %s\nkeyfile %s\n",
                           f->passwd, ca, crt, key);
  efp_test_broker_set_extra_config (f->broker, extra);
  efp_test_broker_start (f->broker, &error);
  g_assert_no_error (error);

  f->fake = fake_ecoflow_cloud_new (NULL, NULL, &error);
  g_assert_no_error (error);
  fake_ecoflow_cloud_set_account (f->fake, EMAIL, PASSWORD, TOKEN, USER_ID);
  fake_ecoflow_cloud_set_keys (f->fake, ACCESS_KEY, SECRET_KEY);
  fake_ecoflow_cloud_set_mqtt (f->fake, "127.0.0.1", efp_test_broker_get_port (f->broker), ACCOUNT,
                               MQTT_PW_1);

  peer.host = "127.0.0.1";
  peer.port = efp_test_broker_get_port (f->broker);
  peer.client_id = "efp-test-peer";
  peer.username = PEER_USER;
  peer.password = PEER_PW;
  peer.clean_session = TRUE;
  peer.tls = TRUE;
  peer.ca_file = ca;
  peer.backoff_initial_ms = 200;
  peer.backoff_max_ms = 500;
  f->peer = efp_mqtt_client_new (&peer, &error);
  g_assert_no_error (error);
  g_signal_connect (f->peer, "connected", G_CALLBACK (on_peer_connected), f);
  g_signal_connect (f->peer, "disconnected", G_CALLBACK (on_peer_disconnected), f);
  g_signal_connect (f->peer, "message", G_CALLBACK (on_peer_message), f);
  efp_mqtt_client_subscribe (f->peer, "/app/+/+/thing/property/get", 1);
  efp_mqtt_client_start (f->peer);
  WAIT_UNTIL (f->peer_up, 5000);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  const gchar *secrets[] = { PASSWORD, TOKEN, MQTT_PW_1, MQTT_PW_2, SECRET_KEY, NULL };
  g_autofree gchar *b64 = g_base64_encode ((const guchar *) PASSWORD, strlen (PASSWORD));

  if (f->cloud != NULL)
    {
      g_signal_handlers_disconnect_by_data (f->cloud, f);
      efp_cloud_stop (f->cloud);
      g_clear_object (&f->cloud);
    }
  efp_mqtt_client_stop (f->peer);
  g_clear_object (&f->peer);
  /* the module never logs a secret, whatever happened in the test */
  for (guint i = 0; secrets[i] != NULL; i++)
    g_assert_null (strstr (logged (), secrets[i]));
  g_assert_null (strstr (logged (), b64));
  g_assert_null (strstr (logged (), USER_ID)); /* personal: redacted */
  /* let both ends of the HTTP connections see the close before the server goes */
  spin (50);
  g_clear_pointer (&f->fake, fake_ecoflow_cloud_free);
  spin (20);
  g_clear_pointer (&f->broker, efp_test_broker_free);
  g_free (f->passwd);
  g_ptr_array_unref (f->frames);
  g_ptr_array_unref (f->wakes);
  g_ptr_array_unref (f->statuses);
  g_clear_pointer (&f->sessions, g_hash_table_unref);
  g_clear_pointer (&f->registry, efp_plugin_registry_free);
}

static EfpCloud *
make_cloud (Fixture *f, EfpCloudAuth auth, const gchar *ca_name, const gchar *const *serials,
            guint wake_ms)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *ca = pki (ca_name);
  EfpCloudConfig c = { 0 };
  EfpCloud *cloud;

  c.enabled = TRUE;
  c.auth = auth;
  c.region = (gchar *) "eu";
  c.api_url = (gchar *) fake_ecoflow_cloud_get_url (f->fake);
  c.email = (gchar *) EMAIL;
  c.password = (gchar *) PASSWORD;
  c.access_key = (gchar *) ACCESS_KEY;
  c.secret_key = (gchar *) SECRET_KEY;
  c.ca_file = ca;
  c.republish_raw = TRUE;
  c.serials = (GStrv) serials;
  cloud = efp_cloud_new (&c, &error);
  g_assert_no_error (error);
  efp_cloud_set_timing (cloud, wake_ms, 1, 200);
  g_signal_connect (cloud, "frame", G_CALLBACK (on_frame), f);
  g_signal_connect (cloud, "connection-changed", G_CALLBACK (on_connection_changed), f);
  g_signal_connect (cloud, "device-status", G_CALLBACK (on_device_status), f);
  f->cloud = cloud;
  return cloud;
}

static gboolean
bytes_is_wake_protobuf (GBytes *b)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (b, &len);

  /* 0a LEN | 10 20 | 18 20 | 70 <seq varint> | ba 01 03 "ios" */
  return len >= 13 && d[0] == 0x0a && d[1] == len - 2 && d[2] == 0x10 && d[3] == 0x20 &&
         d[4] == 0x18 && d[5] == 0x20 && d[6] == 0x70 &&
         memcmp (d + len - 6, "\xba\x01\x03ios", 6) == 0;
}

static gboolean
bytes_is_wake_json (GBytes *b)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  gsize len;
  const gchar *d = g_bytes_get_data (b, &len);
  JsonObject *o;

  if (!json_parser_load_from_data (p, d, len, NULL))
    return FALSE;
  o = json_node_get_object (json_parser_get_root (p));
  return g_strcmp0 (json_object_get_string_member_with_default (o, "operateType", ""),
                    "latestQuotas") == 0 &&
         json_object_has_member (o, "params");
}

static guint
count_wakes (Fixture *f, const gchar *serial, gboolean json, guint from)
{
  g_autofree gchar *topic = g_strdup_printf ("/app/%s/%s/thing/property/get", USER_ID, serial);
  guint n = 0;

  for (guint i = from; i < f->wakes->len; i++)
    {
      Msg *m = g_ptr_array_index (f->wakes, i);
      if (!g_str_equal (m->topic, topic))
        continue;
      if (json ? bytes_is_wake_json (m->payload) : bytes_is_wake_protobuf (m->payload))
        n++;
    }
  return n;
}

static gint
find_frame (Fixture *f, const gchar *serial, GBytes *payload, guint from)
{
  for (guint i = from; i < f->frames->len; i++)
    {
      Frame *fr = g_ptr_array_index (f->frames, i);
      if (g_str_equal (fr->serial, serial) && g_bytes_equal (fr->payload, payload))
        return (gint) i;
    }
  return -1;
}

static void
assert_one_client_id (Fixture *f, const gchar *user, const gchar *prefix)
{
  g_autoptr (GPtrArray) ids = broker_client_ids (f, user);

  g_assert_cmpuint (ids->len, >=, 1);
  for (guint i = 0; i < ids->len; i++)
    {
      g_assert_cmpstr (g_ptr_array_index (ids, i), ==, g_ptr_array_index (ids, 0));
      g_assert_true (g_str_has_prefix (g_ptr_array_index (ids, i), prefix));
    }
}

/* ---- tests ------------------------------------------------------------------------ */

static const gchar *const app_serials[] = { PB_SN, JSON_SN, NULL };

/* Login, certification, TLS session, wake requests in both formats, get_reply
 * bundles and every captured push delivered byte-exact, then format-specific
 * wake requests once the device has been silent. */
static void
test_app_end_to_end (Fixture *f, gconstpointer data)
{
  g_autoptr (GPtrArray) ids = NULL;
  const Vector *pb_reply = find_vector ("river3plus_get_reply_two_batteries");
  const Vector *json_reply = find_vector ("delta2_latest_quotas_ac_present_not_charging");
  guint first_push;
  guint n_pushed = 0;
  guint mark;
  g_autoptr (GRegex) id_re = g_regex_new ("^ANDROID_[0-9A-F]{32}_" USER_ID "$", 0, 0, NULL);

  f->answer_wakes = TRUE;
  make_cloud (f, EFP_CLOUD_AUTH_APP, "ca.crt", app_serials, 1500);
  g_assert_false (efp_cloud_is_connected (f->cloud));
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (f->connected, 5000);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), ==, 1);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_APP_CERT), ==, 1);
  g_assert_cmpuint (fake_ecoflow_cloud_get_n_refused (f->fake), ==, 0);

  /* format unknown: both requests for each device, right after the subscription */
  WAIT_UNTIL (count_wakes (f, PB_SN, FALSE, 0) >= 1 && count_wakes (f, PB_SN, TRUE, 0) >= 1 &&
                count_wakes (f, JSON_SN, FALSE, 0) >= 1 && count_wakes (f, JSON_SN, TRUE, 0) >= 1,
              3000);
  /* the answers come back as frames, byte for byte */
  WAIT_UNTIL (find_frame (f, PB_SN, pb_reply->payload, 0) >= 0 &&
                find_frame (f, JSON_SN, json_reply->payload, 0) >= 0,
              3000);

  /* replay every captured push and get_reply; no more answers to interleave */
  f->answer_wakes = FALSE;
  first_push = f->frames->len;
  for (guint i = 0; i < vectors->len; i++)
    {
      const Vector *v = g_ptr_array_index (vectors, i);
      g_autofree gchar *topic = vector_topic (v, v->json ? JSON_SN : PB_SN, USER_ID);
      publish (f->peer, topic, v->payload);
      n_pushed++;
    }
  WAIT_UNTIL (f->frames->len >= first_push + n_pushed, 5000);
  for (guint i = 0; i < vectors->len; i++)
    {
      const Vector *v = g_ptr_array_index (vectors, i);
      Frame *fr = g_ptr_array_index (f->frames, first_push + i);
      g_test_message ("vector %s", v->name);
      /* same order, same device, same bytes */
      g_assert_cmpstr (fr->serial, ==, v->json ? JSON_SN : PB_SN);
      g_assert_true (g_bytes_equal (fr->payload, v->payload));
    }

  /* silent for the interval: a new request, now only in the device's own format */
  mark = f->wakes->len;
  WAIT_UNTIL (count_wakes (f, PB_SN, FALSE, mark) >= 1 && count_wakes (f, JSON_SN, TRUE, mark) >= 1,
              4000);
  spin (300);
  g_assert_cmpuint (count_wakes (f, PB_SN, TRUE, mark), ==, 0);
  g_assert_cmpuint (count_wakes (f, JSON_SN, FALSE, mark), ==, 0);

  /* one session, the app's client id format */
  ids = broker_client_ids (f, ACCOUNT);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_true (g_regex_match (id_re, g_ptr_array_index (ids, 0), 0, NULL));
  g_assert_cmpuint (f->n_down, ==, 0);
}

static const EfpReading *
reading_of (Fixture *f, const gchar *serial)
{
  EfpDecoderSession *s = g_hash_table_lookup (f->sessions, serial);

  g_assert_nonnull (s);
  return efp_decoder_session_get_reading (s);
}

/* Frames from the cloud, decoded by the real plugins exactly as the daemon
 * does (one session per serial): a RIVER 3 loses and regains AC, a DELTA 2
 * answers latestQuotas. */
static void
test_app_normalized_state (Fixture *f, gconstpointer data)
{
  static const gchar *const serials[] = { R3_SN, JSON_SN, NULL };
  const Vector *unplugged = find_vector ("river3_r655_get_reply_ac_unplugged");
  const Vector *ac_return = find_vector ("river3_r655_display_incr_xor_ac_return");
  const Vector *soc99 = find_vector ("river3_r655_display_incr_xor_soc");
  const Vector *quotas = find_vector ("delta2_latest_quotas_ac_present_not_charging");
  g_autofree gchar *t_unplugged = vector_topic (unplugged, R3_SN, USER_ID);
  g_autofree gchar *t_return = vector_topic (ac_return, R3_SN, USER_ID);
  g_autofree gchar *t_soc = vector_topic (soc99, R3_SN, USER_ID);
  g_autofree gchar *t_quotas = vector_topic (quotas, JSON_SN, USER_ID);
  const EfpReading *r;

  f->registry = efp_plugin_registry_new ();
  g_assert_cmpuint (efp_plugin_registry_load_dir (f->registry, g_getenv ("EFP_PLUGIN_DIR")), >=, 3);
  g_assert_nonnull (efp_plugin_registry_get_decoder (f->registry, "river3plus"));
  g_assert_nonnull (efp_plugin_registry_get_decoder (f->registry, "delta"));
  f->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) efp_decoder_session_free);

  make_cloud (f, EFP_CLOUD_AUTH_APP, "ca.crt", serials, 0);
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (f->connected, 5000);

  PUBLISH_UNTIL (f->peer, t_unplugged, unplugged->payload, f->frames->len >= 1);
  r = reading_of (f, R3_SN);
  g_assert_cmpfloat_with_epsilon (r->soc, 98.0, 1e-3);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpstr (r->model, ==, "RIVER 3");

  publish (f->peer, t_return, ac_return->payload);
  WAIT_UNTIL (f->frames->len >= 2, 3000);
  r = reading_of (f, R3_SN);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpfloat_with_epsilon (r->soc, 98.0, 1e-3); /* not in this delta: unchanged */

  publish (f->peer, t_soc, soc99->payload);
  WAIT_UNTIL (f->frames->len >= 3, 3000);
  g_assert_cmpfloat_with_epsilon (reading_of (f, R3_SN)->soc, 99.0, 1e-3);

  PUBLISH_UNTIL (f->peer, t_quotas, quotas->payload, g_hash_table_contains (f->sessions, JSON_SN));
  r = reading_of (f, JSON_SN);
  g_assert_cmpfloat_with_epsilon (r->soc, 85.0, 1e-3);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->model, ==, "DELTA 2");
}

/* A latestQuotas answer with "online":0 is the cloud's stale memory: not a frame. */
static void
test_app_offline_reply (Fixture *f, gconstpointer data)
{
  static const gchar *const serials[] = { JSON_SN, NULL };
  const gchar *offline =
    "{\"id\":\"1\",\"operateType\":\"latestQuotas\",\"code\":\"0\",\"data\":{\"sn\":\"" JSON_SN
    "\",\"online\":0,\"quotaMap\":{\"pd.soc\":77}}}";
  g_autoptr (GBytes) b = g_bytes_new_static (offline, strlen (offline));
  g_autofree gchar *topic =
    g_strdup_printf ("/app/%s/%s/thing/property/get_reply", USER_ID, JSON_SN);
  const Vector *push = find_vector ("delta2_app_update_bms");
  g_autofree gchar *push_topic = vector_topic (push, JSON_SN, USER_ID);
  guint n_frames;

  make_cloud (f, EFP_CLOUD_AUTH_APP, "ca.crt", serials, 0);
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (f->connected, 5000);
  PUBLISH_UNTIL (f->peer, push_topic, push->payload, f->frames->len >= 1);
  g_assert_cmpuint (f->statuses->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->statuses, 0), ==, JSON_SN "=1");
  n_frames = f->frames->len;
  publish (f->peer, topic, b);
  WAIT_UNTIL (f->statuses->len == 2, 3000);
  g_assert_cmpstr (g_ptr_array_index (f->statuses, 1), ==, JSON_SN "=0");
  g_assert_cmpuint (f->frames->len, ==, n_frames);
  /* the next push says it is back */
  publish (f->peer, push_topic, push->payload);
  WAIT_UNTIL (f->frames->len == n_frames + 1, 3000);
  g_assert_cmpstr (g_ptr_array_index (f->statuses, 2), ==, JSON_SN "=1");
}

/* Broker restart: the same session comes back by itself with the same client
 * id, no new login, a new wake request, and frames flow again. */
static void
test_app_broker_restart (Fixture *f, gconstpointer data)
{
  const Vector *v = find_vector ("river3plus_display_full_xor");
  g_autofree gchar *topic = vector_topic (v, PB_SN, USER_ID);
  guint mark;

  /* a short wake interval: a request sent before the peer re-subscribed is repeated */
  make_cloud (f, EFP_CLOUD_AUTH_APP, "ca.crt", app_serials, 1000);
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (f->connected, 5000);
  WAIT_UNTIL (count_wakes (f, PB_SN, FALSE, 0) >= 1, 3000);

  broker_restart (f);
  WAIT_UNTIL (!f->connected, 5000);
  mark = f->wakes->len;
  WAIT_UNTIL (f->connected && f->peer_up, 10000);
  g_assert_cmpuint (f->n_up, ==, 2);
  WAIT_UNTIL (count_wakes (f, PB_SN, FALSE, mark) >= 1, 3000);
  publish (f->peer, topic, v->payload);
  WAIT_UNTIL (find_frame (f, PB_SN, v->payload, 0) >= 0, 3000);

  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), ==, 1);
  assert_one_client_id (f, ACCOUNT, "ANDROID_");
}

/* The broker's password changes: CONNACK 5, one fresh login, new credentials. */
static void
test_app_credentials_rotated (Fixture *f, gconstpointer data)
{
  const Vector *v = find_vector ("delta2_app_update_bms");
  g_autofree gchar *topic = vector_topic (v, JSON_SN, USER_ID);
  g_autoptr (GPtrArray) ids = NULL;

  make_cloud (f, EFP_CLOUD_AUTH_APP, "ca.crt", app_serials, 0);
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (f->connected, 5000);

  fake_ecoflow_cloud_set_mqtt (f->fake, "127.0.0.1", efp_test_broker_get_port (f->broker), ACCOUNT,
                               MQTT_PW_2);
  write_passwd (f, ACCOUNT, MQTT_PW_2);
  broker_restart (f);
  WAIT_UNTIL (!f->connected, 5000);
  WAIT_UNTIL (f->connected, 10000);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), ==, 2);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_APP_CERT), ==, 2);
  g_assert_cmpuint (broker_refusals (f), >=, 1);
  g_assert_cmpuint (count_log ("WARNING: The EcoFlow cloud broker refused the MQTT credentials"),
                    ==, 1);

  WAIT_UNTIL (f->peer_up, 5000);
  PUBLISH_UNTIL (f->peer, topic, v->payload, find_frame (f, JSON_SN, v->payload, 0) >= 0);
  /* a re-login is not a new client id: the daily budget is untouched */
  assert_one_client_id (f, ACCOUNT, "ANDROID_");
  ids = broker_client_ids (f, ACCOUNT);
  g_assert_cmpuint (ids->len, ==, 2);
}

/* Credentials the broker never accepts: logins are spaced by the backoff,
 * no storm of logins or connections, one warning. */
static void
test_app_rejected_no_storm (Fixture *f, gconstpointer data)
{
  guint logins;
  gint64 t0;

  fake_ecoflow_cloud_set_mqtt (f->fake, "127.0.0.1", efp_test_broker_get_port (f->broker), ACCOUNT,
                               "not-the-broker-password");

  make_cloud (f, EFP_CLOUD_AUTH_APP, "ca.crt", app_serials, 0);
  t0 = g_get_monotonic_time ();
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN) >= 3, 15000);
  spin_until (t0, 3500);
  logins = fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN);
  g_test_message ("%u logins, %u refused connections in 3.5 s", logins, broker_refusals (f));
  /* backoff 200 ms initial in this test: 0, 0.2, 0.4, 0.8, 1.6 s ... (+-20 %) */
  g_assert_cmpuint (logins, >=, 3);
  g_assert_cmpuint (logins, <=, 7);
  g_assert_cmpuint (broker_refusals (f), <=, logins + 1);
  g_assert_cmpuint (f->n_up, ==, 0);
  g_assert_cmpuint (count_log ("WARNING: The EcoFlow cloud broker refused the MQTT credentials"),
                    ==, 1);
}

/* Login HTTP 500, garbage, an error code, a timeout and an answer without the
 * fields, then a failing certification: all retried, each reported once. */
static void
test_app_http_faults (Fixture *f, gconstpointer data)
{
  fake_ecoflow_cloud_push_fault (f->fake, FAKE_CLOUD_LOGIN, FAKE_CLOUD_FAULT_HTTP_500);
  fake_ecoflow_cloud_push_fault (f->fake, FAKE_CLOUD_LOGIN, FAKE_CLOUD_FAULT_HTTP_500);
  fake_ecoflow_cloud_push_fault (f->fake, FAKE_CLOUD_LOGIN, FAKE_CLOUD_FAULT_GARBAGE);
  fake_ecoflow_cloud_push_fault (f->fake, FAKE_CLOUD_LOGIN, FAKE_CLOUD_FAULT_BAD_CODE);
  fake_ecoflow_cloud_push_fault (f->fake, FAKE_CLOUD_LOGIN, FAKE_CLOUD_FAULT_DELAY);
  fake_ecoflow_cloud_push_fault (f->fake, FAKE_CLOUD_LOGIN, FAKE_CLOUD_FAULT_NO_DATA);
  fake_ecoflow_cloud_push_fault (f->fake, FAKE_CLOUD_APP_CERT, FAKE_CLOUD_FAULT_HTTP_500);
  fake_ecoflow_cloud_set_delay_ms (f->fake, 2500);

  make_cloud (f, EFP_CLOUD_AUTH_APP, "ca.crt", app_serials, 0);
  efp_cloud_set_timing (f->cloud, 0, 1, 20); /* 7 retries: 20 ms doubling, ~2.5 s in all */
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (f->connected, 20000);
  /* 6 faulty logins, then one whose certification failed, then the good one */
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), ==, 8);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_APP_CERT), ==, 2);
  /* once per state change: the second HTTP 500 in a row is not logged again */
  g_assert_cmpuint (count_log ("WARNING: EcoFlow cloud login failed: HTTP 500"), ==, 1);
  g_assert_cmpuint (count_log ("WARNING: EcoFlow cloud login failed: expected a JSON answer"), ==,
                    1);
  g_assert_cmpuint (count_log ("WARNING: EcoFlow cloud login failed: code 8513"), ==, 1);
  g_assert_cmpuint (count_log ("WARNING: EcoFlow cloud login failed: login answer lacks"), ==, 1);
  g_assert_cmpuint (count_log ("WARNING: EcoFlow cloud certification request failed: HTTP 500"), ==,
                    1);
  g_assert_cmpuint (count_log ("WARNING: EcoFlow cloud login failed:"), ==, 5);
}

/* A wrong password is refused by the API: retried with backoff, never a loop. */
static void
test_app_wrong_password (Fixture *f, gconstpointer data)
{
  gint64 t0;

  fake_ecoflow_cloud_set_account (f->fake, EMAIL, "another password", TOKEN, USER_ID);
  make_cloud (f, EFP_CLOUD_AUTH_APP, "ca.crt", app_serials, 0);
  t0 = g_get_monotonic_time ();
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN) >= 3, 15000);
  spin_until (t0, 2000);
  /* 200 ms initial: 0, 0.2, 0.6, 1.4 s (+-20 %) */
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), >=, 3);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), <=, 5);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_APP_CERT), ==, 0);
  g_assert_cmpuint (count_log ("WARNING: EcoFlow cloud login failed: code 1006"), ==, 1);
  g_assert_false (f->connected);
}

/* The broker's certificate is not signed by the configured CA: no session. */
static void
test_app_bad_broker_certificate (Fixture *f, gconstpointer data)
{
  make_cloud (f, EFP_CLOUD_AUTH_APP, "other-ca.crt", app_serials, 0);
  efp_cloud_start (f->cloud);
  spin (2500);
  g_assert_cmpuint (f->n_up, ==, 0);
  g_assert_false (efp_cloud_is_connected (f->cloud));
  /* the login itself worked (http to loopback); only TLS to the broker failed */
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), ==, 1);
  g_assert_cmpuint (broker_client_ids (f, ACCOUNT)->len, ==, 0);
  g_assert_cmpuint (f->wakes->len, ==, 0);
}

/* https API: verified against ca-file, refused with another CA. */
static void
test_https_api_verified (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *crt = pki ("server.crt");
  g_autofree gchar *key = pki ("server.key");

  fake_ecoflow_cloud_free (f->fake);
  f->fake = fake_ecoflow_cloud_new (crt, key, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (fake_ecoflow_cloud_get_url (f->fake), "https://"));
  fake_ecoflow_cloud_set_account (f->fake, EMAIL, PASSWORD, TOKEN, USER_ID);
  fake_ecoflow_cloud_set_mqtt (f->fake, "127.0.0.1", efp_test_broker_get_port (f->broker), ACCOUNT,
                               MQTT_PW_1);

  make_cloud (f, EFP_CLOUD_AUTH_APP, "other-ca.crt", app_serials, 0);
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (count_log ("WARNING: EcoFlow cloud login failed") >= 1, 10000);
  spin (1000); /* a few retries: the same failure is not logged again */
  /* the TLS handshake failed, so no request ever reached the handler */
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), ==, 0);
  g_assert_false (f->connected);
  g_assert_cmpuint (count_log ("WARNING: EcoFlow cloud login failed"), ==, 1);
  g_signal_handlers_disconnect_by_data (f->cloud, f);
  g_clear_object (&f->cloud);

  make_cloud (f, EFP_CLOUD_AUTH_APP, "ca.crt", app_serials, 0);
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (f->connected, 5000);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), ==, 1);
}

/* Open API: signed certification, /open topics, quota and status messages,
 * HTTP quota poll at start, when the device comes online and when silent. */
static void
test_open_api (Fixture *f, gconstpointer data)
{
  static const gchar *const serials[] = { OPEN_SN, NULL };
  const gchar *quota_all = "{\"cmsBattSoc\":55.5,\"powGetAcIn\":0,\"plugInInfoAcChargerFlag\":0}";
  const gchar *push = "{\"cmsBattSoc\":56.0}";
  const gchar *offline = "{\"id\":\"9\",\"version\":\"1.0\",\"params\":{\"status\":0}}";
  const gchar *online = "{\"params\":{\"status\":1}}";
  g_autoptr (GBytes) quota_bytes = g_bytes_new_static (quota_all, strlen (quota_all));
  g_autoptr (GBytes) push_bytes = g_bytes_new_static (push, strlen (push));
  g_autoptr (GBytes) offline_bytes = g_bytes_new_static (offline, strlen (offline));
  g_autoptr (GBytes) online_bytes = g_bytes_new_static (online, strlen (online));
  g_autofree gchar *quota_topic = g_strdup_printf ("/open/%s/%s/quota", OPEN_ACCOUNT, OPEN_SN);
  g_autofree gchar *status_topic = g_strdup_printf ("/open/%s/%s/status", OPEN_ACCOUNT, OPEN_SN);
  g_autoptr (GRegex) id_re = g_regex_new ("^efp-[0-9a-f]{24}$", 0, 0, NULL);
  g_autoptr (GPtrArray) ids = NULL;
  guint polls;

  fake_ecoflow_cloud_set_mqtt (f->fake, "127.0.0.1", efp_test_broker_get_port (f->broker),
                               OPEN_ACCOUNT, MQTT_PW_1);
  fake_ecoflow_cloud_set_quota (f->fake, OPEN_SN, quota_all);

  make_cloud (f, EFP_CLOUD_AUTH_OPEN_API, "ca.crt", serials, 1500);
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (f->connected, 5000);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_OPEN_CERT), ==, 1);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_LOGIN), ==, 0);
  /* primed over HTTP: the "data" object of quota/all is the first frame */
  WAIT_UNTIL (find_frame (f, OPEN_SN, quota_bytes, 0) >= 0, 3000);
  g_assert_cmpuint (fake_ecoflow_cloud_get_n_refused (f->fake), ==, 0);

  PUBLISH_UNTIL (f->peer, quota_topic, push_bytes, find_frame (f, OPEN_SN, push_bytes, 0) >= 0);

  PUBLISH_UNTIL (f->peer, status_topic, offline_bytes,
                 g_str_equal (g_ptr_array_index (f->statuses, f->statuses->len - 1), OPEN_SN "=0"));
  polls = fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_QUOTA_ALL);
  publish (f->peer, status_topic, online_bytes);
  WAIT_UNTIL (g_str_equal (g_ptr_array_index (f->statuses, f->statuses->len - 1), OPEN_SN "=1"),
              3000);
  /* back online: polled at once */
  WAIT_UNTIL (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_QUOTA_ALL) > polls, 1000);

  /* silent MQTT: the HTTP poll keeps the data coming */
  polls = fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_QUOTA_ALL);
  WAIT_UNTIL (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_QUOTA_ALL) >= polls + 1, 4000);
  g_assert_cmpuint (fake_ecoflow_cloud_get_n_refused (f->fake), ==, 0);

  ids = broker_client_ids (f, OPEN_ACCOUNT);
  g_assert_cmpuint (ids->len, ==, 1);
  g_assert_true (g_regex_match (id_re, g_ptr_array_index (ids, 0), 0, NULL));
  g_assert_cmpuint (f->wakes->len, ==, 0); /* no get topic on the Open API */
}

/* Open API with a wrong secret key: code 8513, retried with backoff. */
static void
test_open_api_bad_key (Fixture *f, gconstpointer data)
{
  static const gchar *const serials[] = { OPEN_SN, NULL };

  gint64 t0;

  fake_ecoflow_cloud_set_keys (f->fake, ACCESS_KEY, "a-different-secret");
  make_cloud (f, EFP_CLOUD_AUTH_OPEN_API, "ca.crt", serials, 0);
  t0 = g_get_monotonic_time ();
  efp_cloud_start (f->cloud);
  WAIT_UNTIL (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_OPEN_CERT) >= 2, 15000);
  spin_until (t0, 1500);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_OPEN_CERT), >=, 2);
  g_assert_cmpuint (fake_ecoflow_cloud_get_count (f->fake, FAKE_CLOUD_OPEN_CERT), <=, 5);
  g_assert_cmpuint (count_log ("WARNING: EcoFlow cloud certification request failed: code 8513"),
                    ==, 1);
  g_assert_false (f->connected);
}

/* Secrets from files; unusable settings are refused with a [cloud] message. */
static void
test_config_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("efp-cloud-XXXXXX", NULL);
  g_autofree gchar *pw_file = g_build_filename (dir, "pw", NULL);
  g_autofree gchar *empty_file = g_build_filename (dir, "empty", NULL);
  static const gchar *const serials[] = { PB_SN, NULL };
  static const gchar *const bad_serials[] = { "R631/#", NULL };
  EfpCloudConfig c = { 0 };
  EfpCloud *cloud;

  g_assert_true (g_file_set_contents (pw_file, "from-file\n", -1, NULL));
  g_assert_true (g_file_set_contents (empty_file, "\n", -1, NULL));
  c.auth = EFP_CLOUD_AUTH_APP;
  c.region = (gchar *) "eu";
  c.email = (gchar *) EMAIL;
  c.password_file = pw_file;
  c.serials = (GStrv) serials;
  cloud = efp_cloud_new (&c, &error);
  g_assert_no_error (error);
  g_clear_object (&cloud);

  c.password_file = empty_file;
  cloud = efp_cloud_new (&c, &error);
  g_assert_null (cloud);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID);
  g_clear_error (&error);

  c.password_file = (gchar *) "/nonexistent/pw";
  cloud = efp_cloud_new (&c, &error);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "[cloud] password-file:"));
  g_clear_error (&error);

  c.password_file = NULL;
  cloud = efp_cloud_new (&c, &error);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_MISSING);
  g_clear_error (&error);

  c.password = (gchar *) "x";
  c.api_url = (gchar *) "http://api.example.test";
  cloud = efp_cloud_new (&c, &error);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "[cloud] api-url:"));
  g_clear_error (&error);

  c.api_url = NULL;
  c.serials = (GStrv) bad_serials;
  cloud = efp_cloud_new (&c, &error);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID);
  g_clear_error (&error);

  c.serials = (GStrv) serials;
  c.ca_file = (gchar *) "/nonexistent/ca.crt";
  cloud = efp_cloud_new (&c, &error);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "[cloud] ca-file:"));
  g_clear_error (&error);

  c.ca_file = NULL;
  c.auth = EFP_CLOUD_AUTH_OPEN_API;
  c.access_key = (gchar *) ACCESS_KEY;
  cloud = efp_cloud_new (&c, &error);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_MISSING);
  g_assert_true (g_str_has_prefix (error->message, "[cloud] secret-key-file:"));
  g_clear_error (&error);

  g_unlink (pw_file);
  g_unlink (empty_file);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_autofree gchar *script = NULL;
  g_autoptr (GError) error = NULL;
  gint rc;

  g_test_init (&argc, &argv, NULL);
  g_log_set_debug_enabled (TRUE);
  log_capture (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO);
  /* old-API messages (GIO's) go through the same writer, not GTest's handler */
  g_log_set_default_handler (g_log_default_handler, NULL);
  mosquitto_lib_init ();
  load_vectors ();

  pki_dir = g_dir_make_tmp ("efp-pki-XXXXXX", &error);
  g_assert_no_error (error);
  script = g_build_filename (g_getenv ("EFP_SOURCE_ROOT"), "tests", "data", "tls",
                             "make-test-pki.sh", NULL);
  {
    const gchar *argv_pki[] = { "sh", script, pki_dir, NULL };
    run_or_die (argv_pki);
  }

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/cloud/app/end-to-end", test_app_end_to_end);
  ADD ("/cloud/app/normalized-state", test_app_normalized_state);
  ADD ("/cloud/app/offline-reply", test_app_offline_reply);
  ADD ("/cloud/app/broker-restart", test_app_broker_restart);
  ADD ("/cloud/app/credentials-rotated", test_app_credentials_rotated);
  ADD ("/cloud/app/rejected-no-storm", test_app_rejected_no_storm);
  ADD ("/cloud/app/http-faults", test_app_http_faults);
  ADD ("/cloud/app/wrong-password", test_app_wrong_password);
  ADD ("/cloud/app/bad-broker-certificate", test_app_bad_broker_certificate);
  ADD ("/cloud/app/https-api-verified", test_https_api_verified);
  ADD ("/cloud/open-api/end-to-end", test_open_api);
  ADD ("/cloud/open-api/bad-key", test_open_api_bad_key);
#undef ADD
  g_test_add_func ("/cloud/config-errors", test_config_errors);

  rc = g_test_run ();
  {
    const gchar *argv_rm[] = { "rm", "-rf", pki_dir, NULL };
    run_or_die (argv_rm);
  }
  g_ptr_array_unref (vectors);
  mosquitto_lib_cleanup ();
  return rc;
}

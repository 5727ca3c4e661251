/* test-mqtt-client.c: EfpMqttClient against a real mosquitto on loopback. */
#include "efp-mqtt-client.h"
#include "efp-test-broker.h"

#include <mosquitto.h>
#include <signal.h>
#include <string.h>

#define CHILD_PORT_ENV "EFP_TEST_MQTT_CHILD_PORT"

static const gchar *self_exe; /* argv[0]: the will test re-runs this binary as a child */

typedef struct
{
  guint connected;
  guint disconnected;
  gint last_rc;
  GPtrArray *topics;   /* received topics, in order */
  GPtrArray *payloads; /* received payloads as strings */
  GArray *retained;
  const gchar *reply_to; /* publish "from-handler" here when "t/a" arrives */
} Recorder;

static void
recorder_init (Recorder *r)
{
  memset (r, 0, sizeof (*r));
  r->topics = g_ptr_array_new_with_free_func (g_free);
  r->payloads = g_ptr_array_new_with_free_func (g_free);
  r->retained = g_array_new (FALSE, FALSE, sizeof (gboolean));
}

static void
recorder_clear (Recorder *r)
{
  g_ptr_array_unref (r->topics);
  g_ptr_array_unref (r->payloads);
  g_array_unref (r->retained);
}

static void
on_connected (EfpMqttClient *client, Recorder *r)
{
  r->connected++;
}

static void
on_disconnected (EfpMqttClient *client, gint rc, Recorder *r)
{
  r->disconnected++;
  r->last_rc = rc;
}

static void
on_message (EfpMqttClient *client, const gchar *topic, GBytes *payload, gboolean retained,
            Recorder *r)
{
  gsize len = 0;
  const gchar *data = g_bytes_get_data (payload, &len);

  g_ptr_array_add (r->topics, g_strdup (topic));
  g_ptr_array_add (r->payloads, g_strndup (data, len));
  g_array_append_val (r->retained, retained);
  if (r->reply_to != NULL && g_strcmp0 (topic, "t/a") == 0)
    {
      g_autoptr (GError) error = NULL;
      /* publishing from inside the handler must go out without another wakeup source */
      g_assert_true (
        efp_mqtt_client_publish (client, r->reply_to, "from-handler", 12, 1, FALSE, &error));
      g_assert_no_error (error);
    }
}

static gint
recorder_find (Recorder *r, const gchar *topic, const gchar *payload)
{
  guint i;
  for (i = 0; i < r->topics->len; i++)
    if (g_strcmp0 (g_ptr_array_index (r->topics, i), topic) == 0 &&
        (payload == NULL || g_strcmp0 (g_ptr_array_index (r->payloads, i), payload) == 0))
      return (gint) i;
  return -1;
}

/* A clean-session client on 127.0.0.1:@port, over TLS when @ca_file is set,
 * reporting to @r when that is set. */
static EfpMqttClient *
make_client_on (const gchar *host, guint16 port, const gchar *id, const gchar *ca_file, Recorder *r,
                guint backoff_ms)
{
  EfpMqttOptions opts = { 0 };
  g_autoptr (GError) error = NULL;
  EfpMqttClient *client;

  opts.host = host;
  opts.port = port;
  opts.client_id = id;
  opts.clean_session = TRUE;
  opts.tls = ca_file != NULL;
  opts.ca_file = ca_file;
  opts.backoff_initial_ms = backoff_ms;
  opts.backoff_max_ms = backoff_ms * 4;
  client = efp_mqtt_client_new (&opts, &error);
  g_assert_no_error (error);
  g_assert_nonnull (client);
  if (r != NULL)
    {
      g_signal_connect (client, "connected", G_CALLBACK (on_connected), r);
      g_signal_connect (client, "disconnected", G_CALLBACK (on_disconnected), r);
      g_signal_connect (client, "message", G_CALLBACK (on_message), r);
    }
  return client;
}

static EfpMqttClient *
make_client (guint16 port, const gchar *id, const gchar *ca_file, Recorder *r, guint backoff_ms)
{
  return make_client_on ("127.0.0.1", port, id, ca_file, r, backoff_ms);
}

/* Iterate the main loop until *counter >= want or the timeout passes. */
static gboolean
wait_count (guint *counter, guint want, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (*counter < want && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  return *counter >= want;
}

static gboolean
wait_message (Recorder *r, const gchar *topic, const gchar *payload, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (recorder_find (r, topic, payload) < 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  return recorder_find (r, topic, payload) >= 0;
}

static void
spin_for (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
}

static void
start_broker (EfpTestBroker *broker)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (efp_test_broker_start (broker, &error));
  g_assert_no_error (error);
}

/* A client subscribed to @topic, connected (asserted) before it is returned. */
static EfpMqttClient *
start_subscriber (EfpTestBroker *broker, const gchar *id, const gchar *topic, Recorder *r)
{
  EfpMqttClient *client = make_client (efp_test_broker_get_port (broker), id, NULL, r, 100);
  efp_mqtt_client_subscribe (client, topic, 1);
  efp_mqtt_client_start (client);
  g_assert_true (wait_count (&r->connected, 1, 5000));
  return client;
}

/* A client with a will on @will_topic, counting its connects in @r. */
static EfpMqttClient *
make_will_client (guint16 port, const gchar *id, const gchar *will_topic, const gchar *will_payload,
                  Recorder *r, GError **error)
{
  EfpMqttOptions opts = { 0 };
  EfpMqttClient *client;

  opts.host = "127.0.0.1";
  opts.port = port;
  opts.client_id = id;
  opts.will_topic = will_topic;
  opts.will_payload = will_payload;
  client = efp_mqtt_client_new (&opts, error);
  if (client != NULL)
    g_signal_connect (client, "connected", G_CALLBACK (on_connected), r);
  return client;
}

static void
publish_ok (EfpMqttClient *c, const gchar *topic, const gchar *payload, gboolean retain)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (efp_mqtt_client_publish (c, topic, payload, strlen (payload), 1, retain, &error));
  g_assert_no_error (error);
}

static void
test_roundtrip (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpMqttClient) client = NULL;
  Recorder r;

  recorder_init (&r);
  r.reply_to = "t/b";
  start_broker (broker);
  client = start_subscriber (broker, "rt", "t/#", &r);
  g_assert_true (efp_mqtt_client_is_connected (client));

  publish_ok (client, "t/a", "hello", FALSE);
  g_assert_true (wait_message (&r, "t/a", "hello", 5000));
  g_assert_true (wait_message (&r, "t/b", "from-handler", 5000));
  g_assert_cmpint (recorder_find (&r, "t/a", NULL), <, recorder_find (&r, "t/b", NULL));

  /* binary payloads pass unchanged, retained flag reported */
  {
    static const guint8 bin[] = { 0x00, 0xff, 0x10, 0x00 };
    g_assert_true (efp_mqtt_client_publish (client, "t/bin", bin, sizeof bin, 1, TRUE, &error));
    g_assert_no_error (error);
    g_assert_true (wait_message (&r, "t/bin", NULL, 5000));
  }
  g_assert_cmpuint (r.disconnected, ==, 0);
  efp_mqtt_client_stop (client);
  g_assert_false (efp_mqtt_client_is_connected (client));
  g_assert_false (efp_mqtt_client_publish (client, "t/a", "x", 1, 1, FALSE, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED);
  recorder_clear (&r);
}

static void
test_broker_down_at_start (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpMqttClient) client = NULL;
  Recorder r;

  recorder_init (&r);
  client = make_client (efp_test_broker_get_port (broker), "down", NULL, &r, 100);
  efp_mqtt_client_subscribe (client, "d/#", 1);
  efp_mqtt_client_start (client);
  spin_for (800);
  g_assert_false (efp_mqtt_client_is_connected (client));
  g_assert_cmpuint (r.connected, ==, 0);
  /* several retries have failed the same way: reported once */
  g_assert_cmpuint (r.disconnected, ==, 1);
  g_assert_cmpint (r.last_rc, !=, 0);

  start_broker (broker);
  g_assert_true (wait_count (&r.connected, 1, 5000));
  publish_ok (client, "d/x", "up", FALSE);
  g_assert_true (wait_message (&r, "d/x", "up", 5000));
  recorder_clear (&r);
}

static void
test_broker_restart (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpMqttClient) client = NULL;
  g_autoptr (EfpMqttClient) other = NULL;
  Recorder r, ro;
  guint round;

  recorder_init (&r);
  recorder_init (&ro);
  start_broker (broker);
  client = make_client (efp_test_broker_get_port (broker), "restart", NULL, &r, 100);
  other = make_client (efp_test_broker_get_port (broker), "restart-other", NULL, &ro, 100);
  efp_mqtt_client_subscribe (client, "r/#", 1);
  efp_mqtt_client_start (client);
  efp_mqtt_client_start (other);
  g_assert_true (wait_count (&r.connected, 1, 5000));
  g_assert_true (wait_count (&ro.connected, 1, 5000));

  for (round = 1; round <= 2; round++)
    {
      g_autofree gchar *payload = g_strdup_printf ("after-restart-%u", round);
      if (round == 1)
        efp_test_broker_kill (broker);
      else
        efp_test_broker_stop (broker);
      g_assert_true (wait_count (&r.disconnected, round, 5000));
      g_assert_false (efp_mqtt_client_is_connected (client));
      spin_for (300);
      start_broker (broker);
      g_assert_true (wait_count (&r.connected, round + 1, 5000));
      g_assert_true (wait_count (&ro.connected, round + 1, 5000));
      /* a fresh broker knows no subscriptions: only a re-subscribe lets this in.
       * Another client publishes, so ordering on one socket proves nothing; retry
       * until the SUBACK has certainly been processed. */
      {
        gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
        while (recorder_find (&r, "r/x", payload) < 0 && g_get_monotonic_time () < deadline)
          {
            publish_ok (other, "r/x", payload, FALSE);
            wait_message (&r, "r/x", payload, 200);
          }
      }
      g_assert_cmpint (recorder_find (&r, "r/x", payload), >=, 0);
    }
  recorder_clear (&r);
  recorder_clear (&ro);
}

/* The child: a client with a will that says "ready" and then waits to be killed. */
static int
run_will_child (const gchar *port_str)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpMqttClient) client = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Recorder r;

  recorder_init (&r);
  client = make_will_client ((guint16) g_ascii_strtoull (port_str, NULL, 10), "will-child",
                             "w/child/status", "{\"state\":\"offline\"}", &r, &error);
  if (client == NULL)
    return 2;
  efp_mqtt_client_start (client);
  if (!wait_count (&r.connected, 1, 5000))
    return 3;
  efp_mqtt_client_publish (client, "w/child/status", "{\"state\":\"online\"}", 18, 1, TRUE, NULL);
  efp_mqtt_client_publish (client, "w/child/ready", "1", 1, 1, FALSE, NULL);
  g_main_loop_run (loop);
  return 0;
}

static void
test_will_on_crash (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpMqttClient) watcher = NULL;
  g_autoptr (EfpMqttClient) late = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) child = NULL;
  g_autofree gchar *port_str = NULL;
  Recorder r, rl;
  gint idx;

  recorder_init (&r);
  recorder_init (&rl);
  start_broker (broker);
  watcher = start_subscriber (broker, "will-watcher", "w/#", &r);

  port_str = g_strdup_printf ("%u", efp_test_broker_get_port (broker));
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, CHILD_PORT_ENV, port_str, TRUE);
  child = g_subprocess_launcher_spawn (launcher, &error, self_exe, NULL);
  g_assert_no_error (error);
  g_assert_true (wait_message (&r, "w/child/ready", "1", 5000));
  g_assert_true (wait_message (&r, "w/child/status", "{\"state\":\"online\"}", 5000));

  /* a crash: no DISCONNECT, the broker must publish the will */
  g_subprocess_send_signal (child, SIGKILL);
  g_subprocess_wait (child, NULL, NULL);
  g_assert_true (wait_message (&r, "w/child/status", "{\"state\":\"offline\"}", 5000));

  /* and keep it retained for whoever subscribes later */
  late = make_client (efp_test_broker_get_port (broker), "will-late", NULL, &rl, 100);
  efp_mqtt_client_subscribe (late, "w/child/status", 1);
  efp_mqtt_client_start (late);
  g_assert_true (wait_message (&rl, "w/child/status", NULL, 5000));
  idx = recorder_find (&rl, "w/child/status", NULL);
  g_assert_cmpstr (g_ptr_array_index (rl.payloads, idx), ==, "{\"state\":\"offline\"}");
  g_assert_true (g_array_index (rl.retained, gboolean, idx));
  recorder_clear (&r);
  recorder_clear (&rl);
}

/* A clean stop sends DISCONNECT, so the broker discards the will. */
static void
test_stop_is_clean (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpMqttClient) watcher = NULL;
  g_autoptr (EfpMqttClient) client = NULL;
  Recorder r, rc;

  recorder_init (&r);
  recorder_init (&rc);
  start_broker (broker);
  watcher = start_subscriber (broker, "stop-watcher", "s/#", &r);

  client =
    make_will_client (efp_test_broker_get_port (broker), "stopper", "s/will", "gone", &rc, &error);
  g_assert_no_error (error);
  efp_mqtt_client_start (client);
  g_assert_true (wait_count (&rc.connected, 1, 5000));
  publish_ok (client, "s/alive", "1", FALSE);
  g_assert_true (wait_message (&r, "s/alive", "1", 5000));
  efp_mqtt_client_stop (client);
  g_clear_object (&client);
  spin_for (500);
  g_assert_cmpint (recorder_find (&r, "s/will", NULL), <, 0);
  recorder_clear (&r);
  recorder_clear (&rc);
}

/* CONNACK "not authorised" is reported with its rc and retried; new
 * credentials plus reconnect() get in. */
static void
test_refused_then_credentials (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpMqttClient) client = NULL;
  g_autofree gchar *pwfile = g_build_filename (efp_test_broker_get_dir (broker), "passwd", NULL);
  g_autofree gchar *extra = NULL;
  gint status = 0;
  const gchar *argv[] = { "mosquitto_passwd", "-b", "-c", pwfile, "alice", "s3cret", NULL };
  Recorder r;

  g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL,
                               G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  extra = g_strdup_printf ("allow_anonymous false\npassword_file %s", pwfile);
  efp_test_broker_set_extra_config (broker, extra);
  start_broker (broker);

  recorder_init (&r);
  client = make_client (efp_test_broker_get_port (broker), "auth", NULL, &r, 100);
  efp_mqtt_client_set_credentials (client, "alice", "wrong");
  efp_mqtt_client_start (client);
  g_assert_true (wait_count (&r.disconnected, 1, 5000));
  g_assert_cmpint (r.last_rc, ==, 5); /* CONNACK: not authorised */
  spin_for (600);                     /* retries fail the same way, silently */
  g_assert_cmpuint (r.disconnected, ==, 1);
  g_assert_cmpuint (r.connected, ==, 0);

  efp_mqtt_client_set_credentials (client, "alice", "s3cret");
  efp_mqtt_client_reconnect (client);
  g_assert_true (wait_count (&r.connected, 1, 5000));
  recorder_clear (&r);
}

/* Broker down for 5 s: backoff, not a busy loop. */
static void
test_no_busy_loop (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (EfpMqttClient) client = NULL;
  g_autoptr (GError) error = NULL;
  Recorder r;
  guint64 wakeups;

  recorder_init (&r);
  client = make_client (efp_test_broker_get_port (broker), "idle", NULL, &r, 100);
  efp_mqtt_client_start (client);
  spin_for (5000);
  wakeups = efp_mqtt_client_get_wakeups (client);
  g_test_message ("%" G_GUINT64_FORMAT " wakeups in 5 s with the broker down", wakeups);
  g_assert_cmpuint (wakeups, >, 0);
  g_assert_cmpuint (wakeups, <, 50);

  /* connected and idle: about one tick a second */
  start_broker (broker);
  g_assert_true (wait_count (&r.connected, 1, 5000));
  wakeups = efp_mqtt_client_get_wakeups (client);
  spin_for (3000);
  wakeups = efp_mqtt_client_get_wakeups (client) - wakeups;
  g_test_message ("%" G_GUINT64_FORMAT " wakeups in 3 s connected and idle", wakeups);
  g_assert_cmpuint (wakeups, <, 15);
  recorder_clear (&r);
}

/* ---- TLS ---- */

static void
run_openssl (const gchar *dir, const gchar *const *argv)
{
  g_autoptr (GError) error = NULL;
  gint status = 0;
  g_assert_true (
    g_spawn_sync (dir, (gchar **) argv, NULL,
                  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                  NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

/* A throw-away CA (@name.pem) in @dir; with @server, a server certificate
 * for 127.0.0.1 signed by it (server.pem, server.key). */
static void
make_ca (const gchar *dir, const gchar *name, gboolean server)
{
  g_autofree gchar *key = g_strdup_printf ("%s.key", name);
  g_autofree gchar *pem = g_strdup_printf ("%s.pem", name);
  const gchar *ca[] = {
    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",          "-keyout", key,
    "-out",    pem,   "-days", "2",       "-subj",    "/CN=efp test CA", NULL
  };
  const gchar *csr[] = { "openssl",    "req",  "-newkey",    "rsa:2048", "-nodes",        "-keyout",
                         "server.key", "-out", "server.csr", "-subj",    "/CN=127.0.0.1", NULL };
  const gchar *sign[] = { "openssl", "x509",       "-req",   "-in", "server.csr",
                          "-CA",     pem,          "-CAkey", key,   "-CAcreateserial",
                          "-out",    "server.pem", "-days",  "2",   "-extfile",
                          "san.ext", NULL };
  g_autofree gchar *ext = g_build_filename (dir, "san.ext", NULL);

  run_openssl (dir, ca);
  if (!server)
    return;
  g_assert_true (
    g_file_set_contents (ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n", -1, NULL));
  run_openssl (dir, csr);
  run_openssl (dir, sign);
}

/* TLS with the right CA connects and carries messages; a server the CA did
 * not sign is refused (verification is always on); neither spins. */
static void
test_tls (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  const gchar *dir = efp_test_broker_get_dir (broker);
  g_autofree gchar *ca = g_build_filename (dir, "ca.pem", NULL);
  g_autofree gchar *other_ca = g_build_filename (dir, "other.pem", NULL);
  g_autofree gchar *extra = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpMqttClient) good = NULL;
  g_autoptr (EfpMqttClient) bad = NULL;
  Recorder rg, rb;
  guint64 wakeups;

  make_ca (dir, "ca", TRUE);
  make_ca (dir, "other", FALSE);
  extra =
    g_strdup_printf ("cafile %s\ncertfile %s/server.pem\nkeyfile %s/server.key", ca, dir, dir);
  efp_test_broker_set_extra_config (broker, extra);
  start_broker (broker);

  recorder_init (&rg);
  good = make_client (efp_test_broker_get_port (broker), "tls-good", ca, &rg, 100);
  efp_mqtt_client_subscribe (good, "tls/#", 1);
  efp_mqtt_client_start (good);
  g_assert_true (wait_count (&rg.connected, 1, 5000));
  publish_ok (good, "tls/x", "secret", FALSE);
  g_assert_true (wait_message (&rg, "tls/x", "secret", 5000));
  wakeups = efp_mqtt_client_get_wakeups (good);
  g_test_message ("%" G_GUINT64_FORMAT " wakeups for a TLS connect and a round trip", wakeups);
  g_assert_cmpuint (wakeups, <, 50);

  recorder_init (&rb);
  bad = make_client (efp_test_broker_get_port (broker), "tls-bad", other_ca, &rb, 100);
  efp_mqtt_client_start (bad);
  spin_for (3000);
  g_assert_cmpuint (rb.connected, ==, 0);
  g_assert_cmpuint (rb.disconnected, >=, 1);
  wakeups = efp_mqtt_client_get_wakeups (bad);
  g_test_message ("%" G_GUINT64_FORMAT " wakeups in 3 s refusing an untrusted server", wakeups);
  g_assert_cmpuint (wakeups, <, 60);
  recorder_clear (&rg);
  recorder_clear (&rb);
}

/* TLS to a port nobody listens on: the HUP case of STYLE.md 5 item 4. */
static void
test_tls_broker_down (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autofree gchar *ca = g_build_filename (efp_test_broker_get_dir (broker), "ca.pem", NULL);
  g_autoptr (EfpMqttClient) client = NULL;
  Recorder r;
  guint64 wakeups;

  make_ca (efp_test_broker_get_dir (broker), "ca", FALSE);
  recorder_init (&r);
  client = make_client (efp_test_broker_get_port (broker), "tls-down", ca, &r, 100);
  efp_mqtt_client_start (client);
  spin_for (3000);
  wakeups = efp_mqtt_client_get_wakeups (client);
  g_test_message ("%" G_GUINT64_FORMAT " wakeups in 3 s, TLS, broker down", wakeups);
  g_assert_cmpuint (r.connected, ==, 0);
  g_assert_cmpuint (wakeups, <, 40);
  recorder_clear (&r);
}

/* ---- host names: looked up off the main loop ---- */

/* A resolver that answers every name after @delay_ms, from the main context, with "no such
 * host": a DNS server that is slow to say the network is gone. */
typedef struct
{
  GResolver parent_instance;
  guint delay_ms;
  guint lookups;
} SlowResolver;
typedef GResolverClass SlowResolverClass;
static GType slow_resolver_get_type (void);
G_DEFINE_TYPE (SlowResolver, slow_resolver, G_TYPE_RESOLVER)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SlowResolver, g_object_unref)

static gboolean
slow_resolver_answer (gpointer data)
{
  GTask *task = data;
  g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE,
                           "no answer from the name server (test)");
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
slow_resolver_lookup_async (GResolver *resolver, const gchar *hostname, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  SlowResolver *self = (SlowResolver *) resolver;
  self->lookups++;
  g_timeout_add (self->delay_ms, slow_resolver_answer,
                 g_task_new (resolver, cancellable, callback, user_data));
}

static GList *
slow_resolver_lookup_finish (GResolver *resolver, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static GList *
slow_resolver_lookup (GResolver *resolver, const gchar *hostname, GCancellable *cancellable,
                      GError **error)
{
  /* a blocking lookup in the main loop is exactly what must not happen */
  g_assert_not_reached ();
}

static void
slow_resolver_init (SlowResolver *self)
{
}

static void
slow_resolver_class_init (SlowResolverClass *klass)
{
  klass->lookup_by_name = slow_resolver_lookup;
  klass->lookup_by_name_async = slow_resolver_lookup_async;
  klass->lookup_by_name_finish = slow_resolver_lookup_finish;
}

static gboolean
count_tick (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

/* A broker named by a host name: looked up first, then connected. */
static void
test_host_name (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (EfpMqttClient) client = NULL;
  Recorder r;

  recorder_init (&r);
  start_broker (broker);
  client = make_client_on ("localhost", efp_test_broker_get_port (broker), "byname", NULL, &r, 100);
  efp_mqtt_client_subscribe (client, "n/#", 1);
  efp_mqtt_client_start (client);
  g_assert_true (wait_count (&r.connected, 1, 5000));
  publish_ok (client, "n/a", "by name", FALSE);
  g_assert_true (wait_message (&r, "n/a", "by name", 5000));
  efp_mqtt_client_stop (client);
  recorder_clear (&r);
}

/* While the name server takes its time to fail, the main loop keeps turning (timers, other
 * clients, policy decisions); the failure counts as one failed attempt, retried with backoff;
 * a stop in the middle of a lookup ends it. */
static void
test_lookup_off_the_loop (void)
{
  g_autoptr (GResolver) previous = g_resolver_get_default ();
  g_autoptr (SlowResolver) slow = g_object_new (slow_resolver_get_type (), NULL);
  g_autoptr (EfpMqttClient) client = NULL;
  guint ticks = 0, tick_id;
  Recorder r;

  slow->delay_ms = 400;
  g_resolver_set_default (G_RESOLVER (slow));
  recorder_init (&r);
  client = make_client_on ("broker.invalid", 1883, "noname", NULL, &r, 100);
  tick_id = g_timeout_add (10, count_tick, &ticks);
  efp_mqtt_client_start (client);
  g_assert_cmpuint (slow->lookups, ==, 1);
  spin_for (1500);
  /* 400 ms per lookup, then 100-200 ms of backoff: at least two more lookups */
  g_assert_cmpuint (slow->lookups, >=, 3);
  g_assert_cmpuint (r.connected, ==, 0);
  g_assert_cmpuint (r.disconnected, ==, 1); /* told once, not per retry */
  g_assert_cmpint (r.last_rc, ==, MOSQ_ERR_EAI);
  /* a 10 ms timer kept firing all along */
  g_assert_cmpuint (ticks, >=, 75);
  g_assert_false (efp_mqtt_client_is_connected (client));

  /* stopped while a lookup may be in flight: nothing happens afterwards */
  efp_mqtt_client_stop (client);
  {
    guint lookups = slow->lookups;
    spin_for (600);
    g_assert_cmpuint (slow->lookups, ==, lookups);
    g_assert_cmpuint (r.disconnected, ==, 1);
  }
  g_source_remove (tick_id);
  g_resolver_set_default (previous);
  recorder_clear (&r);
}

int
main (int argc, char **argv)
{
  const gchar *child_port = g_getenv (CHILD_PORT_ENV);

  self_exe = argv[0];
  if (child_port != NULL)
    return run_will_child (child_port);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/mqtt-client/roundtrip", test_roundtrip);
  g_test_add_func ("/mqtt-client/broker-down-at-start", test_broker_down_at_start);
  g_test_add_func ("/mqtt-client/broker-restart", test_broker_restart);
  g_test_add_func ("/mqtt-client/will-on-crash", test_will_on_crash);
  g_test_add_func ("/mqtt-client/stop-is-clean", test_stop_is_clean);
  g_test_add_func ("/mqtt-client/refused-then-credentials", test_refused_then_credentials);
  g_test_add_func ("/mqtt-client/no-busy-loop", test_no_busy_loop);
  g_test_add_func ("/mqtt-client/tls", test_tls);
  g_test_add_func ("/mqtt-client/tls-broker-down", test_tls_broker_down);
  g_test_add_func ("/mqtt-client/host-name", test_host_name);
  g_test_add_func ("/mqtt-client/lookup-off-the-loop", test_lookup_off_the_loop);
  return g_test_run ();
}

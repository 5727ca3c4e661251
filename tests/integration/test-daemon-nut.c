/* test-daemon-nut.c: the daemon as a network UPS, read with the real upsc. */
#include <gio/gio.h>
#include <string.h>
#include <sys/wait.h>

#include "efp-test-broker.h"
#include "efp-test-daemon.h"

static guint16
free_port (void)
{
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) a = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_assert_true (g_socket_bind (s, a, TRUE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gchar *
upsc (const gchar *ups, guint16 port)
{
  g_autofree gchar *target = g_strdup_printf ("%s@127.0.0.1:%u", ups, port);
  const gchar *argv[] = { "upsc", target, NULL };
  gchar *out = NULL;
  gint status;
  if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, NULL) ||
      !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      g_free (out);
      return NULL;
    }
  return out;
}

/* Poll upsc until @needle shows up (the daemon publishes asynchronously). */
static gchar *
upsc_wait (const gchar *ups, guint16 port, const gchar *needle)
{
  for (guint i = 0; i < 60; i++)
    {
      gchar *out = upsc (ups, port);
      if (out != NULL && strstr (out, needle) != NULL)
        return out;
      g_free (out);
      g_usleep (100 * 1000);
    }
  return NULL;
}

static void
test_ups_follows_the_station (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpTestDaemon) d = NULL;
  g_autofree gchar *conf = NULL;
  g_autofree gchar *out = NULL;
  guint16 port, nut = free_port ();

  g_assert_true (efp_test_broker_start (broker, &error));
  port = efp_test_broker_get_port (broker);
  conf = g_strdup_printf ("[mqtt]\nhost=127.0.0.1\nport=%u\n[nut]\nenabled=true\nport=%u\n"
                          "[device:Study]\nagents=pc\n[agent:pc]\n[group:ups]\ndevices=Study\n"
                          "[policy:critical]\nmodule=critical-soc\nsoc-min=20\ndebounce-sec=1\n",
                          port, nut);
  d = efp_test_daemon_new (conf);
  g_assert_true (efp_test_daemon_start (d, NULL, &error));
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1", 5000));
  g_assert_true (efp_test_publish (port, "bridge-ecoflow/Study/data",
                                   "{\"soc\":64,\"grid_connected\":true,\"output_watts\":83,"
                                   "\"remain_minutes\":120}"));
  out = upsc_wait ("study", nut, "battery.charge: 64");
  g_assert_nonnull (out);
  g_assert_nonnull (strstr (out, "ups.status: OL"));
  g_assert_nonnull (strstr (out, "battery.charge.low: 20"));
  g_assert_nonnull (strstr (out, "battery.runtime: 7200"));
  g_assert_nonnull (strstr (out, "device.mfr: EcoFlow"));
  g_clear_pointer (&out, g_free);
  /* a group named "ups" is what a Synology looks for */
  out = upsc_wait ("ups", nut, "battery.charge: 64");
  g_assert_nonnull (out);
  g_clear_pointer (&out, g_free);
  /* on battery and low, then the policy fires: FSD for NUT clients too */
  g_assert_true (
    efp_test_publish (port, "bridge-ecoflow/Study/data", "{\"soc\":15,\"grid_connected\":false}"));
  out = upsc_wait ("study", nut, "OB LB");
  g_assert_nonnull (out);
  g_clear_pointer (&out, g_free);
  g_assert_true (efp_test_daemon_wait_log (d, "SHUTDOWN TRIGGERED", 5000));
  g_assert_true (efp_test_publish (port, "bridge-ecoflow/Study/data", "{\"soc\":15}"));
  out = upsc_wait ("study", nut, "FSD");
  g_assert_nonnull (out);
}

static gchar *
http_get (guint16 port, const gchar *path)
{
  g_autoptr (GSocketClient) c = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autofree gchar *req = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                           "Connection: close\r\n\r\n",
                                           path);
  g_autoptr (GString) out = g_string_new (NULL);
  gchar buf[4096];
  gssize n;

  conn = g_socket_client_connect_to_host (c, "127.0.0.1", port, NULL, NULL);
  if (conn == NULL)
    return NULL;
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), req, strlen (req),
                             NULL, NULL, NULL);
  while ((n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf,
                                   sizeof (buf), NULL, NULL)) > 0)
    g_string_append_len (out, buf, n);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* With a [metrics] group the daemon serves Prometheus text that follows the station. */
static void
test_metrics_follow_the_station (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpTestDaemon) d = NULL;
  g_autofree gchar *conf = NULL;
  g_autofree gchar *out = NULL;
  guint16 port, mport = free_port ();

  g_assert_true (efp_test_broker_start (broker, &error));
  port = efp_test_broker_get_port (broker);
  conf = g_strdup_printf ("[mqtt]\nhost=127.0.0.1\nport=%u\n[metrics]\nport=%u\n"
                          "[device:Study]\nagents=pc\n[agent:pc]\n"
                          "[policy:critical]\nmodule=critical-soc\ndebounce-sec=60\n",
                          port, mport);
  d = efp_test_daemon_new (conf);
  g_assert_true (efp_test_daemon_start (d, NULL, &error));
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1", 5000));
  g_assert_true (efp_test_publish (port, "bridge-ecoflow/Study/data",
                                   "{\"soc\":7,\"grid_connected\":false,\"output_watts\":83}"));
  for (guint i = 0; i < 50; i++)
    {
      g_free (out);
      out = http_get (mport, "/metrics");
      if (out != NULL &&
          strstr (out, "ecoflow_policy_state{policy=\"critical\",state=\"armed\"} 1"))
        break;
      g_usleep (100 * 1000);
    }
  g_assert_nonnull (out);
  g_assert_nonnull (strstr (out, "200 OK"));
  g_assert_nonnull (strstr (out, "ecoflow_battery_soc_percent{device=\"Study\""));
  g_assert_nonnull (strstr (out, "ecoflow_on_battery{device=\"Study\""));
  g_assert_nonnull (strstr (out, "ecoflow_policy_state{policy=\"critical\",state=\"armed\"} 1"));
  g_assert_nonnull (strstr (out, "ecoflow_frames_total{device=\"Study\",result=\"accepted\"} 1"));
  g_assert_nonnull (strstr (out, "ecoflow_mqtt_connected 1"));
  g_assert_nonnull (strstr (out, "ecoflow_events_total{event=\"timer-start\"} 1"));
}

static void
test_bad_users_file_is_config_error (void)
{
  g_autoptr (EfpTestDaemon) d = efp_test_daemon_new ("");
  g_autofree gchar *users = efp_test_daemon_write_file (d, "upsd.users", "[mon]\n  passw0rd = x\n");
  g_autofree gchar *conf = g_strdup_printf ("[nut]\nenabled=true\nusers-file=%s\n", users);
  g_autofree gchar *path = efp_test_daemon_write_file (d, "ecoflow-powerd.conf", conf);
  g_autofree gchar *exe =
    g_build_filename (g_getenv ("EFP_BUILD_ROOT"), "daemon", "ecoflow-powerd", NULL);
  const gchar *argv[] = {
    exe, "--config", path, "--plugin-dir", g_getenv ("EFP_PLUGIN_DIR"), "--check-config", NULL
  };
  g_autofree gchar *err = NULL;
  gint status;

  g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, NULL));
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 78);
  g_assert_nonnull (strstr (err, users));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/daemon-nut/ups-follows-the-station", test_ups_follows_the_station);
  g_test_add_func ("/daemon-nut/bad-users-file-is-config-error",
                   test_bad_users_file_is_config_error);
  g_test_add_func ("/daemon-metrics/follow-the-station", test_metrics_follow_the_station);
  return g_test_run ();
}

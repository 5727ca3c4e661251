/* test-daemon-cli.c: ecoflow-powerd's command line, exit codes, --check-config,
 * the seed .env, SIGHUP reload and SIGTERM, as a user runs them. */
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "efp-test-broker.h"
#include "efp-test-daemon.h"

static gint
run_daemon (const gchar *const *args, gchar **out, gchar **err)
{
  g_autofree gchar *exe =
    g_build_filename (g_getenv ("EFP_BUILD_ROOT"), "daemon", "ecoflow-powerd", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  gint status;
  guint i;

  g_ptr_array_add (argv, exe);
  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, (gpointer) g_getenv ("EFP_PLUGIN_DIR"));
  for (i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (
    g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, 0, NULL, NULL, out, err, &status, &error));
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static gchar *
tmp_file (const gchar *name, const gchar *text)
{
  g_autofree gchar *dir = g_dir_make_tmp ("efp-cli-XXXXXX", NULL);
  gchar *p = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
  return p;
}

static void
test_version_and_usage (void)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  g_assert_cmpint (run_daemon ((const gchar *[]){ "--version", NULL }, &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "ecoflow-powerd "));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_daemon ((const gchar *[]){ "--bogus", NULL }, NULL, &err), ==, 64);
  g_assert_nonnull (strstr (err, "bogus"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_daemon ((const gchar *[]){ "--no-dbus", "--session-bus", NULL }, NULL, &err),
                   ==, 64);
}

static void
test_bad_config_exits_78 (void)
{
  g_autofree gchar *conf =
    tmp_file ("bad.conf", "[policy:critical]\nmodule=critical-soc\nsoc-min=110\n");
  g_autofree gchar *err = NULL;
  g_autofree gchar *missing = g_strconcat (conf, ".missing", NULL);

  g_assert_cmpint (
    run_daemon ((const gchar *[]){ "--config", conf, "--check-config", NULL }, NULL, &err), ==, 78);
  /* one line naming file, group and key, expected and found */
  g_assert_true (g_str_has_suffix (err, "\n"));
  g_assert_true (strchr (err, '\n') == err + strlen (err) - 1);
  g_assert_nonnull (strstr (err, conf));
  g_assert_nonnull (strstr (err, "[policy:critical] soc-min"));
  g_assert_nonnull (strstr (err, "expected an integer 0-100, found '110'"));
  g_clear_pointer (&err, g_free);
  /* the outputs' keys are checked with the configuration too */
  {
    g_autofree gchar *wol = tmp_file ("wol.conf", "[wol:nas]\nmac=zz:11\n");
    g_autofree gchar *notify = tmp_file ("n.conf", "[notify]\ntelegram-chat=42\n");
    g_autofree gchar *werr = NULL;
    g_autofree gchar *nerr = NULL;
    g_assert_cmpint (
      run_daemon ((const gchar *[]){ "--config", wol, "--check-config", NULL }, NULL, &werr), ==,
      78);
    g_assert_nonnull (strstr (werr, "[wol:nas] mac"));
    g_assert_true (g_str_has_prefix (werr, "ecoflow-powerd: ") && strstr (werr, wol) != NULL);
    g_assert_cmpint (
      run_daemon ((const gchar *[]){ "--config", notify, "--check-config", NULL }, NULL, &nerr), ==,
      78);
    g_assert_nonnull (strstr (nerr, "[notify]"));
    g_assert_nonnull (strstr (nerr, notify));
  }
  /* an explicit --config that does not exist is an error too */
  g_assert_cmpint (
    run_daemon ((const gchar *[]){ "--config", missing, "--check-config", NULL }, NULL, &err), ==,
    78);
  g_assert_nonnull (strstr (err, missing));
}

static void
test_check_config_masks_secrets (void)
{
  g_autofree gchar *key = tmp_file ("a.key", "VERYSECRETKEY\n");
  g_autofree gchar *text = g_strdup_printf ("[agent:pc]\nkey-file=%s\n[device:D]\nagents=pc\n"
                                            "[policy:p]\nmodule=critical-soc\n",
                                            key);
  g_autofree gchar *conf = tmp_file ("ok.conf", text);
  g_autofree gchar *out = NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();

  g_assert_cmpint (
    run_daemon ((const gchar *[]){ "--config", conf, "--check-config", NULL }, &out, NULL), ==, 0);
  g_assert_null (strstr (out, "VERYSECRETKEY"));
  g_assert_true (g_key_file_load_from_data (kf, out, -1, G_KEY_FILE_NONE, NULL));
  /* defaults of the module are part of the effective configuration */
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:p", "debounce-sec", NULL), ==, 180);
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:p", "soc-min", NULL), ==, 10);
}

/* The seed's .env (shape of its .env-example) runs unchanged, secrets masked. */
static void
test_seed_env_file (void)
{
  g_autofree gchar *env = tmp_file (
    ".env",
    "ECOFLOW_USERNAME=\"your-email@example.com\"\nECOFLOW_PASSWORD=\"pa55word-here\"\n"
    "ECOFLOW_ACCESS_KEY=\"\"\nECOFLOW_SECRET_KEY=\"\"\n"
    "ECOFLOW_DEVICE_LIST=\"R631ZEB4WH000001,R631ZEB4WH000002\"\n"
    "MQTT_HOST=mosquitto.local\nMQTT_PORT=1883\nMQTT_USER=\nMQTT_PASS=\n"
    "ECOFLOW_BASE=bridge-ecoflow\nPOLICY_SOC_MIN=10\nPOLICY_DEBOUNCE_SEC=180\n"
    "POLICY_COOLDOWN_SEC=300\n"
    "DEVICE_TO_AGENTS_JSON={\"Study\":[\"pc-study\",\"nas-study\"],\"Office\":[\"pc-office\"]}\n");
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;

  g_assert_cmpint (
    run_daemon ((const gchar *[]){ "--env-file", env, "--check-config", NULL }, &out, &err), ==, 0);
  g_assert_null (strstr (out, "pa55word-here"));
  g_assert_nonnull (strstr (out, "[policy:critical]"));
  g_assert_nonnull (strstr (out, "module=critical-soc"));
  g_assert_nonnull (strstr (out, "[device:Study]"));
  g_assert_nonnull (strstr (out, "agents=pc-study;nas-study"));
  g_assert_nonnull (strstr (out, "host=mosquitto.local"));
}

/* SIGHUP applies a valid new config, refuses an invalid one and keeps running;
 * SIGTERM exits 0 and leaves the offline presence behind. */
static void
test_reload_and_term (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpTestDaemon) d = NULL;
  g_autofree gchar *conf1 = NULL;
  g_autofree gchar *conf2 = NULL;
  g_autofree gchar *path = NULL;
  g_autofree gchar *retained = NULL;
  g_autoptr (EfpTestSub) sub = NULL;
  g_autofree gchar *line = NULL;
  guint16 port;
  GPid pid;

  g_assert_true (efp_test_broker_start (broker, &error));
  port = efp_test_broker_get_port (broker);
  conf1 = g_strdup_printf ("[mqtt]\nhost=127.0.0.1\nport=%u\n[device:D]\nagents=pc\n[agent:pc]\n"
                           "[policy:p]\nmodule=critical-soc\nsoc-min=10\ndebounce-sec=0\n",
                           port);
  d = efp_test_daemon_new (conf1);
  g_assert_true (efp_test_daemon_start (d, NULL, &error));
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1", 5000));
  pid = efp_test_daemon_get_pid (d);

  /* invalid: refused, still running with the old config */
  path = efp_test_daemon_write_file (d, "ecoflow-powerd.conf",
                                     "[policy:p]\nmodule=critical-soc\nsoc-min=x\n");
  kill (pid, SIGHUP);
  g_assert_true (efp_test_daemon_wait_log (d, "reload refused", 5000));
  g_assert_true (efp_test_daemon_wait_log (d, "soc-min: expected an integer", 100));
  /* valid: soc-min 30 now, so soc 25 on battery triggers */
  conf2 = g_strdup_printf ("[mqtt]\nhost=127.0.0.1\nport=%u\n[device:D]\nagents=pc\n[agent:pc]\n"
                           "[policy:p]\nmodule=critical-soc\nsoc-min=30\ndebounce-sec=0\n",
                           port);
  g_free (efp_test_daemon_write_file (d, "ecoflow-powerd.conf", conf2));
  kill (pid, SIGHUP);
  g_assert_true (efp_test_daemon_wait_log (d, "configuration reloaded", 5000));
  sub = efp_test_sub_new (port, (const gchar *[]){ "power-manager/pc/cmd", NULL });
  g_assert_true (
    efp_test_publish (port, "bridge-ecoflow/D/data", "{\"soc\":25,\"grid_connected\":false}"));
  line = efp_test_sub_wait (sub, "power-manager/pc/cmd *shutdown*", 5000);
  g_assert_nonnull (line);

  g_assert_cmpint (efp_test_daemon_terminate (d), ==, 0);
  retained = efp_test_get_retained (port, "power-manager/orchestrator/status");
  g_assert_nonnull (strstr (retained, "offline"));
}

static gint
run_simulate (const gchar *const *args, gchar **err)
{
  g_autofree gchar *exe =
    g_build_filename (g_getenv ("EFP_BUILD_ROOT"), "daemon", "ecoflow-simulate", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  gint status;
  guint i;
  g_ptr_array_add (argv, exe);
  for (i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                               NULL, NULL, err, &status, NULL));
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* ecoflow-simulate: 64 bad usage, 65 bad scenario, 69 no broker. */
static void
test_simulate_exit_codes (void)
{
  g_autofree gchar *bad = tmp_file ("bad.json", "{\"steps\":[{\"duration_sec\":1}]}");
  g_autofree gchar *notjson = tmp_file ("nj.json", "steps: 1");
  g_autofree gchar *err = NULL;
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autofree gchar *port = g_strdup_printf ("%u", efp_test_broker_get_port (broker));

  g_assert_cmpint (run_simulate ((const gchar *[]){ "--format", "xml", NULL }, NULL), ==, 64);
  g_assert_cmpint (run_simulate ((const gchar *[]){ "--scenario", bad, NULL }, &err), ==, 65);
  g_assert_nonnull (strstr (err, "step 1"));
  g_assert_cmpint (run_simulate ((const gchar *[]){ "--scenario", notjson, NULL }, NULL), ==, 65);
  /* nothing listens on this port: the broker is not started */
  g_assert_cmpint (
    run_simulate ((const gchar *[]){ "--host", "127.0.0.1", "--port", port, NULL }, NULL), ==, 69);
}

/* The daemon under a fake systemd: a datagram socket as $NOTIFY_SOCKET. */
typedef struct
{
  gchar *dir;
  gchar *sock_path;
  GSocket *sock;
  GSubprocess *p;
} Notified;

/* Start the daemon (no broker, no D-Bus) with NOTIFY_SOCKET and the @env pairs. */
static Notified *
notified_start (const gchar *const *env)
{
  Notified *n = g_new0 (Notified, 1);
  g_autofree gchar *conf = tmp_file ("n.conf", "[mqtt]\nhost=127.0.0.1\nport=1\n");
  g_autofree gchar *state = NULL;
  g_autofree gchar *exe =
    g_build_filename (g_getenv ("EFP_BUILD_ROOT"), "daemon", "ecoflow-powerd", NULL);
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr (GError) error = NULL;
  guint i;

  n->dir = g_dir_make_tmp ("efp-notify-XXXXXX", NULL);
  n->sock_path = g_build_filename (n->dir, "notify", NULL);
  state = g_build_filename (n->dir, "state.json", NULL);
  n->sock = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
  addr = g_unix_socket_address_new (n->sock_path);
  g_assert_true (g_socket_bind (n->sock, addr, TRUE, &error));
  g_socket_set_timeout (n->sock, 10);
  g_subprocess_launcher_setenv (l, "NOTIFY_SOCKET", n->sock_path, TRUE);
  for (i = 0; env != NULL && env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (l, env[i], env[i + 1], TRUE);
  n->p = g_subprocess_launcher_spawn (l, &error, exe, "--config", conf, "--plugin-dir",
                                      g_getenv ("EFP_PLUGIN_DIR"), "--state-file", state,
                                      "--no-dbus", NULL);
  g_assert_no_error (error);
  return n;
}

/* The next notification; NULL after the socket's timeout. */
static gchar *
notified_next (Notified *n)
{
  gchar buf[256];
  gssize len = g_socket_receive (n->sock, buf, sizeof (buf) - 1, NULL, NULL);
  return len < 0 ? NULL : g_strndup (buf, (gsize) len);
}

/* Wait for the daemon (stopped by the test) to exit cleanly; remove the files. */
static void
notified_finish (Notified *n)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (n->dir, 0, NULL);
  const gchar *name;

  g_assert_true (g_subprocess_wait_check (n->p, NULL, &error));
  g_assert_no_error (error);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (n->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (n->dir);
  g_object_unref (n->p);
  g_object_unref (n->sock);
  g_free (n->sock_path);
  g_free (n->dir);
  g_free (n);
}

/* Under systemd (Type=notify) the daemon says READY=1 once it serves, RELOADING=1 and
 * READY=1 around a SIGHUP, and STOPPING=1 on SIGTERM. */
static void
test_sd_notify (void)
{
  Notified *n = notified_start (NULL);
  const gchar *want[] = { "READY=1", "RELOADING=1", "READY=1", "STOPPING=1" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (want); i++)
    {
      g_autofree gchar *msg = notified_next (n);
      g_assert_cmpstr (msg, ==, want[i]);
      /* the next message needs a signal: reload after READY, then stop */
      if (i == 0)
        g_subprocess_send_signal (n->p, SIGHUP);
      else if (i == 2)
        g_subprocess_send_signal (n->p, SIGTERM);
    }
  notified_finish (n);
}

/* Run the daemon with WATCHDOG_USEC=200000 (and @watchdog_pid, if any): how many WATCHDOG=1
 * pings arrive in the second after READY=1. */
static guint
count_watchdog_pings (const gchar *watchdog_pid)
{
  const gchar *env[] = { "WATCHDOG_USEC", "200000", watchdog_pid != NULL ? "WATCHDOG_PID" : NULL,
                         watchdog_pid, NULL };
  Notified *n = notified_start (env);
  g_autofree gchar *first = notified_next (n);
  gint64 end = g_get_monotonic_time () + G_USEC_PER_SEC;
  guint pings = 0;

  g_assert_cmpstr (first, ==, "READY=1");
  g_socket_set_timeout (n->sock, 1);
  while (g_get_monotonic_time () < end)
    {
      g_autofree gchar *msg = notified_next (n);
      if (msg == NULL)
        break; /* a second without a message */
      g_assert_cmpstr (msg, ==, "WATCHDOG=1");
      pings++;
    }
  g_subprocess_send_signal (n->p, SIGTERM);
  notified_finish (n);
  return pings;
}

/* WatchdogSec=: pings from the main loop, twice per period; none when the watchdog is set
 * for another process */
static void
test_sd_watchdog (void)
{
  g_autofree gchar *other = g_strdup_printf ("%d", (gint) getpid ());

  /* 0.2 s period: a ping every 0.1 s, some 10 in the second watched */
  g_assert_cmpuint (count_watchdog_pings (NULL), >=, 5);
  g_assert_cmpuint (count_watchdog_pings (other), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/daemon-cli/version-and-usage", test_version_and_usage);
  g_test_add_func ("/daemon-cli/bad-config-exits-78", test_bad_config_exits_78);
  g_test_add_func ("/daemon-cli/check-config-masks-secrets", test_check_config_masks_secrets);
  g_test_add_func ("/daemon-cli/seed-env-file", test_seed_env_file);
  g_test_add_func ("/daemon-cli/reload-and-term", test_reload_and_term);
  g_test_add_func ("/daemon-cli/simulate-exit-codes", test_simulate_exit_codes);
  g_test_add_func ("/daemon-cli/sd-notify", test_sd_notify);
  g_test_add_func ("/daemon-cli/sd-watchdog", test_sd_watchdog);
  return g_test_run ();
}

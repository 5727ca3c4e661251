/* test-e2e.c: the whole chain. The real ecoflow-powerd reads a simulated
 * station from a real broker and commands two agents in stages:
 *   stage 1: the C agent "pc" (logind faked on a private bus, so nothing can
 *            power this machine off),
 *   stage 2: the NAS sh agent "nas" under dash, with a stand-in power-off.
 * The outage ends before the delay, so the abort reaches both, and neither
 * powers off. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "efp-test-broker.h"
#include "efp-test-daemon.h"

#define PC_KEY  "pc key, stage 1"
#define NAS_KEY "nas key, stage 2"

static gchar *private_bus_address;

typedef struct
{
  EfpTestBroker *broker;
  guint16 port;
  gchar *dir;
  gchar *logind_calls;
  gchar *nas_calls;
  GSubprocess *logind;
  GSubprocess *pc;
  GSubprocess *nas;
  EfpTestSub *sub;
  EfpTestDaemon *daemon;
} Fixture;

/* Children lead their own process group and die with the test. */
static void
child_setup (gpointer user_data)
{
  setpgid (0, 0);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static gchar *
write_file (Fixture *f, const gchar *name, const gchar *text)
{
  gchar *path = g_build_filename (f->dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  return path;
}

static GSubprocess *
spawn (Fixture *f, const gchar *log_name, const gchar *const *argv)
{
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autofree gchar *log = g_build_filename (f->dir, log_name, NULL);
  g_autoptr (GError) error = NULL;
  GSubprocess *p;

  /* only the private bus, never this machine's logind */
  g_assert_null (strstr (private_bus_address, "/run/dbus/system_bus_socket"));
  g_subprocess_launcher_setenv (l, "DBUS_SYSTEM_BUS_ADDRESS", private_bus_address, TRUE);
  g_subprocess_launcher_set_stdout_file_path (l, log);
  g_subprocess_launcher_set_child_setup (l, child_setup, NULL, NULL);
  p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  return p;
}

static void
kill_group (GSubprocess **p)
{
  const gchar *ident;
  if (*p == NULL)
    return;
  ident = g_subprocess_get_identifier (*p);
  if (ident != NULL)
    kill (-(pid_t) g_ascii_strtoll (ident, NULL, 10), SIGKILL);
  g_subprocess_wait (*p, NULL, NULL);
  g_clear_object (p);
}

static void
start_logind (Fixture *f)
{
  g_autofree gchar *exe =
    g_build_filename (g_getenv ("EFP_BUILD_ROOT"), "agents", "tests", "fake-logind", NULL);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GDataInputStream) out = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *line = NULL;

  g_subprocess_launcher_set_child_setup (l, child_setup, NULL, NULL);
  f->logind = g_subprocess_launcher_spawn (l, &error, exe, "--address", private_bus_address,
                                           "--record", f->logind_calls, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (f->logind));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_cmpstr (line, ==, "READY");
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *pc_key = NULL;
  g_autofree gchar *nas_key = NULL;
  g_autofree gchar *pc_conf = NULL;
  g_autofree gchar *nas_conf = NULL;
  g_autofree gchar *daemon_conf = NULL;
  g_autofree gchar *agent_exe =
    g_build_filename (g_getenv ("EFP_BUILD_ROOT"), "agents", "ecoflow-power-agent", NULL);
  g_autofree gchar *nas_script = g_build_filename (g_getenv ("EFP_SOURCE_ROOT"), "agents", "nas",
                                                   "ecoflow-power-agent.sh", NULL);
  g_autofree gchar *text = NULL;

  f->dir = g_dir_make_tmp ("efp-e2e-XXXXXX", &error);
  g_assert_no_error (error);
  f->broker = efp_test_broker_new ();
  g_assert_true (efp_test_broker_start (f->broker, &error));
  g_assert_no_error (error);
  f->port = efp_test_broker_get_port (f->broker);
  f->logind_calls = write_file (f, "logind-calls", "");
  f->nas_calls = g_build_filename (f->dir, "nas-calls", NULL);
  start_logind (f);

  pc_key = write_file (f, "pc.key", PC_KEY "\n");
  nas_key = write_file (f, "nas.key", NAS_KEY "\n");
  text = g_strdup_printf ("[agent]\nid=pc\nkey-file=%s\nstate-file=%s/pc-seen.json\n"
                          "[mqtt]\nhost=127.0.0.1\nport=%u\n"
                          "[shutdown]\nmethod=logind\nhooks-dir=%s/pc-hooks\n",
                          pc_key, f->dir, f->port, f->dir);
  pc_conf = write_file (f, "pc.conf", text);
  g_free (text);
  text = g_strdup_printf ("[agent]\nid=nas\nkey-file=%s\nstate-file=%s/nas-seen.txt\n"
                          "[mqtt]\nhost=127.0.0.1\nport=%u\n"
                          "[shutdown]\nmethod=wait\nhooks-dir=%s/nas-hooks\n"
                          "command=echo \"POWEROFF $ECOFLOW_COMMAND_ID\" >> %s\n"
                          "abort-command=echo \"ABORT $ECOFLOW_COMMAND_ID\" >> %s\n",
                          nas_key, f->dir, f->port, f->dir, f->nas_calls, f->nas_calls);
  nas_conf = write_file (f, "nas.conf", text);

  f->sub = efp_test_sub_new (f->port, (const gchar *[]){ "power-manager/#", NULL });
  f->pc = spawn (f, "pc.log", (const gchar *[]){ agent_exe, "--config", pc_conf, "-v", NULL });
  f->nas =
    spawn (f, "nas.log", (const gchar *[]){ "dash", nas_script, "-c", nas_conf, "-v", NULL });
  g_free (efp_test_sub_wait (f->sub, "power-manager/pc/status *\"online\"*", 10000));
  g_free (efp_test_sub_wait (f->sub, "power-manager/nas/status *\"online\"*", 10000));

  daemon_conf = g_strdup_printf ("[mqtt]\nhost=127.0.0.1\nport=%u\n"
                                 "[device:SimulatedDevice]\nagents=pc;nas\n"
                                 "[agent:pc]\nkey-file=%s\nstage=1\n"
                                 "[agent:nas]\nkey-file=%s\nstage=2\n"
                                 "[policy:critical]\nmodule=critical-soc\nsoc-min=10\n"
                                 "debounce-sec=2\ncooldown-sec=60\nabort-window-sec=60\n"
                                 "shutdown-delay-sec=60\n",
                                 f->port, pc_key, nas_key);
  f->daemon = efp_test_daemon_new (daemon_conf);
}

static void
print_log (Fixture *f, const gchar *name)
{
  g_autofree gchar *path = g_build_filename (f->dir, name, NULL);
  g_autofree gchar *log = NULL;
  if (g_file_get_contents (path, &log, NULL, NULL))
    g_printerr ("---- %s ----\n%s", name, log);
}

static void
remove_tree (const gchar *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;
  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree gchar *child = g_build_filename (path, name, NULL);
        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  if (g_test_failed ())
    {
      g_autofree gchar *dlog = efp_test_daemon_get_log (f->daemon);
      g_autofree gchar *all = efp_test_sub_get_all (f->sub);
      g_printerr ("---- daemon ----\n%s---- MQTT ----\n%s", dlog, all);
      print_log (f, "pc.log");
      print_log (f, "nas.log");
    }
  efp_test_daemon_free (f->daemon);
  kill_group (&f->pc);
  kill_group (&f->nas);
  efp_test_sub_free (f->sub);
  kill_group (&f->logind);
  efp_test_broker_free (f->broker);
  remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->logind_calls);
  g_free (f->nas_calls);
}

/* Offset of the first line matching @pattern in the recorded traffic, or -1. */
static gssize
position_of (const gchar *all, const gchar *pattern)
{
  g_autoptr (GPatternSpec) spec = g_pattern_spec_new (pattern);
  g_auto (GStrv) lines = g_strsplit (all, "\n", -1);
  gssize offset = 0;
  guint i;
  for (i = 0; lines[i] != NULL; i++)
    {
      if (g_pattern_spec_match_string (spec, lines[i]))
        return offset;
      offset += (gssize) strlen (lines[i]) + 1;
    }
  return -1;
}

static gchar *
wait_line (Fixture *f, const gchar *pattern)
{
  gchar *line = efp_test_sub_wait (f->sub, pattern, 20000);
  if (line == NULL)
    {
      g_autofree gchar *m = g_strdup_printf ("no MQTT line matching '%s'", pattern);
      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, m);
    }
  return line;
}

static gchar *
read_text (const gchar *path)
{
  gchar *s = NULL;
  if (!g_file_get_contents (path, &s, NULL, NULL))
    return g_strdup ("");
  return s;
}

static void
test_outage_in_stages (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const gchar *args[] = { "--step-sec", "3", "--critical-sec", "6", NULL };
  g_autofree gchar *all = NULL;
  g_autofree gchar *calls = NULL;
  g_autofree gchar *nas_calls = NULL;
  guint64 usec = 0;
  gint64 t_start;
  gssize pc_cmd, pc_ack, nas_cmd, nas_ack;
  const gchar *lines[] = {
    "power-manager/pc/ack *\"action\":\"shutdown\",\"result\":\"scheduled\"*",
    "power-manager/nas/ack *\"action\":\"shutdown\",\"result\":\"scheduled\"*",
    "power-manager/pc/ack *\"action\":\"abort\",\"result\":\"aborted\"*",
    "power-manager/nas/ack *\"action\":\"abort\",\"result\":\"aborted\"*",
  };
  guint i;

  g_assert_true (efp_test_daemon_start (f->daemon, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (efp_test_daemon_wait_log (f->daemon, "connected to 127.0.0.1", 5000));
  t_start = g_get_real_time ();
  g_assert_cmpint (efp_test_simulate (f->port, args), ==, 0);

  for (i = 0; i < G_N_ELEMENTS (lines); i++)
    g_free (wait_line (f, lines[i]));
  all = efp_test_sub_get_all (f->sub);

  /* stage 2 is told only after stage 1 acknowledged */
  pc_cmd = position_of (all, "power-manager/pc/cmd *\"action\":\"shutdown\"*");
  pc_ack = position_of (all, lines[0]);
  nas_cmd = position_of (all, "power-manager/nas/cmd *\"action\":\"shutdown\"*");
  nas_ack = position_of (all, lines[1]);
  g_assert_cmpint (pc_cmd, >=, 0);
  g_assert_cmpint (pc_cmd, <, pc_ack);
  g_assert_cmpint (pc_ack, <, nas_cmd);
  g_assert_cmpint (nas_cmd, <, nas_ack);
  /* every command verified: nothing was rejected */
  g_assert_null (strstr (all, "\"result\":\"rejected\""));

  /* stage 1 scheduled the power-off with logind for the policy's 60 s, then cancelled it */
  calls = read_text (f->logind_calls);
  g_assert_cmpint (sscanf (calls, "ScheduleShutdown poweroff %" G_GUINT64_FORMAT, &usec), ==, 1);
  g_assert_cmpuint (usec, >=, (guint64) t_start + 60 * G_USEC_PER_SEC);
  g_assert_cmpuint (usec, <=, (guint64) g_get_real_time () + 60 * G_USEC_PER_SEC);
  g_assert_nonnull (strstr (calls, "\nCancelScheduledShutdown\n"));
  /* stage 2 was waiting out its delay: the abort ended the wait, its command never ran */
  nas_calls = read_text (f->nas_calls);
  g_assert_true (g_str_has_prefix (nas_calls, "ABORT "));
  g_assert_null (strstr (nas_calls, "POWEROFF"));

  /* the daemon saw every acknowledgement */
  g_assert_true (efp_test_daemon_wait_log (f->daemon, "ACK pc scheduled", 5000));
  g_assert_true (efp_test_daemon_wait_log (f->daemon, "ACK nas scheduled", 5000));
  g_assert_true (efp_test_daemon_wait_log (f->daemon, "ACK pc aborted", 5000));
  g_assert_true (efp_test_daemon_wait_log (f->daemon, "ACK nas aborted", 5000));
  g_assert_cmpuint (efp_test_daemon_count_log (f->daemon, "SHUTDOWN TRIGGERED"), ==, 1);
}

/* --dry-run on the daemon: both agents verify and acknowledge, nobody acts. */
static void
test_dry_run (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *scenario = efp_test_daemon_write_file (
    f->daemon, "low.json",
    "{\"interval_sec\":0.5,\"steps\":["
    "{\"duration_sec\":6,\"state\":{\"soc\":5,\"grid_connected\":false}}]}");
  const gchar *args[] = { "--scenario", scenario, NULL };
  g_autofree gchar *pc_ack = NULL;
  g_autofree gchar *nas_ack = NULL;
  g_autofree gchar *calls = NULL;

  g_assert_true (efp_test_daemon_start (f->daemon, (const gchar *[]){ "--dry-run", NULL }, &error));
  g_assert_no_error (error);
  g_assert_true (efp_test_daemon_wait_log (f->daemon, "connected to 127.0.0.1", 5000));
  g_assert_cmpint (efp_test_simulate (f->port, args), ==, 0);
  pc_ack = wait_line (f, "power-manager/pc/ack *\"result\":\"scheduled\"*");
  nas_ack = wait_line (f, "power-manager/nas/ack *\"result\":\"scheduled\"*");
  g_assert_nonnull (strstr (pc_ack, "dry run"));
  g_assert_nonnull (strstr (nas_ack, "dry run"));
  calls = read_text (f->logind_calls);
  g_assert_cmpstr (calls, ==, "");
  g_assert_false (g_file_test (f->nas_calls, G_FILE_TEST_EXISTS));
}

int
main (int argc, char **argv)
{
  g_autoptr (GTestDBus) bus = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);
  private_bus_address = g_strdup (g_test_dbus_get_bus_address (bus));
  /* the daemon is started with --no-dbus; this covers anything else that looks */
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", private_bus_address, TRUE);
  g_test_add ("/e2e/outage-in-stages", Fixture, NULL, setup, test_outage_in_stages, teardown);
  g_test_add ("/e2e/dry-run", Fixture, NULL, setup, test_dry_run, teardown);
  rc = g_test_run ();
  g_test_dbus_down (bus);
  g_free (private_bus_address);
  return rc;
}

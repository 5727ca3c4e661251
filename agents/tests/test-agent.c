/* test-agent.c: ecoflow-power-agent against a real mosquitto and a fake logind.
 *
 * Safety: logind is a fake on a private dbus-daemon (GTestDBus); the agent is
 * started with DBUS_SYSTEM_BUS_ADDRESS pointing there, so nothing can reach
 * the real logind of this machine.
 */
#include "agent-harness.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static gchar *private_bus_address;

static void
start_logind (Fixture *f)
{
  g_autofree gchar *exe = build_path ("agents/tests/fake-logind");
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree gchar *line = NULL;

  g_subprocess_launcher_set_child_setup (l, efp_test_child_setup_die_with_parent, NULL, NULL);
  f->helper = g_subprocess_launcher_spawn (l, &error, exe, "--address", private_bus_address,
                                           "--record", f->record_path, NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (f->helper));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "READY");
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  harness_setup (f, "seen.json");
  g_assert_true (g_file_set_contents (f->record_path, "", -1, NULL));
  start_logind (f);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  harness_teardown (f);
}

/* Write agent.conf; @shutdown_lines go into [shutdown], @with_key adds key-file. */
static void
write_config (Fixture *f, gboolean with_key, const gchar *shutdown_lines)
{
  harness_write_config (f, "", with_key, shutdown_lines != NULL ? shutdown_lines : "method=logind");
}

/* Start the C agent on the private bus and wait for its online status. */
static void
start_agent (Fixture *f, const gchar *extra_arg)
{
  g_autofree gchar *exe = build_path ("agents/ecoflow-power-agent");
  const gchar *argv[] = { exe, "--config", f->config_path, "-v", extra_arg, NULL };
  const gchar *env[] = { "DBUS_SYSTEM_BUS_ADDRESS", private_bus_address, NULL };

  /* the one line that keeps this test away from the real logind */
  g_assert_nonnull (private_bus_address);
  g_assert_null (strstr (private_bus_address, "/run/dbus/system_bus_socket"));
  start_process (f, argv, env);
}

/* ---- cases ---- */

static void
test_shutdown_and_abort (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = make_command ("shutdown", 120, now_sec ());
  g_autoptr (EfpCommand) ab = make_command ("abort", 0, now_sec ());
  g_autofree gchar *ack = NULL;
  g_autofree gchar *calls = NULL;
  g_autofree gchar *status = NULL;
  guint64 usec = 0;
  gint64 before;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);
  /* the retained status names this host and version */
  status = last_status (f);
  g_assert_nonnull (strstr (status, "\"version\":\""));
  g_assert_nonnull (strstr (status, "\"host\":\""));
  g_assert_nonnull (strstr (status, "\"ts\":"));

  before = g_get_real_time ();
  send_and_wait (f, sd, &ack);
  assert_prefix (ack, "scheduled: ");
  wait_file_contains (f, f->record_path, "ScheduleShutdown", 5000);
  calls = read_file (f->record_path);
  g_assert_cmpint (sscanf (calls, "ScheduleShutdown poweroff %" G_GUINT64_FORMAT, &usec), ==, 1);
  /* power-off 120 s from now, to within the test's own run time */
  g_assert_cmpuint (usec, >=, (guint64) before + 120 * G_USEC_PER_SEC);
  g_assert_cmpuint (usec, <=, (guint64) g_get_real_time () + 120 * G_USEC_PER_SEC);

  send_and_wait (f, ab, &ack);
  g_assert_cmpstr (ack, ==, "aborted: cancelled the scheduled power-off");
  wait_file_contains (f, f->record_path, "CancelScheduledShutdown", 5000);
}

/* Under systemd (Type=notify, WatchdogSec=): READY=1 once started, WATCHDOG=1 from the main
 * loop twice per period, STOPPING=1 on the way out. */
static void
test_sd_notify (Fixture *f, gconstpointer data)
{
  g_autofree gchar *exe = build_path ("agents/ecoflow-power-agent");
  g_autofree gchar *sock_path = g_build_filename (f->dir, "notify", NULL);
  const gchar *argv[] = { exe, "--config", f->config_path, NULL };
  const gchar *env[] = { "DBUS_SYSTEM_BUS_ADDRESS",
                         private_bus_address,
                         "NOTIFY_SOCKET",
                         sock_path,
                         "WATCHDOG_USEC",
                         "200000",
                         NULL };
  g_autoptr (GSocket) sock = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (sock_path);
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) seen = g_string_new (NULL);
  guint pings = 0;
  gint64 end;

  g_assert_true (g_socket_bind (sock, addr, TRUE, &error));
  g_socket_set_blocking (sock, FALSE);
  write_config (f, TRUE, NULL);
  start_process (f, argv, env);
  end = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end || seen->len == 0)
    {
      gchar buf[64];
      gssize n = g_socket_receive (sock, buf, sizeof (buf) - 1, NULL, NULL);
      if (n <= 0)
        {
          g_usleep (10 * 1000);
          g_assert_cmpint (g_get_monotonic_time (), <, end + 5 * G_USEC_PER_SEC);
          continue;
        }
      buf[n] = '\0';
      if (g_str_equal (buf, "WATCHDOG=1"))
        pings++;
      else
        g_string_append_printf (seen, "%s;", buf);
    }
  g_assert_cmpstr (seen->str, ==, "READY=1;");
  g_assert_cmpuint (pings, >=, 5);

  stop_agent (f, SIGTERM);
  for (end = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
       g_get_monotonic_time () < end && !g_str_has_suffix (seen->str, "STOPPING=1;");)
    {
      gchar buf[64];
      gssize n = g_socket_receive (sock, buf, sizeof (buf) - 1, NULL, NULL);
      if (n <= 0)
        {
          g_usleep (10 * 1000);
          continue;
        }
      buf[n] = '\0';
      if (!g_str_equal (buf, "WATCHDOG=1"))
        g_string_append_printf (seen, "%s;", buf);
    }
  g_assert_cmpstr (seen->str, ==, "READY=1;STOPPING=1;");
}

static void
test_rejections (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) still_valid = make_command ("test", 0, now_sec () - 300 - 29);
  g_autofree gchar *ack = NULL;
  g_autofree gchar *calls = NULL;
  g_autofree gchar *log = NULL;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);

  check_signature_rejections (f, 60, 1);

  send_raw (f, "{not json");
  spin_until (count_reached, f, &(CountWant){ ACK_TOPIC, "\"result\":\"rejected\"", 7 }, 5000);
  g_assert_cmpint (count_messages (f, ACK_TOPIC, "not JSON"), ==, 1);

  /* the skew allowance: 29 s past the ttl is still fine */
  send_and_wait (f, still_valid, &ack);
  assert_prefix (ack, "tested: ");

  calls = read_file (f->record_path);
  g_assert_cmpstr (calls, ==, "");
  log = agent_log (f);
  g_assert_nonnull (strstr (log, "REJECTED command"));
  /* the key never appears in the log */
  g_assert_null (strstr (log, AGENT_KEY));
}

static void
test_replay (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) t = make_command ("test", 0, now_sec ());
  g_autoptr (EfpCommand) sd = make_command ("shutdown", 60, now_sec ());
  g_autofree gchar *ack = NULL;
  g_autofree gchar *state = NULL;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);
  send_and_wait (f, t, &ack);
  assert_prefix (ack, "tested: ");
  send_and_wait (f, sd, &ack);
  assert_prefix (ack, "scheduled: ");
  wait_file_contains (f, f->record_path, "ScheduleShutdown", 5000);

  forget_messages (f);
  send_and_wait (f, sd, &ack);
  g_assert_cmpstr (ack, ==, "rejected: replayed command id: already handled");

  /* remembered across a restart */
  state = read_file (f->state_path);
  g_assert_nonnull (strstr (state, sd->id));
  stop_agent (f, SIGTERM);
  start_agent (f, NULL);
  forget_messages (f);
  send_and_wait (f, t, &ack);
  g_assert_cmpstr (ack, ==, "rejected: replayed command id: already handled");
  {
    g_autofree gchar *calls = read_file (f->record_path);
    /* exactly one ScheduleShutdown: the replays did nothing */
    g_assert_null (strstr (strstr (calls, "ScheduleShutdown") + 1, "ScheduleShutdown"));
  }
}

static gboolean
log_contains (Fixture *f, gconstpointer needle)
{
  g_autofree gchar *log = agent_log (f);
  return strstr (log, needle) != NULL;
}

static gboolean
count_calls_reached (Fixture *f, gconstpointer want)
{
  g_autofree gchar *calls = read_file (f->record_path);
  const gchar *p = calls;
  guint n = 0;

  while ((p = strstr (p, "ScheduleShutdown poweroff ")) != NULL)
    {
      n++;
      p++;
    }
  return n >= GPOINTER_TO_UINT (want);
}

static guint64
last_scheduled_usec (Fixture *f, guint *n_calls)
{
  g_autofree gchar *calls = read_file (f->record_path);
  const gchar *p = calls, *last = NULL;
  guint64 usec = 0;

  *n_calls = 0;
  while ((p = strstr (p, "ScheduleShutdown poweroff ")) != NULL)
    {
      last = p;
      (*n_calls)++;
      p++;
    }
  g_assert_nonnull (last);
  g_assert_cmpint (sscanf (last, "ScheduleShutdown poweroff %" G_GUINT64_FORMAT, &usec), ==, 1);
  return usec;
}

/* A second shutdown (another policy, a cooldown re-fire) never moves the power-off later,
 * which could postpone it again and again while the battery drains; a sooner one wins. */
static void
test_never_later (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) first = make_command ("shutdown", 120, now_sec ());
  g_autoptr (EfpCommand) later = make_command ("shutdown", 600, now_sec ());
  g_autoptr (EfpCommand) sooner = make_command ("shutdown", 30, now_sec ());
  g_autofree gchar *ack = NULL;
  guint64 usec;
  guint n;
  gint64 before;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);
  send_and_wait (f, first, &ack);
  assert_prefix (ack, "scheduled: ");
  wait_file_contains (f, f->record_path, "ScheduleShutdown", 5000);
  g_free (g_steal_pointer (&ack));
  /* the power-off stands once the logind call returned */
  spin_until (log_contains, f, "POWER-OFF scheduled", 5000);

  send_and_wait (f, later, &ack);
  assert_prefix (ack, "scheduled: power-off already scheduled in ");
  g_assert_nonnull (strstr (ack, first->id));
  last_scheduled_usec (f, &n);
  g_assert_cmpuint (n, ==, 1); /* nothing moved */
  g_free (g_steal_pointer (&ack));

  before = g_get_real_time ();
  send_and_wait (f, sooner, &ack);
  assert_prefix (ack, "scheduled: rescheduled: power-off in 30 s");
  spin_until (count_calls_reached, f, GUINT_TO_POINTER (2), 5000);
  usec = last_scheduled_usec (f, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (usec, >=, (guint64) before + 30 * G_USEC_PER_SEC);
  g_assert_cmpuint (usec, <=, (guint64) g_get_real_time () + 30 * G_USEC_PER_SEC);
}

/* Persistent session: a command published while the agent is away arrives
 * when it comes back; a crash leaves the retained offline will. */
static void
test_offline_delivery (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = NULL;
  g_autofree gchar *ack = NULL;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);
  stop_agent (f, SIGKILL);
  wait_offline_count (f, 1);

  sd = send_while_away (f, 90);
  start_agent (f, NULL);
  ack = wait_ack (f, sd->id);
  assert_prefix (ack, "scheduled: ");
  wait_file_contains (f, f->record_path, "ScheduleShutdown poweroff", 5000);

  /* a clean stop says offline itself */
  stop_agent (f, SIGTERM);
  wait_offline_count (f, 2);
}

static void
test_hooks_and_command (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = make_command ("shutdown", 5, now_sec ());
  g_autoptr (EfpCommand) ab = make_command ("abort", 0, now_sec ());
  g_autofree gchar *order = g_build_filename (f->dir, "order", NULL);
  g_autofree gchar *lines = NULL;
  g_autofree gchar *ack = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *expected = NULL;
  gint64 t0;

  write_order_hooks (
    f, order, "echo \"slow $1\" >> \"$ORDER\"; sleep 30; echo slow-not-killed >> \"$ORDER\"");
  lines = g_strdup_printf ("method=command\n"
                           "command=echo \"command $ECOFLOW_COMMAND_ID $ECOFLOW_DELAY_SEC\" >> %s\n"
                           "abort-command=echo \"abort-command $ECOFLOW_COMMAND_ID\" >> %s\n"
                           "hook-timeout-sec=1",
                           order, order);
  write_config (f, TRUE, lines);
  start_agent (f, NULL);

  t0 = g_get_monotonic_time ();
  send_and_wait (f, sd, &ack);
  g_assert_cmpstr (ack, ==, "scheduled: power-off in 5 s via command after 3 hooks");
  wait_file_contains (f, order, "command ", 8000);
  /* the slow hook was killed at its 1 s timeout, not waited for */
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 10 * G_USEC_PER_SEC);
  text = read_file (order);
  expected = g_strdup_printf ("first shutdown %s\nslow shutdown\nlast shutdown 5 battery low\n"
                              "command %s 5\n",
                              sd->id, sd->id);
  g_assert_cmpstr (text, ==, expected);

  send_and_wait (f, ab, &ack);
  g_assert_cmpstr (ack, ==, "aborted: cancelled the scheduled power-off");
  wait_file_contains (f, order, "last abort", 8000);
  g_free (text);
  text = read_file (order);
  g_free (expected);
  expected = g_strdup_printf ("first shutdown %s\nslow shutdown\nlast shutdown 5 battery low\n"
                              "command %s 5\nabort-command %s\nfirst abort %s\nslow abort\n"
                              "last abort 0 battery low\n",
                              sd->id, sd->id, ab->id, ab->id);
  g_assert_cmpstr (text, ==, expected);
  g_assert_null (strstr (text, "slow-not-killed"));
}

/* An abort while the hooks run stops them: no power-off afterwards. */
static void
test_abort_during_hooks (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = make_command ("shutdown", 60, now_sec ());
  g_autoptr (EfpCommand) ab = make_command ("abort", 0, now_sec ());
  g_autofree gchar *marker = g_build_filename (f->dir, "hook-started", NULL);
  g_autofree gchar *body =
    g_strdup_printf ("[ \"$1\" = shutdown ] || exit 0; touch %s; sleep 30", marker);
  g_autofree gchar *ack = NULL;
  g_autofree gchar *calls = NULL;

  write_hook (f, "10-slow", body, 0755);
  write_config (f, TRUE, "method=logind\nhook-timeout-sec=20");
  start_agent (f, NULL);
  send_and_wait (f, sd, &ack);
  assert_prefix (ack, "scheduled: ");
  spin_until (marker_exists, f, marker, 5000);
  g_assert_true (g_file_test (marker, G_FILE_TEST_EXISTS));
  send_and_wait (f, ab, &ack);
  g_assert_cmpstr (ack, ==, "aborted: stopped the shutdown hooks");
  wait_file_contains (f, f->record_path, "CancelScheduledShutdown", 5000);
  spin_for (500);
  calls = read_file (f->record_path);
  g_assert_cmpstr (calls, ==, "CancelScheduledShutdown\n");
}

static void
test_dry_run (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = make_command ("shutdown", 60, now_sec ());
  g_autoptr (EfpCommand) sd2 = make_command ("shutdown", 60, now_sec ());
  g_autofree gchar *marker = g_build_filename (f->dir, "hook-ran", NULL);
  g_autofree gchar *body = g_strdup_printf ("touch %s", marker);
  g_autofree gchar *ack = NULL;
  g_autofree gchar *calls = NULL;

  write_hook (f, "10-hook", body, 0755);
  write_config (f, TRUE, NULL);
  /* the command says dry_run (the signature does not cover it: it can only make things safer) */
  start_agent (f, NULL);
  sd->dry_run = TRUE;
  send_and_wait (f, sd, &ack);
  g_assert_cmpstr (ack, ==, "scheduled: dry run: would power off in 60 s");

  /* the agent runs with --dry-run */
  stop_agent (f, SIGTERM);
  start_agent (f, "--dry-run");
  send_and_wait (f, sd2, &ack);
  g_assert_cmpstr (ack, ==, "scheduled: dry run: would power off in 60 s");
  spin_for (500);
  calls = read_file (f->record_path);
  g_assert_cmpstr (calls, ==, "");
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));
}

static void
test_without_key (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = efp_command_new ("shutdown", 30, "x", 300, now_sec ());
  g_autoptr (EfpCommand) old = efp_command_new ("shutdown", 30, "x", 300, now_sec () - 400);
  g_autofree gchar *ack = NULL;
  g_autofree gchar *log = NULL;
  const gchar *warning;

  write_config (f, FALSE, NULL);
  start_agent (f, NULL);
  send_and_wait (f, sd, &ack);
  assert_prefix (ack, "scheduled: ");
  wait_file_contains (f, f->record_path, "ScheduleShutdown poweroff", 5000);
  /* even unsigned, a stale command from the broker's queue is refused */
  send_and_wait (f, old, &ack);
  assert_prefix (ack, "rejected: expired");

  log = agent_log (f);
  warning = strstr (log, "anyone who can publish");
  g_assert_nonnull (warning);
  g_assert_null (strstr (warning + 1, "anyone who can publish"));
}

/* ---- configuration and command line ---- */

typedef struct
{
  const gchar *conf;
  const gchar *needle; /* expected in the one-line error */
} BadConfig;

static void
test_bad_config (void)
{
  g_autofree gchar *exe = build_path ("agents/ecoflow-power-agent");
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("efp-agent-conf-XXXXXX", &error);
  g_autofree gchar *path = g_build_filename (dir, "agent.conf", NULL);
  g_autofree gchar *key = g_build_filename (dir, "empty.key", NULL);
  const BadConfig cases[] = {
    { "[agent]\nid=a\ncolour=blue\n", "[agent] colour: expected one of id, key-file, state-file" },
    { "[agent]\nid=a\n[extra]\nx=1\n", "[extra]: expected one of the groups" },
    { "[mqtt]\nhost=h\n", "[agent] id: expected an agent id, found nothing" },
    { "[agent]\nid=a/b\n",
      "[agent] id: expected a name without '/', '+', '#' or spaces, found 'a/b'" },
    { "[agent]\nid=a\n[mqtt]\nport=99999\n",
      "[mqtt] port: expected an integer 1-65535, found '99999'" },
    { "[agent]\nid=a\n[mqtt]\ntls=maybe\n", "[mqtt] tls: expected true or false, found 'maybe'" },
    { "[agent]\nid=a\n[shutdown]\nmethod=halt\n",
      "[shutdown] method: expected logind or command, found 'halt'" },
    { "[agent]\nid=a\n[shutdown]\nmethod=command\n",
      "[shutdown] command: expected a command line" },
    { "[agent]\nid=a\n[shutdown]\nhook-timeout-sec=0\n",
      "[shutdown] hook-timeout-sec: expected an integer 1-604800, found '0'" },
    { "[agent]\nid=a\nkey-file=/nonexistent/key\n",
      "[agent] key-file: expected a readable secret file" },
    { "[agent]\nid=a\nkey-file=EMPTY\n", "[agent] key-file: expected a non-empty key" },
    { "[agent]\nid=a\n[mqtt]\ncommand-prefix=a/#\n",
      "[mqtt] command-prefix: expected topic levels" },
    { "[agent]\nid=a\nstate-file=/proc/nope/seen.json\n",
      "[agent] state-file: expected a writable file" },
    { "not a key file\n", "expected a readable key file" },
  };
  guint i;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (key, "\n", -1, NULL));
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *conf = NULL;
      g_autofree gchar *err = NULL;
      const gchar *argv[] = { exe, "--config", path, NULL };
      g_auto (GStrv) parts = g_strsplit (cases[i].conf, "EMPTY", -1);
      g_autofree gchar *joined = g_strjoinv (key, parts);

      conf = g_str_has_prefix (joined, "[agent]") && strstr (joined, "state-file") == NULL
               ? g_strdup_printf ("%s\nstate-file=%s/seen.json\n", joined, dir)
               : g_strdup (joined);
      /* keep state-file inside [agent] even when other groups follow */
      if (strstr (joined, "state-file") == NULL && g_str_has_prefix (joined, "[agent]"))
        {
          g_free (conf);
          conf = g_strdup_printf ("[agent]\nstate-file=%s/seen.json\n%s", dir,
                                  joined + strlen ("[agent]\n"));
        }
      g_assert_true (g_file_set_contents (path, conf, -1, NULL));
      err = check_config_error (argv, G_SPAWN_DEFAULT, path, cases[i].needle);
      g_assert_true (g_str_has_prefix (err, "ecoflow-power-agent: "));
    }
  /* bad command line: 64 */
  {
    const gchar *argv[] = { exe, "--no-such-option", NULL };
    const gchar *argv2[] = { exe, "--config", path, "extra", NULL };
    gint status = 0;
    g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                 NULL, NULL, NULL, &status, &error));
    g_assert_cmpint (WEXITSTATUS (status), ==, 64);
    g_assert_true (g_spawn_sync (NULL, (gchar **) argv2, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                 NULL, NULL, NULL, &status, &error));
    g_assert_cmpint (WEXITSTATUS (status), ==, 64);
  }
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_autoptr (GTestDBus) bus = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  /* a private dbus-daemon stands in for the system bus, before anything connects */
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);
  private_bus_address = g_strdup (g_test_dbus_get_bus_address (bus));
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", private_bus_address, TRUE);

#define ADD(name, fn)                                                                              \
  g_test_add ("/agent/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("shutdown-and-abort", test_shutdown_and_abort);
  ADD ("sd-notify", test_sd_notify);
  ADD ("rejections", test_rejections);
  ADD ("replay", test_replay);
  ADD ("never-later", test_never_later);
  ADD ("offline-delivery", test_offline_delivery);
  ADD ("hooks-and-command", test_hooks_and_command);
  ADD ("abort-during-hooks", test_abort_during_hooks);
  ADD ("dry-run", test_dry_run);
  ADD ("without-key", test_without_key);
#undef ADD
  g_test_add_func ("/agent/bad-config", test_bad_config);
  rc = g_test_run ();
  g_test_dbus_down (bus);
  g_free (private_bus_address);
  return rc;
}

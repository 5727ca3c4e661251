/* test-nas-agent.c: the POSIX sh agent (agents/nas), run for real under dash
 * with mosquitto_sub against a real broker. Power-off is a stand-in command that
 * appends a line to a file. */
#include "agent-harness.h"

#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static gchar *
script_path (void)
{
  return source_path ("agents/nas/ecoflow-power-agent.sh");
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  harness_setup (f, "seen.txt");
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  harness_teardown (f);
}

/* method=wait with a stand-in "poweroff" unless @shutdown_lines say otherwise. */
static void
write_config (Fixture *f, gboolean with_key, const gchar *shutdown_lines)
{
  g_autofree gchar *def = g_strdup_printf (
    "method=wait\n"
    "command=echo \"POWEROFF $ECOFLOW_COMMAND_ID $ECOFLOW_DELAY_SEC $ECOFLOW_REASON\" >> %s\n"
    "abort-command=echo \"ABORT $ECOFLOW_COMMAND_ID\" >> %s",
    f->record_path, f->record_path);

  harness_write_config (f, "# sh agent test\n", with_key,
                        shutdown_lines != NULL ? shutdown_lines : def);
}

static void
start_agent (Fixture *f, const gchar *extra_arg)
{
  g_autofree gchar *script = script_path ();
  const gchar *argv[] = { "dash", script, "-c", f->config_path, "-v", extra_arg, NULL };
  start_process (f, argv, NULL);
}

static gint
count_lines (const gchar *path, const gchar *prefix)
{
  g_autofree gchar *s = read_file (path);
  g_auto (GStrv) lines = g_strsplit (s, "\n", -1);
  gint n = 0;
  guint i;
  for (i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      n++;
  return n;
}

/* ---- the signature vectors, through the script's own HMAC ---- */

static void
test_signature_vectors (void)
{
  g_autofree gchar *vectors_path = source_path ("tests/data/signature-vectors.json");
  g_autofree gchar *script = script_path ();
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("efp-nas-vectors-XXXXXX", &error);
  g_autofree gchar *key_path = g_build_filename (dir, "key", NULL);
  JsonArray *vectors;
  guint i;

  g_assert_no_error (error);
  json_parser_load_from_file (parser, vectors_path, &error);
  g_assert_no_error (error);
  vectors = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (vectors), >=, 5);
  for (i = 0; i < json_array_get_length (vectors); i++)
    {
      JsonObject *v = json_array_get_object_element (vectors, i);
      JsonObject *c = json_object_get_object_member (v, "command");
      const gchar *endings[] = { "\n", "\r\n", "" };
      guint e;

      for (e = 0; e < G_N_ELEMENTS (endings); e++)
        {
          g_autofree gchar *contents =
            g_strconcat (json_object_get_string_member (v, "key"), endings[e], NULL);
          g_autofree gchar *issued =
            g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (c, "issued_at"));
          g_autofree gchar *delay =
            g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (c, "delay_sec"));
          g_autofree gchar *ttl =
            g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (c, "ttl_sec"));
          const gchar *argv[] = { "dash",
                                  script,
                                  "--sign",
                                  key_path,
                                  json_object_get_string_member (v, "agent"),
                                  json_object_get_string_member (c, "id"),
                                  json_object_get_string_member (c, "action"),
                                  issued,
                                  delay,
                                  ttl,
                                  NULL };
          g_autofree gchar *out = NULL;
          g_autofree gchar *expected = NULL;
          gint status = 0;

          g_assert_true (g_file_set_contents (key_path, contents, -1, NULL));
          g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                       &out, NULL, &status, &error));
          g_assert_no_error (error);
          g_assert_true (g_spawn_check_wait_status (status, NULL));
          expected = g_strconcat (json_object_get_string_member (v, "sig"), "\n", NULL);
          g_assert_cmpstr (out, ==, expected);
        }
    }
  remove_tree (dir);
}

/* ---- live cases ---- */

static void
test_shutdown_wait (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = make_command ("shutdown", 3, now_sec ());
  g_autofree gchar *ack = NULL;
  g_autofree gchar *calls = NULL;
  g_autofree gchar *expected = NULL;
  g_autofree gchar *status = NULL;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);
  status = last_status (f);
  g_assert_nonnull (strstr (status, "\"version\":\"0.1.0-sh\""));
  g_assert_nonnull (strstr (status, "\"ts\":"));

  send_and_wait (f, sd, &ack);
  g_assert_cmpstr (ack, ==, "scheduled: power-off in 3 s via wait after 0 hooks");
  /* the agent itself waits delay_sec before the command */
  calls = read_file (f->record_path);
  g_assert_cmpstr (calls, ==, "");
  wait_file_contains (f, f->record_path, "POWEROFF", 10000);
  g_free (calls);
  calls = read_file (f->record_path);
  expected = g_strdup_printf ("POWEROFF %s 3 battery low\n", sd->id);
  g_assert_cmpstr (calls, ==, expected);
}

/* A second shutdown never moves the power-off later (another policy, a cooldown re-fire);
 * a sooner one replaces the wait. */
static void
test_never_later (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) first = make_command ("shutdown", 4, now_sec ());
  g_autoptr (EfpCommand) later = make_command ("shutdown", 600, now_sec ());
  g_autoptr (EfpCommand) sooner = make_command ("shutdown", 1, now_sec ());
  g_autoptr (EfpCommand) again = make_command ("shutdown", 600, now_sec ());
  g_autofree gchar *ack = NULL;
  g_autofree gchar *calls = NULL;
  g_autofree gchar *expected = NULL;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);
  send_and_wait (f, first, &ack);
  g_assert_cmpstr (ack, ==, "scheduled: power-off in 4 s via wait after 0 hooks");
  g_free (g_steal_pointer (&ack));
  send_and_wait (f, later, &ack);
  assert_prefix (ack, "scheduled: power-off already scheduled in ");
  g_assert_true (g_str_has_suffix (ack, " s; kept"));
  g_free (g_steal_pointer (&ack));
  send_and_wait (f, sooner, &ack);
  g_assert_cmpstr (ack, ==, "scheduled: power-off in 1 s via wait after 0 hooks");
  g_free (g_steal_pointer (&ack));
  send_and_wait (f, again, &ack);
  assert_prefix (ack, "scheduled: power-off already scheduled in ");

  /* one power-off, from the sooner command */
  wait_file_contains (f, f->record_path, "POWEROFF", 10000);
  spin_for (4500);
  calls = read_file (f->record_path);
  expected = g_strdup_printf ("POWEROFF %s 1 battery low\n", sooner->id);
  g_assert_cmpstr (calls, ==, expected);
}

static void
test_abort_cancels_wait (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = make_command ("shutdown", 2, now_sec ());
  g_autoptr (EfpCommand) ab = make_command ("abort", 0, now_sec ());
  g_autofree gchar *ack = NULL;
  g_autofree gchar *expected = NULL;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);
  send_and_wait (f, sd, &ack);
  assert_prefix (ack, "scheduled: ");
  send_and_wait (f, ab, &ack);
  g_assert_cmpstr (ack, ==, "aborted: cancelled the scheduled power-off");
  spin_for (3000);
  expected = g_strdup_printf ("ABORT %s\n", ab->id);
  g_free (ack);
  ack = read_file (f->record_path);
  g_assert_cmpstr (ack, ==, expected);
}

static void
test_rejections (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) unknown = make_command ("reboot", 0, now_sec ());
  g_autoptr (EfpCommand) test = make_command ("test", 0, now_sec ());
  g_autofree gchar *ack = NULL;
  g_autofree gchar *log = NULL;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);

  check_signature_rejections (f, 0, 0);

  send_and_wait (f, unknown, &ack);
  g_assert_cmpstr (ack, ==, "rejected: unknown action");

  send_raw (f, "{not json");
  spin_until (count_reached, f, &(CountWant){ ACK_TOPIC, "\"result\":\"rejected\"", 8 }, 5000);
  g_assert_cmpint (count_messages (f, ACK_TOPIC, "\"result\":\"rejected\""), ==, 8);

  /* a valid one is remembered; its replay is refused, also after a restart */
  send_and_wait (f, test, &ack);
  assert_prefix (ack, "tested: test received by ");
  forget_messages (f);
  send_and_wait (f, test, &ack);
  g_assert_cmpstr (ack, ==, "rejected: replayed command id: already handled");
  stop_agent (f, SIGTERM);
  start_agent (f, NULL);
  forget_messages (f);
  send_and_wait (f, test, &ack);
  g_assert_cmpstr (ack, ==, "rejected: replayed command id: already handled");

  spin_for (300);
  g_free (ack);
  ack = read_file (f->record_path);
  g_assert_cmpstr (ack, ==, "");
  log = agent_log (f);
  g_assert_null (strstr (log, AGENT_KEY));
}

static void
test_hooks_and_command (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = make_command ("shutdown", 7, now_sec ());
  g_autofree gchar *order = g_build_filename (f->dir, "order", NULL);
  g_autofree gchar *lines = NULL;
  g_autofree gchar *ack = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *expected = NULL;
  write_order_hooks (f, order, "echo \"slow $1\" >> \"$ORDER\"; exec sleep 30");
  lines = g_strdup_printf ("method=command\n"
                           "command=echo \"command $ECOFLOW_COMMAND_ID $ECOFLOW_DELAY_SEC\" >> %s\n"
                           "hook-timeout-sec=1",
                           order);
  write_config (f, TRUE, lines);
  start_agent (f, NULL);
  send_and_wait (f, sd, &ack);
  g_assert_cmpstr (ack, ==, "scheduled: power-off in 7 s via command after 3 hooks");
  wait_file_contains (f, order, "command ", 10000);
  text = read_file (order);
  expected = g_strdup_printf ("first shutdown %s\nslow shutdown\nlast shutdown 7 battery low\n"
                              "command %s 7\n",
                              sd->id, sd->id);
  g_assert_cmpstr (text, ==, expected);
}

/* Persistent session and will: a command published while the agent is away
 * arrives when it comes back; a crash leaves the retained offline will. */
static void
test_offline_delivery_and_will (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = NULL;
  g_autofree gchar *ack = NULL;

  write_config (f, TRUE, NULL);
  start_agent (f, NULL);
  /* a clean stop: the script says offline, mosquitto_sub disconnects cleanly */
  stop_agent (f, SIGTERM);
  wait_offline_count (f, 1);

  sd = send_while_away (f, 0);
  start_agent (f, NULL);
  ack = wait_ack (f, sd->id);
  assert_prefix (ack, "scheduled: ");
  wait_file_contains (f, f->record_path, "POWEROFF", 5000);

  /* a crash of everything: the broker publishes the will */
  stop_agent (f, SIGKILL);
  wait_offline_count (f, 2);
  /* back again: it says online over its own will */
  start_agent (f, NULL);
}

static void
test_dry_run_and_no_key (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpCommand) sd = efp_command_new ("shutdown", 0, "x", 300, now_sec ());
  g_autoptr (EfpCommand) sd2 = efp_command_new ("shutdown", 0, "x", 300, now_sec ());
  g_autoptr (EfpCommand) old = efp_command_new ("shutdown", 0, "x", 300, now_sec () - 400);
  g_autoptr (EfpCommand) real = efp_command_new ("shutdown", 0, "x", 300, now_sec ());
  g_autofree gchar *ack = NULL;
  g_autofree gchar *log = NULL;
  const gchar *warning;

  write_config (f, FALSE, NULL);
  start_agent (f, "-n");
  send_and_wait (f, sd, &ack);
  g_assert_cmpstr (ack, ==, "scheduled: dry run: would power off in 0 s");
  stop_agent (f, SIGTERM);

  start_agent (f, NULL);
  sd2->dry_run = TRUE;
  send_and_wait (f, sd2, &ack);
  g_assert_cmpstr (ack, ==, "scheduled: dry run: would power off in 0 s");
  spin_for (300);
  g_assert_cmpint (count_lines (f->record_path, "POWEROFF"), ==, 0);

  /* without a key: unsigned commands act, but stale ones are still refused */
  send_and_wait (f, old, &ack);
  assert_prefix (ack, "rejected: expired");
  send_and_wait (f, real, &ack);
  assert_prefix (ack, "scheduled: ");
  wait_file_contains (f, f->record_path, "POWEROFF", 5000);

  log = agent_log (f);
  warning = strstr (log, "anyone who can publish");
  g_assert_nonnull (warning);
  g_assert_null (strstr (warning + 1, "anyone who can publish"));
}

static void
test_bad_config (void)
{
  g_autofree gchar *script = script_path ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("efp-nas-conf-XXXXXX", &error);
  g_autofree gchar *path = g_build_filename (dir, "agent.conf", NULL);
  struct
  {
    const gchar *conf;
    const gchar *needle;
  } cases[] = {
    { "[agent]\nid=a\ncolour=blue\n", "[agent] colour: expected a known key, found unknown key" },
    { "[agent]\nid=a\n[extra]\nx=1\n", "[extra]: expected one of the groups" },
    { "[mqtt]\nhost=h\n", "[agent] id: expected an agent id, found nothing" },
    { "[agent]\nid=a/b\n", "[agent] id: expected letters, digits" },
    { "[agent]\nid=a\n[mqtt]\nport=99999\n",
      "[mqtt] port: expected an integer 1-65535, found '99999'" },
    { "[agent]\nid=a\n[mqtt]\ntls=maybe\n", "[mqtt] tls: expected true or false, found 'maybe'" },
    { "[agent]\nid=a\n[shutdown]\nmethod=logind\n",
      "[shutdown] method: expected wait or command, found 'logind'" },
    { "[agent]\nid=a\n[shutdown]\nhook-timeout-sec=0\n",
      "[shutdown] hook-timeout-sec: expected an integer 1-604800, found '0'" },
    { "[agent]\nid=a\nkey-file=/nonexistent/key\n",
      "[agent] key-file: expected a readable secret file" },
    { "[agent]\nid=a\n[mqtt]\ncommand-prefix=a/#\n",
      "[mqtt] command-prefix: expected topic levels" },
  };
  guint i;

  g_assert_no_error (error);
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *conf = g_strdup_printf ("%s", cases[i].conf);
      g_autofree gchar *err = NULL;
      const gchar *argv[] = { "dash", script, "-c", path, NULL };

      if (g_str_has_prefix (conf, "[agent]\n"))
        {
          g_free (conf);
          conf = g_strdup_printf ("[agent]\nstate-file=%s/seen.txt\n%s", dir,
                                  cases[i].conf + strlen ("[agent]\n"));
        }
      g_assert_true (g_file_set_contents (path, conf, -1, NULL));
      err = check_config_error (argv, G_SPAWN_SEARCH_PATH, path, cases[i].needle);
    }
  {
    const gchar *argv[] = { "dash", script, "--bogus", NULL };
    gint status = 0;
    g_assert_true (g_spawn_sync (NULL, (gchar **) argv, NULL,
                                 G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL,
                                 NULL, &status, &error));
    g_assert_cmpint (WEXITSTATUS (status), ==, 64);
  }
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nas-agent/signature-vectors", test_signature_vectors);
#define ADD(name, fn)                                                                              \
  g_test_add ("/nas-agent/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("shutdown-wait", test_shutdown_wait);
  ADD ("abort-cancels-wait", test_abort_cancels_wait);
  ADD ("never-later", test_never_later);
  ADD ("rejections-and-replay", test_rejections);
  ADD ("hooks-and-command", test_hooks_and_command);
  ADD ("offline-delivery-and-will", test_offline_delivery_and_will);
  ADD ("dry-run-and-no-key", test_dry_run_and_no_key);
#undef ADD
  g_test_add_func ("/nas-agent/bad-config", test_bad_config);
  return g_test_run ();
}

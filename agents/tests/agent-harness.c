/* agent-harness.c: shared fixture and helpers of the agent tests. */
#include "agent-harness.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static gboolean file_contains (Fixture *f, gconstpointer data);
static gboolean ack_arrived (Fixture *f, gconstpointer id);
static void on_message (EfpMqttClient *c, const gchar *topic, GBytes *payload, gboolean retained,
                        Fixture *f);

/* The current agent's process group: a failed assertion aborts the test
 * without teardown, and a shell agent's children must not outlive it. */
static volatile sig_atomic_t agent_pgid;

static void
on_abort (int signum)
{
  if (agent_pgid > 0)
    kill (-(pid_t) agent_pgid, SIGKILL);
  signal (signum, SIG_DFL);
  raise (signum);
}

/* The agent leads its own process group, and dies with the test. */
static void
agent_child_setup (gpointer user_data)
{
  setpgid (0, 0);
  efp_test_child_setup_die_with_parent (NULL);
}

gchar *
source_path (const gchar *rel)
{
  return g_build_filename (g_getenv ("EFP_SOURCE_ROOT"), rel, NULL);
}

void
harness_setup (Fixture *f, const gchar *state_name)
{
  g_autoptr (GError) error = NULL;
  EfpMqttOptions opts = { 0 };

  f->dir = g_dir_make_tmp ("efp-agent-test-XXXXXX", &error);
  g_assert_no_error (error);
  f->record_path = g_build_filename (f->dir, "calls", NULL);
  f->config_path = g_build_filename (f->dir, "agent.conf", NULL);
  f->state_path = g_build_filename (f->dir, "state", state_name, NULL);
  f->key_path = g_build_filename (f->dir, "agent.key", NULL);
  /* one trailing newline, as an editor leaves it: not part of the key */
  g_assert_true (g_file_set_contents (f->key_path, AGENT_KEY "\n", -1, NULL));

  f->broker = efp_test_broker_new ();
  g_assert_true (efp_test_broker_start (f->broker, &error));
  g_assert_no_error (error);

  f->topics = g_ptr_array_new_with_free_func (g_free);
  f->payloads = g_ptr_array_new_with_free_func (g_free);
  opts.host = "127.0.0.1";
  opts.port = efp_test_broker_get_port (f->broker);
  opts.client_id = "agent-test";
  opts.clean_session = TRUE;
  opts.backoff_initial_ms = 100;
  f->client = efp_mqtt_client_new (&opts, &error);
  g_assert_no_error (error);
  g_signal_connect (f->client, "message", G_CALLBACK (on_message), f);
  efp_mqtt_client_subscribe (f->client, PREFIX "/#", 1);
  efp_mqtt_client_start (f->client);
  while (!efp_mqtt_client_is_connected (f->client))
    g_main_context_iteration (NULL, TRUE);
}

void
harness_teardown (Fixture *f)
{
  guint i;

  stop_agent (f, SIGKILL);
  if (g_test_failed ())
    for (i = 1; i <= f->n_starts; i++)
      {
        g_autofree gchar *name = g_strdup_printf ("agent-%u.log", i);
        g_autofree gchar *path = g_build_filename (f->dir, name, NULL);
        g_autofree gchar *log = NULL;
        if (g_file_get_contents (path, &log, NULL, NULL))
          g_printerr ("---- %s ----\n%s", name, log);
      }
  efp_mqtt_client_stop (f->client);
  g_clear_object (&f->client);
  g_clear_pointer (&f->broker, efp_test_broker_free);
  if (f->helper != NULL)
    {
      g_subprocess_force_exit (f->helper);
      g_subprocess_wait (f->helper, NULL, NULL);
      g_clear_object (&f->helper);
    }
  remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->record_path);
  g_free (f->config_path);
  g_free (f->state_path);
  g_free (f->key_path);
  g_ptr_array_unref (f->topics);
  g_ptr_array_unref (f->payloads);
}

void
start_process (Fixture *f, const gchar *const *argv, const gchar *const *env)
{
  g_autofree gchar *log_name = g_strdup_printf ("agent-%u.log", ++f->n_starts);
  g_autofree gchar *log_path = g_build_filename (f->dir, log_name, NULL);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GError) error = NULL;
  CountWant w = { STATUS_TOPIC, "\"online\"", 0 };
  guint i;

  for (i = 0; env != NULL && env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (l, env[i], env[i + 1], TRUE);
  g_subprocess_launcher_set_stdout_file_path (l, log_path);
  g_subprocess_launcher_set_child_setup (l, agent_child_setup, NULL, NULL);
  w.want = count_messages (f, w.topic, w.needle) + 1;
  f->agent = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  agent_pgid = (sig_atomic_t) g_ascii_strtoll (g_subprocess_get_identifier (f->agent), NULL, 10);
  signal (SIGABRT, on_abort);
  spin_until (count_reached, f, &w, 5000);
  g_assert_cmpint (count_messages (f, w.topic, w.needle), >=, w.want);
}

gchar *
build_path (const gchar *rel)
{
  return g_build_filename (g_getenv ("EFP_BUILD_ROOT"), rel, NULL);
}

static void
on_message (EfpMqttClient *c, const gchar *topic, GBytes *payload, gboolean retained, Fixture *f)
{
  gsize len = 0;
  const gchar *data = g_bytes_get_data (payload, &len);
  g_ptr_array_add (f->topics, g_strdup (topic));
  g_ptr_array_add (f->payloads, g_strndup (data, len));
}

void
spin_until (gboolean (*done) (Fixture *, gconstpointer), Fixture *f, gconstpointer data,
            guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!done (f, data) && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
}

void
spin_for (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
}

void
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

void
stop_agent (Fixture *f, gint signum)
{
  const gchar *ident;

  if (f->agent == NULL)
    return;
  ident = g_subprocess_get_identifier (f->agent);
  /* SIGKILL hits the whole process group (a shell agent's mosquitto_sub and
   * background jobs too); other signals go to the agent, which cleans up */
  if (signum == SIGKILL && ident != NULL)
    kill (-(pid_t) g_ascii_strtoll (ident, NULL, 10), SIGKILL);
  else
    g_subprocess_send_signal (f->agent, signum);
  g_subprocess_wait (f->agent, NULL, NULL);
  g_clear_object (&f->agent);
  agent_pgid = 0;
}

gint
count_messages (Fixture *f, const gchar *topic, const gchar *needle)
{
  guint i;
  gint n = 0;
  for (i = 0; i < f->topics->len; i++)
    if (g_str_equal (g_ptr_array_index (f->topics, i), topic) &&
        (needle == NULL || strstr (g_ptr_array_index (f->payloads, i), needle) != NULL))
      n++;
  return n;
}

gboolean
count_reached (Fixture *f, gconstpointer data)
{
  const CountWant *w = data;
  return count_messages (f, w->topic, w->needle) >= w->want;
}

gchar *
agent_log (Fixture *f)
{
  g_autofree gchar *name = g_strdup_printf ("agent-%u.log", f->n_starts);
  g_autofree gchar *path = g_build_filename (f->dir, name, NULL);
  gchar *log = NULL;
  g_file_get_contents (path, &log, NULL, NULL);
  return log;
}

EfpCommand *
make_command (const gchar *action, gint64 delay, gint64 issued_at)
{
  EfpCommand *c = efp_command_new (action, delay, "battery low", 300, issued_at);
  c->device = g_strdup ("Study");
  c->policy = g_strdup ("critical");
  efp_command_sign (c, AGENT_ID, (const guint8 *) AGENT_KEY, strlen (AGENT_KEY));
  return c;
}

gint64
now_sec (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

void
send_raw (Fixture *f, const gchar *json)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (efp_mqtt_client_publish (f->client, PREFIX "/" AGENT_ID "/cmd", json,
                                          strlen (json), 1, FALSE, &error));
  g_assert_no_error (error);
}

void
send_command (Fixture *f, const EfpCommand *c)
{
  g_autofree gchar *json = efp_command_to_json (c);
  send_raw (f, json);
}

/* The ack for @id: "result: detail", or NULL after the timeout. */
gchar *
find_ack (Fixture *f, const gchar *id)
{
  guint i;
  for (i = 0; i < f->topics->len; i++)
    {
      g_autoptr (JsonParser) p = json_parser_new ();
      JsonObject *o;
      if (!g_str_equal (g_ptr_array_index (f->topics, i), PREFIX "/" AGENT_ID "/ack"))
        continue;
      g_assert_true (json_parser_load_from_data (p, g_ptr_array_index (f->payloads, i), -1, NULL));
      o = json_node_get_object (json_parser_get_root (p));
      if (g_strcmp0 (json_object_get_string_member (o, "id"), id) == 0)
        return g_strdup_printf ("%s: %s", json_object_get_string_member (o, "result"),
                                json_object_get_string_member (o, "detail"));
    }
  return NULL;
}

static gboolean
ack_arrived (Fixture *f, gconstpointer id)
{
  g_autofree gchar *a = find_ack (f, id);
  return a != NULL;
}

gchar *
wait_ack (Fixture *f, const gchar *id)
{
  spin_until (ack_arrived, f, id, 5000);
  return find_ack (f, id);
}

/* Clear old acks, so a replayed id's second ack can be seen. */
void
forget_messages (Fixture *f)
{
  g_ptr_array_set_size (f->topics, 0);
  g_ptr_array_set_size (f->payloads, 0);
}

gchar *
read_file (const gchar *path)
{
  gchar *s = NULL;
  if (!g_file_get_contents (path, &s, NULL, NULL))
    return g_strdup ("");
  return s;
}

static gboolean
file_contains (Fixture *f, gconstpointer data)
{
  const gchar *const *pn = data; /* { path, needle } */
  g_autofree gchar *s = read_file (pn[0]);
  return strstr (s, pn[1]) != NULL;
}

void
wait_file_contains (Fixture *f, const gchar *path, const gchar *needle, guint timeout_ms)
{
  const gchar *pn[] = { path, needle };
  g_autofree gchar *s = NULL;
  spin_until (file_contains, f, pn, timeout_ms);
  s = read_file (path);
  if (strstr (s, needle) == NULL)
    {
      g_autofree gchar *m = g_strdup_printf ("'%s' not in %s: '%s'", needle, path, s);
      g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, m);
    }
}

void
check_prefix (const gchar *s, const gchar *prefix, const gchar *file, gint line)
{
  if (s == NULL || !g_str_has_prefix (s, prefix))
    {
      g_autofree gchar *m =
        g_strdup_printf ("expected '%s...', found '%s'", prefix, s != NULL ? s : "(no ack)");
      g_assertion_message (G_LOG_DOMAIN, file, line, "check_prefix", m);
    }
}

void
write_hook (Fixture *f, const gchar *name, const gchar *body, guint mode)
{
  g_autofree gchar *dir = g_build_filename (f->dir, "hooks", NULL);
  g_autofree gchar *path = g_build_filename (dir, name, NULL);
  g_autofree gchar *text = g_strdup_printf ("#!/bin/sh\n%s\n", body);
  g_mkdir_with_parents (dir, 0755);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

gboolean
marker_exists (Fixture *f, gconstpointer path)
{
  return g_file_test (path, G_FILE_TEST_EXISTS);
}

void
harness_write_config (Fixture *f, const gchar *header, gboolean with_key,
                      const gchar *shutdown_lines)
{
  g_autoptr (GString) s = g_string_new (header);
  g_string_append_printf (s, "[agent]\nid=" AGENT_ID "\nstate-file=%s\n", f->state_path);
  if (with_key)
    g_string_append_printf (s, "key-file=%s\n", f->key_path);
  g_string_append_printf (s, "[mqtt]\nhost=127.0.0.1\nport=%u\n",
                          efp_test_broker_get_port (f->broker));
  g_string_append_printf (s, "[shutdown]\nhooks-dir=%s/hooks\n%s\n", f->dir, shutdown_lines);
  g_assert_true (g_file_set_contents (f->config_path, s->str, -1, NULL));
}

gchar *
last_status (Fixture *f)
{
  gint idx = (gint) f->topics->len - 1;
  while (idx >= 0 && !g_str_equal (g_ptr_array_index (f->topics, idx), STATUS_TOPIC))
    idx--;
  return g_strdup (g_ptr_array_index (f->payloads, idx));
}

void
send_and_wait (Fixture *f, const EfpCommand *c, gchar **ack)
{
  send_command (f, c);
  g_free (*ack);
  *ack = wait_ack (f, c->id);
}

void
check_signature_rejections (Fixture *f, gint64 delay, gint64 tampered_delay)
{
  g_autoptr (EfpCommand) forged = make_command ("shutdown", delay, now_sec ());
  g_autoptr (EfpCommand) unsigned_cmd = make_command ("shutdown", delay, now_sec ());
  g_autoptr (EfpCommand) expired = make_command ("shutdown", delay, now_sec () - 300 - 31);
  g_autoptr (EfpCommand) future = make_command ("shutdown", delay, now_sec () + 120);
  g_autoptr (EfpCommand) other_agent = efp_command_new ("shutdown", delay, "x", 300, now_sec ());
  g_autoptr (EfpCommand) tampered = make_command ("shutdown", 600, now_sec ());
  g_autofree gchar *ack = NULL;

  efp_command_sign (forged, AGENT_ID, (const guint8 *) "wrong key", 9);
  send_and_wait (f, forged, &ack);
  g_assert_cmpstr (ack, ==, "rejected: bad signature");

  efp_command_sign (unsigned_cmd, AGENT_ID, NULL, 0);
  send_and_wait (f, unsigned_cmd, &ack);
  g_assert_cmpstr (ack, ==, "rejected: missing signature");

  send_and_wait (f, expired, &ack);
  assert_prefix (ack, "rejected: expired");

  send_and_wait (f, future, &ack);
  assert_prefix (ack, "rejected: issued");

  /* signed for another agent with the same key: the name is part of the signature */
  efp_command_sign (other_agent, "pc2", (const guint8 *) AGENT_KEY, strlen (AGENT_KEY));
  send_and_wait (f, other_agent, &ack);
  g_assert_cmpstr (ack, ==, "rejected: bad signature");

  tampered->delay_sec = tampered_delay; /* signed for 600 */
  send_and_wait (f, tampered, &ack);
  g_assert_cmpstr (ack, ==, "rejected: bad signature");
}

void
wait_offline_count (Fixture *f, gint want)
{
  CountWant offline = { STATUS_TOPIC, "\"offline\"", want };
  spin_until (count_reached, f, &offline, 5000);
  g_assert_cmpint (count_messages (f, offline.topic, offline.needle), ==, want);
}

gchar *
check_config_error (const gchar *const *argv, GSpawnFlags flags, const gchar *config_path,
                    const gchar *needle)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = NULL;
  gchar *err = NULL;
  gint status = 0;

  /* stdout is captured so that nothing the child prints can mix into the TAP stream */
  g_assert_true (
    g_spawn_sync (NULL, (gchar **) argv, NULL, flags, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s: %s", needle, err);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 78);
  g_assert_nonnull (strstr (err, needle));
  g_assert_nonnull (strstr (err, config_path));
  /* exactly one line */
  g_assert_cmpint (strchr (err, '\n') - err, ==, (gint) strlen (err) - 1);
  return err;
}

EfpCommand *
send_while_away (Fixture *f, gint64 delay)
{
  EfpCommand *sd = make_command ("shutdown", delay, now_sec ());
  send_command (f, sd);
  spin_for (300);
  g_assert_null (find_ack (f, sd->id));
  return sd;
}

void
write_order_hooks (Fixture *f, const gchar *order, const gchar *slow_hook)
{
  const gchar *hooks[][3] = {
    { "10-first", "echo \"first $1 $ECOFLOW_COMMAND_ID\" >> \"$ORDER\"", "755" },
    { "20-slow", slow_hook, "755" },
    { "30-last", "echo \"last $1 $ECOFLOW_DELAY_SEC $ECOFLOW_REASON\" >> \"$ORDER\"", "755" },
    { ".hidden", "echo hidden >> \"$ORDER\"", "755" },
    { "40-not-executable", "echo noexec >> \"$ORDER\"", "644" },
    { "50-world-writable", "echo writable >> \"$ORDER\"", "777" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (hooks); i++)
    {
      g_autofree gchar *body = g_strdup_printf ("ORDER='%s'\n%s", order, hooks[i][1]);
      write_hook (f, hooks[i][0], body, (guint) g_ascii_strtoull (hooks[i][2], NULL, 8));
    }
}

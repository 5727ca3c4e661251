/* efp-test-daemon.c: spawn the real daemon and real MQTT clients for tests. */
#include "efp-test-daemon.h"
#include "efp-test-broker.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/wait.h>
#include <signal.h>
#include <string.h>

struct _EfpTestDaemon
{
  gchar *dir;
  gchar *config_path;
  gchar *state_path;
  gchar *log_path;
  GSubprocess *proc;
};

static gchar *
tmpdir (const gchar *tmpl)
{
  g_autoptr (GError) error = NULL;
  gchar *dir = g_dir_make_tmp (tmpl, &error);
  g_assert_no_error (error);
  return dir;
}

static void
rm_rf (const gchar *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const gchar *n;
  while (d != NULL && (n = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *p = g_build_filename (path, n, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        rm_rf (p);
      else
        g_unlink (p);
    }
  g_rmdir (path);
}

EfpTestDaemon *
efp_test_daemon_new (const gchar *config)
{
  EfpTestDaemon *d = g_new0 (EfpTestDaemon, 1);
  d->dir = tmpdir ("efp-daemon-XXXXXX");
  d->config_path = g_build_filename (d->dir, "ecoflow-powerd.conf", NULL);
  d->state_path = g_build_filename (d->dir, "state.json", NULL);
  d->log_path = g_build_filename (d->dir, "daemon.log", NULL);
  g_assert_true (g_file_set_contents (d->config_path, config, -1, NULL));
  return d;
}

const gchar *
efp_test_daemon_get_dir (EfpTestDaemon *d)
{
  return d->dir;
}

const gchar *
efp_test_daemon_get_state_file (EfpTestDaemon *d)
{
  return d->state_path;
}

gchar *
efp_test_daemon_write_file (EfpTestDaemon *d, const gchar *name, const gchar *text)
{
  gchar *p = g_build_filename (d->dir, name, NULL);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
  g_chmod (p, 0600);
  return p;
}

gboolean
efp_test_daemon_start (EfpTestDaemon *d, const gchar *const *extra_args, GError **error)
{
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *exe =
    g_build_filename (g_getenv ("EFP_BUILD_ROOT"), "daemon", "ecoflow-powerd", NULL);
  gboolean bus_given = FALSE;
  guint i;

  g_return_val_if_fail (d->proc == NULL, FALSE);
  g_ptr_array_add (argv, g_strdup (exe));
  g_ptr_array_add (argv, g_strdup ("--config"));
  g_ptr_array_add (argv, g_strdup (d->config_path));
  g_ptr_array_add (argv, g_strdup ("--plugin-dir"));
  g_ptr_array_add (argv, g_strdup (g_getenv ("EFP_PLUGIN_DIR")));
  g_ptr_array_add (argv, g_strdup ("--state-file"));
  g_ptr_array_add (argv, g_strdup (d->state_path));
  g_ptr_array_add (argv, g_strdup ("-vv"));
  for (i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    {
      if (g_str_has_suffix (extra_args[i], "-bus") || g_str_equal (extra_args[i], "--no-dbus"))
        bus_given = TRUE;
      g_ptr_array_add (argv, g_strdup (extra_args[i]));
    }
  if (!bus_given)
    g_ptr_array_add (argv, g_strdup ("--no-dbus"));
  g_ptr_array_add (argv, NULL);
  /* append: a restarted daemon keeps the earlier log for assertions */
  g_subprocess_launcher_set_flags (l, G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  {
    int fd = g_open (d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    g_subprocess_launcher_take_stderr_fd (l, fd);
  }
  g_subprocess_launcher_setenv (l, "G_DEBUG", "fatal-criticals", TRUE);
  /* a test that dies takes its daemon with it */
  g_subprocess_launcher_set_child_setup (l, efp_test_child_setup_die_with_parent, NULL, NULL);
  d->proc = g_subprocess_launcher_spawnv (l, (const gchar *const *) argv->pdata, error);
  return d->proc != NULL;
}

static void
stop_with (EfpTestDaemon *d, int sig)
{
  if (d->proc == NULL)
    return;
  g_subprocess_send_signal (d->proc, sig);
  g_subprocess_wait (d->proc, NULL, NULL);
  g_clear_object (&d->proc);
}

void
efp_test_daemon_stop (EfpTestDaemon *d)
{
  stop_with (d, SIGTERM);
}

void
efp_test_daemon_kill (EfpTestDaemon *d)
{
  stop_with (d, SIGKILL);
}

GPid
efp_test_daemon_get_pid (EfpTestDaemon *d)
{
  const gchar *id = d->proc != NULL ? g_subprocess_get_identifier (d->proc) : NULL;
  return id != NULL ? (GPid) g_ascii_strtoll (id, NULL, 10) : 0;
}

gint
efp_test_daemon_terminate (EfpTestDaemon *d)
{
  gint status = -1;
  if (d->proc == NULL)
    return -1;
  g_subprocess_send_signal (d->proc, SIGTERM);
  g_subprocess_wait (d->proc, NULL, NULL);
  if (g_subprocess_get_if_exited (d->proc))
    status = g_subprocess_get_exit_status (d->proc);
  g_clear_object (&d->proc);
  return status;
}

gboolean
efp_test_daemon_is_running (EfpTestDaemon *d)
{
  if (d->proc == NULL)
    return FALSE;
  /* a zero-timeout poll of the child */
  return g_subprocess_get_identifier (d->proc) != NULL;
}

gchar *
efp_test_daemon_get_log (EfpTestDaemon *d)
{
  gchar *text = NULL;
  if (!g_file_get_contents (d->log_path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

guint
efp_test_daemon_count_log (EfpTestDaemon *d, const gchar *needle)
{
  g_autofree gchar *log = efp_test_daemon_get_log (d);
  const gchar *p = log;
  guint n = 0;
  while ((p = strstr (p, needle)) != NULL)
    {
      n++;
      p += strlen (needle);
    }
  return n;
}

gboolean
efp_test_daemon_wait_log (EfpTestDaemon *d, const gchar *needle, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  do
    {
      g_autofree gchar *log = efp_test_daemon_get_log (d);
      if (strstr (log, needle) != NULL)
        return TRUE;
      g_usleep (50 * 1000);
    }
  while (g_get_monotonic_time () < end);
  return FALSE;
}

void
efp_test_daemon_free (EfpTestDaemon *d)
{
  if (d == NULL)
    return;
  efp_test_daemon_stop (d);
  if (g_test_failed ())
    {
      g_autofree gchar *log = efp_test_daemon_get_log (d);
      g_printerr ("---- daemon log ----\n%s---- end ----\n", log);
    }
  rm_rf (d->dir);
  g_free (d->dir);
  g_free (d->config_path);
  g_free (d->state_path);
  g_free (d->log_path);
  g_free (d);
}

/* ---- mosquitto_sub recorder ---- */

struct _EfpTestSub
{
  gchar *dir;
  gchar *out_path;
  GSubprocess *proc;
  gsize consumed; /* lines already returned by _wait */
};

EfpTestSub *
efp_test_sub_new (guint16 port, const gchar *const *topics)
{
  EfpTestSub *s = g_new0 (EfpTestSub, 1);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *probe_topic = g_strdup_printf ("efp-test/probe/%p", (void *) s);
  guint i;

  s->dir = tmpdir ("efp-sub-XXXXXX");
  s->out_path = g_build_filename (s->dir, "sub.log", NULL);
  g_ptr_array_add (argv, g_strdup ("mosquitto_sub"));
  g_ptr_array_add (argv, g_strdup ("-h"));
  g_ptr_array_add (argv, g_strdup ("127.0.0.1"));
  g_ptr_array_add (argv, g_strdup ("-p"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", port));
  g_ptr_array_add (argv, g_strdup ("-v"));
  g_ptr_array_add (argv, g_strdup ("-q"));
  g_ptr_array_add (argv, g_strdup ("1"));
  g_ptr_array_add (argv, g_strdup ("-t"));
  g_ptr_array_add (argv, g_strdup (probe_topic));
  for (i = 0; topics[i] != NULL; i++)
    {
      g_ptr_array_add (argv, g_strdup ("-t"));
      g_ptr_array_add (argv, g_strdup (topics[i]));
    }
  g_ptr_array_add (argv, NULL);
  g_subprocess_launcher_set_stdout_file_path (l, s->out_path);
  g_subprocess_launcher_set_child_setup (l, efp_test_child_setup_die_with_parent, NULL, NULL);
  s->proc = g_subprocess_launcher_spawnv (l, (const gchar *const *) argv->pdata, &error);
  g_assert_no_error (error);
  /* subscribed once a probe message comes back */
  for (i = 0; i < 100; i++)
    {
      g_autofree gchar *all = NULL;
      efp_test_publish (port, probe_topic, "probe");
      all = efp_test_sub_get_all (s);
      if (strstr (all, probe_topic) != NULL)
        break;
      g_usleep (50 * 1000);
    }
  return s;
}

gchar *
efp_test_sub_get_all (EfpTestSub *s)
{
  gchar *text = NULL;
  if (!g_file_get_contents (s->out_path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

gchar *
efp_test_sub_wait (EfpTestSub *s, const gchar *pattern, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autoptr (GPatternSpec) spec = g_pattern_spec_new (pattern);
  do
    {
      g_autofree gchar *all = efp_test_sub_get_all (s);
      g_auto (GStrv) lines = g_strsplit (all, "\n", -1);
      guint n = g_strv_length (lines);
      gsize i;
      /* the last element is an unfinished line (or empty) */
      for (i = s->consumed; n > 0 && i < n - 1; i++)
        if (g_pattern_spec_match_string (spec, lines[i]))
          {
            s->consumed = i + 1;
            return g_strdup (lines[i]);
          }
      g_usleep (50 * 1000);
    }
  while (g_get_monotonic_time () < end);
  return NULL;
}

void
efp_test_sub_free (EfpTestSub *s)
{
  if (s == NULL)
    return;
  if (s->proc != NULL)
    {
      g_subprocess_force_exit (s->proc);
      g_subprocess_wait (s->proc, NULL, NULL);
      g_object_unref (s->proc);
    }
  if (g_test_failed ())
    {
      g_autofree gchar *all = efp_test_sub_get_all (s);
      g_printerr ("---- mqtt traffic ----\n%s---- end ----\n", all);
    }
  rm_rf (s->dir);
  g_free (s->dir);
  g_free (s->out_path);
  g_free (s);
}

static gint
run (const gchar *const *argv, gchar **out)
{
  g_autoptr (GError) error = NULL;
  gint status = -1;
  if (!g_spawn_sync (NULL, (gchar **) argv, NULL,
                     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL |
                       (out == NULL ? G_SPAWN_STDOUT_TO_DEV_NULL : 0),
                     NULL, NULL, out, NULL, &status, &error))
    return -1;
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

gboolean
efp_test_publish (guint16 port, const gchar *topic, const gchar *payload)
{
  g_autofree gchar *p = g_strdup_printf ("%u", port);
  const gchar *argv[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", p, "-q", "1", "-t",
                          topic,           "-m", payload,     NULL };
  return run (argv, NULL) == 0;
}

gchar *
efp_test_get_retained (guint16 port, const gchar *topic)
{
  g_autofree gchar *p = g_strdup_printf ("%u", port);
  const gchar *argv[] = {
    "mosquitto_sub",   "-h", "127.0.0.1", "-p", p, "-t", topic, "-C", "1", "-W", "3",
    "--retained-only", NULL
  };
  gchar *out = NULL;
  if (run (argv, &out) != 0)
    {
      g_free (out);
      return NULL;
    }
  g_strchomp (out);
  return out;
}

gint
efp_test_simulate (guint16 port, const gchar *const *args)
{
  g_autofree gchar *exe =
    g_build_filename (g_getenv ("EFP_BUILD_ROOT"), "daemon", "ecoflow-simulate", NULL);
  g_autofree gchar *p = g_strdup_printf ("%u", port);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  guint i;
  g_ptr_array_add (argv, exe);
  g_ptr_array_add (argv, "--host");
  g_ptr_array_add (argv, "127.0.0.1");
  g_ptr_array_add (argv, "--port");
  g_ptr_array_add (argv, p);
  g_ptr_array_add (argv, "-q");
  for (i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  return run ((const gchar *const *) argv->pdata, NULL);
}

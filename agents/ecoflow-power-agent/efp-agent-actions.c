/* efp-agent-actions.c: hooks, shell commands and logind calls of the agent. */
#include "efp-agent-actions.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOGIND_NAME            "org.freedesktop.login1"
#define LOGIND_PATH            "/org/freedesktop/login1"
#define LOGIND_MANAGER         "org.freedesktop.login1.Manager"
#define LOGIND_CALL_TIMEOUT_MS 25000

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *) a, *(const gchar *const *) b);
}

GPtrArray *
efp_agent_list_hooks (const gchar *dir)
{
  g_autoptr (GPtrArray) hooks = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *name;

  d = g_dir_open (dir, 0, &error);
  if (d == NULL)
    {
      g_debug ("no hooks: %s", error->message);
      return g_steal_pointer (&hooks);
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = NULL;
      GStatBuf st;

      if (name[0] == '.')
        continue;
      path = g_build_filename (dir, name, NULL);
      if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
        continue;
      if (access (path, X_OK) != 0)
        {
          g_debug ("hook %s is not executable, skipped", path);
          continue;
        }
      /* a hook anyone can change would run as root at shutdown */
      if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        {
          g_warning ("hook %s is group- or world-writable, skipped", path);
          continue;
        }
      g_ptr_array_add (hooks, g_steal_pointer (&path));
    }
  g_ptr_array_sort (hooks, compare_names);
  return g_steal_pointer (&hooks);
}

/* Each child leads its own process group, so a timeout also kills what it started. */
static void
child_setup (gpointer user_data)
{
  setpgid (0, 0);
}

static GSubprocessLauncher *
make_launcher (const EfpAgentActionEnv *env)
{
  GSubprocessLauncher *l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_INHERIT);

  g_subprocess_launcher_set_child_setup (l, child_setup, NULL, NULL);
  g_autofree gchar *delay = g_strdup_printf ("%" G_GINT64_FORMAT, env->delay_sec);

  g_subprocess_launcher_setenv (l, "ECOFLOW_ACTION", env->action, TRUE);
  g_subprocess_launcher_setenv (l, "ECOFLOW_COMMAND_ID", env->command_id, TRUE);
  g_subprocess_launcher_setenv (l, "ECOFLOW_DELAY_SEC", delay, TRUE);
  g_subprocess_launcher_setenv (l, "ECOFLOW_REASON", env->reason != NULL ? env->reason : "", TRUE);
  return l;
}

/* ---- one child with a timeout, killed on cancel ---- */

typedef struct
{
  GSubprocess *proc;
  gchar *what; /* for messages */
  guint timeout_sec;
  guint timeout_id;
  gboolean timed_out;
  GCancellable *cancellable;
  gulong cancel_id;
} ChildRun;

static void
child_run_free (ChildRun *c)
{
  g_clear_handle_id (&c->timeout_id, g_source_remove);
  if (c->cancellable != NULL && c->cancel_id != 0)
    g_cancellable_disconnect (c->cancellable, c->cancel_id);
  g_clear_object (&c->cancellable);
  g_clear_object (&c->proc);
  g_free (c->what);
  g_free (c);
}

static void
kill_child (ChildRun *c)
{
  const gchar *ident = g_subprocess_get_identifier (c->proc);
  if (ident == NULL)
    return; /* already gone */
  kill (-(pid_t) g_ascii_strtoll (ident, NULL, 10), SIGKILL);
  g_subprocess_force_exit (c->proc);
}

static gboolean
on_child_timeout (gpointer user_data)
{
  ChildRun *c = user_data;
  c->timeout_id = 0;
  c->timed_out = TRUE;
  kill_child (c);
  return G_SOURCE_REMOVE;
}

static void
on_child_cancelled (GCancellable *cancellable, gpointer user_data)
{
  ChildRun *c = user_data;
  if (c->proc != NULL)
    kill_child (c);
}

static void
on_child_exited (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ChildRun *c = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  g_clear_handle_id (&c->timeout_id, g_source_remove);
  if (!g_subprocess_wait_finish (c->proc, res, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (c->timed_out)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                               "%s timed out after %u s and was killed", c->what, c->timeout_sec);
      return;
    }
  if (g_cancellable_is_cancelled (c->cancellable))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s was cancelled", c->what);
      return;
    }
  if (!g_spawn_check_wait_status (g_subprocess_get_status (c->proc), &error))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s failed: %s", c->what,
                               error->message);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Run @argv; the task succeeds when the child exits 0 within @timeout_sec. */
static void
run_child_async (const gchar *const *argv, const gchar *what, const EfpAgentActionEnv *env,
                 guint timeout_sec, GCancellable *cancellable, GAsyncReadyCallback callback,
                 gpointer user_data)
{
  g_autoptr (GSubprocessLauncher) launcher = make_launcher (env);
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  ChildRun *c = g_new0 (ChildRun, 1);
  GError *error = NULL;

  c->what = g_strdup (what);
  c->timeout_sec = timeout_sec;
  c->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  g_task_set_task_data (task, c, (GDestroyNotify) child_run_free);
  c->proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  if (c->proc == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, error->message);
      g_error_free (error);
      g_object_unref (task);
      return;
    }
  c->timeout_id = g_timeout_add_seconds (timeout_sec, on_child_timeout, c);
  c->cancel_id = g_cancellable_connect (c->cancellable, G_CALLBACK (on_child_cancelled), c, NULL);
  g_subprocess_wait_async (c->proc, NULL, on_child_exited, task);
}

static gboolean
run_child_finish (GAsyncResult *res, GError **error)
{
  return g_task_propagate_boolean (G_TASK (res), error);
}

/* ---- hooks, one after another ---- */

typedef struct
{
  GPtrArray *hooks;
  guint next;
  guint n_run;
  gchar *action;
  gchar *command_id;
  gint64 delay_sec;
  gchar *reason;
  guint timeout_sec;
} HooksRun;

static void
hooks_run_free (HooksRun *h)
{
  g_ptr_array_unref (h->hooks);
  g_free (h->action);
  g_free (h->command_id);
  g_free (h->reason);
  g_free (h);
}

static void run_next_hook (GTask *task);

static void
on_hook_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  HooksRun *h = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  h->n_run++;
  if (!run_child_finish (res, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          g_object_unref (task);
          return;
        }
      g_warning ("%s", error->message);
    }
  run_next_hook (task);
}

static void
run_next_hook (GTask *task)
{
  HooksRun *h = g_task_get_task_data (task);
  EfpAgentActionEnv env = { h->action, h->command_id, h->delay_sec, h->reason };
  const gchar *path;
  g_autofree gchar *what = NULL;

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  if (h->next >= h->hooks->len)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  path = g_ptr_array_index (h->hooks, h->next++);
  what = g_strdup_printf ("hook %s %s", path, h->action);
  g_message ("running %s", what);
  {
    const gchar *argv[] = { path, h->action, NULL };
    run_child_async (argv, what, &env, h->timeout_sec, g_task_get_cancellable (task), on_hook_done,
                     task);
  }
}

void
efp_agent_run_hooks_async (const gchar *dir, const EfpAgentActionEnv *env, guint timeout_sec,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  HooksRun *h = g_new0 (HooksRun, 1);

  h->hooks = efp_agent_list_hooks (dir);
  h->action = g_strdup (env->action);
  h->command_id = g_strdup (env->command_id);
  h->delay_sec = env->delay_sec;
  h->reason = g_strdup (env->reason);
  h->timeout_sec = timeout_sec;
  g_task_set_task_data (task, h, (GDestroyNotify) hooks_run_free);
  run_next_hook (task);
}

gboolean
efp_agent_run_hooks_finish (GAsyncResult *result, guint *n_run, GError **error)
{
  HooksRun *h = g_task_get_task_data (G_TASK (result));
  if (n_run != NULL)
    *n_run = h->n_run;
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- shell command ---- */

void
efp_agent_run_command_async (const gchar *command_line, const EfpAgentActionEnv *env,
                             guint timeout_sec, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  const gchar *argv[] = { "/bin/sh", "-c", command_line, NULL };
  g_autofree gchar *what = g_strdup_printf ("%s command", env->action);
  run_child_async (argv, what, env, timeout_sec, cancellable, callback, user_data);
}

gboolean
efp_agent_run_command_finish (GAsyncResult *result, GError **error)
{
  return run_child_finish (result, error);
}

/* ---- logind ---- */

static void
on_logind_reply (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "logind %s: %s",
                               (const gchar *) g_task_get_task_data (task), error->message);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&reply), (GDestroyNotify) g_variant_unref);
}

typedef struct
{
  GTask *task;
  gchar *method;
  GVariant *args;
} LogindCall;

static void
on_system_bus (GObject *source, GAsyncResult *res, gpointer user_data)
{
  LogindCall *call = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_finish (res, &error);

  if (bus == NULL)
    {
      g_task_return_new_error (call->task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "logind %s: no system bus: %s", call->method, error->message);
      g_object_unref (call->task);
    }
  else
    g_dbus_connection_call (bus, LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER, call->method, call->args,
                            NULL, G_DBUS_CALL_FLAGS_NONE, LOGIND_CALL_TIMEOUT_MS,
                            g_task_get_cancellable (call->task), on_logind_reply, call->task);
  g_variant_unref (call->args);
  g_free (call->method);
  g_free (call);
}

static void
logind_call_async (const gchar *method, GVariant *args, GCancellable *cancellable,
                   GAsyncReadyCallback callback, gpointer user_data)
{
  LogindCall *call = g_new0 (LogindCall, 1);

  call->task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_task_data (call->task, g_strdup (method), g_free);
  call->method = g_strdup (method);
  call->args = g_variant_ref_sink (args);
  /* honours DBUS_SYSTEM_BUS_ADDRESS, which is how the tests reach a fake logind */
  g_bus_get (G_BUS_TYPE_SYSTEM, cancellable, on_system_bus, call);
}

void
efp_agent_logind_schedule_async (gint64 delay_sec, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  guint64 usec = (guint64) g_get_real_time () + (guint64) delay_sec * G_USEC_PER_SEC;
  logind_call_async ("ScheduleShutdown", g_variant_new ("(st)", "poweroff", usec), cancellable,
                     callback, user_data);
}

gboolean
efp_agent_logind_schedule_finish (GAsyncResult *result, GError **error)
{
  g_autoptr (GVariant) reply = g_task_propagate_pointer (G_TASK (result), error);
  return reply != NULL;
}

void
efp_agent_logind_cancel_async (GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  logind_call_async ("CancelScheduledShutdown", g_variant_new ("()"), cancellable, callback,
                     user_data);
}

gboolean
efp_agent_logind_cancel_finish (GAsyncResult *result, gboolean *cancelled, GError **error)
{
  g_autoptr (GVariant) reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply == NULL)
    return FALSE;
  if (cancelled != NULL)
    {
      *cancelled = FALSE;
      if (g_variant_is_of_type (reply, G_VARIANT_TYPE ("(b)")))
        g_variant_get (reply, "(b)", cancelled);
    }
  return TRUE;
}

/* efp-agent-actions.h: what the agent does on the host, all asynchronous.
 *
 * Hooks: every executable regular file in the hooks directory whose name does
 * not start with '.', in byte order of the name, run one after another as
 * "HOOK shutdown" or "HOOK abort" with ECOFLOW_ACTION, ECOFLOW_COMMAND_ID,
 * ECOFLOW_DELAY_SEC and ECOFLOW_REASON in the environment. A hook that runs
 * longer than the timeout is killed; a failing hook is logged and the next
 * one runs (power is going away either way). Group- or world-writable hooks
 * are skipped with a warning.
 *
 * Power-off goes through logind on the system bus (DBUS_SYSTEM_BUS_ADDRESS is
 * honoured), or through a configured shell command.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The environment additions every hook and command gets. */
typedef struct
{
  const gchar *action; /* "shutdown" | "abort" */
  const gchar *command_id;
  gint64 delay_sec;
  const gchar *reason;
} EfpAgentActionEnv;

/* The hooks of @dir, sorted, already filtered (executable, not writable by others). */
GPtrArray *efp_agent_list_hooks (const gchar *dir);

void efp_agent_run_hooks_async (const gchar *dir, const EfpAgentActionEnv *env, guint timeout_sec,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
/* Returns the number of hooks run (failures included); FALSE only when cancelled. */
gboolean efp_agent_run_hooks_finish (GAsyncResult *result, guint *n_run, GError **error);

/* "/bin/sh -c @command_line" with the environment; succeeds when it exits 0 in time. */
void efp_agent_run_command_async (const gchar *command_line, const EfpAgentActionEnv *env,
                                  guint timeout_sec, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean efp_agent_run_command_finish (GAsyncResult *result, GError **error);

/* org.freedesktop.login1.Manager.ScheduleShutdown ("poweroff", now + delay). */
void efp_agent_logind_schedule_async (gint64 delay_sec, GCancellable *cancellable,
                                      GAsyncReadyCallback callback, gpointer user_data);
gboolean efp_agent_logind_schedule_finish (GAsyncResult *result, GError **error);
/* org.freedesktop.login1.Manager.CancelScheduledShutdown (); *cancelled: one was pending. */
void efp_agent_logind_cancel_async (GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean efp_agent_logind_cancel_finish (GAsyncResult *result, gboolean *cancelled, GError **error);

G_END_DECLS

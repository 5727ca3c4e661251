/* efp-dbus-test-server.c: the real EfpDbusService fed by a simulated station.
 *
 * Serves io.github.EcoflowPower1 on the bus DBUS_SYSTEM_BUS_ADDRESS names:
 * "Study Room" drains 0.5 % every 200 ms on battery; "garage/shed" is on grid
 * and stale; policy "critical" cycles idle (2 s) -> armed (2 s, Deadline) ->
 * triggered (ShutdownIssued) -> cooldown (1 s, AbortIssued) -> idle; policy
 * "runtime-guard" stays idle; agents "nas-1" (online) and "pc.office"
 * (offline). TestAgent answers "test-<n>" for known agents; Reload drops
 * "pc.office" and "runtime-guard" and prints "reloaded" on stderr.
 *
 * With --fake-polkit=allow|deny it is instead a stand-in for polkitd: it owns
 * org.freedesktop.PolicyKit1 and answers CheckAuthorization for the action
 * io.github.EcoflowPower1.manage (any other action is an error).
 */
#include <glib-unix.h>

#include "efp-dbus-service.h"

#define TICK_MS 200

typedef struct
{
  EfpDbusService *service;
  gdouble soc;
  guint ticks;
  guint tests_sent;
  gboolean pc_office_configured;
  const gchar *policy_state;
  guint64 deadline_us;
  guint command_serial;
  gchar *nas_command_id; /* the last TestAgent to nas-1 */
} Server;

static const gchar *const critical_devices[] = { "Study Room", NULL };
static const gchar *const critical_agents[] = { "nas-1", NULL };

static void
push_study_room (Server *s)
{
  EfpReading r;
  EfpReadingMeta meta = { 0 };
  EfpPack *pack;

  efp_reading_init (&r);
  r.soc = s->soc;
  r.grid_connected = EFP_TRISTATE_FALSE;
  r.grid_source = "simulated";
  r.temp_celsius = 31.5;
  r.input_watts = 0;
  r.output_watts = 120;
  r.remain_minutes = (gint) (s->soc * 1.5);
  g_strlcpy (r.model, "RIVER 3 Plus", sizeof (r.model));
  pack = efp_reading_pack (&r, 0);
  if (pack != NULL)
    {
      pack->soc = s->soc;
      pack->temp_celsius = 30.0;
      pack->design_mah = 10000;
      pack->full_mah = 9500;
      pack->remain_mah = (gint64) (9500 * s->soc / 100.0);
    }
  meta.device = "Study Room";
  meta.serial = "R631ZEB4WH000001";
  meta.decoder = "simulated";
  meta.stale = FALSE;
  meta.ts = g_get_real_time () / G_USEC_PER_SEC;
  efp_dbus_service_update_device (s->service, &r, &meta);
}

static void
push_garage (Server *s)
{
  EfpReading r;
  EfpReadingMeta meta = { 0 };

  efp_reading_init (&r);
  r.soc = 100;
  r.grid_connected = EFP_TRISTATE_TRUE;
  r.grid_source = "simulated";
  r.input_watts = 15;
  r.output_watts = 15;
  meta.device = "garage/shed";
  meta.stale = TRUE;
  meta.ts = g_get_real_time () / G_USEC_PER_SEC - 600;
  efp_dbus_service_update_device (s->service, &r, &meta);
}

static void
set_policy (Server *s, const gchar *state, guint64 deadline_us)
{
  s->policy_state = state;
  s->deadline_us = deadline_us;
  efp_dbus_service_update_policy (s->service, "critical", "critical-soc", state, deadline_us,
                                  critical_devices);
}

/* The policy cycle, 6 s long: 0-2 s idle, 2-4 s armed, 4 s triggered, 5 s cooldown. */
static void
step_policy (Server *s)
{
  guint phase = (s->ticks * TICK_MS / 1000) % 6;
  gint64 now = g_get_real_time ();
  g_autofree gchar *command_id = NULL;

  if (phase < 2 && !g_str_equal (s->policy_state, "idle"))
    set_policy (s, "idle", 0);
  else if (phase >= 2 && phase < 4 && g_str_equal (s->policy_state, "idle"))
    {
      set_policy (s, "armed", (guint64) (now + 2 * G_USEC_PER_SEC));
      efp_dbus_service_add_event (s->service, now / G_USEC_PER_SEC, "Study Room", "critical",
                                  "timer-start", "soc below 90% on battery");
    }
  else if (phase == 4 && g_str_equal (s->policy_state, "armed"))
    {
      command_id = g_strdup_printf ("cmd-%u", ++s->command_serial);
      set_policy (s, "triggered", 0);
      efp_dbus_service_emit_shutdown_issued (s->service, "critical", "Study Room", critical_agents,
                                             command_id);
      efp_dbus_service_add_event (s->service, now / G_USEC_PER_SEC, "Study Room", "critical",
                                  "shutdown-triggered", command_id);
    }
  else if (phase == 5 && g_str_equal (s->policy_state, "triggered"))
    {
      command_id = g_strdup_printf ("cmd-%u", ++s->command_serial);
      set_policy (s, "cooldown", (guint64) (now + G_USEC_PER_SEC));
      efp_dbus_service_emit_abort_issued (s->service, "critical", "Study Room", critical_agents,
                                          command_id);
      efp_dbus_service_add_event (s->service, now / G_USEC_PER_SEC, "Study Room", "critical",
                                  "abort-sent", command_id);
    }
}

static gboolean
tick (gpointer user_data)
{
  Server *s = user_data;

  s->ticks++;
  s->soc = MAX (s->soc - 0.5, 0.0);
  push_study_room (s);
  step_policy (s);
  if (s->ticks % 5 == 0)
    efp_dbus_service_update_agent (s->service, "nas-1", TRUE, (guint64) g_get_real_time (),
                                   s->nas_command_id, s->nas_command_id != NULL ? "tested" : NULL);
  return G_SOURCE_CONTINUE;
}

static gchar *
on_test_agent (gpointer user_data, const gchar *agent_id, GError **error)
{
  Server *s = user_data;
  gchar *command_id;

  if (!g_str_equal (agent_id, "nas-1") &&
      !(s->pc_office_configured && g_str_equal (agent_id, "pc.office")))
    {
      g_set_error (error, EFP_DBUS_ERROR, EFP_DBUS_ERROR_UNKNOWN_AGENT, "unknown agent '%s'",
                   agent_id);
      return NULL;
    }
  command_id = g_strdup_printf ("test-%u", ++s->tests_sent);
  if (g_str_equal (agent_id, "nas-1"))
    {
      g_free (s->nas_command_id);
      s->nas_command_id = g_strdup (command_id);
    }
  efp_dbus_service_update_agent (s->service, agent_id, g_str_equal (agent_id, "nas-1"),
                                 (guint64) g_get_real_time (), command_id, "tested");
  return command_id;
}

static gboolean
on_reload (gpointer user_data, GError **error)
{
  Server *s = user_data;

  s->pc_office_configured = FALSE;
  efp_dbus_service_remove_agent (s->service, "pc.office");
  efp_dbus_service_remove_policy (s->service, "runtime-guard");
  /* stderr: the test's stdout is its TAP stream */
  g_printerr ("reloaded\n");
  return TRUE;
}

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* ---- the polkit stand-in ---- */

static const gchar polkit_xml[] = "<node><interface name='org.freedesktop.PolicyKit1.Authority'>"
                                  "<method name='CheckAuthorization'>"
                                  "<arg type='(sa{sv})' name='subject' direction='in'/>"
                                  "<arg type='s' name='action_id' direction='in'/>"
                                  "<arg type='a{ss}' name='details' direction='in'/>"
                                  "<arg type='u' name='flags' direction='in'/>"
                                  "<arg type='s' name='cancellation_id' direction='in'/>"
                                  "<arg type='(bba{ss})' name='result' direction='out'/>"
                                  "</method></interface></node>";

static void
polkit_method (GDBusConnection *connection, const gchar *sender, const gchar *path,
               const gchar *iface, const gchar *method, GVariant *params,
               GDBusMethodInvocation *invocation, gpointer user_data)
{
  gboolean allow = GPOINTER_TO_INT (user_data);
  const gchar *kind = NULL, *action = NULL;

  g_variant_get (params, "((&s@a{sv})&s@a{ss}u&s)", &kind, NULL, &action, NULL, NULL, NULL);
  if (!g_str_equal (kind, "system-bus-name") || !g_str_equal (action, EFP_DBUS_NAME ".manage"))
    {
      g_dbus_method_invocation_return_dbus_error (
        invocation, "org.freedesktop.PolicyKit1.Error.Failed", "unexpected subject or action");
      return;
    }
  g_dbus_method_invocation_return_value (
    invocation, g_variant_new ("((bb@a{ss}))", allow, FALSE,
                               g_variant_new_array (G_VARIANT_TYPE ("{ss}"), NULL, 0)));
}

static int
run_fake_polkit (gboolean allow)
{
  static const GDBusInterfaceVTable vtable = { polkit_method, NULL, NULL, { 0 } };
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusNodeInfo) info = g_dbus_node_info_new_for_xml (polkit_xml, &error);
  g_autoptr (GDBusConnection) connection = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  if (info == NULL || connection == NULL ||
      g_dbus_connection_register_object (connection, "/org/freedesktop/PolicyKit1/Authority",
                                         info->interfaces[0], &vtable, GINT_TO_POINTER (allow),
                                         NULL, &error) == 0)
    {
      g_printerr ("fake polkit: %s\n", error->message);
      return 1;
    }
  g_bus_own_name_on_connection (connection, "org.freedesktop.PolicyKit1",
                                G_BUS_NAME_OWNER_FLAGS_NONE, NULL, NULL, NULL, NULL);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_main_loop_run (loop);
  return 0;
}

int
main (int argc, char **argv)
{
  g_autofree gchar *fake_polkit = NULL;
  const GOptionEntry entries[] = { { "fake-polkit", 0, 0, G_OPTION_ARG_STRING, &fake_polkit,
                                     "Be polkit: allow or deny", "allow|deny" },
                                   { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  EfpDbusHandlers handlers = { on_test_agent, on_reload };
  Server s = { 0 };

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 64;
    }
  if (fake_polkit != NULL)
    return run_fake_polkit (g_str_equal (fake_polkit, "allow"));

  loop = g_main_loop_new (NULL, FALSE);
  s.soc = 80.0;
  s.policy_state = "";
  s.pc_office_configured = TRUE;
  s.service = efp_dbus_service_new (G_BUS_TYPE_SYSTEM, &handlers, &s);
  efp_dbus_service_set_manager (s.service, TRUE, FALSE, TRUE);
  push_study_room (&s);
  push_garage (&s);
  set_policy (&s, "idle", 0);
  efp_dbus_service_update_policy (s.service, "runtime-guard", "runtime", "idle", 0, NULL);
  efp_dbus_service_update_agent (s.service, "nas-1", TRUE, (guint64) g_get_real_time (), NULL,
                                 NULL);
  efp_dbus_service_update_agent (s.service, "pc.office", FALSE, 0, NULL, NULL);
  efp_dbus_service_start (s.service);
  g_timeout_add (TICK_MS, tick, &s);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_main_loop_run (loop);
  efp_dbus_service_stop (s.service);
  g_object_unref (s.service);
  g_free (s.nas_command_id);
  return 0;
}

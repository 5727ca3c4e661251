/* ecoflow-powerctl: inspect and control ecoflow-powerd over D-Bus (CONTRACT 1, 5). */
#include "config.h"

#include <locale.h>
#include <stdio.h>

#include "efp-ctl-json.h"
#include "efp-ctl-monitor.h"
#include "efp-ctl-view.h"
#include "efp-dbus-service.h"

/* CONTRACT 1 (sysexits): 64 usage, 65 data, 69 unavailable; 77 = EX_NOPERM */
#define EXIT_FAILED      1
#define EXIT_USAGE       64
#define EXIT_DATA        65
#define EXIT_UNAVAILABLE 69
#define EXIT_NOPERM      77

static const gchar *summary =
  "Commands:\n"
  "  status           devices, policies and agents at a glance (default)\n"
  "  devices          power stations and groups\n"
  "  policies         shutdown policies, their state and deadline\n"
  "  agents           host agents, online or not\n"
  "  events           recent policy transitions\n"
  "  monitor          print changes and signals live until interrupted\n"
  "  test-agent ID    send a signed test command to agent ID\n"
  "  reload           make the daemon re-read its configuration\n"
  "\n"
  "--json works with status, devices, policies, agents, events and monitor.\n"
  "test-agent and reload need root or the polkit action io.github.EcoflowPower1.manage.";

/* The exit status for a failed call, after printing its message. */
static int
report_call_error (const gchar *what, GError *error)
{
  g_autofree gchar *remote = g_dbus_error_get_remote_error (error);
  int status = EXIT_FAILED;

  g_dbus_error_strip_remote_error (error);
  if (remote != NULL)
    {
      if (g_str_equal (remote, EFP_DBUS_NAME ".Error.NotAuthorized") ||
          g_str_equal (remote, "org.freedesktop.DBus.Error.AccessDenied"))
        status = EXIT_NOPERM;
      else if (g_str_equal (remote, EFP_DBUS_NAME ".Error.UnknownAgent") ||
               g_str_equal (remote, EFP_DBUS_NAME ".Error.InvalidArgs"))
        status = EXIT_DATA;
      else if (g_str_equal (remote, "org.freedesktop.DBus.Error.ServiceUnknown") ||
               g_str_equal (remote, "org.freedesktop.DBus.Error.NameHasNoOwner") ||
               g_str_equal (remote, "org.freedesktop.DBus.Error.NoReply"))
        status = EXIT_UNAVAILABLE;
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED) ||
           g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED))
    status = EXIT_UNAVAILABLE;
  g_printerr ("ecoflow-powerctl: %s: %s\n", what, error->message);
  return status;
}

static int
print_json (JsonNode *node)
{
  g_autoptr (JsonNode) root = node;
  g_autofree gchar *text = efp_ctl_json_to_string (root, TRUE);

  fputs (text, stdout);
  return 0;
}

static int
print_text (GString *text)
{
  fputs (text->str, stdout);
  g_string_free (text, TRUE);
  return 0;
}

static int
run_read_command (EfpCtlContext *ctx, const gchar *command, gboolean json)
{
  gint64 now = g_get_real_time ();
  g_autoptr (GError) error = NULL;

  if (g_str_equal (command, "status"))
    {
      if (json)
        return print_json (efp_ctl_status_json (ctx));
      GString *out = g_string_new (NULL);
      efp_ctl_print_status (ctx, out, now);
      return print_text (out);
    }
  if (g_str_equal (command, "devices"))
    {
      if (json)
        return print_json (efp_ctl_devices_json (ctx));
      GString *out = g_string_new (NULL);
      efp_ctl_print_devices (ctx, out, now);
      return print_text (out);
    }
  if (g_str_equal (command, "policies"))
    {
      if (json)
        return print_json (efp_ctl_policies_json (ctx));
      GString *out = g_string_new (NULL);
      efp_ctl_print_policies (ctx, out, now);
      return print_text (out);
    }
  if (g_str_equal (command, "agents"))
    {
      if (json)
        return print_json (efp_ctl_agents_json (ctx));
      GString *out = g_string_new (NULL);
      efp_ctl_print_agents (ctx, out, now);
      return print_text (out);
    }
  /* events */
  if (json)
    {
      JsonNode *node = efp_ctl_events_json (ctx, &error);
      if (node == NULL)
        return report_call_error ("GetEvents", error);
      return print_json (node);
    }
  GString *out = g_string_new (NULL);
  if (!efp_ctl_print_events (ctx, out, &error))
    {
      g_string_free (out, TRUE);
      return report_call_error ("GetEvents", error);
    }
  return print_text (out);
}

static int
run_test_agent (EfpCtlContext *ctx, const gchar *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  const gchar *command_id = NULL;

  /* let a polkit agent ask for a password when one is running */
  reply = g_dbus_proxy_call_sync (
    G_DBUS_PROXY (ctx->manager), "TestAgent", g_variant_new ("(s)", id),
    G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, NULL, &error);
  if (reply == NULL)
    return report_call_error ("TestAgent", error);
  g_variant_get (reply, "(&s)", &command_id);
  printf ("%s\n", command_id);
  return 0;
}

static int
run_reload (EfpCtlContext *ctx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (ctx->manager), "Reload", NULL,
                                  G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION, G_MAXINT, NULL,
                                  &error);
  if (reply == NULL)
    return report_call_error ("Reload", error);
  return 0;
}

/* Connect and make sure the daemon is there; 0 or an exit status. */
static int
connect_daemon (GBusType bus_type, EfpCtlContext *ctx)
{
  const gchar *bus = bus_type == G_BUS_TYPE_SESSION ? "session bus" : "system bus";
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  gboolean has_owner = FALSE;

  ctx->connection = g_bus_get_sync (bus_type, NULL, &error);
  if (ctx->connection == NULL)
    {
      g_printerr ("ecoflow-powerctl: cannot connect to the %s: %s\n", bus, error->message);
      return EXIT_UNAVAILABLE;
    }
  /* a failed call after this point is the daemon's doing, not a lost bus */
  g_dbus_connection_set_exit_on_close (ctx->connection, FALSE);
  reply = g_dbus_connection_call_sync (
    ctx->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "NameHasOwner", g_variant_new ("(s)", EFP_DBUS_NAME), G_VARIANT_TYPE ("(b)"),
    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_printerr ("ecoflow-powerctl: cannot talk to the %s: %s\n", bus, error->message);
      return EXIT_UNAVAILABLE;
    }
  g_variant_get (reply, "(b)", &has_owner);
  if (!has_owner)
    {
      g_printerr ("ecoflow-powerctl: ecoflow-powerd is not running (%s has no owner on the %s)\n",
                  EFP_DBUS_NAME, bus);
      return EXIT_UNAVAILABLE;
    }
  ctx->manager =
    efp_exported_manager_proxy_new_sync (ctx->connection, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                         EFP_DBUS_NAME, EFP_DBUS_PATH, NULL, &error);
  if (ctx->manager != NULL)
    ctx->objects = efp_object_manager_client_new_sync (
      ctx->connection, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START, EFP_DBUS_NAME,
      EFP_DBUS_PATH, NULL, &error);
  if (ctx->manager == NULL || ctx->objects == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_printerr ("ecoflow-powerctl: cannot read %s: %s\n", EFP_DBUS_NAME, error->message);
      return EXIT_UNAVAILABLE;
    }
  return 0;
}

static gboolean
is_read_command (const gchar *command)
{
  const gchar *const reads[] = { "status", "devices", "policies", "agents", "events", NULL };
  return g_strv_contains (reads, command);
}

int
main (int argc, char **argv)
{
  gboolean system_bus = FALSE, session_bus = FALSE, json = FALSE, version = FALSE;
  const GOptionEntry entries[] = {
    { "system-bus", 0, 0, G_OPTION_ARG_NONE, &system_bus, "Use the system bus (default)", NULL },
    { "session-bus", 0, 0, G_OPTION_ARG_NONE, &session_bus, "Use the session bus", NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) octx = g_option_context_new ("[COMMAND [ARGS]]");
  g_autoptr (GError) error = NULL;
  EfpCtlContext ctx = { 0 };
  const gchar *command;
  int status;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_set_summary (octx, "Inspect and control ecoflow-powerd over D-Bus.");
  g_option_context_set_description (octx, summary);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      g_printerr ("ecoflow-powerctl: %s (see --help)\n", error->message);
      return EXIT_USAGE;
    }
  if (version)
    {
      printf ("ecoflow-powerctl %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (system_bus && session_bus)
    {
      g_printerr ("ecoflow-powerctl: --system-bus and --session-bus exclude each other\n");
      return EXIT_USAGE;
    }
  command = argc > 1 ? argv[1] : "status";
  if (is_read_command (command) || g_str_equal (command, "monitor") ||
      g_str_equal (command, "reload"))
    {
      if (argc > 2)
        {
          g_printerr ("ecoflow-powerctl: %s takes no arguments\n", command);
          return EXIT_USAGE;
        }
    }
  else if (g_str_equal (command, "test-agent"))
    {
      if (argc != 3 || *argv[2] == '\0')
        {
          g_printerr ("ecoflow-powerctl: usage: ecoflow-powerctl test-agent ID\n");
          return EXIT_USAGE;
        }
    }
  else
    {
      g_printerr ("ecoflow-powerctl: unknown command '%s' (see --help)\n", command);
      return EXIT_USAGE;
    }
  if (json && (g_str_equal (command, "test-agent") || g_str_equal (command, "reload")))
    {
      g_printerr ("ecoflow-powerctl: --json applies to read commands only\n");
      return EXIT_USAGE;
    }

  status = connect_daemon (session_bus ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM, &ctx);
  if (status == 0)
    {
      if (is_read_command (command))
        status = run_read_command (&ctx, command, json);
      else if (g_str_equal (command, "monitor"))
        status = efp_ctl_monitor (ctx.connection, json);
      else if (g_str_equal (command, "test-agent"))
        status = run_test_agent (&ctx, argv[2]);
      else
        status = run_reload (&ctx);
    }
  g_clear_object (&ctx.objects);
  g_clear_object (&ctx.manager);
  g_clear_object (&ctx.connection);
  return status;
}

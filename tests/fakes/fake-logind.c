/* fake-logind: org.freedesktop.login1.Manager's shutdown methods on a PRIVATE bus.
 *
 *   fake-logind --address ADDRESS --record FILE
 *
 * Connects only to the given bus address (never to the real system bus), owns
 * org.freedesktop.login1, prints "READY" on stdout, and appends one line per
 * call to FILE: "ScheduleShutdown <type> <usec>" or "CancelScheduledShutdown".
 */
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

static const gchar introspection[] =
  "<node><interface name='org.freedesktop.login1.Manager'>"
  "<method name='ScheduleShutdown'><arg type='s' direction='in'/>"
  "<arg type='t' direction='in'/></method>"
  "<method name='CancelScheduledShutdown'><arg type='b' direction='out'/></method>"
  "</interface></node>";

static gchar *record_path;
static gboolean scheduled;

static void
record (const gchar *line)
{
  FILE *f = fopen (record_path, "a");
  if (f == NULL)
    return;
  fprintf (f, "%s\n", line);
  fclose (f);
}

static void
on_call (GDBusConnection *conn, const gchar *sender, const gchar *path, const gchar *iface,
         const gchar *method, GVariant *params, GDBusMethodInvocation *inv, gpointer data)
{
  if (g_str_equal (method, "ScheduleShutdown"))
    {
      const gchar *type;
      guint64 usec;
      g_autofree gchar *line = NULL;
      g_variant_get (params, "(&st)", &type, &usec);
      line = g_strdup_printf ("ScheduleShutdown %s %" G_GUINT64_FORMAT, type, usec);
      record (line);
      scheduled = TRUE;
      g_dbus_method_invocation_return_value (inv, NULL);
    }
  else
    {
      record ("CancelScheduledShutdown");
      g_dbus_method_invocation_return_value (inv, g_variant_new ("(b)", scheduled));
      scheduled = FALSE;
    }
}

static void
on_name_acquired (GDBusConnection *conn, const gchar *name, gpointer data)
{
  g_print ("READY\n");
  fflush (stdout);
}

static void
on_name_lost (GDBusConnection *conn, const gchar *name, gpointer loop)
{
  g_printerr ("fake-logind: could not own %s\n", name);
  g_main_loop_quit (loop);
}

int
main (int argc, char **argv)
{
  static const GDBusInterfaceVTable vtable = { on_call, NULL, NULL, { 0 } };
  g_autofree gchar *address = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusNodeInfo) info = NULL;
  g_autoptr (GDBusConnection) conn = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- fake logind for tests");
  const GOptionEntry entries[] = {
    { "address", 0, 0, G_OPTION_ARG_STRING, &address, "Private bus address", "ADDR" },
    { "record", 0, 0, G_OPTION_ARG_FILENAME, &record_path, "Append calls here", "FILE" },
    { NULL }
  };

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || address == NULL || record_path == NULL)
    {
      g_printerr ("usage: fake-logind --address ADDRESS --record FILE\n");
      return 64;
    }
  /* belt and braces: this must never sit on the machine's real system bus */
  if (strstr (address, "/run/dbus/system_bus_socket") != NULL)
    {
      g_printerr ("fake-logind: refusing the real system bus\n");
      return 1;
    }
  conn = g_dbus_connection_new_for_address_sync (address,
                                                 G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                 NULL, NULL, &error);
  if (conn == NULL)
    {
      g_printerr ("fake-logind: %s\n", error->message);
      return 1;
    }
  info = g_dbus_node_info_new_for_xml (introspection, &error);
  g_assert_no_error (error);
  g_dbus_connection_register_object (conn, "/org/freedesktop/login1", info->interfaces[0], &vtable,
                                     NULL, NULL, &error);
  g_assert_no_error (error);
  g_bus_own_name_on_connection (conn, "org.freedesktop.login1", G_BUS_NAME_OWNER_FLAGS_NONE,
                                on_name_acquired, on_name_lost, loop, NULL);
  g_main_loop_run (loop);
  return 1;
}

/* efp-ctl-monitor.c: print every signal of io.github.EcoflowPower1 as it comes. */
#include "efp-ctl-monitor.h"

#include <glib-unix.h>
#include <stdio.h>
#include <string.h>

#include "efp-ctl-json.h"
#include "efp-dbus-service.h"

#define EXIT_UNAVAILABLE 69

typedef struct
{
  GMainLoop *loop;
  gboolean json;
  int status;
} Monitor;

static gchar *
short_path (const gchar *path)
{
  if (g_str_has_prefix (path, EFP_DBUS_PATH "/"))
    return g_strdup (path + strlen (EFP_DBUS_PATH "/"));
  if (g_str_equal (path, EFP_DBUS_PATH))
    return g_strdup ("/");
  return g_strdup (path);
}

static gchar *
timestamp (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  gchar *text = g_date_time_format (now, "%T.%f");

  /* milliseconds are enough for a person */
  if (text != NULL && strlen (text) > 3)
    text[strlen (text) - 3] = '\0';
  return text;
}

static void
emit_json (const gchar *path, const gchar *iface, const gchar *member, GVariant *args)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "time_us");
  json_builder_add_int_value (b, g_get_real_time ());
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "interface");
  json_builder_add_string_value (b, iface);
  json_builder_set_member_name (b, "signal");
  json_builder_add_string_value (b, member);
  json_builder_set_member_name (b, "args");
  if (args != NULL)
    json_builder_add_value (b, efp_ctl_json_from_variant (args));
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = efp_ctl_json_to_string (root, FALSE);
  fputs (text, stdout);
  fflush (stdout);
}

static void
describe (GString *line, const gchar *iface, const gchar *member, GVariant *args)
{
  if (g_str_equal (member, "PropertiesChanged") &&
      g_variant_is_of_type (args, G_VARIANT_TYPE ("(sa{sv}as)")))
    {
      g_autoptr (GVariant) changed = g_variant_get_child_value (args, 1);
      GVariantIter iter;
      const gchar *name;
      GVariant *value;

      g_variant_iter_init (&iter, changed);
      while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
        {
          g_autofree gchar *text = g_variant_print (value, FALSE);
          g_string_append_printf (line, " %s=%s", name, text);
          g_variant_unref (value);
        }
      return;
    }
  if (g_str_equal (member, "InterfacesAdded"))
    {
      g_string_append (line, " appeared");
      return;
    }
  if (g_str_equal (member, "InterfacesRemoved"))
    {
      g_string_append (line, " disappeared");
      return;
    }
  if ((g_str_equal (member, "ShutdownIssued") || g_str_equal (member, "AbortIssued")) &&
      g_variant_is_of_type (args, G_VARIANT_TYPE ("(ssass)")))
    {
      const gchar *policy, *device, *command_id;
      g_autofree const gchar **agents = NULL;
      g_autofree gchar *list = NULL;

      g_variant_get (args, "(&s&s^a&s&s)", &policy, &device, &agents, &command_id);
      list = g_strjoinv (",", (gchar **) agents);
      g_string_append_printf (line, " %s policy=%s device=%s agents=%s command_id=%s", member,
                              policy, device, list, command_id);
      return;
    }
  if (g_str_equal (member, "Event") && g_variant_is_of_type (args, G_VARIANT_TYPE ("(xssss)")))
    {
      const gchar *device, *policy, *event, *detail;
      gint64 ts;

      g_variant_get (args, "(x&s&s&s&s)", &ts, &device, &policy, &event, &detail);
      g_string_append_printf (line, " Event %s policy=%s device=%s%s%s", event, policy, device,
                              *detail != '\0' ? ": " : "", detail);
      return;
    }
  {
    g_autofree gchar *text = args != NULL ? g_variant_print (args, FALSE) : g_strdup ("()");
    g_string_append_printf (line, " %s.%s %s", iface, member, text);
  }
}

static void
on_signal (GDBusConnection *connection, const gchar *sender, const gchar *path, const gchar *iface,
           const gchar *member, GVariant *args, gpointer user_data)
{
  Monitor *m = user_data;
  g_autofree gchar *where = NULL;
  g_autofree gchar *when = NULL;
  g_autoptr (GString) line = NULL;

  if (m->json)
    {
      emit_json (path, iface, member, args);
      return;
    }
  /* InterfacesAdded/Removed name the child in their first argument */
  if ((g_str_equal (member, "InterfacesAdded") || g_str_equal (member, "InterfacesRemoved")) &&
      g_variant_n_children (args) > 0)
    {
      g_autoptr (GVariant) child = g_variant_get_child_value (args, 0);
      where = short_path (g_variant_get_string (child, NULL));
    }
  else
    where = short_path (path);
  when = timestamp ();
  line = g_string_new (NULL);
  g_string_append_printf (line, "%s %s", when, where);
  describe (line, iface, member, args);
  printf ("%s\n", line->str);
  fflush (stdout);
}

static void
on_appeared (GDBusConnection *connection, const gchar *name, const gchar *owner, gpointer user_data)
{
  Monitor *m = user_data;
  g_autofree gchar *when = timestamp ();

  if (m->json)
    emit_json (EFP_DBUS_PATH, "org.freedesktop.DBus", "ServiceAppeared", NULL);
  else
    printf ("%s ecoflow-powerd is on the bus (%s)\n", when, owner);
  fflush (stdout);
}

static void
on_vanished (GDBusConnection *connection, const gchar *name, gpointer user_data)
{
  Monitor *m = user_data;
  g_autofree gchar *when = timestamp ();

  if (connection == NULL || g_dbus_connection_is_closed (connection))
    {
      g_printerr ("ecoflow-powerctl: lost the bus connection\n");
      m->status = EXIT_UNAVAILABLE;
      g_main_loop_quit (m->loop);
      return;
    }
  if (m->json)
    emit_json (EFP_DBUS_PATH, "org.freedesktop.DBus", "ServiceVanished", NULL);
  else
    printf ("%s ecoflow-powerd left the bus\n", when);
  fflush (stdout);
}

static gboolean
on_quit (gpointer user_data)
{
  Monitor *m = user_data;
  g_main_loop_quit (m->loop);
  return G_SOURCE_CONTINUE;
}

int
efp_ctl_monitor (GDBusConnection *connection, gboolean json)
{
  Monitor m = { 0 };
  guint sub, watch, sigint, sigterm;

  m.loop = g_main_loop_new (NULL, FALSE);
  m.json = json;
  sub = g_dbus_connection_signal_subscribe (connection, EFP_DBUS_NAME, NULL, NULL, NULL, NULL,
                                            G_DBUS_SIGNAL_FLAGS_NONE, on_signal, &m, NULL);
  watch = g_bus_watch_name_on_connection (connection, EFP_DBUS_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                          on_appeared, on_vanished, &m, NULL);
  sigint = g_unix_signal_add (SIGINT, on_quit, &m);
  sigterm = g_unix_signal_add (SIGTERM, on_quit, &m);
  if (!json)
    g_printerr ("Monitoring %s; press Ctrl+C to stop.\n", EFP_DBUS_NAME);
  g_main_loop_run (m.loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_bus_unwatch_name (watch);
  g_dbus_connection_signal_unsubscribe (connection, sub);
  g_main_loop_unref (m.loop);
  return m.status;
}

/* test-dbus-fixture.c: private dbus-daemon for the D-Bus tests. */
#include "test-dbus-fixture.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>

struct _EfpTestBus
{
  gchar *dir;
  gchar *address;
  GSubprocess *daemon;
  GDBusConnection *connection;
};

/* a failed assertion aborts the test; its bus and servers must not outlive it
 * (they would hold the test's output pipes open) */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static GSubprocessLauncher *
launcher_new (GSubprocessFlags flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return launcher;
}

gchar *
efp_test_build_path (const gchar *relative)
{
  const gchar *root = g_getenv ("EFP_BUILD_ROOT");
  return g_build_filename (root != NULL ? root : ".", relative, NULL);
}

/* The system bus's default policy, the polkit stand-in, and our policy file. */
static gchar *
bus_config (const gchar *dir)
{
  g_autofree gchar *policy = efp_test_build_path ("data/io.github.EcoflowPower1.conf");
  return g_strdup_printf (
    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
    "<busconfig>\n"
    "  <type>system</type>\n"
    "  <listen>unix:path=%s/system_bus_socket</listen>\n"
    "  <auth>EXTERNAL</auth>\n"
    "  <policy context=\"default\">\n"
    "    <allow user=\"*\"/>\n"
    "    <deny own=\"*\"/>\n"
    "    <deny send_type=\"method_call\"/>\n"
    "    <allow send_type=\"signal\"/>\n"
    "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
    "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
    "    <allow receive_type=\"method_call\"/>\n"
    "    <allow receive_type=\"method_return\"/>\n"
    "    <allow receive_type=\"error\"/>\n"
    "    <allow receive_type=\"signal\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\" "
    "send_interface=\"org.freedesktop.DBus\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\"\n"
    "           send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\"\n"
    "           send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
    "    <allow own=\"org.freedesktop.PolicyKit1\"/>\n"
    "    <allow send_destination=\"org.freedesktop.PolicyKit1\"/>\n"
    "  </policy>\n"
    "  <policy user=\"root\">\n"
    "    <allow send_destination=\"org.freedesktop.DBus\"\n"
    "           send_interface=\"org.freedesktop.DBus.Monitoring\"/>\n"
    "  </policy>\n"
    "  <include>%s</include>\n"
    "</busconfig>\n",
    dir, policy);
}

/* Start dbus-daemon on the bus's socket and connect to it. */
static gboolean
start_daemon (EfpTestBus *bus, GError **error)
{
  g_autofree gchar *config_path = g_build_filename (bus->dir, "bus.conf", NULL);
  g_autofree gchar *config_arg = g_strdup_printf ("--config-file=%s", config_path);
  g_autofree gchar *line = NULL;
  g_autoptr (GDataInputStream) in = NULL;
  g_autoptr (GSubprocessLauncher) launcher = launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  const gchar *argv[] = { "dbus-daemon", config_arg, "--print-address=1", NULL };

  bus->daemon = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (bus->daemon == NULL)
    return FALSE;
  /* it prints its address once it listens */
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bus->daemon));
  line = g_data_input_stream_read_line (in, NULL, NULL, error);
  if (line == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                             "dbus-daemon exited without printing its address");
      return FALSE;
    }
  bus->connection = g_dbus_connection_new_for_address_sync (
    bus->address,
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, error);
  return bus->connection != NULL;
}

static void
stop_daemon (EfpTestBus *bus)
{
  g_autofree gchar *socket = g_build_filename (bus->dir, "system_bus_socket", NULL);

  g_clear_object (&bus->connection);
  if (bus->daemon != NULL)
    {
      g_subprocess_send_signal (bus->daemon, SIGTERM);
      g_subprocess_wait (bus->daemon, NULL, NULL);
      g_clear_object (&bus->daemon);
    }
  g_unlink (socket);
}

EfpTestBus *
efp_test_bus_new (GError **error)
{
  g_autoptr (EfpTestBus) bus = g_new0 (EfpTestBus, 1);
  g_autofree gchar *config = NULL;
  g_autofree gchar *config_path = NULL;

  bus->dir = g_dir_make_tmp ("efp-dbus-XXXXXX", error);
  if (bus->dir == NULL)
    return NULL;
  /* "nobody" must reach the socket */
  g_chmod (bus->dir, 0755);
  config = bus_config (bus->dir);
  config_path = g_build_filename (bus->dir, "bus.conf", NULL);
  if (!g_file_set_contents (config_path, config, -1, error))
    return NULL;
  /* no guid= in the address: clients reach a restarted bus at the same path */
  bus->address = g_strdup_printf ("unix:path=%s/system_bus_socket", bus->dir);
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", bus->address, TRUE);
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_unsetenv ("DBUS_STARTER_ADDRESS");
  if (!start_daemon (bus, error))
    return NULL;
  return g_steal_pointer (&bus);
}

gboolean
efp_test_bus_restart (EfpTestBus *bus, GError **error)
{
  stop_daemon (bus);
  return start_daemon (bus, error);
}

const gchar *
efp_test_bus_get_address (EfpTestBus *bus)
{
  return bus->address;
}

GDBusConnection *
efp_test_bus_connection (EfpTestBus *bus)
{
  return bus->connection;
}

GSubprocess *
efp_test_bus_spawn (EfpTestBus *bus, const gchar *const *argv, gboolean pipe_stdout, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher =
    launcher_new (pipe_stdout ? G_SUBPROCESS_FLAGS_STDOUT_PIPE : G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SYSTEM_BUS_ADDRESS", bus->address, TRUE);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

typedef struct
{
  gboolean want;
  gboolean done;
} NameWait;

static void
name_appeared (GDBusConnection *c, const gchar *name, const gchar *owner, gpointer user_data)
{
  NameWait *w = user_data;
  if (w->want)
    w->done = TRUE;
}

static void
name_vanished (GDBusConnection *c, const gchar *name, gpointer user_data)
{
  NameWait *w = user_data;
  if (!w->want)
    w->done = TRUE;
}

gboolean
efp_test_bus_wait_name (EfpTestBus *bus, const gchar *name, gboolean present, guint timeout_ms)
{
  NameWait w = { present, FALSE };
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint id = g_bus_watch_name_on_connection (bus->connection, name, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                             name_appeared, name_vanished, &w, NULL);

  while (!w.done && g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (10000);
  g_bus_unwatch_name (id);
  return w.done;
}

void
efp_test_bus_free (EfpTestBus *bus)
{
  if (bus == NULL)
    return;
  if (bus->dir != NULL)
    {
      g_autofree gchar *config = g_build_filename (bus->dir, "bus.conf", NULL);
      stop_daemon (bus);
      g_unlink (config);
      g_rmdir (bus->dir);
    }
  g_free (bus->dir);
  g_free (bus->address);
  g_free (bus);
}

gint
efp_test_run (const gchar *const *argv, gboolean as_nobody, gchar **out, gchar **err)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher =
    launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autofree gchar *o = NULL, *e = NULL;
  guint i;

  if (as_nobody)
    {
      g_ptr_array_add (args, (gpointer) "setpriv");
      g_ptr_array_add (args, (gpointer) "--reuid=65534");
      g_ptr_array_add (args, (gpointer) "--regid=65534");
      g_ptr_array_add (args, (gpointer) "--clear-groups");
      g_ptr_array_add (args, (gpointer) "--");
    }
  for (i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  proc = g_subprocess_launcher_spawnv (launcher, (const gchar *const *) args->pdata, &error);
  if (proc == NULL)
    {
      g_test_message ("cannot run %s: %s", argv[0], error->message);
      return -1;
    }
  if (!g_subprocess_communicate_utf8 (proc, NULL, NULL, &o, &e, &error))
    {
      g_test_message ("%s: %s", argv[0], error->message);
      return -1;
    }
  if (out != NULL)
    *out = g_steal_pointer (&o);
  if (err != NULL)
    *err = g_steal_pointer (&e);
  return g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
}

GSubprocess *
efp_test_bus_start_test_server (EfpTestBus *bus, const gchar *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *server_path = efp_test_build_path ("tests/efp-dbus-test-server");
  const gchar *server_argv[] = { server_path, NULL };
  GSubprocess *server = efp_test_bus_spawn (bus, server_argv, FALSE, &error);

  g_assert_no_error (error);
  /* the server must take the name on the private bus */
  g_assert_true (efp_test_bus_wait_name (bus, name, TRUE, 10000));
  return server;
}

void
efp_test_server_clear (GSubprocess **server)
{
  if (*server != NULL && g_subprocess_get_identifier (*server) != NULL)
    {
      g_subprocess_force_exit (*server);
      g_subprocess_wait (*server, NULL, NULL);
    }
  g_clear_object (server);
}

gint
efp_test_run_valist (const gchar *const *head, gboolean as_nobody, gchar **out, gchar **err,
                     va_list ap)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const gchar *arg;
  guint i;

  for (i = 0; head[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) head[i]);
  while ((arg = va_arg (ap, const gchar *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  g_ptr_array_add (argv, NULL);
  return efp_test_run ((const gchar *const *) argv->pdata, as_nobody, out, err);
}

void
efp_test_spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (5000);
}

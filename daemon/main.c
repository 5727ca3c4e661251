/* main.c: ecoflow-powerd: options, logging, signals; everything else is EfpDaemon. */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdio.h>

#include "efp-daemon.h"
#include "efp-log.h"
#include "efp-mqtt-client.h"
#include "efp-sd-notify.h"

#define EXIT_USAGE  64
#define EXIT_CONFIG 78

static GMainLoop *loop;

static gboolean
on_term (gpointer user_data)
{
  g_message ("stopping on signal");
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_hup (gpointer user_data)
{
  EfpDaemon *daemon = user_data;
  g_autoptr (GError) error = NULL;
  efp_sd_notify ("RELOADING=1");
  if (!efp_daemon_reload (daemon, &error))
    g_warning ("reload refused, keeping the running configuration: %s", error->message);
  efp_sd_notify ("READY=1");
  return G_SOURCE_CONTINUE;
}

static gboolean
count_verbose (const gchar *name, const gchar *value, gpointer data, GError **error)
{
  (*(guint *) data)++;
  return TRUE;
}

int
main (int argc, char **argv)
{
  static guint verbosity;
  g_autofree gchar *config_file = NULL;
  g_autofree gchar *env_file = NULL;
  g_autofree gchar *state_file = NULL;
  g_autofree gchar *plugin_dir = NULL;
  gboolean system_bus = FALSE, session_bus = FALSE, no_dbus = FALSE, dry_run = FALSE;
  gboolean check_config = FALSE, version = FALSE, personal = FALSE;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "Configuration file (default " EFP_SYSCONFDIR "/ecoflow-powerd.conf)", "FILE" },
    { "env-file", 0, 0, G_OPTION_ARG_FILENAME, &env_file, "Seed-style .env file", "FILE" },
    { "state-file", 0, 0, G_OPTION_ARG_FILENAME, &state_file, "State file", "FILE" },
    { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &plugin_dir,
      "Plugin directory holding decoders/ and policies/ (default " EFP_PLUGIN_DIR ")", "DIR" },
    { "system-bus", 0, 0, G_OPTION_ARG_NONE, &system_bus, "Serve on the system bus (default)",
      NULL },
    { "session-bus", 0, 0, G_OPTION_ARG_NONE, &session_bus, "Serve on the session bus", NULL },
    { "no-dbus", 0, 0, G_OPTION_ARG_NONE, &no_dbus, "Do not use D-Bus", NULL },
    { "dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run,
      "Publish commands with \"dry_run\": true; agents only log them", NULL },
    { "check-config", 0, 0, G_OPTION_ARG_NONE, &check_config,
      "Validate, print the effective configuration (secrets masked) and exit", NULL },
    { "show-personal-info", 0, 0, G_OPTION_ARG_NONE, &personal,
      "Do not mask serial numbers in logs", NULL },
    { "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, count_verbose,
      "More output (-v info, -vv debug)", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- EcoFlow power-station shutdown daemon");
  g_autoptr (GOptionGroup) group = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpDaemon) daemon = NULL;
  EfpDaemonOptions opts = { 0 };

  setlocale (LC_ALL, "");
  group = g_option_group_new ("main", "", "", &verbosity, NULL);
  g_option_group_add_entries (group, entries);
  g_option_context_set_main_group (ctx, g_steal_pointer (&group));
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("ecoflow-powerd: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (argc > 1)
    {
      g_printerr ("ecoflow-powerd: unexpected argument '%s'\n", argv[1]);
      return EXIT_USAGE;
    }
  if (version)
    {
      g_print ("ecoflow-powerd %s\n", PACKAGE_VERSION);
      return 0;
    }
  if ((system_bus + session_bus + no_dbus) > 1)
    {
      g_printerr ("ecoflow-powerd: --system-bus, --session-bus and --no-dbus exclude each other\n");
      return EXIT_USAGE;
    }
  efp_log_setup (verbosity, personal);

  opts.config_file = config_file;
  opts.config_explicit = config_file != NULL;
  opts.env_file = env_file;
  opts.state_file = state_file;
  opts.plugin_dir = plugin_dir;
  opts.use_dbus = !no_dbus;
  opts.bus_type = session_bus ? G_BUS_TYPE_SESSION : G_BUS_TYPE_SYSTEM;
  opts.dry_run = dry_run;
  daemon = efp_daemon_new (&opts, &error);
  if (daemon == NULL)
    {
      g_printerr ("ecoflow-powerd: %s\n", error->message);
      return EXIT_CONFIG;
    }
  if (check_config)
    {
      g_autofree gchar *dump = efp_config_dump (efp_daemon_get_config (daemon));
      fputs (dump, stdout);
      return 0;
    }

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_term, NULL);
  g_unix_signal_add (SIGTERM, on_term, NULL);
  g_unix_signal_add (SIGHUP, on_hup, daemon);
  if (!efp_daemon_start (daemon, &error))
    {
      g_printerr ("ecoflow-powerd: %s\n", error->message);
      return EXIT_CONFIG;
    }
  g_message ("ecoflow-powerd %s running", PACKAGE_VERSION);
  efp_sd_notify ("READY=1");
  efp_sd_watchdog_start ();
  g_main_loop_run (loop);
  efp_sd_notify ("STOPPING=1");
  efp_daemon_stop (daemon);
  g_clear_pointer (&loop, g_main_loop_unref);
  return 0;
}

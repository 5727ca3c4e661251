/* main.c: ecoflow-power-agent --config FILE [--dry-run] [-v] (CONTRACT 4.7). */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>

#include "efp-agent-config.h"
#include "efp-agent.h"
#include "efp-sd-notify.h"
#include "efp-log.h"

#define EXIT_USAGE  64
#define EXIT_CONFIG 78

static guint verbosity;

static gboolean
on_verbose (const gchar *name, const gchar *value, gpointer data, GError **error)
{
  /* "-v" counts once, "-vv" twice: GOption calls us per letter */
  verbosity++;
  return TRUE;
}

static gboolean
on_quit_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autofree gchar *config_path = NULL;
  gboolean dry_run = FALSE;
  gboolean version = FALSE;
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  g_autoptr (EfpAgent) agent = NULL;
  EfpAgentConfig *config;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Configuration file (default " EFP_AGENT_DEFAULT_CONFIG ")", "FILE" },
    { "dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
      "Verify, log and acknowledge commands, never act on them", NULL },
    { "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, on_verbose,
      "More output (-vv for debug)", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  ctx = g_option_context_new ("- EcoFlow power host agent");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("ecoflow-power-agent: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (argc > 1)
    {
      g_printerr ("ecoflow-power-agent: unexpected argument '%s'\n", argv[1]);
      return EXIT_USAGE;
    }
  if (version)
    {
      g_print ("ecoflow-power-agent %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  efp_log_setup (verbosity, FALSE);

  config =
    efp_agent_config_load (config_path != NULL ? config_path : EFP_AGENT_DEFAULT_CONFIG, &error);
  if (config == NULL)
    {
      g_printerr ("ecoflow-power-agent: %s\n", error->message);
      return EXIT_CONFIG;
    }
  agent = efp_agent_new (config, dry_run, &error);
  if (agent == NULL)
    {
      g_printerr ("ecoflow-power-agent: %s\n", error->message);
      return EXIT_CONFIG;
    }

  /* hooks and commands must not die with SIGPIPE when their reader goes away */
  signal (SIGPIPE, SIG_IGN);
  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_quit_signal, loop);
  g_unix_signal_add (SIGINT, on_quit_signal, loop);
  efp_agent_start (agent);
  efp_sd_notify ("READY=1");
  efp_sd_watchdog_start ();
  g_main_loop_run (loop);
  efp_sd_notify ("STOPPING=1");
  g_message ("stopping");
  efp_agent_stop (agent);
  return EXIT_SUCCESS;
}

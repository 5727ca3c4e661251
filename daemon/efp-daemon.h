/* efp-daemon.h: the ecoflow-powerd core: frames in, state and commands out. */
#pragma once

#include <gio/gio.h>
#include "efp-config.h"

G_BEGIN_DECLS

typedef struct
{
  const gchar *config_file;
  gboolean config_explicit;
  const gchar *env_file;
  const gchar *state_file; /* overrides the config */
  const gchar *plugin_dir;
  gboolean use_dbus;
  GBusType bus_type;
  gboolean dry_run;
} EfpDaemonOptions;

#define EFP_TYPE_DAEMON (efp_daemon_get_type ())
G_DECLARE_FINAL_TYPE (EfpDaemon, efp_daemon, EFP, DAEMON, GObject)

/* Loads plugins and configuration; an error here is a configuration error (exit 78). */
EfpDaemon *efp_daemon_new (const EfpDaemonOptions *options, GError **error);
/* Connect, serve, restore state. Only fails on an unusable state file path. */
gboolean efp_daemon_start (EfpDaemon *self, GError **error);
/* Re-read the configuration; on error the running one is kept. */
gboolean efp_daemon_reload (EfpDaemon *self, GError **error);
void efp_daemon_stop (EfpDaemon *self);
const EfpConfig *efp_daemon_get_config (EfpDaemon *self);
/* Send a `test` command to @agent; returns the command id. */
gchar *efp_daemon_test_agent (EfpDaemon *self, const gchar *agent, GError **error);

G_END_DECLS

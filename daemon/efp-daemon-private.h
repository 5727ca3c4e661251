/* efp-daemon-private.h: the daemon object's insides, shared by its two files:
 * efp-daemon.c (frames, policies, lifecycle) and efp-daemon-outputs.c (everything
 * that tells the world: MQTT state and events, D-Bus, NUT, metrics, notifications). */
#pragma once

#include "efp-cloud.h"
#include "efp-daemon.h"
#include "efp-dbus-service.h"
#include "efp-device.h"
#include "efp-dispatcher.h"
#include "efp-metrics.h"
#include "efp-mqtt-client.h"
#include "efp-notifier.h"
#include "efp-nut-server.h"
#include "efp-outbox.h"
#include "efp-policy-runner.h"
#include "efp-reading-json.h"
#include "efp-state-file.h"
#include "efp-wol.h"

G_BEGIN_DECLS

struct _EfpDaemon
{
  GObject parent_instance;

  EfpDaemonOptions options;
  gchar *config_file;
  gchar *env_file;
  gchar *plugin_dir;
  gchar *state_file_override;

  EfpPluginRegistry *registry;
  EfpModelTable *models;
  EfpConfig *config;
  EfpMqttClient *mqtt;
  EfpDispatcher *dispatcher;
  EfpStateFile *state;
  gchar *state_path;

  EfpDbusService *dbus;    /* NULL with --no-dbus */
  EfpCloud *cloud;         /* NULL unless [cloud] enabled */
  EfpNutServer *nut;       /* NULL unless [nut] enabled */
  EfpMetrics *metrics;     /* NULL unless a [metrics] group exists */
  EfpNotifier *notifier;   /* [notify]; sends nothing when no target is configured */
  EfpWol *wol;             /* [wol:NAME] hosts */
  GHashTable *republished; /* payload hashes we put on the raw topics ourselves */
  EfpOutbox *outbox;       /* commands waiting for the broker */

  GHashTable *devices; /* name -> EfpDevice* */
  GPtrArray *runners;  /* EfpPolicyRunner* */
  gint64 last_snapshot_save_us;
  gboolean started;
};

/* efp-daemon-outputs.c */
void efp_daemon_publish (EfpDaemon *self, const gchar *topic, const gchar *payload, gint qos,
                         gboolean retain);
void efp_daemon_publish_event_full (EfpDaemon *self, const gchar *device, const gchar *policy,
                                    const gchar *event, const gchar *detail, gdouble soc,
                                    const gchar *const *agents);
void efp_daemon_publish_event (EfpDaemon *self, const gchar *device, const gchar *policy,
                               const gchar *event, const gchar *detail);
void efp_daemon_publish_device (EfpDaemon *self, EfpDevice *dev);
void efp_daemon_publish_presence (EfpDaemon *self);
gboolean efp_daemon_group_reading (EfpDaemon *self, const EfpGroupConfig *g, EfpReading *out,
                                   gint64 *last_frame_us, gboolean *stale);
void efp_daemon_publish_group (EfpDaemon *self, const EfpGroupConfig *g);
void efp_daemon_update_manager (EfpDaemon *self);
void efp_daemon_update_policy_sinks (EfpDaemon *self, EfpPolicyRunner *r);
void efp_daemon_agent_changed (gpointer user_data, const EfpAgentInfo *a);
void efp_daemon_publish_everything (EfpDaemon *self);
gboolean efp_daemon_start_nut (EfpDaemon *self, GError **error);
void efp_daemon_start_dbus (EfpDaemon *self);
gboolean efp_daemon_make_outputs (EfpDaemon *self, EfpConfig *config, EfpNotifier **notifier,
                                  EfpWol **wol, GError **error);

G_END_DECLS

/* efp-dbus-service.h: the io.github.EcoflowPower1 service (CONTRACT 5).
 *
 * The daemon pushes state in with the update functions; this object owns the
 * bus name, the exported objects (ObjectManager at the root), coalescing of
 * PropertiesChanged, polkit checks, and calls back into the daemon through
 * EfpDbusHandlers for the mutating methods. It never reaches into the daemon.
 */
#pragma once

#include <gio/gio.h>
#include "efp-reading-json.h"

G_BEGIN_DECLS

#define EFP_DBUS_NAME "io.github.EcoflowPower1"
#define EFP_DBUS_PATH "/io/github/EcoflowPower1"

typedef struct
{
  /* TestAgent(s id) -> s command_id. Return NULL and set @error on failure. */
  gchar *(*test_agent) (gpointer user_data, const gchar *agent_id, GError **error);
  /* Reload() */
  gboolean (*reload) (gpointer user_data, GError **error);
} EfpDbusHandlers;

#define EFP_TYPE_DBUS_SERVICE (efp_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (EfpDbusService, efp_dbus_service, EFP, DBUS_SERVICE, GObject)

EfpDbusService *efp_dbus_service_new (GBusType bus_type, const EfpDbusHandlers *handlers,
                                      gpointer user_data);
/* Own the name and export; failures are logged, never fatal. */
void efp_dbus_service_start (EfpDbusService *self);
void efp_dbus_service_stop (EfpDbusService *self);

void efp_dbus_service_set_manager (EfpDbusService *self, gboolean mqtt_connected,
                                   gboolean cloud_connected, gboolean dry_run);
/* Create or update the Device object @meta->device (properties coalesced, <= 1/s). */
void efp_dbus_service_update_device (EfpDbusService *self, const EfpReading *reading,
                                     const EfpReadingMeta *meta);
/* @state: idle|armed|triggered|cooldown; @deadline_us 0 when none. */
void efp_dbus_service_update_policy (EfpDbusService *self, const gchar *name, const gchar *module,
                                     const gchar *state, guint64 deadline_us,
                                     const gchar *const *devices);
void efp_dbus_service_update_agent (EfpDbusService *self, const gchar *id, gboolean online,
                                    guint64 last_seen_us, const gchar *last_command_id,
                                    const gchar *last_result);
void efp_dbus_service_emit_shutdown_issued (EfpDbusService *self, const gchar *policy,
                                            const gchar *device, const gchar *const *agents,
                                            const gchar *command_id);
void efp_dbus_service_emit_abort_issued (EfpDbusService *self, const gchar *policy,
                                         const gchar *device, const gchar *const *agents,
                                         const gchar *command_id);
/* Remember a transition for `ecoflow-powerctl events` (the service keeps the last 100). */
void efp_dbus_service_add_event (EfpDbusService *self, gint64 ts, const gchar *device,
                                 const gchar *policy, const gchar *event, const gchar *detail);

/* Appended by the D-Bus service (additions only). */

/* Errors a handler may set; they reach clients as io.github.EcoflowPower1.Error.<Name>.
 * EFP_CONFIG_ERROR becomes Error.InvalidConfig; any other domain Error.Failed. */
#define EFP_DBUS_ERROR (efp_dbus_error_quark ())
typedef enum
{
  EFP_DBUS_ERROR_FAILED,         /* Failed */
  EFP_DBUS_ERROR_NOT_AUTHORIZED, /* NotAuthorized */
  EFP_DBUS_ERROR_INVALID_ARGS,   /* InvalidArgs */
  EFP_DBUS_ERROR_UNKNOWN_AGENT,  /* UnknownAgent */
  EFP_DBUS_ERROR_NOT_CONNECTED,  /* NotConnected: e.g. the broker is down */
  EFP_DBUS_ERROR_INVALID_CONFIG, /* InvalidConfig */
  EFP_DBUS_ERROR_NOT_SUPPORTED,  /* NotSupported: no handler */
} EfpDbusError;
GQuark efp_dbus_error_quark (void);

/* The object path element for @name: every char outside [A-Za-z0-9_] -> '_'. */
gchar *efp_dbus_object_id (const gchar *name);

/* Objects disappear (InterfacesRemoved), e.g. after a Reload dropped them. */
void efp_dbus_service_remove_device (EfpDbusService *self, const gchar *name);
void efp_dbus_service_remove_policy (EfpDbusService *self, const gchar *name);
void efp_dbus_service_remove_agent (EfpDbusService *self, const gchar *id);

G_END_DECLS

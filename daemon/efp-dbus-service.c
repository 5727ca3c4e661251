/* efp-dbus-service.c: io.github.EcoflowPower1 on the bus (CONTRACT 5).
 *
 * The generated skeletons hold the property values and coalesce
 * PropertiesChanged in an idle; on top of that, device readings are applied
 * to their skeleton at most once per second, so a device emits at most one
 * PropertiesChanged per second however fast frames arrive.
 */
#include "config.h"

#include "efp-dbus-service.h"

#include "efp-dbus-auth.h"
#include "efp-dbus-generated.h"
#include "efp-plugin-util.h"

#define DEVICE_MIN_INTERVAL_US G_USEC_PER_SEC
#define MAX_EVENTS             100
#define RETRY_FIRST_SEC        1
#define RETRY_MAX_SEC          30

static const GDBusErrorEntry error_entries[] = {
  { EFP_DBUS_ERROR_FAILED, EFP_DBUS_NAME ".Error.Failed" },
  { EFP_DBUS_ERROR_NOT_AUTHORIZED, EFP_DBUS_NAME ".Error.NotAuthorized" },
  { EFP_DBUS_ERROR_INVALID_ARGS, EFP_DBUS_NAME ".Error.InvalidArgs" },
  { EFP_DBUS_ERROR_UNKNOWN_AGENT, EFP_DBUS_NAME ".Error.UnknownAgent" },
  { EFP_DBUS_ERROR_NOT_CONNECTED, EFP_DBUS_NAME ".Error.NotConnected" },
  { EFP_DBUS_ERROR_INVALID_CONFIG, EFP_DBUS_NAME ".Error.InvalidConfig" },
  { EFP_DBUS_ERROR_NOT_SUPPORTED, EFP_DBUS_NAME ".Error.NotSupported" },
};

GQuark
efp_dbus_error_quark (void)
{
  static gsize quark = 0;
  g_dbus_error_register_error_domain ("efp-dbus-error-quark", &quark, error_entries,
                                      G_N_ELEMENTS (error_entries));
  return (GQuark) quark;
}

gchar *
efp_dbus_object_id (const gchar *name)
{
  gchar *id = g_strdup (name != NULL && *name != '\0' ? name : "_");
  gchar *p;

  for (p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      *p = '_';
  return id;
}

typedef struct
{
  EfpDbusService *service; /* not a reference: the service owns the entry */
  gchar *name;
  gchar *path;
  EfpObjectSkeleton *object;
  EfpExportedDevice *iface;
  /* the latest values pushed by the daemon, applied at most once per second */
  EfpReading reading;
  gchar *grid_source;
  gchar *serial;
  gchar *decoder;
  gboolean stale;
  gint64 ts;
  gint64 applied_us; /* monotonic time of the last apply, 0 never */
  guint apply_id;
} DeviceEntry;

typedef struct
{
  EfpDbusService *service; /* not a reference */
  gchar *path;
  EfpObjectSkeleton *object;
} ObjectEntry; /* policies and agents */

typedef struct
{
  gint64 ts;
  gchar *device;
  gchar *policy;
  gchar *event;
  gchar *detail;
} EventEntry;

struct _EfpDbusService
{
  GObject parent_instance;

  GBusType bus_type;
  EfpDbusHandlers handlers;
  gpointer user_data;

  gboolean started;
  GCancellable *cancellable;
  GDBusConnection *connection;
  gulong closed_id;
  guint owner_id;
  guint retry_id;
  guint retry_sec;
  gboolean failure_logged; /* log bus trouble once per state change */
  gboolean waiting_logged;

  GDBusObjectManagerServer *server;
  EfpExportedManager *manager;
  GHashTable *devices;  /* name -> DeviceEntry */
  GHashTable *policies; /* name -> ObjectEntry */
  GHashTable *agents;   /* id -> ObjectEntry */
  GHashTable *paths;    /* object paths in use (set) */
  GQueue events;        /* EventEntry, oldest first */
};

G_DEFINE_TYPE (EfpDbusService, efp_dbus_service, G_TYPE_OBJECT)

static void connect_bus (EfpDbusService *self);

static const gchar *
bus_label (EfpDbusService *self)
{
  return self->bus_type == G_BUS_TYPE_SESSION ? "session bus" : "system bus";
}

static gchar *
empty_if_null (const gchar *s)
{
  return g_strdup (s != NULL ? s : "");
}

/* A unique path below the root for @kind/@name: names that only differ in
 * characters outside [A-Za-z0-9_] get a numeric suffix. */
static gchar *
claim_path (EfpDbusService *self, const gchar *kind, const gchar *name)
{
  g_autofree gchar *id = efp_dbus_object_id (name);
  gchar *path = g_strdup_printf (EFP_DBUS_PATH "/%s/%s", kind, id);
  guint n = 2;

  while (g_hash_table_contains (self->paths, path))
    {
      g_free (path);
      path = g_strdup_printf (EFP_DBUS_PATH "/%s/%s_%u", kind, id, n++);
    }
  g_hash_table_add (self->paths, g_strdup (path));
  return path;
}

static void
release_path (EfpDbusService *self, const gchar *path)
{
  g_dbus_object_manager_server_unexport (self->server, path);
  g_hash_table_remove (self->paths, path);
}

/* ---- devices ---- */

static void
device_entry_free (gpointer p)
{
  DeviceEntry *e = p;

  g_clear_handle_id (&e->apply_id, g_source_remove);
  release_path (e->service, e->path);
  g_clear_object (&e->iface);
  g_clear_object (&e->object);
  g_free (e->name);
  g_free (e->path);
  g_free (e->grid_source);
  g_free (e->serial);
  g_free (e->decoder);
  g_free (e);
}

static GVariant *
packs_variant (const EfpReading *r)
{
  GVariantBuilder b;
  guint i;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      const EfpPack *p = &r->packs[i];
      if (!p->present)
        continue;
      g_variant_builder_open (&b, G_VARIANT_TYPE ("a{sv}"));
      g_variant_builder_add (&b, "{sv}", "index", g_variant_new_uint32 (p->index));
      g_variant_builder_add (&b, "{sv}", "soc", g_variant_new_double (p->soc));
      g_variant_builder_add (&b, "{sv}", "temp_celsius", g_variant_new_double (p->temp_celsius));
      g_variant_builder_add (&b, "{sv}", "design_mah", g_variant_new_int64 (p->design_mah));
      g_variant_builder_add (&b, "{sv}", "full_mah", g_variant_new_int64 (p->full_mah));
      g_variant_builder_add (&b, "{sv}", "remain_mah", g_variant_new_int64 (p->remain_mah));
      g_variant_builder_close (&b);
    }
  return g_variant_builder_end (&b);
}

/* Unknown numbers travel as NaN (busctl shows "d nan"), but GParamSpecDouble
 * rejects NaN in g_object_set(). The skeleton's own set_property vfunc stores
 * any value, compares it bitwise and queues PropertiesChanged, so call it:
 * the skeleton overrides the interface's properties in XML order from id 1
 * (efp_exported_device_override_properties), which gives the id. */
static void
set_double (EfpExportedDevice *d, const gchar *dbus_name, const gchar *gobject_name, gdouble value)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (d);
  GDBusInterfaceInfo *info = efp_exported_device_interface_info ();
  GParamSpec *pspec = g_object_class_find_property (klass, gobject_name);
  GValue v = G_VALUE_INIT;
  guint i;

  g_value_init (&v, G_TYPE_DOUBLE);
  g_value_set_double (&v, value);
  for (i = 0; info->properties[i] != NULL; i++)
    if (g_str_equal (info->properties[i]->name, dbus_name))
      klass->set_property (G_OBJECT (d), i + 1, &v, pspec);
  g_value_unset (&v);
}

static void
device_apply (DeviceEntry *e)
{
  EfpExportedDevice *d = e->iface;
  const EfpReading *r = &e->reading;

  e->applied_us = g_get_monotonic_time ();
  efp_exported_device_set_serial (d, e->serial);
  efp_exported_device_set_model (d, r->model);
  efp_exported_device_set_decoder (d, e->decoder);
  set_double (d, "StateOfCharge", "state-of-charge", r->soc);
  efp_exported_device_set_grid_connected (d, r->grid_connected == EFP_TRISTATE_TRUE);
  efp_exported_device_set_on_battery (d, efp_reading_on_battery (r));
  set_double (d, "InputWatts", "input-watts", r->input_watts);
  set_double (d, "OutputWatts", "output-watts", r->output_watts);
  efp_exported_device_set_remaining_minutes (d, r->remain_minutes >= 0 ? r->remain_minutes : -1);
  set_double (d, "TemperatureCelsius", "temperature-celsius", r->temp_celsius);
  efp_exported_device_set_stale (d, e->stale);
  efp_exported_device_set_last_update (d, e->ts > 0 ? (guint64) e->ts * G_USEC_PER_SEC : 0);
  efp_exported_device_set_grid_source (d, e->grid_source);
  /* the setter compares values, so unchanged packs emit nothing */
  efp_exported_device_set_packs (d, packs_variant (r));
}

static gboolean
device_apply_cb (gpointer user_data)
{
  DeviceEntry *e = user_data;

  e->apply_id = 0;
  device_apply (e);
  return G_SOURCE_REMOVE;
}

static DeviceEntry *
device_entry_new (EfpDbusService *self, const gchar *name)
{
  DeviceEntry *e = g_new0 (DeviceEntry, 1);

  e->service = self;
  e->name = g_strdup (name);
  e->path = claim_path (self, "Device", name);
  e->object = efp_object_skeleton_new (e->path);
  e->iface = efp_exported_device_skeleton_new ();
  efp_reading_init (&e->reading);
  efp_exported_device_set_name (e->iface, name);
  efp_exported_device_set_remaining_minutes (e->iface, -1);
  set_double (e->iface, "StateOfCharge", "state-of-charge", NAN);
  set_double (e->iface, "InputWatts", "input-watts", NAN);
  set_double (e->iface, "OutputWatts", "output-watts", NAN);
  set_double (e->iface, "TemperatureCelsius", "temperature-celsius", NAN);
  efp_exported_device_set_packs (e->iface, packs_variant (&e->reading));
  efp_object_skeleton_set_exported_device (e->object, e->iface);
  return e;
}

void
efp_dbus_service_update_device (EfpDbusService *self, const EfpReading *reading,
                                const EfpReadingMeta *meta)
{
  DeviceEntry *e;
  gboolean created = FALSE;
  gint64 now, due;

  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  g_return_if_fail (reading != NULL && meta != NULL && meta->device != NULL);

  e = g_hash_table_lookup (self->devices, meta->device);
  if (e == NULL)
    {
      e = device_entry_new (self, meta->device);
      g_hash_table_insert (self->devices, g_strdup (meta->device), e);
      created = TRUE;
    }
  e->reading = *reading;
  /* copy the strings: the reading and meta belong to the caller */
  e->reading.grid_source = NULL;
  g_free (e->grid_source);
  e->grid_source = empty_if_null (reading->grid_source);
  g_free (e->serial);
  e->serial = empty_if_null (meta->serial);
  g_free (e->decoder);
  e->decoder = empty_if_null (meta->decoder);
  e->stale = meta->stale;
  e->ts = meta->ts;

  if (created)
    {
      device_apply (e);
      g_dbus_object_manager_server_export (self->server, G_DBUS_OBJECT_SKELETON (e->object));
      return;
    }
  if (e->apply_id != 0)
    return; /* the pending apply will pick up these values */
  now = g_get_monotonic_time ();
  due = e->applied_us + DEVICE_MIN_INTERVAL_US;
  if (now >= due)
    device_apply (e);
  else
    e->apply_id = g_timeout_add ((guint) ((due - now + 999) / 1000), device_apply_cb, e);
}

void
efp_dbus_service_remove_device (EfpDbusService *self, const gchar *name)
{
  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  g_hash_table_remove (self->devices, name);
}

/* ---- policies and agents ---- */

static void
object_entry_free (gpointer p)
{
  ObjectEntry *e = p;

  release_path (e->service, e->path);
  g_clear_object (&e->object);
  g_free (e->path);
  g_free (e);
}

static ObjectEntry *
object_entry_lookup (EfpDbusService *self, GHashTable *table, const gchar *kind, const gchar *name,
                     gboolean *created)
{
  ObjectEntry *e = g_hash_table_lookup (table, name);

  *created = FALSE;
  if (e != NULL)
    return e;
  e = g_new0 (ObjectEntry, 1);
  e->service = self;
  e->path = claim_path (self, kind, name);
  e->object = efp_object_skeleton_new (e->path);
  g_hash_table_insert (table, g_strdup (name), e);
  *created = TRUE;
  return e;
}

void
efp_dbus_service_update_policy (EfpDbusService *self, const gchar *name, const gchar *module,
                                const gchar *state, guint64 deadline_us,
                                const gchar *const *devices)
{
  static const gchar *const none[] = { NULL };
  g_autoptr (EfpExportedPolicy) iface = NULL;
  ObjectEntry *e;
  gboolean created;

  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  g_return_if_fail (name != NULL);

  e = object_entry_lookup (self, self->policies, "Policy", name, &created);
  if (created)
    {
      iface = efp_exported_policy_skeleton_new ();
      efp_exported_policy_set_name (iface, name);
      efp_object_skeleton_set_exported_policy (e->object, iface);
    }
  else
    iface = efp_object_get_exported_policy (EFP_OBJECT (e->object));
  efp_exported_policy_set_module (iface, module != NULL ? module : "");
  efp_exported_policy_set_state (iface, state != NULL ? state : "idle");
  efp_exported_policy_set_deadline (iface, deadline_us);
  efp_exported_policy_set_devices (iface, devices != NULL ? devices : none);
  if (created)
    g_dbus_object_manager_server_export (self->server, G_DBUS_OBJECT_SKELETON (e->object));
}

void
efp_dbus_service_remove_policy (EfpDbusService *self, const gchar *name)
{
  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  g_hash_table_remove (self->policies, name);
}

void
efp_dbus_service_update_agent (EfpDbusService *self, const gchar *id, gboolean online,
                               guint64 last_seen_us, const gchar *last_command_id,
                               const gchar *last_result)
{
  g_autoptr (EfpExportedAgent) iface = NULL;
  ObjectEntry *e;
  gboolean created;

  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  g_return_if_fail (id != NULL);

  e = object_entry_lookup (self, self->agents, "Agent", id, &created);
  if (created)
    {
      iface = efp_exported_agent_skeleton_new ();
      efp_exported_agent_set_id (iface, id);
      efp_object_skeleton_set_exported_agent (e->object, iface);
    }
  else
    iface = efp_object_get_exported_agent (EFP_OBJECT (e->object));
  efp_exported_agent_set_online (iface, online);
  efp_exported_agent_set_last_seen (iface, last_seen_us);
  efp_exported_agent_set_last_command_id (iface, last_command_id != NULL ? last_command_id : "");
  efp_exported_agent_set_last_result (iface, last_result != NULL ? last_result : "");
  if (created)
    g_dbus_object_manager_server_export (self->server, G_DBUS_OBJECT_SKELETON (e->object));
}

void
efp_dbus_service_remove_agent (EfpDbusService *self, const gchar *id)
{
  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  g_hash_table_remove (self->agents, id);
}

/* ---- manager ---- */

void
efp_dbus_service_set_manager (EfpDbusService *self, gboolean mqtt_connected,
                              gboolean cloud_connected, gboolean dry_run)
{
  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  efp_exported_manager_set_mqtt_connected (self->manager, mqtt_connected);
  efp_exported_manager_set_cloud_connected (self->manager, cloud_connected);
  efp_exported_manager_set_dry_run (self->manager, dry_run);
}

void
efp_dbus_service_emit_shutdown_issued (EfpDbusService *self, const gchar *policy,
                                       const gchar *device, const gchar *const *agents,
                                       const gchar *command_id)
{
  static const gchar *const none[] = { NULL };

  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  efp_exported_manager_emit_shutdown_issued (
    self->manager, policy != NULL ? policy : "", device != NULL ? device : "",
    agents != NULL ? agents : none, command_id != NULL ? command_id : "");
}

void
efp_dbus_service_emit_abort_issued (EfpDbusService *self, const gchar *policy, const gchar *device,
                                    const gchar *const *agents, const gchar *command_id)
{
  static const gchar *const none[] = { NULL };

  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  efp_exported_manager_emit_abort_issued (
    self->manager, policy != NULL ? policy : "", device != NULL ? device : "",
    agents != NULL ? agents : none, command_id != NULL ? command_id : "");
}

static void
event_entry_free (gpointer p)
{
  EventEntry *e = p;
  g_free (e->device);
  g_free (e->policy);
  g_free (e->event);
  g_free (e->detail);
  g_free (e);
}

void
efp_dbus_service_add_event (EfpDbusService *self, gint64 ts, const gchar *device,
                            const gchar *policy, const gchar *event, const gchar *detail)
{
  EventEntry *e;

  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  g_return_if_fail (event != NULL);

  e = g_new0 (EventEntry, 1);
  e->ts = ts;
  e->device = empty_if_null (device);
  e->policy = empty_if_null (policy);
  e->event = g_strdup (event);
  e->detail = empty_if_null (detail);
  g_queue_push_tail (&self->events, e);
  while (g_queue_get_length (&self->events) > MAX_EVENTS)
    event_entry_free (g_queue_pop_head (&self->events));
  efp_exported_manager_emit_event (self->manager, e->ts, e->device, e->policy, e->event, e->detail);
}

/* ---- methods ---- */

/* Handlers report in any domain; clients see only our error names. */
static void
return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  if (error->domain == EFP_DBUS_ERROR)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else if (error->domain == EFP_CONFIG_ERROR)
    g_dbus_method_invocation_return_error_literal (invocation, EFP_DBUS_ERROR,
                                                   EFP_DBUS_ERROR_INVALID_CONFIG, error->message);
  else
    g_dbus_method_invocation_return_error_literal (invocation, EFP_DBUS_ERROR,
                                                   EFP_DBUS_ERROR_FAILED, error->message);
}

typedef struct
{
  EfpDbusService *self;              /* a reference: the call may outlive a stop */
  GDBusMethodInvocation *invocation; /* owned until answered */
  gchar *agent_id;                   /* TestAgent; NULL for Reload */
} PendingCall;

static void
pending_call_free (PendingCall *call)
{
  g_clear_object (&call->self);
  g_clear_object (&call->invocation);
  g_free (call->agent_id);
  g_free (call);
}

static void
authorized_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  PendingCall *call = user_data;
  EfpDbusService *self = call->self;
  g_autoptr (GError) error = NULL;
  const gchar *sender = g_dbus_method_invocation_get_sender (call->invocation);

  if (!efp_dbus_auth_check_finish (res, &error))
    {
      g_info ("refused %s from %s: %s", g_dbus_method_invocation_get_method_name (call->invocation),
              sender != NULL ? sender : "peer", error->message);
      return_error (g_steal_pointer (&call->invocation), error);
      pending_call_free (call);
      return;
    }
  if (call->agent_id != NULL)
    {
      g_autofree gchar *command_id = NULL;
      if (self->handlers.test_agent == NULL)
        g_set_error_literal (&error, EFP_DBUS_ERROR, EFP_DBUS_ERROR_NOT_SUPPORTED,
                             "TestAgent is not supported");
      else
        command_id = self->handlers.test_agent (self->user_data, call->agent_id, &error);
      if (command_id == NULL && error == NULL)
        g_set_error (&error, EFP_DBUS_ERROR, EFP_DBUS_ERROR_FAILED,
                     "no command was sent to agent '%s'", call->agent_id);
      if (error != NULL)
        return_error (g_steal_pointer (&call->invocation), error);
      else
        efp_exported_manager_complete_test_agent (self->manager,
                                                  g_steal_pointer (&call->invocation), command_id);
    }
  else
    {
      gboolean ok = FALSE;
      if (self->handlers.reload == NULL)
        g_set_error_literal (&error, EFP_DBUS_ERROR, EFP_DBUS_ERROR_NOT_SUPPORTED,
                             "Reload is not supported");
      else
        ok = self->handlers.reload (self->user_data, &error);
      if (!ok && error == NULL)
        g_set_error_literal (&error, EFP_DBUS_ERROR, EFP_DBUS_ERROR_FAILED, "reload failed");
      if (!ok)
        return_error (g_steal_pointer (&call->invocation), error);
      else
        efp_exported_manager_complete_reload (self->manager, g_steal_pointer (&call->invocation));
    }
  pending_call_free (call);
}

static void
start_authorized_call (EfpDbusService *self, GDBusMethodInvocation *invocation,
                       const gchar *agent_id)
{
  PendingCall *call = g_new0 (PendingCall, 1);

  call->self = g_object_ref (self);
  /* the handler's reference: returning a value or an error consumes it */
  call->invocation = invocation;
  call->agent_id = g_strdup (agent_id);
  efp_dbus_auth_check_async (invocation, EFP_DBUS_ACTION_MANAGE, NULL, authorized_cb, call);
}

static gboolean
handle_test_agent (EfpExportedManager *manager, GDBusMethodInvocation *invocation, const gchar *id,
                   gpointer user_data)
{
  if (*id == '\0')
    {
      g_dbus_method_invocation_return_error_literal (
        invocation, EFP_DBUS_ERROR, EFP_DBUS_ERROR_INVALID_ARGS, "TestAgent needs an agent id");
      return TRUE;
    }
  start_authorized_call (EFP_DBUS_SERVICE (user_data), invocation, id);
  return TRUE;
}

static gboolean
handle_reload (EfpExportedManager *manager, GDBusMethodInvocation *invocation, gpointer user_data)
{
  start_authorized_call (EFP_DBUS_SERVICE (user_data), invocation, NULL);
  return TRUE;
}

static gboolean
handle_get_events (EfpExportedManager *manager, GDBusMethodInvocation *invocation,
                   gpointer user_data)
{
  EfpDbusService *self = EFP_DBUS_SERVICE (user_data);
  GVariantBuilder b;
  GList *l;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a(xssss)"));
  for (l = self->events.head; l != NULL; l = l->next)
    {
      EventEntry *e = l->data;
      g_variant_builder_add (&b, "(xssss)", e->ts, e->device, e->policy, e->event, e->detail);
    }
  efp_exported_manager_complete_get_events (manager, invocation, g_variant_builder_end (&b));
  return TRUE;
}

/* ---- the bus connection ---- */

static void
disconnect_bus (EfpDbusService *self)
{
  g_clear_handle_id (&self->owner_id, g_bus_unown_name);
  if (self->connection != NULL)
    {
      g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->manager));
      g_dbus_object_manager_server_set_connection (self->server, NULL);
      g_clear_signal_handler (&self->closed_id, self->connection);
      g_clear_object (&self->connection);
    }
}

static gboolean
retry_cb (gpointer user_data)
{
  EfpDbusService *self = user_data;

  self->retry_id = 0;
  connect_bus (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (EfpDbusService *self)
{
  if (!self->started || self->retry_id != 0)
    return;
  self->retry_id = g_timeout_add_seconds (self->retry_sec, retry_cb, self);
  self->retry_sec = MIN (self->retry_sec * 2, RETRY_MAX_SEC);
}

static void
name_acquired_cb (GDBusConnection *connection, const gchar *name, gpointer user_data)
{
  EfpDbusService *self = user_data;

  self->waiting_logged = FALSE;
  g_message ("D-Bus: serving %s on the %s", name, bus_label (self));
}

static void
name_lost_cb (GDBusConnection *connection, const gchar *name, gpointer user_data)
{
  EfpDbusService *self = user_data;

  /* with a connection we are queued behind another owner and get the name when it leaves */
  if (connection != NULL && !self->waiting_logged)
    {
      self->waiting_logged = TRUE;
      g_warning ("D-Bus: %s is owned by another process on the %s; waiting for it", name,
                 bus_label (self));
    }
}

static void
closed_cb (GDBusConnection *connection, gboolean remote_peer_vanished, GError *error,
           gpointer user_data)
{
  EfpDbusService *self = user_data;

  g_warning ("D-Bus: lost the %s%s%s; reconnecting", bus_label (self), error != NULL ? ": " : "",
             error != NULL ? error->message : "");
  self->failure_logged = TRUE;
  disconnect_bus (self);
  self->retry_sec = RETRY_FIRST_SEC;
  schedule_retry (self);
}

static void
connected_cb (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *connection = g_dbus_connection_new_for_address_finish (res, &error);
  EfpDbusService *self;

  if (connection == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = EFP_DBUS_SERVICE (user_data);
  if (connection == NULL)
    {
      if (!self->failure_logged)
        g_warning ("D-Bus: cannot connect to the %s: %s; retrying", bus_label (self),
                   error->message);
      self->failure_logged = TRUE;
      schedule_retry (self);
      return;
    }
  if (self->failure_logged)
    g_message ("D-Bus: connected to the %s again", bus_label (self));
  self->failure_logged = FALSE;
  self->retry_sec = RETRY_FIRST_SEC;
  self->connection = connection;
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  self->closed_id = g_signal_connect (connection, "closed", G_CALLBACK (closed_cb), self);

  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->manager), connection,
                                         EFP_DBUS_PATH, &error))
    g_warning ("D-Bus: cannot export %s: %s", EFP_DBUS_PATH, error->message);
  g_dbus_object_manager_server_set_connection (self->server, connection);
  self->owner_id = g_bus_own_name_on_connection (connection, EFP_DBUS_NAME,
                                                 G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT,
                                                 name_acquired_cb, name_lost_cb, self, NULL);
}

static void
connect_bus (EfpDbusService *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *address = NULL;

  address = g_dbus_address_get_for_bus_sync (self->bus_type, self->cancellable, &error);
  if (address == NULL)
    {
      if (!self->failure_logged)
        g_warning ("D-Bus: no %s address: %s; retrying", bus_label (self), error->message);
      self->failure_logged = TRUE;
      schedule_retry (self);
      return;
    }
  /* our own connection, not the g_bus_get() singleton: that one exits the
   * process when the bus goes away, and we want to reconnect instead */
  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, self->cancellable, connected_cb, self);
}

void
efp_dbus_service_start (EfpDbusService *self)
{
  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  if (self->started)
    return;
  self->started = TRUE;
  self->retry_sec = RETRY_FIRST_SEC;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  connect_bus (self);
}

void
efp_dbus_service_stop (EfpDbusService *self)
{
  g_return_if_fail (EFP_IS_DBUS_SERVICE (self));
  self->started = FALSE;
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  disconnect_bus (self);
}

/* ---- object ---- */

EfpDbusService *
efp_dbus_service_new (GBusType bus_type, const EfpDbusHandlers *handlers, gpointer user_data)
{
  EfpDbusService *self = g_object_new (EFP_TYPE_DBUS_SERVICE, NULL);

  self->bus_type = bus_type;
  if (handlers != NULL)
    self->handlers = *handlers;
  self->user_data = user_data;
  return self;
}

static void
efp_dbus_service_dispose (GObject *object)
{
  EfpDbusService *self = EFP_DBUS_SERVICE (object);

  if (self->cancellable != NULL)
    efp_dbus_service_stop (self);
  /* entries unexport themselves, so drop them while the server exists */
  if (self->devices != NULL)
    g_hash_table_remove_all (self->devices);
  if (self->policies != NULL)
    g_hash_table_remove_all (self->policies);
  if (self->agents != NULL)
    g_hash_table_remove_all (self->agents);
  g_queue_clear_full (&self->events, event_entry_free);
  G_OBJECT_CLASS (efp_dbus_service_parent_class)->dispose (object);
}

static void
efp_dbus_service_finalize (GObject *object)
{
  EfpDbusService *self = EFP_DBUS_SERVICE (object);

  g_clear_pointer (&self->devices, g_hash_table_unref);
  g_clear_pointer (&self->policies, g_hash_table_unref);
  g_clear_pointer (&self->agents, g_hash_table_unref);
  g_clear_pointer (&self->paths, g_hash_table_unref);
  g_clear_object (&self->server);
  g_clear_object (&self->manager);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (efp_dbus_service_parent_class)->finalize (object);
}

static void
efp_dbus_service_class_init (EfpDbusServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = efp_dbus_service_dispose;
  object_class->finalize = efp_dbus_service_finalize;
  /* register the error names before any call can fail */
  (void) efp_dbus_error_quark ();
}

static void
efp_dbus_service_init (EfpDbusService *self)
{
  self->bus_type = G_BUS_TYPE_SYSTEM;
  g_queue_init (&self->events);
  self->paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->devices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, device_entry_free);
  self->policies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, object_entry_free);
  self->agents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, object_entry_free);
  self->server = g_dbus_object_manager_server_new (EFP_DBUS_PATH);
  self->manager = efp_exported_manager_skeleton_new ();
  efp_exported_manager_set_version (self->manager, PACKAGE_VERSION);
  g_signal_connect (self->manager, "handle-test-agent", G_CALLBACK (handle_test_agent), self);
  g_signal_connect (self->manager, "handle-reload", G_CALLBACK (handle_reload), self);
  g_signal_connect (self->manager, "handle-get-events", G_CALLBACK (handle_get_events), self);
}

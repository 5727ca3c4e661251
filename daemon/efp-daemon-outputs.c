/* efp-daemon-outputs.c: how the daemon tells the world. State and events go
 * to MQTT, D-Bus, the NUT server, metrics and notifications from here; the
 * decisions are made in efp-daemon.c. */
#include "config.h"
#include "efp-daemon-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "efp-event.h"
#include "efp-group.h"

static void nut_update (EfpDaemon *self, const EfpReading *r, const EfpReadingMeta *meta,
                        gboolean is_group);

/* ---- publishing ---------------------------------------------------------------------- */

void
efp_daemon_publish (EfpDaemon *self, const gchar *topic, const gchar *payload, gint qos,
                    gboolean retain)
{
  g_autoptr (GError) error = NULL;
  if (self->mqtt == NULL || !efp_mqtt_client_is_connected (self->mqtt))
    return; /* state is republished on reconnect; commands never depend on it being up */
  if (!efp_mqtt_client_publish (self->mqtt, topic, payload, strlen (payload), qos, retain, &error))
    g_debug ("publish to %s failed: %s", topic, error->message);
}

/* One transition out to every place a person or program learns of it: MQTT
 * events, D-Bus, metrics and push notifications (@soc and @agents enrich the
 * notification text; NAN / NULL when there is nothing to add). */
void
efp_daemon_publish_event_full (EfpDaemon *self, const gchar *device, const gchar *policy,
                               const gchar *event, const gchar *detail, gdouble soc,
                               const gchar *const *agents)
{
  gint64 ts = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree gchar *json = efp_event_to_json (ts, device, policy, event, detail);
  g_autofree gchar *topic = g_strdup_printf ("%s/events", self->config->mqtt.command_prefix);

  efp_daemon_publish (self, topic, json, 1, FALSE);
  if (self->metrics != NULL)
    efp_metrics_count_event (self->metrics, event);
  if (self->notifier != NULL)
    efp_notifier_event_full (self->notifier, ts, device, policy, event, detail, soc, agents);
  if (self->dbus != NULL)
    efp_dbus_service_add_event (self->dbus, ts, device, policy, event, detail);
}

void
efp_daemon_publish_event (EfpDaemon *self, const gchar *device, const gchar *policy,
                          const gchar *event, const gchar *detail)
{
  efp_daemon_publish_event_full (self, device, policy, event, detail, NAN, NULL);
}

void
efp_daemon_publish_device (EfpDaemon *self, EfpDevice *dev)
{
  g_autofree gchar *json = efp_device_to_json (dev);
  g_autofree gchar *topic =
    g_strdup_printf ("%s/%s/json/state", self->config->mqtt.state_prefix, dev->name);
  efp_daemon_publish (self, topic, json, 1, TRUE);
  if (self->dbus != NULL || self->nut != NULL || self->metrics != NULL)
    {
      EfpReadingMeta meta;
      efp_device_meta (dev, &meta);
      if (self->dbus != NULL)
        efp_dbus_service_update_device (self->dbus, &dev->reading, &meta);
      if (self->metrics != NULL)
        efp_metrics_update_device (self->metrics, &dev->reading, &meta);
      nut_update (self, &dev->reading, &meta, FALSE);
    }
}

/* NUT's view of a device or group: FSD while a policy covering it has triggered,
 * "low battery" at the highest soc-min of the policies that watch the charge. */
static void
nut_flags_for (EfpDaemon *self, const gchar *name, gboolean is_group, gboolean *fsd,
               gdouble *charge_low)
{
  guint i;
  *fsd = FALSE;
  *charge_low = NAN;
  for (i = 0; i < self->runners->len; i++)
    {
      EfpPolicyRunner *r = self->runners->pdata[i];
      EfpPolicyTarget *t;
      gint64 soc_min;
      if (!efp_policy_runner_covers (r, name, is_group))
        continue;
      t = g_hash_table_lookup (r->targets, name);
      if (t != NULL && t->state.phase == EFP_POLICY_PHASE_TRIGGERED)
        *fsd = TRUE;
      if ((g_strcmp0 (r->config->module, "critical-soc") == 0 ||
           g_strcmp0 (r->config->module, "comm-lost") == 0) &&
          efp_keyfile_get_int (self->config->keyfile, r->config->group, "soc-min", 10, 0, 100,
                               &soc_min, NULL) &&
          (isnan (*charge_low) || soc_min > *charge_low))
        *charge_low = (gdouble) soc_min;
    }
}

static void
nut_update (EfpDaemon *self, const EfpReading *r, const EfpReadingMeta *meta, gboolean is_group)
{
  gboolean fsd;
  gdouble low;
  if (self->nut == NULL)
    return;
  nut_flags_for (self, meta->device, is_group, &fsd, &low);
  efp_nut_server_update_ups (self->nut, r, meta, fsd, low);
}

void
efp_daemon_update_manager (EfpDaemon *self)
{
  if (self->metrics != NULL)
    efp_metrics_set_connected (self->metrics,
                               self->mqtt != NULL && efp_mqtt_client_is_connected (self->mqtt),
                               self->cloud != NULL && efp_cloud_is_connected (self->cloud));
  if (self->dbus != NULL)
    efp_dbus_service_set_manager (
      self->dbus, self->mqtt != NULL && efp_mqtt_client_is_connected (self->mqtt),
      self->cloud != NULL && efp_cloud_is_connected (self->cloud), self->config->dry_run);
}

void
efp_daemon_update_policy_sinks (EfpDaemon *self, EfpPolicyRunner *r)
{
  gint64 deadline = 0;
  EfpPolicyPhase phase;
  g_autoptr (GPtrArray) devs = g_ptr_array_new ();
  GHashTableIter it;
  gpointer k;

  phase = efp_policy_runner_summary (r, &deadline);
  if (self->metrics != NULL)
    efp_metrics_update_policy (self->metrics, r->config->name, efp_policy_phase_to_string (phase),
                               deadline);
  if (self->dbus == NULL)
    return;
  if (r->config->devices != NULL && r->config->devices[0] != NULL)
    {
      guint i;
      for (i = 0; r->config->devices[i] != NULL; i++)
        g_ptr_array_add (devs, r->config->devices[i]);
    }
  else
    {
      g_hash_table_iter_init (&it, self->devices);
      while (g_hash_table_iter_next (&it, &k, NULL))
        g_ptr_array_add (devs, k);
    }
  g_ptr_array_add (devs, NULL);
  efp_dbus_service_update_policy (self->dbus, r->config->name, r->config->module,
                                  efp_policy_phase_to_string (phase), (guint64) deadline,
                                  (const gchar *const *) devs->pdata);
}

void
efp_daemon_publish_presence (EfpDaemon *self)
{
  g_autofree gchar *topic =
    g_strdup_printf ("%s/orchestrator/status", self->config->mqtt.command_prefix);
  g_autofree gchar *json = g_strdup_printf (
    "{\"state\":\"online\",\"version\":\"%s\",\"host\":\"%s\",\"ts\":%" G_GINT64_FORMAT "}",
    PACKAGE_VERSION, g_get_host_name (), g_get_real_time () / G_USEC_PER_SEC);
  efp_daemon_publish (self, topic, json, 1, TRUE);
}

/* ---- groups -------------------------------------------------------------------------- */

gboolean
efp_daemon_group_reading (EfpDaemon *self, const EfpGroupConfig *g, EfpReading *out,
                          gint64 *last_frame_us, gboolean *stale)
{
  EfpGroupMember members[32];
  guint n = 0, i;
  gboolean all = TRUE;

  *last_frame_us = 0;
  *stale = FALSE;
  for (i = 0; g->devices[i] != NULL && n < G_N_ELEMENTS (members); i++)
    {
      EfpDevice *d = g_hash_table_lookup (self->devices, g->devices[i]);
      if (d == NULL)
        {
          all = FALSE;
          continue;
        }
      members[n].reading = &d->reading;
      members[n].capacity_wh = d->config != NULL ? d->config->capacity_wh : NAN;
      members[n].has_data = d->last_frame_us > 0;
      all = all && members[n].has_data;
      if (members[n].has_data)
        {
          /* the group is as fresh as its stalest member */
          if (*last_frame_us == 0 || d->last_frame_us < *last_frame_us)
            *last_frame_us = d->last_frame_us;
          *stale = *stale || d->stale;
        }
      n++;
    }
  efp_group_aggregate (members, n, out);
  /* a virtual battery is judged only once every member has reported: half a
   * rack must not decide for the whole */
  return all;
}

void
efp_daemon_publish_group (EfpDaemon *self, const EfpGroupConfig *g)
{
  EfpReading r;
  EfpReadingMeta meta = { 0 };
  gint64 last;
  gboolean stale;
  g_autofree gchar *json = NULL;
  g_autofree gchar *topic = NULL;

  if (!efp_daemon_group_reading (self, g, &r, &last, &stale))
    return;
  meta.device = g->name;
  meta.stale = stale;
  meta.ts = last / G_USEC_PER_SEC;
  json = efp_reading_to_json (&r, &meta);
  topic = g_strdup_printf ("%s/%s/json/state", self->config->mqtt.state_prefix, g->name);
  efp_daemon_publish (self, topic, json, 1, TRUE);
  if (self->dbus != NULL)
    efp_dbus_service_update_device (self->dbus, &r, &meta);
  if (self->metrics != NULL)
    efp_metrics_update_device (self->metrics, &r, &meta);
  nut_update (self, &r, &meta, TRUE);
}

void
efp_daemon_agent_changed (gpointer user_data, const EfpAgentInfo *a)
{
  EfpDaemon *self = user_data;
  if (self->metrics != NULL)
    efp_metrics_update_agent (self->metrics, a->id, a->online, a->last_seen_us);
  if (self->dbus != NULL)
    efp_dbus_service_update_agent (self->dbus, a->id, a->online, (guint64) a->last_seen_us,
                                   a->last_command_id, a->last_result);
}

/* ---- D-Bus --------------------------------------------------------------------------- */

static gchar *
dbus_test_agent (gpointer user_data, const gchar *agent, GError **error)
{
  return efp_daemon_test_agent (user_data, agent, error);
}

static gboolean
dbus_reload (gpointer user_data, GError **error)
{
  return efp_daemon_reload (user_data, error);
}

void
efp_daemon_publish_everything (EfpDaemon *self)
{
  GHashTableIter it;
  gpointer v;
  GList *agents, *l;
  guint i;

  /* D-Bus, NUT and metrics learn every device, group, policy and agent */
  efp_daemon_update_manager (self);
  g_hash_table_iter_init (&it, self->devices);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      EfpReadingMeta meta;
      efp_device_meta (v, &meta);
      if (self->dbus != NULL)
        efp_dbus_service_update_device (self->dbus, &((EfpDevice *) v)->reading, &meta);
      if (self->metrics != NULL && ((EfpDevice *) v)->last_frame_us > 0)
        efp_metrics_update_device (self->metrics, &((EfpDevice *) v)->reading, &meta);
      nut_update (self, &((EfpDevice *) v)->reading, &meta, FALSE);
    }
  for (i = 0; i < self->config->groups->len; i++)
    efp_daemon_publish_group (self, self->config->groups->pdata[i]);
  for (i = 0; i < self->runners->len; i++)
    efp_daemon_update_policy_sinks (self, self->runners->pdata[i]);
  agents = efp_dispatcher_list_agents (self->dispatcher);
  for (l = agents; l != NULL; l = l->next)
    efp_daemon_agent_changed (self, l->data);
  g_list_free (agents);
}

/* The server object is made with the configuration (a bad users file is a
 * configuration error, exit 78); it listens once the daemon starts. */
gboolean
efp_daemon_start_nut (EfpDaemon *self, GError **error)
{
  if (self->nut == NULL)
    return TRUE;
  if (!efp_nut_server_start (self->nut, error))
    {
      g_clear_pointer (&self->nut, efp_nut_server_free);
      return FALSE;
    }
  return TRUE;
}

void
efp_daemon_start_dbus (EfpDaemon *self)
{
  static const EfpDbusHandlers handlers = { dbus_test_agent, dbus_reload };
  if (!self->options.use_dbus)
    return;
  self->dbus = efp_dbus_service_new (self->options.bus_type, &handlers, self);
  efp_dbus_service_start (self->dbus);
}

/* ---- outputs made from the configuration ------------------------------------------- */

static void
on_wol_sent (gpointer user_data, const gchar *host, const gchar *detail)
{
  g_message ("WAKE host %s: %s", host, detail);
  efp_daemon_publish_event (user_data, host, NULL, "wol-sent", detail);
}

/* Notifications and Wake-on-LAN are checked with the configuration: a bad
 * [notify] or [wol:] value is a configuration error (exit 78), also on reload. */
gboolean
efp_daemon_make_outputs (EfpDaemon *self, EfpConfig *config, EfpNotifier **notifier, EfpWol **wol,
                         GError **error)
{
  *notifier = efp_notifier_new (config->keyfile, error);
  if (*notifier == NULL)
    {
      efp_config_prefix_error (config, error);
      return FALSE;
    }
  *wol = efp_wol_new (config->keyfile, on_wol_sent, self, error);
  if (*wol == NULL)
    {
      efp_config_prefix_error (config, error);
      g_clear_pointer (notifier, efp_notifier_free);
      return FALSE;
    }
  return TRUE;
}

/* efp-daemon.c: wires MQTT, decoders, policies, the dispatcher and the state file.
 *
 * Data flows one way: a frame is decoded into its device, the device and the
 * groups it belongs to are published and evaluated by every policy covering
 * them, and the verdicts become events and commands. Timers exist only here.
 */
#include "config.h"
#include "efp-daemon-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "efp-group.h"
#include "efp-outbox.h"
#include "efp-log.h"

G_DEFINE_TYPE (EfpDaemon, efp_daemon, G_TYPE_OBJECT)

static void evaluate_device_and_groups (EfpDaemon *self, EfpDevice *dev);
static void evaluate_target (EfpDaemon *self, EfpPolicyRunner *runner, const gchar *name);

/* ---- state file ---------------------------------------------------------------------- */

static void
save_state (EfpDaemon *self)
{
  g_autoptr (GError) error = NULL;
  if (!efp_state_file_save (self->state, self->state_path, &error))
    g_warning ("cannot write state file: %s", error->message);
}

/* ---- policies ------------------------------------------------------------------------ */

typedef struct
{
  EfpDaemon *self;
  EfpPolicyRunner *runner;
  gchar *target;
} WakeData;

static void
wake_data_free (gpointer p)
{
  WakeData *w = p;
  g_free (w->target);
  g_free (w);
}

static gboolean
on_policy_wake (gpointer data)
{
  WakeData *w = data;
  EfpPolicyTarget *t = efp_policy_runner_get_target (w->runner, w->target);
  t->timer = 0;
  evaluate_target (w->self, w->runner, w->target);
  return G_SOURCE_REMOVE;
}

/* The agents a command for @target goes to (CONTRACT 3.1 agents=). */
static GStrv
agents_for (EfpDaemon *self, EfpPolicyRunner *runner, const gchar *target)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new ();
  const EfpDeviceConfig *d;
  guint i, j;

  if (runner->config->agents != NULL && runner->config->agents[0] != NULL)
    return g_strdupv (runner->config->agents);
  d = efp_config_find_device (self->config, target);
  if (d != NULL && d->agents != NULL)
    return g_strdupv (d->agents);
  for (i = 0; i < self->config->groups->len; i++)
    {
      const EfpGroupConfig *g = self->config->groups->pdata[i];
      if (!g_str_equal (g->name, target))
        continue;
      for (j = 0; g->devices[j] != NULL; j++)
        {
          const EfpDeviceConfig *m = efp_config_find_device (self->config, g->devices[j]);
          guint k;
          for (k = 0; m != NULL && m->agents != NULL && m->agents[k] != NULL; k++)
            g_ptr_array_add (out, g_strdup (m->agents[k]));
        }
    }
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

/* The hosts behind @target (a device, or every member of a group) go down now:
 * Wake-on-LAN brings them back once the power has returned. */
static void
wol_shutdown_issued (EfpDaemon *self, const gchar *target)
{
  guint i, j;
  if (self->wol == NULL)
    return;
  for (i = 0; i < self->config->groups->len; i++)
    {
      const EfpGroupConfig *g = self->config->groups->pdata[i];
      if (g_str_equal (g->name, target))
        {
          for (j = 0; g->devices[j] != NULL; j++)
            efp_wol_shutdown_issued (self->wol, g->devices[j]);
          return;
        }
    }
  efp_wol_shutdown_issued (self->wol, target);
}

static void
carry_out (EfpDaemon *self, EfpPolicyRunner *runner, const gchar *target, const EfpPolicyVerdict *v)
{
  const gchar *policy = runner->config->name;
  guint i;

  for (i = 0; i < v->n_events; i++)
    {
      const EfpPolicyEvent *e = &v->events[i];
      const gchar *kind = efp_policy_event_to_string (e->kind);
      g_auto (GStrv) agents = NULL;
      g_autofree gchar *id = NULL;
      gboolean dry = self->config->dry_run || v->dry_run;

      switch (e->kind)
        {
          case EFP_POLICY_EVENT_TIMER_START:
            g_message ("TIMER START policy=%s device=%s: %s", policy, target, e->detail);
            break;
          case EFP_POLICY_EVENT_TIMER_ABORT:
            g_message ("TIMER ABORT policy=%s device=%s: %s", policy, target, e->detail);
            break;
          case EFP_POLICY_EVENT_STALE:
            g_message ("STALE policy=%s device=%s: %s", policy, target, e->detail);
            break;
          case EFP_POLICY_EVENT_SHUTDOWN:
          case EFP_POLICY_EVENT_ABORT:
            agents = agents_for (self, runner, target);
            if (e->kind == EFP_POLICY_EVENT_SHUTDOWN)
              g_message ("SHUTDOWN TRIGGERED policy=%s device=%s%s: %s", policy, target,
                         dry ? " (dry run)" : "", e->detail);
            else
              g_message ("ABORT policy=%s device=%s: %s", policy, target, e->detail);
            if (agents[0] == NULL)
              g_warning ("policy %s, device %s: no agents to tell", policy, target);
            else
              {
                id = efp_dispatcher_send (
                  self->dispatcher, e->kind == EFP_POLICY_EVENT_SHUTDOWN ? "shutdown" : "abort",
                  (const gchar *const *) agents, v->delay_sec, e->detail, policy, target, dry);
                if (self->dbus != NULL && e->kind == EFP_POLICY_EVENT_SHUTDOWN)
                  efp_dbus_service_emit_shutdown_issued (self->dbus, policy, target,
                                                         (const gchar *const *) agents, id);
                else if (self->dbus != NULL)
                  efp_dbus_service_emit_abort_issued (self->dbus, policy, target,
                                                      (const gchar *const *) agents, id);
              }
            break;
          default:
            break;
        }
      if (e->kind == EFP_POLICY_EVENT_SHUTDOWN && !dry)
        wol_shutdown_issued (self, target);
      efp_daemon_publish_event_full (self, target, policy, kind, e->detail, NAN,
                                     (const gchar *const *) agents);
    }
}

static void
policy_input_for (EfpDaemon *self, const gchar *name, EfpReading *scratch, EfpPolicyInput *in)
{
  EfpDevice *d = g_hash_table_lookup (self->devices, name);
  guint i;

  memset (in, 0, sizeof (*in));
  in->struct_size = sizeof (*in);
  in->device = name;
  in->capacity_wh = NAN;
  if (d != NULL)
    {
      in->reading = &d->reading;
      in->has_data = d->last_frame_us > 0;
      in->last_frame_us = d->last_frame_us;
      in->capacity_wh = d->config != NULL ? d->config->capacity_wh : NAN;
      return;
    }
  for (i = 0; i < self->config->groups->len; i++)
    {
      const EfpGroupConfig *g = self->config->groups->pdata[i];
      gboolean stale;
      if (!g_str_equal (g->name, name))
        continue;
      in->has_data = efp_daemon_group_reading (self, g, scratch, &in->last_frame_us, &stale);
      in->reading = scratch;
      return;
    }
  efp_reading_init (scratch);
  in->reading = scratch;
}

static void
evaluate_target (EfpDaemon *self, EfpPolicyRunner *runner, const gchar *name)
{
  EfpPolicyTarget *t = efp_policy_runner_get_target (runner, name);
  EfpPolicyState before = t->state;
  EfpReading scratch;
  EfpPolicyInput in;
  const EfpPolicyVerdict *v;
  gint64 now = g_get_real_time ();

  if (runner->config->vtable == NULL)
    return;
  policy_input_for (self, name, &scratch, &in);
  v = efp_policy_runner_evaluate (runner, t, &in, now);
  /* write ahead: a crash right after a shutdown went out must not send it again after
   * the restart; one right before it went out is caught by recover_unsent_shutdowns() */
  if (memcmp (&before, &t->state, sizeof (before)) != 0)
    {
      efp_state_file_set_policy (self->state, runner->config->name, name, &t->state);
      save_state (self);
    }
  carry_out (self, runner, name, v);

  g_clear_handle_id (&t->timer, g_source_remove);
  if (v->wake_at_us > 0)
    {
      WakeData *w = g_new0 (WakeData, 1);
      gint64 ms = MAX ((v->wake_at_us - now + 999) / 1000, 0);
      w->self = self;
      w->runner = runner;
      w->target = g_strdup (name);
      t->timer = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) MIN (ms, G_MAXUINT),
                                     on_policy_wake, w, wake_data_free);
    }
  if (before.phase != t->state.phase || v->n_events > 0)
    efp_daemon_update_policy_sinks (self, runner);
}

static void
evaluate_device_and_groups (EfpDaemon *self, EfpDevice *dev)
{
  guint i, j;
  for (i = 0; i < self->runners->len; i++)
    {
      EfpPolicyRunner *r = self->runners->pdata[i];
      if (efp_policy_runner_covers (r, dev->name, FALSE))
        evaluate_target (self, r, dev->name);
      for (j = 0; j < self->config->groups->len; j++)
        {
          const EfpGroupConfig *g = self->config->groups->pdata[j];
          if (g_strv_contains ((const gchar *const *) g->devices, dev->name) &&
              efp_policy_runner_covers (r, g->name, TRUE))
            evaluate_target (self, r, g->name);
        }
    }
}

/* ---- devices ------------------------------------------------------------------------- */

static gint
stale_after_for (EfpDaemon *self, const gchar *name)
{
  gint best = 0;
  guint i;
  for (i = 0; i < self->runners->len; i++)
    {
      EfpPolicyRunner *r = self->runners->pdata[i];
      gint64 gap = 60;
      if (!efp_policy_runner_covers (r, name, FALSE))
        continue;
      if (!efp_keyfile_get_int (self->config->keyfile, r->config->group, "max-data-gap-sec", 60, 1,
                                604800, &gap, NULL))
        gap = 60;
      if (best == 0 || gap < best)
        best = (gint) gap;
    }
  return best > 0 ? best : 60;
}

typedef struct
{
  EfpDaemon *self;
  gchar *name;
} StaleData;

static void
stale_data_free (gpointer p)
{
  StaleData *s = p;
  g_free (s->name);
  g_free (s);
}

static void update_groups_of (EfpDaemon *self, EfpDevice *dev);

static gboolean
on_stale_timeout (gpointer data)
{
  StaleData *s = data;
  EfpDevice *dev = g_hash_table_lookup (s->self->devices, s->name);
  g_autofree gchar *detail = NULL;

  if (dev == NULL)
    return G_SOURCE_REMOVE;
  dev->stale_timer = 0;
  dev->stale = TRUE;
  detail = g_strdup_printf ("no valid frame for %d s", dev->stale_after_sec);
  g_message ("device %s is stale: %s", dev->name, detail);
  efp_daemon_publish_event (s->self, dev->name, NULL, "stale", detail);
  efp_daemon_publish_device (s->self, dev);
  update_groups_of (s->self, dev);
  return G_SOURCE_REMOVE;
}

static void
arm_stale_timer (EfpDaemon *self, EfpDevice *dev)
{
  StaleData *s;
  gint64 due_ms;

  g_clear_handle_id (&dev->stale_timer, g_source_remove);
  if (dev->last_frame_us == 0)
    return;
  dev->stale_after_sec = stale_after_for (self, dev->name);
  due_ms =
    (dev->last_frame_us + (gint64) dev->stale_after_sec * G_USEC_PER_SEC - g_get_real_time ()) /
    1000;
  s = g_new0 (StaleData, 1);
  s->self = self;
  s->name = g_strdup (dev->name);
  dev->stale_timer = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) MAX (due_ms, 0),
                                         on_stale_timeout, s, stale_data_free);
}

static EfpDevice *
ensure_device (EfpDaemon *self, const gchar *name_or_serial)
{
  const EfpDeviceConfig *cfg = efp_config_find_device (self->config, name_or_serial);
  const gchar *name = cfg != NULL ? cfg->name : name_or_serial;
  EfpDevice *dev = g_hash_table_lookup (self->devices, name);

  if (dev == NULL)
    {
      const EfpDeviceSnapshot *snap;
      dev = efp_device_new (name, cfg != NULL ? cfg->serial : NULL, cfg);
      if (cfg == NULL)
        {
          /* an unconfigured device is named by its topic segment, the <SN> of CONTRACT 4.1 */
          g_free (dev->serial);
          dev->serial = g_strdup (name_or_serial);
        }
      snap = efp_state_file_get_device (self->state, name);
      if (snap != NULL)
        {
          /* what we knew before a restart: policies may reason about it (comm-lost) */
          dev->reading = snap->reading;
          dev->last_frame_us = snap->last_frame_us;
          dev->last_grid = snap->reading.grid_connected;
        }
      g_hash_table_insert (self->devices, dev->name, dev);
    }
  return dev;
}

static void
update_groups_of (EfpDaemon *self, EfpDevice *dev)
{
  guint i;
  for (i = 0; i < self->config->groups->len; i++)
    {
      const EfpGroupConfig *g = self->config->groups->pdata[i];
      if (g_strv_contains ((const gchar *const *) g->devices, dev->name))
        efp_daemon_publish_group (self, g);
    }
}

static void
note_grid_change (EfpDaemon *self, EfpDevice *dev)
{
  EfpTristate now = dev->reading.grid_connected;
  if (now == dev->last_grid || now == EFP_TRISTATE_UNKNOWN)
    return;
  if (dev->last_grid != EFP_TRISTATE_UNKNOWN || now == EFP_TRISTATE_FALSE)
    {
      const gchar *ev = now == EFP_TRISTATE_FALSE ? "grid-lost" : "grid-restored";
      g_autofree gchar *detail = g_strdup_printf (
        "soc %.1f, from %s", dev->reading.soc,
        dev->reading.grid_source != NULL ? dev->reading.grid_source : "unknown signal");
      g_message ("device %s: %s (%s)", dev->name, ev, detail);
      efp_daemon_publish_event_full (self, dev->name, NULL, ev, detail, dev->reading.soc, NULL);
    }
  dev->last_grid = now;
}

static void
handle_frame (EfpDaemon *self, const gchar *sn, GBytes *payload)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (payload, &len);
  g_autoptr (GError) error = NULL;
  EfpDevice *dev = ensure_device (self, sn);
  gint64 now = g_get_real_time ();

  if (!efp_device_ensure_session (dev, self->registry, self->models, data, len, &error) ||
      !efp_device_feed (dev, data, len, now, &error))
    {
      g_warning ("dropped frame for %s (%" G_GSIZE_FORMAT " bytes): %s", efp_log_redact (sn), len,
                 error->message);
      if (self->metrics != NULL)
        efp_metrics_count_frame (self->metrics, dev->name, FALSE);
      return;
    }
  if (self->metrics != NULL)
    efp_metrics_count_frame (self->metrics, dev->name, TRUE);
  if (self->wol != NULL)
    efp_wol_device_update (self->wol, dev->name, &dev->reading);
  note_grid_change (self, dev);
  arm_stale_timer (self, dev);
  efp_daemon_publish_device (self, dev);
  update_groups_of (self, dev);
  evaluate_device_and_groups (self, dev);
  /* device snapshots matter across restarts, but not at every frame */
  if (now - self->last_snapshot_save_us > 10 * G_USEC_PER_SEC)
    {
      GHashTableIter it;
      gpointer v;
      g_hash_table_iter_init (&it, self->devices);
      while (g_hash_table_iter_next (&it, NULL, &v))
        {
          EfpDevice *d = v;
          if (d->last_frame_us > 0)
            efp_state_file_set_device (self->state, d->name, &d->reading, d->last_frame_us);
        }
      self->last_snapshot_save_us = now;
      save_state (self);
    }
}

/* ---- MQTT ---------------------------------------------------------------------------- */

/* "<prefix>/<X>/<suffix>" -> X, or NULL */
static gchar *
topic_middle (const gchar *topic, const gchar *prefix, const gchar *suffix)
{
  gsize pl = strlen (prefix), sl = strlen (suffix), tl = strlen (topic);
  const gchar *mid;
  if (tl <= pl + sl + 2 || strncmp (topic, prefix, pl) != 0 || topic[pl] != '/' ||
      !g_str_has_suffix (topic, suffix) || topic[tl - sl - 1] != '/')
    return NULL;
  mid = topic + pl + 1;
  if (memchr (mid, '/', tl - pl - 1 - sl - 1) != NULL)
    return NULL;
  return g_strndup (mid, tl - pl - 1 - sl - 1);
}

static GBytes *
republish_key (const gchar *sn, GBytes *payload)
{
  g_autoptr (GByteArray) a = g_byte_array_new ();
  gsize len;
  const guint8 *data = g_bytes_get_data (payload, &len);
  g_byte_array_append (a, (const guint8 *) sn, strlen (sn) + 1);
  if (len > 0)
    g_byte_array_append (a, data, len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&a));
}

static void
on_mqtt_message (EfpMqttClient *client, const gchar *topic, GBytes *payload, gboolean retained,
                 gpointer user_data)
{
  EfpDaemon *self = user_data;
  const EfpMqttConfig *m = &self->config->mqtt;
  g_autofree gchar *sn = NULL;
  g_autofree gchar *agent = NULL;
  gsize len;
  const gchar *data;

  if ((sn = topic_middle (topic, m->raw_prefix, "data")) != NULL)
    {
      g_autoptr (GBytes) key = republish_key (sn, payload);
      /* a cloud frame we republished ourselves was decoded already */
      if (g_hash_table_remove (self->republished, key))
        return;
      handle_frame (self, sn, payload);
      return;
    }
  data = g_bytes_get_data (payload, &len);
  if ((agent = topic_middle (topic, m->command_prefix, "status")) != NULL)
    {
      if (!g_str_equal (agent, "orchestrator"))
        efp_dispatcher_handle_status (self->dispatcher, agent, data, len);
    }
  else if ((agent = topic_middle (topic, m->command_prefix, "ack")) != NULL)
    efp_dispatcher_handle_ack (self->dispatcher, agent, data, len);
}

static void
republish_all (EfpDaemon *self)
{
  GHashTableIter it;
  gpointer v;
  guint i;

  efp_daemon_publish_presence (self);
  g_hash_table_iter_init (&it, self->devices);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((EfpDevice *) v)->last_frame_us > 0)
      efp_daemon_publish_device (self, v);
  for (i = 0; i < self->config->groups->len; i++)
    efp_daemon_publish_group (self, self->config->groups->pdata[i]);
}

static void
on_mqtt_connected (EfpMqttClient *client, gpointer user_data)
{
  efp_outbox_flush (((EfpDaemon *) user_data)->outbox);
  republish_all (user_data);
  efp_daemon_update_manager (user_data);
}

static void
on_mqtt_disconnected (EfpMqttClient *client, gint rc, gpointer user_data)
{
  efp_daemon_update_manager (user_data);
}

static void
subscribe_all (EfpDaemon *self)
{
  const EfpMqttConfig *m = &self->config->mqtt;
  g_autofree gchar *raw = g_strdup_printf ("%s/+/data", m->raw_prefix);
  g_autofree gchar *status = g_strdup_printf ("%s/+/status", m->command_prefix);
  g_autofree gchar *ack = g_strdup_printf ("%s/+/ack", m->command_prefix);
  efp_mqtt_client_subscribe (self->mqtt, raw, 1);
  efp_mqtt_client_subscribe (self->mqtt, status, 1);
  efp_mqtt_client_subscribe (self->mqtt, ack, 1);
}

static gboolean
create_mqtt (EfpDaemon *self, GError **error)
{
  const EfpMqttConfig *m = &self->config->mqtt;
  g_autofree gchar *will_topic = g_strdup_printf ("%s/orchestrator/status", m->command_prefix);
  EfpMqttOptions o = { 0 };

  o.host = m->host;
  o.port = m->port;
  o.client_id = m->client_id;
  o.username = m->username;
  o.password = m->password;
  o.clean_session = TRUE;
  o.tls = m->tls;
  o.ca_file = m->ca_file;
  o.keepalive_sec = 30;
  o.will_topic = will_topic;
  o.will_payload = "{\"state\":\"offline\"}";
  self->mqtt = efp_mqtt_client_new (&o, error);
  if (self->mqtt == NULL)
    return FALSE;
  g_signal_connect (self->mqtt, "message", G_CALLBACK (on_mqtt_message), self);
  g_signal_connect (self->mqtt, "connected", G_CALLBACK (on_mqtt_connected), self);
  g_signal_connect (self->mqtt, "disconnected", G_CALLBACK (on_mqtt_disconnected), self);
  subscribe_all (self);
  return TRUE;
}

/* ---- dispatcher callbacks ------------------------------------------------------------ */

static gboolean
outbox_publish (gpointer user_data, const gchar *topic, const gchar *payload)
{
  EfpDaemon *self = user_data;
  return self->mqtt != NULL &&
         efp_mqtt_client_publish (self->mqtt, topic, payload, strlen (payload), 1, FALSE, NULL);
}

static gboolean
dispatch_publish (gpointer user_data, const gchar *topic, const gchar *payload)
{
  return efp_outbox_send (((EfpDaemon *) user_data)->outbox, topic, payload);
}

/* Recorded before it is published: see recover_after_crash (). */
static void
dispatch_command_sent (gpointer user_data, const gchar *agent, const gchar *id, const gchar *action,
                       const gchar *policy, const gchar *device, gint64 issued_at,
                       const gchar *payload)
{
  EfpDaemon *self = user_data;
  EfpSentCommand c = { (gchar *) id,     (gchar *) agent, (gchar *) action,  (gchar *) policy,
                       (gchar *) device, issued_at,       (gchar *) payload, TRUE };
  efp_state_file_add_command (self->state, &c);
  save_state (self);
  if (self->metrics != NULL)
    efp_metrics_count_command (self->metrics, action);
}

static void
dispatch_command_published (gpointer user_data, const gchar *agent, const gchar *id)
{
  EfpDaemon *self = user_data;
  efp_state_file_mark_published (self->state, id, agent);
  save_state (self);
}

/* An agent that was told to shut down while it was away (rebooted, network down) may have
 * found the command expired, or missed it: while the shutdown stands (no abort, the condition
 * still holds) it is told again with a fresh command, as upsmon shuts down a host that
 * connects during FSD. One already scheduled keeps its earlier time (agents never postpone). */
static void
dispatch_agent_returned (gpointer user_data, const gchar *agent, const EfpCommand *told)
{
  EfpDaemon *self = user_data;
  const gchar *const agents[] = { agent, NULL };
  g_autofree gchar *id = NULL;
  guint i;

  if (told->policy == NULL || told->device == NULL)
    return; /* a test or a hand-made command */
  for (i = 0; i < self->runners->len; i++)
    {
      EfpPolicyRunner *r = self->runners->pdata[i];
      if (g_str_equal (r->config->name, told->policy) &&
          efp_policy_runner_shutdown_stands (r, told->device))
        break;
    }
  if (i == self->runners->len)
    return;
  g_message ("agent %s is back while the shutdown of policy %s for %s stands (command %s); "
             "telling it again",
             agent, told->policy, told->device, told->id);
  id = efp_dispatcher_send (self->dispatcher, "shutdown", agents, told->delay_sec, told->reason,
                            told->policy, told->device, told->dry_run);
  if (self->dbus != NULL)
    efp_dbus_service_emit_shutdown_issued (self->dbus, told->policy, told->device, agents, id);
}

/* ---- cloud --------------------------------------------------------------------------- */

static void
on_cloud_frame (EfpCloud *cloud, const gchar *serial, GBytes *payload, gpointer user_data)
{
  EfpDaemon *self = user_data;

  /* in-process first: the decision never waits for a broker round trip */
  handle_frame (self, serial, payload);
  if (self->config->cloud.republish_raw && self->mqtt != NULL &&
      efp_mqtt_client_is_connected (self->mqtt))
    {
      g_autofree gchar *topic =
        g_strdup_printf ("%s/%s/data", self->config->mqtt.raw_prefix, serial);
      gsize len;
      gconstpointer data = g_bytes_get_data (payload, &len);
      if (g_hash_table_size (self->republished) > 256)
        g_hash_table_remove_all (self->republished);
      g_hash_table_add (self->republished, republish_key (serial, payload));
      efp_mqtt_client_publish (self->mqtt, topic, data, len, 0, FALSE, NULL);
    }
}

/* The cloud says the station itself is unreachable: its last data is stale now,
 * whatever the gap timer says (SPEC 7.4). */
static void
on_cloud_device_status (EfpCloud *cloud, const gchar *serial, gboolean online, gpointer user_data)
{
  EfpDaemon *self = user_data;
  EfpDevice *dev = ensure_device (self, serial);

  g_message ("device %s: the cloud reports it %s", dev->name, online ? "online" : "offline");
  if (online || dev->stale || dev->last_frame_us == 0)
    return;
  dev->stale = TRUE;
  efp_daemon_publish_event (self, dev->name, NULL, "stale",
                            "the EcoFlow cloud reports the device offline");
  efp_daemon_publish_device (self, dev);
  update_groups_of (self, dev);
}

static void
on_cloud_connection (EfpCloud *cloud, gboolean connected, gpointer user_data)
{
  efp_daemon_update_manager (user_data);
}

static gboolean
start_cloud (EfpDaemon *self, GError **error)
{
  if (!self->config->cloud.enabled)
    return TRUE;
  self->cloud = efp_cloud_new (&self->config->cloud, error);
  if (self->cloud == NULL)
    return FALSE;
  g_signal_connect (self->cloud, "frame", G_CALLBACK (on_cloud_frame), self);
  g_signal_connect (self->cloud, "connection-changed", G_CALLBACK (on_cloud_connection), self);
  g_signal_connect (self->cloud, "device-status", G_CALLBACK (on_cloud_device_status), self);
  efp_cloud_start (self->cloud);
  return TRUE;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static EfpConfig *
load_config (EfpDaemon *self, GError **error)
{
  EfpConfigLoadOptions lo = { 0 };
  lo.config_file = self->config_file;
  lo.config_explicit = self->options.config_explicit;
  lo.env_file = self->env_file;
  lo.use_environment = TRUE;
  lo.registry = self->registry;
  return efp_config_load (&lo, error);
}

static void
build_runners (EfpDaemon *self)
{
  guint i;
  g_ptr_array_set_size (self->runners, 0);
  for (i = 0; i < self->config->policies->len; i++)
    {
      EfpPolicyConfig *pc = self->config->policies->pdata[i];
      g_ptr_array_add (self->runners, efp_policy_runner_new (pc));
    }
}

/* Put persisted policy states back, so a restart neither loses a debounce nor
 * repeats a shutdown inside its cooldown. */
static void
restore_policy_states (EfpDaemon *self)
{
  GHashTableIter it;
  gpointer k, v;
  guint i;

  g_hash_table_iter_init (&it, self->state->policies);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      g_auto (GStrv) parts = g_strsplit (k, "\x1f", 2);
      for (i = 0; i < self->runners->len; i++)
        {
          EfpPolicyRunner *r = self->runners->pdata[i];
          if (g_str_equal (r->config->name, parts[0]) && parts[1] != NULL)
            {
              EfpPolicyTarget *t = efp_policy_runner_get_target (r, parts[1]);
              t->state = *(const EfpPolicyState *) v;
              if (t->state.phase != EFP_POLICY_PHASE_IDLE)
                g_message ("restored policy %s for %s: %s", parts[0], parts[1],
                           efp_policy_phase_to_string (t->state.phase));
            }
        }
    }
}

/* What a crash can leave behind, put right at start-up:
 *  - a command recorded but not known to have reached the broker is published
 *    again, byte for byte: an agent that got it drops the replayed id, one that
 *    did not acts on it (commands past their ttl are left alone);
 *  - a shutdown the state file says was triggered but for which no command was
 *    recorded at all (the daemon died in between) is sent now. */
static void
recover_after_crash (EfpDaemon *self)
{
  gint64 now_s = g_get_real_time () / G_USEC_PER_SEC;
  guint i, j;

  for (i = 0; i < self->state->commands->len; i++)
    {
      EfpSentCommand *c = self->state->commands->pdata[i];
      g_autofree gchar *topic = NULL;
      if (!c->pending || c->payload == NULL || *c->payload == '\0' || now_s - c->issued_at > 300)
        continue;
      topic = g_strdup_printf ("%s/%s/cmd", self->config->mqtt.command_prefix, c->agent);
      g_message ("%s command %s to %s was recorded but maybe never published; publishing it "
                 "again (an agent drops a replay)",
                 c->action, c->id, c->agent);
      if (efp_outbox_send (self->outbox, topic, c->payload))
        efp_state_file_mark_published (self->state, c->id, c->agent);
    }

  for (i = 0; i < self->runners->len; i++)
    {
      EfpPolicyRunner *r = self->runners->pdata[i];
      GHashTableIter it;
      gpointer v;

      g_hash_table_iter_init (&it, r->targets);
      while (g_hash_table_iter_next (&it, NULL, &v))
        {
          EfpPolicyTarget *t = v;
          gint64 trig_s = t->state.triggered_at_us / G_USEC_PER_SEC;
          gboolean sent = FALSE;
          g_auto (GStrv) agents = NULL;
          g_autofree gchar *id = NULL;

          if (t->state.phase != EFP_POLICY_PHASE_TRIGGERED || t->state.triggered_at_us == 0)
            continue;
          for (j = 0; j < self->state->commands->len && !sent; j++)
            {
              const EfpSentCommand *c = self->state->commands->pdata[j];
              sent = g_strcmp0 (c->action, "shutdown") == 0 &&
                     g_strcmp0 (c->policy, r->config->name) == 0 &&
                     g_strcmp0 (c->device, t->name) == 0 && c->issued_at >= trig_s - 1;
            }
          if (sent)
            continue;
          agents = agents_for (self, r, t->name);
          g_message ("SHUTDOWN TRIGGERED policy=%s device=%s: decided before a restart but "
                     "never sent; sending it now",
                     r->config->name, t->name);
          if (agents[0] != NULL)
            id = efp_dispatcher_send (self->dispatcher, "shutdown", (const gchar *const *) agents,
                                      t->verdict.delay_sec > 0 ? t->verdict.delay_sec : 60,
                                      "shutdown decided before a restart", r->config->name, t->name,
                                      self->config->dry_run);
        }
    }
}

static void
efp_daemon_finalize (GObject *object)
{
  EfpDaemon *self = EFP_DAEMON (object);

  g_clear_pointer (&self->runners, g_ptr_array_unref);
  g_clear_pointer (&self->devices, g_hash_table_unref);
  g_clear_pointer (&self->dispatcher, efp_dispatcher_free);
  g_clear_object (&self->cloud);
  g_clear_object (&self->dbus);
  g_clear_pointer (&self->nut, efp_nut_server_free);
  g_clear_pointer (&self->metrics, efp_metrics_free);
  g_clear_pointer (&self->wol, efp_wol_free);
  g_clear_pointer (&self->notifier, efp_notifier_free);
  g_clear_pointer (&self->republished, g_hash_table_unref);
  g_clear_pointer (&self->outbox, efp_outbox_free);
  g_clear_object (&self->mqtt);
  g_clear_pointer (&self->config, efp_config_free);
  g_clear_pointer (&self->registry, efp_plugin_registry_free);
  g_clear_pointer (&self->models, efp_model_table_free);
  g_clear_pointer (&self->state, efp_state_file_free);
  g_free (self->state_path);
  g_free (self->config_file);
  g_free (self->env_file);
  g_free (self->plugin_dir);
  g_free (self->state_file_override);
  G_OBJECT_CLASS (efp_daemon_parent_class)->finalize (object);
}

static void
efp_daemon_class_init (EfpDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = efp_daemon_finalize;
}

static void
efp_daemon_init (EfpDaemon *self)
{
  self->devices =
    g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) efp_device_free);
  self->runners = g_ptr_array_new_with_free_func ((GDestroyNotify) efp_policy_runner_free);
  self->republished =
    g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  /* agents refuse a command older than its ttl (300 s): no point keeping it longer */
  self->outbox = efp_outbox_new (300, outbox_publish, self);
}

EfpDaemon *
efp_daemon_new (const EfpDaemonOptions *options, GError **error)
{
  g_autoptr (EfpDaemon) self = g_object_new (EFP_TYPE_DAEMON, NULL);
  g_autoptr (GError) local = NULL;
  EfpDispatcherCallbacks cb = { dispatch_publish, efp_daemon_agent_changed, dispatch_command_sent,
                                dispatch_command_published, dispatch_agent_returned };

  self->options = *options;
  self->config_file = g_strdup (options->config_file);
  self->env_file = g_strdup (options->env_file);
  self->plugin_dir = g_strdup (options->plugin_dir != NULL ? options->plugin_dir : EFP_PLUGIN_DIR);
  self->state_file_override = g_strdup (options->state_file);
  self->options.config_file = self->config_file;
  self->options.env_file = self->env_file;
  self->options.plugin_dir = self->plugin_dir;
  self->options.state_file = self->state_file_override;

  self->registry = efp_plugin_registry_new ();
  if (efp_plugin_registry_load_dir (self->registry, self->plugin_dir) == 0)
    g_warning ("no plugins loaded from %s", self->plugin_dir);
  self->models = efp_model_table_new_default (error);
  if (self->models == NULL)
    return NULL;
  self->config = load_config (self, error);
  if (self->config == NULL)
    return NULL;
  if (options->dry_run)
    self->config->dry_run = TRUE;
  if (self->config->nut.enabled &&
      (self->nut = efp_nut_server_new (&self->config->nut, error)) == NULL)
    return NULL;
  if (!efp_daemon_make_outputs (self, self->config, &self->notifier, &self->wol, error))
    return NULL;
  self->metrics = efp_metrics_new_from_keyfile (self->config->keyfile, &local);
  if (local != NULL)
    {
      efp_config_prefix_error (self->config, &local);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  self->state_path = g_strdup (self->state_file_override != NULL ? self->state_file_override
                                                                 : self->config->state_file);
  self->dispatcher = efp_dispatcher_new (&cb, self);
  efp_dispatcher_set_config (self->dispatcher, self->config);
  build_runners (self);
  return g_steal_pointer (&self);
}

const EfpConfig *
efp_daemon_get_config (EfpDaemon *self)
{
  return self->config;
}

gboolean
efp_daemon_start (EfpDaemon *self, GError **error)
{
  g_autoptr (GError) local = NULL;
  guint i;

  self->state = efp_state_file_load (self->state_path, &local);
  if (self->state == NULL)
    {
      /* keep running: losing old timers is better than not protecting hosts at all */
      g_warning ("%s; starting with empty state", local->message);
      self->state = efp_state_file_new ();
    }
  restore_policy_states (self);
  for (i = 0; i < self->config->devices->len; i++)
    ensure_device (self, ((EfpDeviceConfig *) self->config->devices->pdata[i])->name);
  if (!create_mqtt (self, error))
    return FALSE;
  efp_mqtt_client_start (self->mqtt);
  if (!start_cloud (self, error))
    return FALSE;
  if (!efp_daemon_start_nut (self, &local))
    {
      /* hosts are still protected through MQTT: say it loudly and go on */
      g_warning ("NUT server not available: %s", local->message);
      g_clear_error (&local);
    }
  if (self->metrics != NULL && !efp_metrics_start (self->metrics, &local))
    {
      g_warning ("metrics not served: %s", local->message);
      g_clear_error (&local);
      g_clear_pointer (&self->metrics, efp_metrics_free);
    }
  efp_daemon_start_dbus (self);
  efp_daemon_publish_everything (self);
  self->started = TRUE;
  if (self->config->dry_run)
    g_message ("dry run: commands carry \"dry_run\": true and agents only log them");
  /* timers that were running before a restart go on from their stored start */
  for (i = 0; i < self->runners->len; i++)
    {
      EfpPolicyRunner *r = self->runners->pdata[i];
      GHashTableIter it;
      gpointer k;
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      guint j;
      g_hash_table_iter_init (&it, r->targets);
      while (g_hash_table_iter_next (&it, &k, NULL))
        g_ptr_array_add (names, g_strdup (k));
      for (j = 0; j < names->len; j++)
        if (efp_policy_runner_get_target (r, names->pdata[j])->state.phase != EFP_POLICY_PHASE_IDLE)
          evaluate_target (self, r, names->pdata[j]);
    }
  recover_after_crash (self);
  save_state (self);
  return TRUE;
}

void
efp_daemon_stop (EfpDaemon *self)
{
  if (!self->started)
    return;
  save_state (self);
  if (self->mqtt != NULL)
    {
      g_autofree gchar *topic =
        g_strdup_printf ("%s/orchestrator/status", self->config->mqtt.command_prefix);
      efp_daemon_publish (self, topic, "{\"state\":\"offline\"}", 1, TRUE);
      efp_mqtt_client_stop (self->mqtt);
    }
  if (self->cloud != NULL)
    efp_cloud_stop (self->cloud);
  if (self->dbus != NULL)
    efp_dbus_service_stop (self->dbus);
  self->started = FALSE;
}

gboolean
efp_daemon_reload (EfpDaemon *self, GError **error)
{
  g_autoptr (EfpConfig) fresh = load_config (self, error);
  gboolean mqtt_changed;
  GHashTableIter it;
  gpointer v;
  guint i;

  g_autoptr (EfpNotifier) notifier = NULL;
  g_autoptr (EfpWol) wol = NULL;

  if (fresh == NULL || !efp_daemon_make_outputs (self, fresh, &notifier, &wol, error))
    return FALSE;
  if (self->options.dry_run)
    fresh->dry_run = TRUE;
  /* the new [notify] and [wol:] take over (a Wake-on-LAN countdown starts afresh) */
  efp_notifier_free (self->notifier);
  self->notifier = g_steal_pointer (&notifier);
  efp_wol_free (self->wol);
  self->wol = g_steal_pointer (&wol);
  mqtt_changed = g_strcmp0 (fresh->mqtt.host, self->config->mqtt.host) != 0 ||
                 fresh->mqtt.port != self->config->mqtt.port ||
                 g_strcmp0 (fresh->mqtt.username, self->config->mqtt.username) != 0 ||
                 g_strcmp0 (fresh->mqtt.password, self->config->mqtt.password) != 0 ||
                 fresh->mqtt.tls != self->config->mqtt.tls ||
                 g_strcmp0 (fresh->mqtt.client_id, self->config->mqtt.client_id) != 0 ||
                 g_strcmp0 (fresh->mqtt.raw_prefix, self->config->mqtt.raw_prefix) != 0 ||
                 g_strcmp0 (fresh->mqtt.command_prefix, self->config->mqtt.command_prefix) != 0;
  /* keep the policy states by name; rebind everything to the new config */
  for (i = 0; i < self->runners->len; i++)
    {
      EfpPolicyRunner *r = self->runners->pdata[i];
      GHashTableIter ti;
      gpointer tv;
      g_hash_table_iter_init (&ti, r->targets);
      while (g_hash_table_iter_next (&ti, NULL, &tv))
        efp_state_file_set_policy (self->state, r->config->name, ((EfpPolicyTarget *) tv)->name,
                                   &((EfpPolicyTarget *) tv)->state);
    }
  for (i = 0; i < self->runners->len; i++)
    {
      EfpPolicyRunner *r = self->runners->pdata[i];
      guint j;
      gboolean kept = FALSE;
      for (j = 0; j < fresh->policies->len; j++)
        kept = kept ||
               g_str_equal (((EfpPolicyConfig *) fresh->policies->pdata[j])->name, r->config->name);
      if (!kept && self->dbus != NULL)
        efp_dbus_service_remove_policy (self->dbus, r->config->name);
      if (!kept && self->metrics != NULL)
        efp_metrics_remove_policy (self->metrics, r->config->name);
    }
  g_ptr_array_set_size (self->runners, 0);
  efp_config_free (self->config);
  self->config = g_steal_pointer (&fresh);
  efp_dispatcher_set_config (self->dispatcher, self->config);
  g_hash_table_iter_init (&it, self->devices);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      EfpDevice *d = v;
      d->config = efp_config_find_device (self->config, d->name);
    }
  build_runners (self);
  restore_policy_states (self);
  if (mqtt_changed && self->started)
    {
      efp_mqtt_client_stop (self->mqtt);
      g_clear_object (&self->mqtt);
      if (!create_mqtt (self, error))
        return FALSE;
      efp_mqtt_client_start (self->mqtt);
    }
  if (self->cloud != NULL || self->config->cloud.enabled)
    {
      /* credentials or devices may have changed: a fresh cloud session */
      if (self->cloud != NULL)
        efp_cloud_stop (self->cloud);
      g_clear_object (&self->cloud);
      if (self->started && !start_cloud (self, error))
        return FALSE;
    }
  /* metrics follow [metrics]: a changed address means a new server (counters restart) */
  g_clear_pointer (&self->metrics, efp_metrics_free);
  {
    g_autoptr (GError) merr = NULL;
    self->metrics = efp_metrics_new_from_keyfile (self->config->keyfile, &merr);
    if (self->metrics != NULL && self->started && !efp_metrics_start (self->metrics, &merr))
      g_clear_pointer (&self->metrics, efp_metrics_free);
    if (merr != NULL)
      g_warning ("metrics not served: %s", merr->message);
  }
  if (self->nut != NULL || self->config->nut.enabled)
    {
      g_autoptr (GError) nerr = NULL;
      g_clear_pointer (&self->nut, efp_nut_server_free);
      if (self->config->nut.enabled)
        self->nut = efp_nut_server_new (&self->config->nut, &nerr);
      if (nerr == NULL && self->started && !efp_daemon_start_nut (self, &nerr))
        g_warning ("NUT server not available: %s", nerr->message);
      else if (nerr != NULL)
        g_warning ("NUT server not available: %s", nerr->message);
      republish_all (self);
    }
  efp_daemon_publish_everything (self);
  g_message ("configuration reloaded");
  return TRUE;
}

gchar *
efp_daemon_test_agent (EfpDaemon *self, const gchar *agent, GError **error)
{
  const gchar *agents[] = { agent, NULL };
  if (agent == NULL || *agent == '\0' || strpbrk (agent, "/+#") != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "expected an agent id, found '%s'", agent != NULL ? agent : "");
      return NULL;
    }
  return efp_dispatcher_send (self->dispatcher, "test", agents, 0, "test requested", NULL, NULL,
                              self->config->dry_run);
}

/* efp-ctl-view.c: devices, policies, agents and events as JSON or text. */
#include "efp-ctl-view.h"

#include <math.h>

#include "efp-ctl-json.h"
#include "efp-reading-json.h"

#define BAR_WIDTH 10

/* ---- collecting objects ---- */

static const gchar *
object_sort_key (EfpObject *object)
{
  EfpExportedDevice *d = efp_object_peek_exported_device (object);
  EfpExportedPolicy *p = efp_object_peek_exported_policy (object);
  EfpExportedAgent *a = efp_object_peek_exported_agent (object);
  const gchar *key = NULL;

  if (d != NULL)
    key = efp_exported_device_get_name (d);
  else if (p != NULL)
    key = efp_exported_policy_get_name (p);
  else if (a != NULL)
    key = efp_exported_agent_get_id (a);
  return key != NULL ? key : "";
}

static gint
compare_objects (gconstpointer a, gconstpointer b)
{
  return g_utf8_collate (object_sort_key (*(EfpObject **) a), object_sort_key (*(EfpObject **) b));
}

/* Objects that carry @iface_name, sorted by name. */
static GPtrArray *
collect (EfpCtlContext *ctx, const gchar *iface_name)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_object_unref);
  GList *objects = g_dbus_object_manager_get_objects (ctx->objects);
  GList *l;

  for (l = objects; l != NULL; l = l->next)
    {
      g_autoptr (GDBusInterface) iface = g_dbus_object_get_interface (l->data, iface_name);
      if (iface != NULL)
        g_ptr_array_add (out, g_object_ref (l->data));
    }
  g_list_free_full (objects, g_object_unref);
  g_ptr_array_sort (out, compare_objects);
  return out;
}

static const gchar *
str_or_empty (const gchar *s)
{
  return s != NULL ? s : "";
}

/* ---- JSON ---- */

/* Rebuild the reading from the properties, so devices --json prints exactly
 * what the daemon publishes on MQTT (efp_reading_build_json). */
static void
device_reading (EfpExportedDevice *d, EfpReading *r, EfpReadingMeta *meta)
{
  GVariant *packs = efp_exported_device_get_packs (d);
  const gchar *s;

  efp_reading_init (r);
  memset (meta, 0, sizeof (*meta));
  r->soc = efp_exported_device_get_state_of_charge (d);
  /* GridConnected and OnBattery both false: grid state unknown */
  if (efp_exported_device_get_grid_connected (d))
    r->grid_connected = EFP_TRISTATE_TRUE;
  else if (efp_exported_device_get_on_battery (d))
    r->grid_connected = EFP_TRISTATE_FALSE;
  s = efp_exported_device_get_grid_source (d);
  r->grid_source = s != NULL && *s != '\0' ? s : NULL;
  r->temp_celsius = efp_exported_device_get_temperature_celsius (d);
  r->input_watts = efp_exported_device_get_input_watts (d);
  r->output_watts = efp_exported_device_get_output_watts (d);
  r->remain_minutes = efp_exported_device_get_remaining_minutes (d);
  g_strlcpy (r->model, str_or_empty (efp_exported_device_get_model (d)), sizeof (r->model));
  if (packs != NULL && g_variant_is_of_type (packs, G_VARIANT_TYPE ("aa{sv}")))
    {
      GVariantIter iter;
      GVariant *dict;

      g_variant_iter_init (&iter, packs);
      while ((dict = g_variant_iter_next_value (&iter)) != NULL)
        {
          guint32 index = 0;
          EfpPack *p;

          g_variant_lookup (dict, "index", "u", &index);
          p = efp_reading_pack (r, index);
          if (p != NULL)
            {
              g_variant_lookup (dict, "soc", "d", &p->soc);
              g_variant_lookup (dict, "temp_celsius", "d", &p->temp_celsius);
              g_variant_lookup (dict, "design_mah", "x", &p->design_mah);
              g_variant_lookup (dict, "full_mah", "x", &p->full_mah);
              g_variant_lookup (dict, "remain_mah", "x", &p->remain_mah);
            }
          g_variant_unref (dict);
        }
    }
  meta->device = str_or_empty (efp_exported_device_get_name (d));
  s = efp_exported_device_get_serial (d);
  meta->serial = s != NULL && *s != '\0' ? s : NULL;
  s = efp_exported_device_get_decoder (d);
  meta->decoder = s != NULL && *s != '\0' ? s : NULL;
  meta->stale = efp_exported_device_get_stale (d);
  meta->ts = (gint64) (efp_exported_device_get_last_update (d) / G_USEC_PER_SEC);
}

JsonNode *
efp_ctl_devices_json (EfpCtlContext *ctx)
{
  g_autoptr (GPtrArray) objects = collect (ctx, "io.github.EcoflowPower1.Device");
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint i;

  json_builder_begin_array (b);
  for (i = 0; i < objects->len; i++)
    {
      EfpReading r;
      EfpReadingMeta meta;
      device_reading (efp_object_peek_exported_device (objects->pdata[i]), &r, &meta);
      efp_reading_build_json (b, &r, &meta);
    }
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

/* An object keyed by the D-Bus property names, in introspection order. */
static JsonNode *
proxy_json (GDBusProxy *proxy)
{
  GDBusInterfaceInfo *info = g_dbus_proxy_get_interface_info (proxy);
  JsonObject *o = json_object_new ();
  JsonNode *node;
  guint i;

  for (i = 0; info != NULL && info->properties != NULL && info->properties[i] != NULL; i++)
    {
      const gchar *name = info->properties[i]->name;
      g_autoptr (GVariant) v = g_dbus_proxy_get_cached_property (proxy, name);
      json_object_set_member (
        o, name, v != NULL ? efp_ctl_json_from_variant (v) : json_node_new (JSON_NODE_NULL));
    }
  node = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  return node;
}

static JsonNode *
objects_json (EfpCtlContext *ctx, const gchar *iface_name)
{
  g_autoptr (GPtrArray) objects = collect (ctx, iface_name);
  JsonArray *a = json_array_new ();
  JsonNode *node;
  guint i;

  for (i = 0; i < objects->len; i++)
    {
      g_autoptr (GDBusInterface) iface =
        g_dbus_object_get_interface (objects->pdata[i], iface_name);
      json_array_add_element (a, proxy_json (G_DBUS_PROXY (iface)));
    }
  node = json_node_init_array (json_node_alloc (), a);
  json_array_unref (a);
  return node;
}

JsonNode *
efp_ctl_policies_json (EfpCtlContext *ctx)
{
  return objects_json (ctx, "io.github.EcoflowPower1.Policy");
}

JsonNode *
efp_ctl_agents_json (EfpCtlContext *ctx)
{
  return objects_json (ctx, "io.github.EcoflowPower1.Agent");
}

static GVariant *
get_events (EfpCtlContext *ctx, GError **error)
{
  GVariant *events = NULL;

  if (!efp_exported_manager_call_get_events_sync (ctx->manager, &events, NULL, error))
    return NULL;
  return events;
}

JsonNode *
efp_ctl_events_json (EfpCtlContext *ctx, GError **error)
{
  g_autoptr (GVariant) events = get_events (ctx, error);
  g_autoptr (JsonBuilder) b = NULL;
  GVariantIter iter;
  gint64 ts;
  const gchar *device, *policy, *event, *detail;

  if (events == NULL)
    return NULL;
  b = json_builder_new ();
  json_builder_begin_array (b);
  g_variant_iter_init (&iter, events);
  while (g_variant_iter_next (&iter, "(x&s&s&s&s)", &ts, &device, &policy, &event, &detail))
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ts");
      json_builder_add_int_value (b, ts);
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, device);
      json_builder_set_member_name (b, "policy");
      json_builder_add_string_value (b, policy);
      json_builder_set_member_name (b, "event");
      json_builder_add_string_value (b, event);
      json_builder_set_member_name (b, "detail");
      json_builder_add_string_value (b, detail);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

JsonNode *
efp_ctl_status_json (EfpCtlContext *ctx)
{
  JsonObject *o = json_object_new ();
  JsonNode *node;

  json_object_set_member (o, "manager", proxy_json (G_DBUS_PROXY (ctx->manager)));
  json_object_set_member (o, "devices", efp_ctl_devices_json (ctx));
  json_object_set_member (o, "policies", efp_ctl_policies_json (ctx));
  json_object_set_member (o, "agents", efp_ctl_agents_json (ctx));
  node = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  return node;
}

/* ---- text ---- */

gchar *
efp_ctl_soc_bar (gdouble soc)
{
  GString *s = g_string_new ("[");
  guint filled, i;

  if (isnan (soc))
    {
      for (i = 0; i < BAR_WIDTH; i++)
        g_string_append_c (s, '?');
      return g_string_free (g_string_append (s, "]"), FALSE);
    }
  filled = (guint) lround (CLAMP (soc, 0.0, 100.0) * BAR_WIDTH / 100.0);
  for (i = 0; i < BAR_WIDTH; i++)
    g_string_append_c (s, i < filled ? '#' : '-');
  return g_string_free (g_string_append (s, "]"), FALSE);
}

gchar *
efp_ctl_age (guint64 then_us, gint64 now_us)
{
  gint64 sec;

  if (then_us == 0)
    return g_strdup ("never");
  sec = MAX ((now_us - (gint64) then_us) / G_USEC_PER_SEC, 0);
  if (sec < 120)
    return g_strdup_printf ("%" G_GINT64_FORMAT "s ago", sec);
  if (sec < 120 * 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT "m ago", sec / 60);
  if (sec < 48 * 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT "h ago", sec / 3600);
  return g_strdup_printf ("%" G_GINT64_FORMAT "d ago", sec / 86400);
}

gchar *
efp_ctl_countdown (guint64 deadline_us, gint64 now_us)
{
  gint64 sec;

  if (deadline_us == 0)
    return g_strdup ("-");
  if ((gint64) deadline_us <= now_us)
    return g_strdup ("due");
  /* round up: "in 0:00" would read as already due */
  sec = ((gint64) deadline_us - now_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
  if (sec >= 3600)
    return g_strdup_printf ("in %" G_GINT64_FORMAT ":%02d:%02d", sec / 3600, (int) (sec / 60 % 60),
                            (int) (sec % 60));
  return g_strdup_printf ("in %d:%02d", (int) (sec / 60), (int) (sec % 60));
}

static gchar *
watts (gdouble w)
{
  if (isnan (w))
    return g_strdup ("-");
  return g_strdup_printf ("%.0f W", w);
}

static gchar *
runtime (gint minutes)
{
  if (minutes < 0)
    return g_strdup ("-");
  if (minutes >= 60)
    return g_strdup_printf ("%dh %02dm", minutes / 60, minutes % 60);
  return g_strdup_printf ("%d min", minutes);
}

/* A table: rows of cells padded to the widest cell of each column. */
typedef struct
{
  GPtrArray *rows; /* GStrv */
  guint columns;
} Table;

static void
table_init (Table *t, guint columns)
{
  t->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  t->columns = columns;
}

/* Takes the cells (gchar*, exactly t->columns of them). */
static void
table_add (Table *t, ...)
{
  gchar **row = g_new0 (gchar *, t->columns + 1);
  va_list ap;
  guint i;

  va_start (ap, t);
  for (i = 0; i < t->columns; i++)
    row[i] = va_arg (ap, gchar *);
  va_end (ap);
  g_ptr_array_add (t->rows, row);
}

static void
table_print (Table *t, GString *out, const gchar *indent)
{
  g_autofree guint *width = g_new0 (guint, t->columns);
  guint r, c;

  for (r = 0; r < t->rows->len; r++)
    for (c = 0; c < t->columns; c++)
      width[c] = MAX (width[c], (guint) g_utf8_strlen (((gchar **) t->rows->pdata[r])[c], -1));
  for (r = 0; r < t->rows->len; r++)
    {
      gchar **row = t->rows->pdata[r];
      GString *line = g_string_new (indent);
      for (c = 0; c < t->columns; c++)
        {
          g_string_append (line, row[c]);
          if (c + 1 < t->columns)
            {
              guint pad = width[c] - (guint) g_utf8_strlen (row[c], -1) + 2;
              while (pad-- > 0)
                g_string_append_c (line, ' ');
            }
        }
      /* the last column may be empty */
      while (line->len > 0 && line->str[line->len - 1] == ' ')
        g_string_truncate (line, line->len - 1);
      g_string_append_printf (out, "%s\n", line->str);
      g_string_free (line, TRUE);
    }
  g_ptr_array_unref (t->rows);
}

void
efp_ctl_print_devices (EfpCtlContext *ctx, GString *out, gint64 now_us)
{
  g_autoptr (GPtrArray) objects = collect (ctx, "io.github.EcoflowPower1.Device");
  Table t;
  guint i;

  if (objects->len == 0)
    {
      g_string_append (out, "No devices.\n");
      return;
    }
  table_init (&t, 8);
  table_add (&t, g_strdup ("DEVICE"), g_strdup ("CHARGE"), g_strdup ("POWER"), g_strdup ("IN"),
             g_strdup ("OUT"), g_strdup ("RUNTIME"), g_strdup ("UPDATED"), g_strdup (""));
  for (i = 0; i < objects->len; i++)
    {
      EfpExportedDevice *d = efp_object_peek_exported_device (objects->pdata[i]);
      gdouble soc = efp_exported_device_get_state_of_charge (d);
      g_autofree gchar *bar = efp_ctl_soc_bar (soc);
      g_autofree gchar *age = efp_ctl_age (efp_exported_device_get_last_update (d), now_us);
      const gchar *power;

      if (efp_exported_device_get_grid_connected (d))
        power = "grid";
      else if (efp_exported_device_get_on_battery (d))
        power = "BATTERY";
      else
        power = "?";
      table_add (&t, g_strdup (str_or_empty (efp_exported_device_get_name (d))),
                 isnan (soc) ? g_strdup_printf ("%s    ?", bar)
                             : g_strdup_printf ("%s %3.0f%%", bar, soc),
                 g_strdup (power), watts (efp_exported_device_get_input_watts (d)),
                 watts (efp_exported_device_get_output_watts (d)),
                 runtime (efp_exported_device_get_remaining_minutes (d)), g_strdup (age),
                 g_strdup (efp_exported_device_get_stale (d) ? "STALE" : ""));
    }
  table_print (&t, out, "");
}

void
efp_ctl_print_policies (EfpCtlContext *ctx, GString *out, gint64 now_us)
{
  g_autoptr (GPtrArray) objects = collect (ctx, "io.github.EcoflowPower1.Policy");
  Table t;
  guint i;

  if (objects->len == 0)
    {
      g_string_append (out, "No policies.\n");
      return;
    }
  table_init (&t, 5);
  table_add (&t, g_strdup ("POLICY"), g_strdup ("MODULE"), g_strdup ("STATE"),
             g_strdup ("DEADLINE"), g_strdup ("DEVICES"));
  for (i = 0; i < objects->len; i++)
    {
      EfpExportedPolicy *p = efp_object_peek_exported_policy (objects->pdata[i]);
      const gchar *const *devices = efp_exported_policy_get_devices (p);

      table_add (&t, g_strdup (str_or_empty (efp_exported_policy_get_name (p))),
                 g_strdup (str_or_empty (efp_exported_policy_get_module (p))),
                 g_strdup (str_or_empty (efp_exported_policy_get_state (p))),
                 efp_ctl_countdown (efp_exported_policy_get_deadline (p), now_us),
                 devices != NULL && devices[0] != NULL ? g_strjoinv (", ", (gchar **) devices)
                                                       : g_strdup ("(all)"));
    }
  table_print (&t, out, "");
}

void
efp_ctl_print_agents (EfpCtlContext *ctx, GString *out, gint64 now_us)
{
  g_autoptr (GPtrArray) objects = collect (ctx, "io.github.EcoflowPower1.Agent");
  Table t;
  guint i;

  if (objects->len == 0)
    {
      g_string_append (out, "No agents.\n");
      return;
    }
  table_init (&t, 5);
  table_add (&t, g_strdup ("AGENT"), g_strdup ("STATE"), g_strdup ("LAST SEEN"),
             g_strdup ("LAST RESULT"), g_strdup ("LAST COMMAND"));
  for (i = 0; i < objects->len; i++)
    {
      EfpExportedAgent *a = efp_object_peek_exported_agent (objects->pdata[i]);
      const gchar *result = str_or_empty (efp_exported_agent_get_last_result (a));
      const gchar *command = str_or_empty (efp_exported_agent_get_last_command_id (a));

      table_add (&t, g_strdup (str_or_empty (efp_exported_agent_get_id (a))),
                 /* an agent that never reported is not known to be down */
                 g_strdup (efp_exported_agent_get_online (a)           ? "online"
                           : efp_exported_agent_get_last_seen (a) == 0 ? "never seen"
                                                                       : "OFFLINE"),
                 efp_ctl_age (efp_exported_agent_get_last_seen (a), now_us),
                 g_strdup (*result != '\0' ? result : "-"),
                 g_strdup (*command != '\0' ? command : "-"));
    }
  table_print (&t, out, "");
}

gboolean
efp_ctl_print_events (EfpCtlContext *ctx, GString *out, GError **error)
{
  g_autoptr (GVariant) events = get_events (ctx, error);
  GVariantIter iter;
  gint64 ts;
  const gchar *device, *policy, *event, *detail;

  if (events == NULL)
    return FALSE;
  if (g_variant_n_children (events) == 0)
    {
      g_string_append (out, "No events.\n");
      return TRUE;
    }
  g_variant_iter_init (&iter, events);
  while (g_variant_iter_next (&iter, "(x&s&s&s&s)", &ts, &device, &policy, &event, &detail))
    {
      g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (ts);
      g_autofree gchar *when = dt != NULL ? g_date_time_format (dt, "%F %T") : g_strdup ("?");
      g_string_append_printf (out, "%s  %-18s %s/%s%s%s\n", when, event, policy, device,
                              *detail != '\0' ? ": " : "", detail);
    }
  return TRUE;
}

void
efp_ctl_print_status (EfpCtlContext *ctx, GString *out, gint64 now_us)
{
  EfpExportedManager *m = ctx->manager;

  g_string_append_printf (
    out, "ecoflow-powerd %s   MQTT %s   cloud %s%s\n\n",
    str_or_empty (efp_exported_manager_get_version (m)),
    efp_exported_manager_get_mqtt_connected (m) ? "connected" : "DISCONNECTED",
    efp_exported_manager_get_cloud_connected (m) ? "connected" : "not connected",
    efp_exported_manager_get_dry_run (m) ? "   DRY RUN" : "");
  efp_ctl_print_devices (ctx, out, now_us);
  g_string_append_c (out, '\n');
  efp_ctl_print_policies (ctx, out, now_us);
  g_string_append_c (out, '\n');
  efp_ctl_print_agents (ctx, out, now_us);
}

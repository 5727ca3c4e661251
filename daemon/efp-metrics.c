/* efp-metrics.c: Prometheus text exposition (format 0.0.4) on [metrics] listen:port.
 *
 * The daemon pushes what it knows (devices, policies, agents, counters) into
 * plain tables; a scrape renders them, sorted by metric name and label values
 * so the output is byte-for-byte reproducible. Unknown values are left out
 * rather than exported as NaN, so a series disappears instead of going stale.
 */
#include "config.h"

#include "efp-metrics.h"

#include <libsoup/soup.h>
#include <math.h>
#include <string.h>
#include "efp-plugin-util.h"

#define CONTENT_TYPE   "text/plain; version=0.0.4; charset=utf-8"
#define DEFAULT_LISTEN "127.0.0.1"
#define DEFAULT_PORT   9787
/* a client that connects and then says nothing is dropped after this long */
#define DEFAULT_IDLE_TIMEOUT_SEC 30

/* sorted: they are rendered in this order */
static const gchar *const policy_states[] = { "armed", "cooldown", "idle", "triggered" };

typedef struct
{
  EfpReading reading;
  gchar *serial;
  gchar *decoder;
  gboolean stale;
  gint64 ts;
} Device;

typedef struct
{
  gchar *phase;
  gint64 deadline_us;
} Policy;

typedef struct
{
  gboolean online;
  gint64 last_seen_us;
} Agent;

typedef struct
{
  guint64 accepted;
  guint64 dropped;
} FrameCount;

struct _EfpMetrics
{
  gchar *listen;
  guint16 port;
  guint16 bound_port;
  guint idle_timeout_sec;
  GSocketService *service;
  SoupServer *server;

  GHashTable *devices;  /* name -> Device* */
  GHashTable *policies; /* name -> Policy* */
  GHashTable *agents;   /* id -> Agent* */
  GHashTable *frames;   /* device -> FrameCount* */
  GHashTable *commands; /* action -> guint64* */
  GHashTable *events;   /* event -> guint64* */
  gboolean mqtt_connected;
  gboolean cloud_connected;
};

/* ---- metric families ------------------------------------------------------------------ */

typedef enum
{
  F_AGENT_LAST_SEEN,
  F_AGENT_ONLINE,
  F_BATTERY_SOC,
  F_BUILD_INFO,
  F_CLOUD_CONNECTED,
  F_COMMANDS,
  F_EVENTS,
  F_FRAMES,
  F_GRID_CONNECTED,
  F_INPUT_WATTS,
  F_LAST_UPDATE,
  F_MQTT_CONNECTED,
  F_ON_BATTERY,
  F_OUTPUT_WATTS,
  F_PACK_FULL_MAH,
  F_PACK_REMAIN_MAH,
  F_PACK_SOC,
  F_PACK_TEMPERATURE,
  F_POLICY_DEADLINE,
  F_POLICY_STATE,
  F_REMAINING_SECONDS,
  F_STALE,
  F_TEMPERATURE,
  F_N_FAMILIES
} FamilyId;

typedef struct
{
  const gchar *name;
  const gchar *type;
  const gchar *help;
  const gchar *labels[5]; /* NULL-terminated */
} Family;

#define DEVICE_LABELS                                                                              \
  {                                                                                                \
    "device", "serial", "model", "decoder", NULL                                                   \
  }

static const Family families[F_N_FAMILIES] = {
  [F_AGENT_LAST_SEEN] = { "ecoflow_agent_last_seen_timestamp_seconds",
                          "gauge",
                          "When the agent last reported, in seconds since the epoch.",
                          { "agent", NULL } },
  [F_AGENT_ONLINE] = { "ecoflow_agent_online",
                       "gauge",
                       "1 when the agent's last status says it is online, else 0.",
                       { "agent", NULL } },
  [F_BATTERY_SOC] = { "ecoflow_battery_soc_percent", "gauge",
                      "Combined state of charge of the station, in percent.", DEVICE_LABELS },
  [F_BUILD_INFO] = { "ecoflow_build_info",
                     "gauge",
                     "The running ecoflow-powerd version.",
                     { "version", NULL } },
  [F_CLOUD_CONNECTED] = { "ecoflow_cloud_connected",
                          "gauge",
                          "1 when the EcoFlow cloud MQTT session is up, else 0.",
                          { NULL } },
  [F_COMMANDS] = { "ecoflow_commands_total",
                   "counter",
                   "Commands sent to agents, by action.",
                   { "action", NULL } },
  [F_EVENTS] = { "ecoflow_events_total",
                 "counter",
                 "Events published, by kind.",
                 { "event", NULL } },
  [F_FRAMES] = { "ecoflow_frames_total",
                 "counter",
                 "Telemetry frames received, by device and whether they were decoded.",
                 { "device", "result", NULL } },
  [F_GRID_CONNECTED] = { "ecoflow_grid_connected", "gauge",
                         "1 when mains power is present, 0 when it is lost; absent when unknown.",
                         DEVICE_LABELS },
  [F_INPUT_WATTS] = { "ecoflow_input_watts", "gauge", "Total input power, in watts.",
                      DEVICE_LABELS },
  [F_LAST_UPDATE] = { "ecoflow_last_update_timestamp_seconds", "gauge",
                      "When the last valid frame arrived, in seconds since the epoch.",
                      DEVICE_LABELS },
  [F_MQTT_CONNECTED] = { "ecoflow_mqtt_connected",
                         "gauge",
                         "1 when the local MQTT broker connection is up, else 0.",
                         { NULL } },
  [F_ON_BATTERY] = { "ecoflow_on_battery", "gauge",
                     "1 when the station runs on battery (mains lost), else 0.", DEVICE_LABELS },
  [F_OUTPUT_WATTS] = { "ecoflow_output_watts", "gauge", "Total output power, in watts.",
                       DEVICE_LABELS },
  [F_PACK_FULL_MAH] = { "ecoflow_pack_full_mah",
                        "gauge",
                        "Full charge capacity of the battery pack, in mAh.",
                        { "device", "pack", NULL } },
  [F_PACK_REMAIN_MAH] = { "ecoflow_pack_remain_mah",
                          "gauge",
                          "Remaining capacity of the battery pack, in mAh.",
                          { "device", "pack", NULL } },
  [F_PACK_SOC] = { "ecoflow_pack_soc_percent",
                   "gauge",
                   "State of charge of the battery pack, in percent.",
                   { "device", "pack", NULL } },
  [F_PACK_TEMPERATURE] = { "ecoflow_pack_temperature_celsius",
                           "gauge",
                           "Temperature of the battery pack, in degrees Celsius.",
                           { "device", "pack", NULL } },
  [F_POLICY_DEADLINE] = { "ecoflow_policy_deadline_timestamp_seconds",
                          "gauge",
                          "When an armed policy will trigger, in seconds since the epoch.",
                          { "policy", NULL } },
  [F_POLICY_STATE] = { "ecoflow_policy_state",
                       "gauge",
                       "1 for the policy's current state, 0 for the others.",
                       { "policy", "state", NULL } },
  [F_REMAINING_SECONDS] = { "ecoflow_remaining_seconds", "gauge",
                            "Estimated time to empty while discharging; absent when unknown.",
                            DEVICE_LABELS },
  [F_STALE] = { "ecoflow_stale", "gauge",
                "1 when no valid frame arrived in time and the values are old, else 0.",
                DEVICE_LABELS },
  [F_TEMPERATURE] = { "ecoflow_temperature_celsius", "gauge",
                      "Station temperature, in degrees Celsius.", DEVICE_LABELS },
};

typedef struct
{
  FamilyId family;
  gchar **values; /* one per label of the family */
  gchar *value;
} Sample;

static void
sample_free (gpointer p)
{
  Sample *s = p;
  g_strfreev (s->values);
  g_free (s->value);
  g_free (s);
}

/* Takes @value. @... are the label values (as many as the family has labels). */
static void
add_sample (GPtrArray *out, FamilyId family, gchar *value, ...)
{
  Sample *s = g_new0 (Sample, 1);
  guint n = 0, i;
  va_list ap;

  while (families[family].labels[n] != NULL)
    n++;
  s->family = family;
  s->value = value;
  s->values = g_new0 (gchar *, n + 1);
  va_start (ap, value);
  for (i = 0; i < n; i++)
    {
      const gchar *v = va_arg (ap, const gchar *);
      s->values[i] = g_utf8_make_valid (v != NULL ? v : "", -1);
    }
  va_end (ap);
  g_ptr_array_add (out, s);
}

static gint
sample_compare (gconstpointer a, gconstpointer b)
{
  const Sample *x = *(const Sample *const *) a;
  const Sample *y = *(const Sample *const *) b;
  gint c = strcmp (families[x->family].name, families[y->family].name);
  guint i;

  if (c != 0)
    return c;
  for (i = 0; x->values[i] != NULL && y->values[i] != NULL; i++)
    if ((c = strcmp (x->values[i], y->values[i])) != 0)
      return c;
  return 0;
}

/* ---- value formatting ----------------------------------------------------------------- */

static gchar *
format_double (gdouble v)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  /* 15 digits: 65.472, not 65.471999999999994 (as every number we print) */
  g_ascii_formatd (buf, sizeof (buf), "%.15g", v);
  return g_strdup (buf);
}

static gchar *
format_int (gint64 v)
{
  return g_strdup_printf ("%" G_GINT64_FORMAT, v);
}

static gchar *
format_bool (gboolean v)
{
  return g_strdup (v ? "1" : "0");
}

/* Microseconds as exact decimal seconds: 1700000000.25, not 1.70000000025e+09. */
static gchar *
format_us_as_seconds (gint64 us)
{
  gint64 sec = us / G_USEC_PER_SEC;
  gint64 frac = us % G_USEC_PER_SEC;
  gchar *s;
  gsize len;

  if (us < 0)
    return format_double ((gdouble) us / G_USEC_PER_SEC);
  if (frac == 0)
    return format_int (sec);
  s = g_strdup_printf ("%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT, sec, frac);
  len = strlen (s);
  while (s[len - 1] == '0')
    s[--len] = '\0';
  return s;
}

/* Label values: backslash, double quote and line feed are escaped (format 0.0.4). */
static void
append_label_value (GString *out, const gchar *v)
{
  for (; *v != '\0'; v++)
    {
      if (*v == '\\')
        g_string_append (out, "\\\\");
      else if (*v == '"')
        g_string_append (out, "\\\"");
      else if (*v == '\n')
        g_string_append (out, "\\n");
      else
        g_string_append_c (out, *v);
    }
}

/* ---- collecting ----------------------------------------------------------------------- */

static void
collect_device (GPtrArray *out, const gchar *name, const Device *d)
{
  const EfpReading *r = &d->reading;
  g_autofree gchar *model = g_strndup (r->model, sizeof (r->model));
  guint i;

#define DEV(family, value) add_sample (out, family, value, name, d->serial, model, d->decoder)
  if (!isnan (r->soc))
    DEV (F_BATTERY_SOC, format_double (r->soc));
  if (r->grid_connected != EFP_TRISTATE_UNKNOWN)
    DEV (F_GRID_CONNECTED, format_bool (r->grid_connected == EFP_TRISTATE_TRUE));
  DEV (F_ON_BATTERY, format_bool (efp_reading_on_battery (r)));
  if (!isnan (r->input_watts))
    DEV (F_INPUT_WATTS, format_double (r->input_watts));
  if (!isnan (r->output_watts))
    DEV (F_OUTPUT_WATTS, format_double (r->output_watts));
  if (r->remain_minutes >= 0)
    DEV (F_REMAINING_SECONDS, format_int ((gint64) r->remain_minutes * 60));
  if (!isnan (r->temp_celsius))
    DEV (F_TEMPERATURE, format_double (r->temp_celsius));
  DEV (F_STALE, format_bool (d->stale));
  if (d->ts > 0)
    DEV (F_LAST_UPDATE, format_int (d->ts));
#undef DEV

  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      const EfpPack *p = &r->packs[i];
      g_autofree gchar *pack = NULL;
      if (!p->present)
        continue;
      pack = g_strdup_printf ("%u", p->index);
      if (!isnan (p->soc))
        add_sample (out, F_PACK_SOC, format_double (p->soc), name, pack);
      if (!isnan (p->temp_celsius))
        add_sample (out, F_PACK_TEMPERATURE, format_double (p->temp_celsius), name, pack);
      if (p->remain_mah >= 0)
        add_sample (out, F_PACK_REMAIN_MAH, format_int (p->remain_mah), name, pack);
      if (p->full_mah >= 0)
        add_sample (out, F_PACK_FULL_MAH, format_int (p->full_mah), name, pack);
    }
}

static void
collect_counters (GPtrArray *out, GHashTable *table, FamilyId family)
{
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &k, &v))
    add_sample (out, family, g_strdup_printf ("%" G_GUINT64_FORMAT, *(guint64 *) v), k);
}

static GPtrArray *
collect (EfpMetrics *self)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (sample_free);
  GHashTableIter it;
  gpointer k, v;
  guint i;

  add_sample (out, F_BUILD_INFO, g_strdup ("1"), PACKAGE_VERSION);
  add_sample (out, F_MQTT_CONNECTED, format_bool (self->mqtt_connected));
  add_sample (out, F_CLOUD_CONNECTED, format_bool (self->cloud_connected));

  g_hash_table_iter_init (&it, self->devices);
  while (g_hash_table_iter_next (&it, &k, &v))
    collect_device (out, k, v);

  g_hash_table_iter_init (&it, self->policies);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const Policy *p = v;
      for (i = 0; i < G_N_ELEMENTS (policy_states); i++)
        add_sample (out, F_POLICY_STATE, format_bool (g_str_equal (p->phase, policy_states[i])), k,
                    policy_states[i]);
      if (g_str_equal (p->phase, "armed") && p->deadline_us > 0)
        add_sample (out, F_POLICY_DEADLINE, format_us_as_seconds (p->deadline_us), k);
    }

  g_hash_table_iter_init (&it, self->agents);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const Agent *a = v;
      add_sample (out, F_AGENT_ONLINE, format_bool (a->online), k);
      if (a->last_seen_us > 0)
        add_sample (out, F_AGENT_LAST_SEEN, format_us_as_seconds (a->last_seen_us), k);
    }

  g_hash_table_iter_init (&it, self->frames);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const FrameCount *f = v;
      add_sample (out, F_FRAMES, g_strdup_printf ("%" G_GUINT64_FORMAT, f->accepted), k,
                  "accepted");
      add_sample (out, F_FRAMES, g_strdup_printf ("%" G_GUINT64_FORMAT, f->dropped), k, "dropped");
    }
  collect_counters (out, self->commands, F_COMMANDS);
  collect_counters (out, self->events, F_EVENTS);

  g_ptr_array_sort (out, sample_compare);
  return out;
}

gchar *
efp_metrics_render (EfpMetrics *self)
{
  g_autoptr (GPtrArray) samples = collect (self);
  GString *out = g_string_new (NULL);
  gint last = -1;
  guint i, j;

  for (i = 0; i < samples->len; i++)
    {
      const Sample *s = samples->pdata[i];
      const Family *f = &families[s->family];

      if ((gint) s->family != last)
        {
          g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                                  f->type);
          last = (gint) s->family;
        }
      g_string_append (out, f->name);
      for (j = 0; f->labels[j] != NULL; j++)
        {
          g_string_append_c (out, j == 0 ? '{' : ',');
          g_string_append_printf (out, "%s=\"", f->labels[j]);
          append_label_value (out, s->values[j]);
          g_string_append_c (out, '"');
        }
      if (j > 0)
        g_string_append_c (out, '}');
      g_string_append_printf (out, " %s\n", s->value);
    }
  return g_string_free (out, FALSE);
}

/* ---- HTTP ----------------------------------------------------------------------------- */

static void
set_text (SoupServerMessage *msg, guint status, const gchar *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text,
                                    strlen (text));
}

static void
on_request (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  EfpMetrics *self = user_data;
  const gchar *method = soup_server_message_get_method (msg);
  gchar *body;

  /* one request per connection (see on_incoming); say so, so clients do not reuse it */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
                                "close");

  if (g_strcmp0 (path, "/metrics") != 0)
    {
      set_text (msg, SOUP_STATUS_NOT_FOUND, "Not found: the metrics are at /metrics\n");
      return;
    }
  if (g_strcmp0 (method, SOUP_METHOD_GET) != 0 && g_strcmp0 (method, SOUP_METHOD_HEAD) != 0)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "GET, HEAD");
      set_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method not allowed: use GET\n");
      return;
    }
  body = efp_metrics_render (self);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, CONTENT_TYPE, SOUP_MEMORY_TAKE, body, strlen (body));
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void
device_free (gpointer p)
{
  Device *d = p;
  g_free (d->serial);
  g_free (d->decoder);
  g_free (d);
}

static void
policy_free (gpointer p)
{
  Policy *x = p;
  g_free (x->phase);
  g_free (x);
}

static GHashTable *
table_new (GDestroyNotify value_free)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, value_free);
}

EfpMetrics *
efp_metrics_new (const gchar *listen, guint16 port)
{
  EfpMetrics *self = g_new0 (EfpMetrics, 1);

  /* an empty listen= is the safe default, not "every interface" */
  self->listen = g_strdup (listen != NULL && *listen != '\0' ? listen : DEFAULT_LISTEN);
  self->port = port;
  self->idle_timeout_sec = DEFAULT_IDLE_TIMEOUT_SEC;
  self->devices = table_new (device_free);
  self->policies = table_new (policy_free);
  self->agents = table_new (g_free);
  self->frames = table_new (g_free);
  self->commands = table_new (g_free);
  self->events = table_new (g_free);
  return self;
}

EfpMetrics *
efp_metrics_new_from_keyfile (GKeyFile *keyfile, GError **error)
{
  g_autofree gchar *listen = NULL;
  gint64 port = DEFAULT_PORT;

  if (keyfile == NULL || !g_key_file_has_group (keyfile, "metrics"))
    return NULL;
  if (!efp_keyfile_get_int (keyfile, "metrics", "port", DEFAULT_PORT, 1, 65535, &port, error))
    return NULL;
  listen = g_key_file_get_string (keyfile, "metrics", "listen", NULL);
  if (listen != NULL)
    g_strstrip (listen);
  return efp_metrics_new (listen, (guint16) port);
}

/* Our own GSocketService hands connections to the SoupServer: libsoup 3.2.3 (Debian 12)
 * leaks the GSocket of every connection its own listener accepts (fixed in 3.4.0). With
 * no soup listener the server also closes each connection after its response, which
 * avoids the 3.2 leak of keep-alive connections the client closes while idle. */
static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer user_data)
{
  EfpMetrics *self = user_data;
  g_autoptr (GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr (GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr (GError) error = NULL;

  if (local == NULL || remote == NULL)
    return TRUE; /* the peer is gone already */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), self->idle_timeout_sec);
  if (!soup_server_accept_iostream (self->server, G_IO_STREAM (connection), local, remote, &error))
    g_debug ("metrics: connection dropped: %s", error->message);
  return TRUE;
}

static void
log_address (GSocketAddress *effective)
{
  GInetSocketAddress *isa = G_INET_SOCKET_ADDRESS (effective);
  GInetAddress *ia = g_inet_socket_address_get_address (isa);
  g_autofree gchar *host = g_inet_address_to_string (ia);
  gboolean v6 = g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV6;

  g_message ("metrics: Prometheus metrics at http://%s%s%s:%u/metrics", v6 ? "[" : "", host,
             v6 ? "]" : "", g_inet_socket_address_get_port (isa));
}

/* Binds @addr:@port; with port 0, *@port becomes the port the system chose. */
static gboolean
listen_on (EfpMetrics *self, GInetAddress *addr, guint16 *port, GError **error)
{
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (addr, *port);
  g_autoptr (GSocketAddress) effective = NULL;
  g_autofree gchar *text = g_inet_address_to_string (addr);
  g_autoptr (GError) local = NULL;

  if (g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), sa, G_SOCKET_TYPE_STREAM,
                                     G_SOCKET_PROTOCOL_TCP, NULL, &effective, &local))
    {
      *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
      log_address (effective);
      return TRUE;
    }
  /* one line, whatever the socket layer wrote */
  g_strdelimit (local->message, "\r\n", ' ');
  g_set_error (error, local->domain, local->code,
               "[metrics] listen=%s port=%u: cannot listen on %s: %s", self->listen, *port, text,
               local->message);
  return FALSE;
}

static gboolean
listen_everywhere (EfpMetrics *self, guint16 *port, GError **error)
{
  GSocketListener *listener = G_SOCKET_LISTENER (self->service);
  g_autoptr (GError) local = NULL;
  gboolean ok;

  if (*port == 0)
    ok = (*port = g_socket_listener_add_any_inet_port (listener, NULL, &local)) != 0;
  else
    ok = g_socket_listener_add_inet_port (listener, *port, NULL, &local);
  if (!ok)
    {
      g_strdelimit (local->message, "\r\n", ' ');
      g_set_error (error, local->domain, local->code,
                   "[metrics] listen=* port=%u: cannot listen: %s", self->port, local->message);
      return FALSE;
    }
  g_message ("metrics: Prometheus metrics at http://*:%u/metrics (every address)", *port);
  return TRUE;
}

static gboolean
listen_all_addresses (EfpMetrics *self, GError **error)
{
  g_autofree gchar *host = NULL;
  g_autoptr (GInetAddress) literal = NULL;
  g_autoptr (GResolver) resolver = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (GError) first_error = NULL;
  g_autoptr (GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  GList *addrs, *l;
  guint16 port = self->port;
  gboolean any = FALSE;
  gsize len = strlen (self->listen);

  if (g_str_equal (self->listen, "*"))
    {
      if (!listen_everywhere (self, &port, error))
        return FALSE;
      self->bound_port = port;
      return TRUE;
    }
  /* "[::1]" as in a URL is accepted as well as "::1" */
  if (len > 2 && self->listen[0] == '[' && self->listen[len - 1] == ']')
    host = g_strndup (self->listen + 1, len - 2);
  else
    host = g_strdup (self->listen);
  literal = g_inet_address_new_from_string (host);
  if (literal != NULL)
    {
      if (!listen_on (self, literal, &port, error))
        return FALSE;
      self->bound_port = port;
      return TRUE;
    }

  /* a host name: resolved once, at start-up; every address it has is served */
  resolver = g_resolver_get_default ();
  addrs = g_resolver_lookup_by_name (resolver, host, NULL, &local);
  if (addrs == NULL)
    {
      g_strdelimit (local->message, "\r\n", ' ');
      g_set_error (error, local->domain, local->code,
                   "[metrics] listen=%s: expected an address or a host name that resolves: %s",
                   self->listen, local->message);
      return FALSE;
    }
  for (l = addrs; l != NULL; l = l->next)
    {
      gchar *text = g_inet_address_to_string (l->data);
      g_autoptr (GError) one = NULL;

      if (g_ptr_array_find_with_equal_func (seen, text, g_str_equal, NULL))
        {
          g_free (text);
          continue;
        }
      g_ptr_array_add (seen, text);
      /* with port 0 every further address gets the port the first one got */
      if (listen_on (self, l->data, &port, &one))
        any = TRUE;
      else if (first_error == NULL)
        first_error = g_steal_pointer (&one);
      else
        g_debug ("%s", one->message);
    }
  g_resolver_free_addresses (addrs);
  if (!any)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }
  /* e.g. localhost on a host without IPv6: the addresses that work are enough */
  if (first_error != NULL)
    g_warning ("%s", first_error->message);
  self->bound_port = port;
  return TRUE;
}

static void
stop_listening (EfpMetrics *self)
{
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_signal_handlers_disconnect_by_data (self->service, self);
    }
  g_clear_object (&self->service);
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
}

gboolean
efp_metrics_start (EfpMetrics *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (self->server == NULL, FALSE);

  self->server = soup_server_new ("server-header", "ecoflow-powerd/" PACKAGE_VERSION, NULL);
  soup_server_add_handler (self->server, NULL, on_request, self, NULL);
  self->service = g_socket_service_new ();
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  if (!listen_all_addresses (self, error))
    {
      stop_listening (self);
      self->bound_port = 0;
      return FALSE;
    }
  g_socket_service_start (self->service);
  return TRUE;
}

void
efp_metrics_set_idle_timeout (EfpMetrics *self, guint seconds)
{
  g_return_if_fail (self != NULL && seconds > 0);
  self->idle_timeout_sec = seconds;
}

guint16
efp_metrics_get_port (EfpMetrics *self)
{
  return self->bound_port;
}

void
efp_metrics_free (EfpMetrics *self)
{
  if (self == NULL)
    return;
  stop_listening (self);
  g_hash_table_unref (self->devices);
  g_hash_table_unref (self->policies);
  g_hash_table_unref (self->agents);
  g_hash_table_unref (self->frames);
  g_hash_table_unref (self->commands);
  g_hash_table_unref (self->events);
  g_free (self->listen);
  g_free (self);
}

/* ---- updates -------------------------------------------------------------------------- */

void
efp_metrics_update_device (EfpMetrics *self, const EfpReading *reading, const EfpReadingMeta *meta)
{
  Device *d;

  g_return_if_fail (self != NULL && reading != NULL && meta != NULL && meta->device != NULL);
  d = g_new0 (Device, 1);
  d->reading = *reading;
  d->reading.grid_source = NULL; /* not exported; do not keep a pointer we do not own */
  d->serial = g_strdup (meta->serial);
  d->decoder = g_strdup (meta->decoder);
  d->stale = meta->stale;
  d->ts = meta->ts;
  g_hash_table_replace (self->devices, g_strdup (meta->device), d);
}

void
efp_metrics_remove_device (EfpMetrics *self, const gchar *name)
{
  g_return_if_fail (self != NULL && name != NULL);
  g_hash_table_remove (self->devices, name);
  g_hash_table_remove (self->frames, name);
}

void
efp_metrics_update_policy (EfpMetrics *self, const gchar *name, const gchar *phase,
                           gint64 deadline_us)
{
  Policy *p;

  g_return_if_fail (self != NULL && name != NULL);
  p = g_new0 (Policy, 1);
  p->phase = g_strdup (phase != NULL ? phase : "");
  p->deadline_us = deadline_us;
  g_hash_table_replace (self->policies, g_strdup (name), p);
}

void
efp_metrics_remove_policy (EfpMetrics *self, const gchar *name)
{
  g_return_if_fail (self != NULL && name != NULL);
  g_hash_table_remove (self->policies, name);
}

void
efp_metrics_update_agent (EfpMetrics *self, const gchar *id, gboolean online, gint64 last_seen_us)
{
  Agent *a;

  g_return_if_fail (self != NULL && id != NULL);
  a = g_new0 (Agent, 1);
  a->online = online;
  a->last_seen_us = last_seen_us;
  g_hash_table_replace (self->agents, g_strdup (id), a);
}

void
efp_metrics_remove_agent (EfpMetrics *self, const gchar *id)
{
  g_return_if_fail (self != NULL && id != NULL);
  g_hash_table_remove (self->agents, id);
}

void
efp_metrics_set_connected (EfpMetrics *self, gboolean mqtt, gboolean cloud)
{
  g_return_if_fail (self != NULL);
  self->mqtt_connected = mqtt;
  self->cloud_connected = cloud;
}

void
efp_metrics_count_frame (EfpMetrics *self, const gchar *device, gboolean accepted)
{
  FrameCount *f;

  g_return_if_fail (self != NULL && device != NULL);
  f = g_hash_table_lookup (self->frames, device);
  if (f == NULL)
    {
      /* both series appear at once, so rate() sees the first drop */
      f = g_new0 (FrameCount, 1);
      g_hash_table_insert (self->frames, g_strdup (device), f);
    }
  if (accepted)
    f->accepted++;
  else
    f->dropped++;
}

static void
count (GHashTable *table, const gchar *key)
{
  guint64 *n = g_hash_table_lookup (table, key);
  if (n == NULL)
    {
      n = g_new0 (guint64, 1);
      g_hash_table_insert (table, g_strdup (key), n);
    }
  (*n)++;
}

void
efp_metrics_count_command (EfpMetrics *self, const gchar *action)
{
  g_return_if_fail (self != NULL && action != NULL);
  count (self->commands, action);
}

void
efp_metrics_count_event (EfpMetrics *self, const gchar *event)
{
  g_return_if_fail (self != NULL && event != NULL);
  count (self->events, event);
}

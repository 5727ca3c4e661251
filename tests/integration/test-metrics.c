/* test-metrics.c: the Prometheus endpoint over real HTTP on loopback.
 *
 * EfpMetrics serves on 127.0.0.1; the scrapes are made by a SoupSession, by
 * the real curl(1) when it is installed, and the text is checked line by line,
 * by a small parser of the text format 0.0.4 and by promtool(1) when it is on
 * PATH. No proxy is ever used: every request stays on 127.0.0.0/8 (or ::1).
 */
#include "config.h"

#include "efp-metrics.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "efp-plugin-util.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* a device name that needs every escape of the format */
#define ODD_NAME "Rack \"A\"\\B\n2"
#define ODD_LABELS                                                                                 \
  "device=\"Rack \\\"A\\\"\\\\B\\n2\",serial=\"DCEXTRA1\",model=\"\",decoder=\"delta3\""
#define STUDY_LABELS                                                                               \
  "device=\"Study\",serial=\"R631ZEB4WH000001\",model=\"RIVER 3 Plus\",decoder=\"river3\""
#define GROUP_LABELS "device=\"Rack\",serial=\"\",model=\"\",decoder=\"\""

/* ---- HTTP clients --------------------------------------------------------------------- */

typedef struct
{
  guint status;
  gchar *body;
  gchar *content_type;
  gchar *allow;
  gchar *connection;
} Reply;

static void
reply_free (Reply *r)
{
  g_free (r->body);
  g_free (r->content_type);
  g_free (r->allow);
  g_free (r->connection);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

typedef struct
{
  gboolean done;
  GBytes *bytes;
  GError *error;
} Pending;

static gboolean
on_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context (the server lives there) until *@done. */
static void
wait_for (gboolean *done)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (20, on_timeout, &timed_out);
  while (!*done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (timed_out);
  g_source_remove (id);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Pending *p = data;
  p->bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &p->error);
  p->done = TRUE;
}

static Reply *
http (const gchar *method, const gchar *url)
{
  /* no proxy resolver: a proxy from the environment must never see these requests */
  g_autoptr (SoupSession) session = soup_session_new_with_options ("proxy-resolver", NULL, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new (method, url);
  SoupMessageHeaders *h;
  Pending p = { 0 };
  Reply *r = g_new0 (Reply, 1);
  gsize len = 0;
  const gchar *data;

  g_assert_nonnull (msg);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, &p);
  wait_for (&p.done);
  g_assert_no_error (p.error);
  r->status = soup_message_get_status (msg);
  h = soup_message_get_response_headers (msg);
  r->content_type = g_strdup (soup_message_headers_get_one (h, "Content-Type"));
  r->allow = g_strdup (soup_message_headers_get_one (h, "Allow"));
  r->connection = g_strdup (soup_message_headers_get_one (h, "Connection"));
  data = g_bytes_get_data (p.bytes, &len);
  r->body = g_strndup (data != NULL ? data : "", len);
  g_bytes_unref (p.bytes);
  return r;
}

static gchar *
url_for (EfpMetrics *m, const gchar *host, const gchar *path)
{
  return g_strdup_printf ("http://%s:%u%s", host, efp_metrics_get_port (m), path);
}

typedef struct
{
  gboolean done;
  gchar *out;
  gchar *err;
  GError *error;
} CurlRun;

static void
on_curl_done (GObject *source, GAsyncResult *result, gpointer data)
{
  CurlRun *c = data;
  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &c->out, &c->err, &c->error);
  c->done = TRUE;
}

/* curl's stdout; the main loop keeps running so the in-process server can answer. */
static gchar *
run_curl (const gchar *const *args, gint *exit_status)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  CurlRun c = { 0 };
  guint i;

  g_ptr_array_add (argv, "curl");
  g_ptr_array_add (argv, "--silent");
  g_ptr_array_add (argv, "--show-error");
  g_ptr_array_add (argv, "--noproxy");
  g_ptr_array_add (argv, "*");
  g_ptr_array_add (argv, "--max-time");
  g_ptr_array_add (argv, "15");
  for (i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  proc =
    g_subprocess_newv ((const gchar *const *) argv->pdata,
                       G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, on_curl_done, &c);
  wait_for (&c.done);
  g_assert_no_error (c.error);
  if (c.err != NULL && *c.err != '\0')
    g_test_message ("curl: %s", c.err);
  g_free (c.err);
  *exit_status = g_subprocess_get_exit_status (proc);
  return c.out;
}

/* ---- a small parser of the text format 0.0.4 ------------------------------------------ */

typedef struct
{
  gchar *name;
  GPtrArray *label_names;  /* gchar* */
  GPtrArray *label_values; /* gchar*, unescaped */
  gdouble value;
} Parsed;

static void
parsed_free (gpointer p)
{
  Parsed *s = p;
  g_free (s->name);
  g_ptr_array_unref (s->label_names);
  g_ptr_array_unref (s->label_values);
  g_free (s);
}

static gboolean
is_name_char (gchar c, gboolean first, gboolean colon)
{
  return g_ascii_isalpha (c) || c == '_' || (colon && c == ':') || (!first && g_ascii_isdigit (c));
}

static gchar *
parse_name (const gchar **p, gboolean colon)
{
  const gchar *s = *p;
  if (!is_name_char (*s, TRUE, colon))
    return NULL;
  while (is_name_char (**p, *p == s, colon))
    (*p)++;
  return g_strndup (s, *p - s);
}

/* One sample line, or NULL with a reason in @why. */
static Parsed *
parse_sample (const gchar *line, gchar **why)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  const gchar *p = line;
  g_autofree gchar *name = parse_name (&p, TRUE);
  gchar *end = NULL;
  Parsed *s;
  gdouble v;

  if (name == NULL)
    return (*why = g_strdup ("bad metric name"), NULL);
  if (*p == '{')
    {
      p++;
      while (*p != '}')
        {
          gchar *label = parse_name (&p, FALSE);
          GString *value = g_string_new (NULL);
          if (label == NULL || *p != '=' || p[1] != '"')
            {
              g_free (label);
              g_string_free (value, TRUE);
              return (*why = g_strdup ("bad label"), NULL);
            }
          g_ptr_array_add (names, label);
          for (p += 2; *p != '"'; p++)
            {
              if (*p == '\0' || *p == '\n')
                {
                  g_string_free (value, TRUE);
                  return (*why = g_strdup ("unterminated label value"), NULL);
                }
              if (*p == '\\')
                {
                  p++;
                  if (*p == 'n')
                    g_string_append_c (value, '\n');
                  else if (*p == '\\' || *p == '"')
                    g_string_append_c (value, *p);
                  else
                    {
                      g_string_free (value, TRUE);
                      return (*why = g_strdup ("bad escape in a label value"), NULL);
                    }
                }
              else
                g_string_append_c (value, *p);
            }
          g_ptr_array_add (values, g_string_free (value, FALSE));
          p++;
          if (*p == ',')
            p++;
          else if (*p != '}')
            return (*why = g_strdup ("expected , or } after a label"), NULL);
        }
      p++;
    }
  if (*p != ' ')
    return (*why = g_strdup ("expected one space before the value"), NULL);
  p++;
  v = g_ascii_strtod (p, &end);
  if (end == p || *end != '\0')
    return (*why = g_strdup ("the value is not a number (or a timestamp follows)"), NULL);
  if (isnan (v))
    return (*why = g_strdup ("NaN exported: unknown values must be left out"), NULL);
  s = g_new0 (Parsed, 1);
  s->name = g_steal_pointer (&name);
  s->label_names = g_steal_pointer (&names);
  s->label_values = g_steal_pointer (&values);
  s->value = v;
  return s;
}

static gint
compare_parsed (const Parsed *a, const Parsed *b)
{
  gint c = strcmp (a->name, b->name);
  guint i;
  for (i = 0; c == 0 && i < a->label_values->len && i < b->label_values->len; i++)
    c = strcmp (a->label_values->pdata[i], b->label_values->pdata[i]);
  if (c == 0)
    c = (gint) a->label_values->len - (gint) b->label_values->len;
  return c;
}

/* Checks the whole exposition; returns the samples in order. */
static GPtrArray *
check_exposition (const gchar *text)
{
  GPtrArray *samples = g_ptr_array_new_with_free_func (parsed_free);
  g_autoptr (GHashTable) help = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GHashTable) type = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) closed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_auto (GStrv) lines = NULL;
  g_autofree gchar *current = NULL;
  guint i, n;

  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_true (g_str_has_suffix (text, "\n"));
  lines = g_strsplit (text, "\n", -1);
  n = g_strv_length (lines) - 1; /* the text ends with a line feed */
  for (i = 0; i < n; i++)
    {
      const gchar *line = lines[i];
      if (g_str_has_prefix (line, "# HELP ") || g_str_has_prefix (line, "# TYPE "))
        {
          gboolean is_help = line[2] == 'H';
          g_auto (GStrv) parts = g_strsplit (line + 7, " ", 2);
          const gchar *p = parts[0];
          g_autofree gchar *name = parse_name (&p, TRUE);
          g_assert_nonnull (name);
          g_assert_cmpint (*p, ==, '\0');
          g_assert_nonnull (parts[1]);
          /* a family's lines stay together, comments first */
          g_assert_false (g_hash_table_contains (closed, name));
          if (g_strcmp0 (current, name) != 0)
            {
              if (current != NULL)
                g_hash_table_add (closed, g_steal_pointer (&current));
              current = g_strdup (name);
            }
          if (is_help)
            {
              g_assert_false (g_hash_table_contains (help, name));
              g_assert_cmpstr (parts[1], !=, "");
              g_hash_table_add (help, g_strdup (name));
            }
          else
            {
              g_assert_false (g_hash_table_contains (type, name));
              g_assert_true (g_str_equal (parts[1], "gauge") || g_str_equal (parts[1], "counter"));
              g_hash_table_insert (type, g_strdup (name), g_strdup (parts[1]));
            }
        }
      else
        {
          g_autofree gchar *why = NULL;
          Parsed *s = parse_sample (line, &why);
          if (s == NULL)
            g_error ("line %u '%s': %s", i + 1, line, why);
          g_assert_true (g_str_has_prefix (s->name, "ecoflow_"));
          g_assert_cmpstr (s->name, ==, current);
          g_assert_true (g_hash_table_contains (help, s->name));
          g_assert_true (g_hash_table_contains (type, s->name));
          if (g_str_equal (g_hash_table_lookup (type, s->name), "counter"))
            {
              g_assert_true (g_str_has_suffix (s->name, "_total"));
              g_assert_cmpfloat (s->value, >=, 0);
            }
          /* sorted by name and label values: no duplicates, reproducible */
          if (samples->len > 0)
            g_assert_cmpint (compare_parsed (samples->pdata[samples->len - 1], s), <, 0);
          g_ptr_array_add (samples, s);
        }
    }
  return samples;
}

static const Parsed *
find_sample (GPtrArray *samples, const gchar *name, const gchar *label, const gchar *value)
{
  guint i, j;
  for (i = 0; i < samples->len; i++)
    {
      const Parsed *s = samples->pdata[i];
      if (!g_str_equal (s->name, name))
        continue;
      for (j = 0; j < s->label_names->len; j++)
        if (g_str_equal (s->label_names->pdata[j], label) &&
            g_str_equal (s->label_values->pdata[j], value))
          return s;
    }
  return NULL;
}

/* promtool(1) of Prometheus, the real parser and linter, when it is on PATH. */
static void
check_with_promtool (const gchar *text)
{
  g_autofree gchar *promtool = g_find_program_in_path ("promtool");
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;

  if (promtool == NULL)
    {
      g_test_message ("promtool not on PATH: the format is checked by the test's own parser only");
      return;
    }
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                             G_SUBPROCESS_FLAGS_STDERR_MERGE,
                           &error, promtool, "check", "metrics", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, text, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("promtool check metrics: %s", out);
  g_assert_cmpstr (out, ==, "");
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
}

/* The sample lines (comments dropped). */
static gchar *
sample_lines (const gchar *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *out = g_string_new (NULL);
  guint i;
  for (i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '#' && lines[i][0] != '\0')
      g_string_append_printf (out, "%s\n", lines[i]);
  return g_string_free (out, FALSE);
}

/* ---- the data fed in ------------------------------------------------------------------ */

static void
feed (EfpMetrics *m)
{
  EfpReading r;
  EfpReadingMeta meta = { 0 };
  EfpPack *p;

  efp_reading_init (&r);
  r.soc = 65.472;
  r.grid_connected = EFP_TRISTATE_TRUE;
  r.grid_source = "charger";
  r.input_watts = 120.5;
  r.output_watts = 33;
  r.temp_celsius = 25;
  g_strlcpy (r.model, "RIVER 3 Plus", sizeof (r.model));
  /* the slots efp_reading_pack() would claim for packs 0 and 1 */
  p = &r.packs[0];
  p->present = TRUE;
  p->index = 0;
  p->soc = 65;
  p->temp_celsius = 24.5;
  p->remain_mah = 10000;
  p->full_mah = 20000;
  p = &r.packs[1]; /* a pack that reported nothing useful yet */
  p->present = TRUE;
  p->index = 1;
  p->full_mah = 19000;
  meta.device = "Study";
  meta.serial = "R631ZEB4WH000001";
  meta.decoder = "river3";
  meta.ts = 1700000000;
  efp_metrics_update_device (m, &r, &meta);

  efp_reading_init (&r);
  r.soc = 9.5;
  r.grid_connected = EFP_TRISTATE_FALSE;
  r.remain_minutes = 12;
  r.input_watts = 0;
  r.output_watts = 250;
  meta.device = ODD_NAME;
  meta.serial = "DCEXTRA1";
  meta.decoder = "delta3";
  meta.stale = TRUE;
  meta.ts = 1700000100;
  efp_metrics_update_device (m, &r, &meta);

  /* a group: no serial, no decoder, grid unknown, never a frame of its own */
  efp_reading_init (&r);
  r.soc = 50;
  memset (&meta, 0, sizeof (meta));
  meta.device = "Rack";
  efp_metrics_update_device (m, &r, &meta);

  efp_metrics_update_policy (m, "critical", "armed", G_GINT64_CONSTANT (1700000300500000));
  efp_metrics_update_policy (m, "runtime", "idle", 0);
  efp_metrics_update_policy (m, "z\"q", "triggered", 0);
  efp_metrics_update_agent (m, "nas", TRUE, G_GINT64_CONSTANT (1700000050000000));
  efp_metrics_update_agent (m, "pc", FALSE, 0);
  efp_metrics_set_connected (m, TRUE, FALSE);
  efp_metrics_count_frame (m, "Study", TRUE);
  efp_metrics_count_frame (m, "Study", TRUE);
  efp_metrics_count_frame (m, "Study", FALSE);
  efp_metrics_count_frame (m, "Study", TRUE);
  efp_metrics_count_frame (m, ODD_NAME, TRUE);
  efp_metrics_count_command (m, "shutdown");
  efp_metrics_count_command (m, "test");
  efp_metrics_count_command (m, "shutdown");
  efp_metrics_count_event (m, "stale");
  efp_metrics_count_event (m, "grid-lost");
  efp_metrics_count_event (m, "stale");
}

static const gchar expected_samples[] =
  "ecoflow_agent_last_seen_timestamp_seconds{agent=\"nas\"} 1700000050\n"
  "ecoflow_agent_online{agent=\"nas\"} 1\n"
  "ecoflow_agent_online{agent=\"pc\"} 0\n"
  "ecoflow_battery_soc_percent{" GROUP_LABELS "} 50\n"
  "ecoflow_battery_soc_percent{" ODD_LABELS "} 9.5\n"
  "ecoflow_battery_soc_percent{" STUDY_LABELS "} 65.472\n"
  "ecoflow_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"
  "ecoflow_cloud_connected 0\n"
  "ecoflow_commands_total{action=\"shutdown\"} 2\n"
  "ecoflow_commands_total{action=\"test\"} 1\n"
  "ecoflow_events_total{event=\"grid-lost\"} 1\n"
  "ecoflow_events_total{event=\"stale\"} 2\n"
  "ecoflow_frames_total{device=\"Rack \\\"A\\\"\\\\B\\n2\",result=\"accepted\"} 1\n"
  "ecoflow_frames_total{device=\"Rack \\\"A\\\"\\\\B\\n2\",result=\"dropped\"} 0\n"
  "ecoflow_frames_total{device=\"Study\",result=\"accepted\"} 3\n"
  "ecoflow_frames_total{device=\"Study\",result=\"dropped\"} 1\n"
  "ecoflow_grid_connected{" ODD_LABELS "} 0\n"
  "ecoflow_grid_connected{" STUDY_LABELS "} 1\n"
  "ecoflow_input_watts{" ODD_LABELS "} 0\n"
  "ecoflow_input_watts{" STUDY_LABELS "} 120.5\n"
  "ecoflow_last_update_timestamp_seconds{" ODD_LABELS "} 1700000100\n"
  "ecoflow_last_update_timestamp_seconds{" STUDY_LABELS "} 1700000000\n"
  "ecoflow_mqtt_connected 1\n"
  "ecoflow_on_battery{" GROUP_LABELS "} 0\n"
  "ecoflow_on_battery{" ODD_LABELS "} 1\n"
  "ecoflow_on_battery{" STUDY_LABELS "} 0\n"
  "ecoflow_output_watts{" ODD_LABELS "} 250\n"
  "ecoflow_output_watts{" STUDY_LABELS "} 33\n"
  "ecoflow_pack_full_mah{device=\"Study\",pack=\"0\"} 20000\n"
  "ecoflow_pack_full_mah{device=\"Study\",pack=\"1\"} 19000\n"
  "ecoflow_pack_remain_mah{device=\"Study\",pack=\"0\"} 10000\n"
  "ecoflow_pack_soc_percent{device=\"Study\",pack=\"0\"} 65\n"
  "ecoflow_pack_temperature_celsius{device=\"Study\",pack=\"0\"} 24.5\n"
  "ecoflow_policy_deadline_timestamp_seconds{policy=\"critical\"} 1700000300.5\n"
  "ecoflow_policy_state{policy=\"critical\",state=\"armed\"} 1\n"
  "ecoflow_policy_state{policy=\"critical\",state=\"cooldown\"} 0\n"
  "ecoflow_policy_state{policy=\"critical\",state=\"idle\"} 0\n"
  "ecoflow_policy_state{policy=\"critical\",state=\"triggered\"} 0\n"
  "ecoflow_policy_state{policy=\"runtime\",state=\"armed\"} 0\n"
  "ecoflow_policy_state{policy=\"runtime\",state=\"cooldown\"} 0\n"
  "ecoflow_policy_state{policy=\"runtime\",state=\"idle\"} 1\n"
  "ecoflow_policy_state{policy=\"runtime\",state=\"triggered\"} 0\n"
  "ecoflow_policy_state{policy=\"z\\\"q\",state=\"armed\"} 0\n"
  "ecoflow_policy_state{policy=\"z\\\"q\",state=\"cooldown\"} 0\n"
  "ecoflow_policy_state{policy=\"z\\\"q\",state=\"idle\"} 0\n"
  "ecoflow_policy_state{policy=\"z\\\"q\",state=\"triggered\"} 1\n"
  "ecoflow_remaining_seconds{" ODD_LABELS "} 720\n"
  "ecoflow_stale{" GROUP_LABELS "} 0\n"
  "ecoflow_stale{" ODD_LABELS "} 1\n"
  "ecoflow_stale{" STUDY_LABELS "} 0\n"
  "ecoflow_temperature_celsius{" STUDY_LABELS "} 25\n";

static EfpMetrics *
started (const gchar *listen, guint16 port)
{
  g_autoptr (EfpMetrics) m = efp_metrics_new (listen, port);
  g_autoptr (GError) error = NULL;
  g_assert_true (efp_metrics_start (m, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (efp_metrics_get_port (m), !=, 0);
  return g_steal_pointer (&m);
}

/* A port nobody listens on right now. */
static guint16
free_port (void)
{
  g_autoptr (GSocket) s =
    g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_true (g_socket_bind (s, any, TRUE, &error));
  bound = g_socket_get_local_address (s, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* ---- tests ---------------------------------------------------------------------------- */

static void
test_scrape (void)
{
  g_autoptr (EfpMetrics) m = NULL;
  g_autoptr (Reply) r = NULL;
  g_autoptr (GPtrArray) samples = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *lines = NULL;
  g_autofree gchar *rendered = NULL;
  const Parsed *s;

  m = started ("127.0.0.1", free_port ());
  feed (m);
  url = url_for (m, "127.0.0.1", "/metrics");
  r = http ("GET", url);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (r->content_type, ==, CONTENT_TYPE);
  /* one request per connection: nothing is left open between scrapes */
  g_assert_cmpstr (r->connection, ==, "close");
  lines = sample_lines (r->body);
  g_assert_cmpstr (lines, ==, expected_samples);

  /* HELP and TYPE once per family, right before it */
  g_assert_nonnull (strstr (r->body, "# HELP ecoflow_frames_total "));
  g_assert_nonnull (strstr (
    r->body, "# TYPE ecoflow_frames_total counter\n"
             "ecoflow_frames_total{device=\"Rack \\\"A\\\"\\\\B\\n2\",result=\"accepted\"} 1\n"));
  g_assert_nonnull (strstr (r->body,
                            "# TYPE ecoflow_policy_state gauge\n"
                            "ecoflow_policy_state{policy=\"critical\",state=\"armed\"} 1\n"));
  g_assert_nonnull (strstr (r->body, "# TYPE ecoflow_commands_total counter\n"));
  g_assert_nonnull (strstr (r->body, "# TYPE ecoflow_events_total counter\n"));
  g_assert_nonnull (strstr (r->body, "# TYPE ecoflow_battery_soc_percent gauge\n"));
  g_assert_true (g_str_has_prefix (r->body, "# HELP ecoflow_agent_last_seen_timestamp_seconds "));

  samples = check_exposition (r->body);
  g_assert_cmpuint (samples->len, ==, 51);
  /* the escapes come back as the names the daemon has */
  s = find_sample (samples, "ecoflow_battery_soc_percent", "device", ODD_NAME);
  g_assert_nonnull (s);
  g_assert_cmpfloat (s->value, ==, 9.5);
  g_assert_nonnull (find_sample (samples, "ecoflow_policy_state", "policy", "z\"q"));
  check_with_promtool (r->body);

  /* the same text twice: nothing depends on hash order or time */
  rendered = efp_metrics_render (m);
  g_assert_cmpstr (rendered, ==, r->body);
}

static void
test_unknown_omitted (void)
{
  g_autoptr (EfpMetrics) m = started ("127.0.0.1", 0);
  g_autoptr (Reply) r = NULL;
  g_autoptr (Reply) r2 = NULL;
  g_autoptr (GPtrArray) samples = NULL;
  g_autofree gchar *url = url_for (m, "127.0.0.1", "/metrics");
  g_autofree gchar *lines = NULL;
  EfpReading reading;
  EfpReadingMeta meta = { 0 };

  /* nothing fed yet: only what is always known */
  r = http ("GET", url);
  g_assert_cmpuint (r->status, ==, 200);
  lines = sample_lines (r->body);
  g_assert_cmpstr (lines, ==,
                   "ecoflow_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"
                   "ecoflow_cloud_connected 0\n"
                   "ecoflow_mqtt_connected 0\n");
  g_clear_pointer (&lines, g_free);
  g_clear_pointer (&r, reply_free);

  /* a device that knows a little, then forgets it: the series go, no NaN stays */
  efp_reading_init (&reading);
  reading.soc = 40;
  reading.grid_connected = EFP_TRISTATE_TRUE;
  reading.remain_minutes = 90;
  meta.device = "Study";
  meta.serial = "SN1";
  meta.decoder = "river3";
  meta.ts = 1700000000;
  efp_metrics_update_device (m, &reading, &meta);
  efp_metrics_update_policy (m, "critical", "armed", 0); /* armed without a deadline */
  efp_metrics_update_agent (m, "nas", TRUE, 0);
  r = http ("GET", url);
  samples = check_exposition (r->body);
  g_assert_nonnull (find_sample (samples, "ecoflow_battery_soc_percent", "device", "Study"));
  g_assert_nonnull (find_sample (samples, "ecoflow_grid_connected", "device", "Study"));
  g_assert_nonnull (find_sample (samples, "ecoflow_remaining_seconds", "device", "Study"));
  g_assert_null (
    find_sample (samples, "ecoflow_policy_deadline_timestamp_seconds", "policy", "critical"));
  g_assert_null (
    find_sample (samples, "ecoflow_agent_last_seen_timestamp_seconds", "agent", "nas"));
  g_clear_pointer (&samples, g_ptr_array_unref);

  efp_reading_init (&reading);
  meta.stale = TRUE;
  efp_metrics_update_device (m, &reading, &meta);
  efp_metrics_remove_policy (m, "critical");
  efp_metrics_remove_agent (m, "nas");
  r2 = http ("GET", url);
  g_assert_null (strstr (r2->body, "NaN"));
  g_assert_null (strstr (r2->body, "ecoflow_battery_soc_percent"));
  g_assert_null (strstr (r2->body, "ecoflow_grid_connected"));
  g_assert_null (strstr (r2->body, "ecoflow_remaining_seconds"));
  g_assert_null (strstr (r2->body, "ecoflow_input_watts"));
  g_assert_null (strstr (r2->body, "ecoflow_temperature_celsius"));
  g_assert_null (strstr (r2->body, "ecoflow_policy_state"));
  g_assert_null (strstr (r2->body, "ecoflow_agent_online"));
  lines = sample_lines (r2->body);
  g_assert_cmpstr (lines, ==,
                   "ecoflow_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"
                   "ecoflow_cloud_connected 0\n"
                   "ecoflow_last_update_timestamp_seconds{device=\"Study\",serial=\"SN1\","
                   "model=\"\",decoder=\"river3\"} 1700000000\n"
                   "ecoflow_mqtt_connected 0\n"
                   "ecoflow_on_battery{device=\"Study\",serial=\"SN1\",model=\"\","
                   "decoder=\"river3\"} 0\n"
                   "ecoflow_stale{device=\"Study\",serial=\"SN1\",model=\"\","
                   "decoder=\"river3\"} 1\n");
  g_clear_pointer (&lines, g_free);
  samples = check_exposition (r2->body);
  g_clear_pointer (&samples, g_ptr_array_unref);

  efp_metrics_count_frame (m, "Study", FALSE);
  efp_metrics_remove_device (m, "Study");
  lines = efp_metrics_render (m);
  g_assert_null (strstr (lines, "Study"));
}

static void
test_http_errors (void)
{
  g_autoptr (EfpMetrics) m = started ("127.0.0.1", 0);
  const gchar *elsewhere[] = { "/", "/metric", "/metrics/", "/metrics/x", "/favicon.ico" };
  const gchar *methods[] = { "POST", "PUT", "DELETE", "PATCH" };
  g_autofree gchar *url = url_for (m, "127.0.0.1", "/metrics");
  g_autoptr (Reply) head = NULL;
  g_autoptr (Reply) query = NULL;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (elsewhere); i++)
    {
      g_autofree gchar *u = url_for (m, "127.0.0.1", elsewhere[i]);
      g_autoptr (Reply) r = http ("GET", u);
      g_assert_cmpuint (r->status, ==, 404);
      g_assert_null (strstr (r->body, "ecoflow_"));
    }
  for (i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      g_autoptr (Reply) r = http (methods[i], url);
      g_assert_cmpuint (r->status, ==, 405);
      g_assert_cmpstr (r->allow, ==, "GET, HEAD");
      g_assert_null (strstr (r->body, "ecoflow_"));
    }
  head = http ("HEAD", url);
  g_assert_cmpuint (head->status, ==, 200);
  g_assert_cmpstr (head->content_type, ==, CONTENT_TYPE);
  g_assert_cmpstr (head->body, ==, "");
  /* Prometheus may add query parameters; they do not change the path */
  g_clear_pointer (&url, g_free);
  url = url_for (m, "127.0.0.1", "/metrics?name[]=x");
  query = http ("GET", url);
  g_assert_cmpuint (query->status, ==, 200);
}

static void
test_curl (void)
{
  g_autofree gchar *curl = g_find_program_in_path ("curl");
  g_autoptr (EfpMetrics) m = NULL;
  g_autofree gchar *url = NULL;
  g_autofree gchar *missing = NULL;
  g_autofree gchar *headers = NULL;
  g_autofree gchar *body = NULL;
  g_autofree gchar *code = NULL;
  g_autofree gchar *lines = NULL;
  g_autofree gchar *headers_file = NULL;
  g_autoptr (GError) error = NULL;
  gint status = -1;
  gint fd;

  if (curl == NULL)
    {
      g_test_skip ("curl is not installed");
      return;
    }
  m = started ("127.0.0.1", 0);
  feed (m);
  url = url_for (m, "127.0.0.1", "/metrics");
  fd = g_file_open_tmp ("test-metrics-XXXXXX", &headers_file, &error);
  g_assert_no_error (error);
  close (fd);

  {
    const gchar *args[] = { "--dump-header", headers_file, url, NULL };
    body = run_curl (args, &status);
  }
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_file_get_contents (headers_file, &headers, NULL, &error));
  g_assert_no_error (error);
  g_remove (headers_file);
  g_assert_true (g_str_has_prefix (headers, "HTTP/1.1 200"));
  g_assert_nonnull (strstr (headers, "\r\nContent-Type: " CONTENT_TYPE "\r\n"));
  lines = sample_lines (body);
  g_assert_cmpstr (lines, ==, expected_samples);
  g_ptr_array_unref (check_exposition (body));

  {
    const gchar *args[] = { "--output",  "/dev/null", "--write-out", "%{http_code}",
                            "--request", "POST",      url,           NULL };
    code = run_curl (args, &status);
  }
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (code, ==, "405");
  g_clear_pointer (&code, g_free);

  missing = url_for (m, "127.0.0.1", "/nothing-here");
  {
    const gchar *args[] = { "--output", "/dev/null", "--write-out", "%{http_code}", missing, NULL };
    code = run_curl (args, &status);
  }
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (code, ==, "404");
}

static guint
open_fds (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;
  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static gboolean
on_tick (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* A daemon is scraped every few seconds for months: a scrape must leave nothing open. */
static void
test_many_scrapes (void)
{
  g_autoptr (EfpMetrics) m = started ("127.0.0.1", 0);
  g_autofree gchar *url = url_for (m, "127.0.0.1", "/metrics");
  guint before, after = 0, i;

  feed (m);
  {
    g_autoptr (Reply) warm = http ("GET", url); /* first use opens GLib's own helpers */
    g_assert_cmpuint (warm->status, ==, 200);
  }
  before = open_fds ();
  for (i = 0; i < 50; i++)
    {
      g_autoptr (Reply) r = http ("GET", url);
      g_assert_cmpuint (r->status, ==, 200);
      g_assert_cmpuint (strlen (r->body), >, 1000);
    }
  /* closes are noticed by the main loop; give it a moment */
  for (i = 0; i < 100; i++)
    {
      gboolean tick = FALSE;
      after = open_fds ();
      if (after <= before)
        break;
      g_timeout_add (20, on_tick, &tick);
      wait_for (&tick);
    }
  g_assert_cmpuint (after, <=, before);
}

typedef struct
{
  gboolean done;
  gssize n;
  GError *error;
} ReadRun;

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  ReadRun *rr = data;
  rr->n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &rr->error);
  rr->done = TRUE;
}

/* A client that connects and says nothing does not hold its connection for ever. */
static void
test_idle_client (void)
{
  g_autoptr (EfpMetrics) m = efp_metrics_new ("127.0.0.1", 0);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  gchar buf[64];
  ReadRun rr = { 0 };
  gint64 start;

  efp_metrics_set_idle_timeout (m, 1);
  g_assert_true (efp_metrics_start (m, &error));
  g_assert_no_error (error);
  g_socket_client_set_enable_proxy (client, FALSE);
  conn =
    g_socket_client_connect_to_host (client, "127.0.0.1", efp_metrics_get_port (m), NULL, &error);
  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf, sizeof (buf),
                             G_PRIORITY_DEFAULT, NULL, on_read, &rr);
  wait_for (&rr.done); /* fails after 20 s */
  /* closed by the server: end of stream (or a reset), not an answer */
  g_assert_cmpint (rr.n, <=, 0);
  g_clear_error (&rr.error);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC / 2);
}

static void
test_port_in_use (void)
{
  g_autoptr (EfpMetrics) first = started ("127.0.0.1", 0);
  guint16 port = efp_metrics_get_port (first);
  g_autoptr (EfpMetrics) second = efp_metrics_new ("127.0.0.1", port);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *prefix =
    g_strdup_printf ("[metrics] listen=127.0.0.1 port=%u: cannot listen on 127.0.0.1: ", port);
  g_autofree gchar *url = url_for (first, "127.0.0.1", "/metrics");
  g_autoptr (Reply) r = NULL;

  g_assert_false (efp_metrics_start (second, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_null (strchr (error->message, '\n'));
  g_assert_cmpuint (efp_metrics_get_port (second), ==, 0);
  /* the one that has the port keeps serving */
  r = http ("GET", url);
  g_assert_cmpuint (r->status, ==, 200);
}

static gboolean
have_ipv6_loopback (void)
{
  g_autoptr (GSocket) s =
    g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr (GSocketAddress) a = g_inet_socket_address_new (lo, 0);
  return s != NULL && g_socket_bind (s, a, TRUE, NULL);
}

static void
test_addresses (void)
{
  g_autoptr (EfpMetrics) by_name = started ("localhost", 0);
  g_autofree gchar *url = url_for (by_name, "127.0.0.1", "/metrics");
  g_autoptr (Reply) r = http ("GET", url);
  const gchar *v6[] = { "::1", "[::1]" };
  guint i;

  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpstr (r->content_type, ==, CONTENT_TYPE);
  if (!have_ipv6_loopback ())
    {
      g_test_message ("no IPv6 loopback here: ::1 not tried");
      return;
    }
  for (i = 0; i < G_N_ELEMENTS (v6); i++)
    {
      g_autoptr (EfpMetrics) m = started (v6[i], 0);
      g_autofree gchar *u = url_for (m, "[::1]", "/metrics");
      g_autoptr (Reply) r6 = http ("GET", u);
      g_assert_cmpuint (r6->status, ==, 200);
      g_assert_true (g_str_has_prefix (r6->body, "# HELP "));
    }
}

static void
test_keyfile (void)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpMetrics) m = NULL;
  g_autoptr (Reply) r = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *url = NULL;
  guint16 port;

  /* no [metrics] group: nothing is served, and that is not an error */
  g_assert_true (g_key_file_load_from_data (kf, "[mqtt]\nhost=localhost\n", -1, 0, &error));
  g_assert_null (efp_metrics_new_from_keyfile (kf, &error));
  g_assert_no_error (error);

  g_assert_true (g_key_file_load_from_data (kf, "[metrics]\nport=0\n", -1, 0, &error));
  g_assert_null (efp_metrics_new_from_keyfile (kf, &error));
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "[metrics] port: expected an integer 1-65535, found '0'");
  g_clear_error (&error);

  port = free_port ();
  text = g_strdup_printf ("[metrics]\nlisten=127.0.0.1\nport=%u\n", port);
  g_assert_true (g_key_file_load_from_data (kf, text, -1, 0, &error));
  m = efp_metrics_new_from_keyfile (kf, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  g_assert_true (efp_metrics_start (m, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (efp_metrics_get_port (m), ==, port);
  url = g_strdup_printf ("http://127.0.0.1:%u/metrics", port);
  r = http ("GET", url);
  g_assert_cmpuint (r->status, ==, 200);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/scrape", test_scrape);
  g_test_add_func ("/metrics/unknown-omitted", test_unknown_omitted);
  g_test_add_func ("/metrics/http-errors", test_http_errors);
  g_test_add_func ("/metrics/curl", test_curl);
  g_test_add_func ("/metrics/many-scrapes", test_many_scrapes);
  g_test_add_func ("/metrics/idle-client", test_idle_client);
  g_test_add_func ("/metrics/port-in-use", test_port_in_use);
  g_test_add_func ("/metrics/addresses", test_addresses);
  g_test_add_func ("/metrics/keyfile", test_keyfile);
  return g_test_run ();
}

/* ecoflow-simulate: publish simulated station telemetry to the local broker.
 *
 * A scenario is a JSON timeline:
 *   {"device": "SimulatedDevice", "interval_sec": 1,
 *    "steps": [{"name": "normal", "duration_sec": 5,
 *               "state": {"soc": 80, "grid_connected": true, "output_watts": 120}},
 *              {"name": "drain", "duration_sec": 10, "state": {"soc": 12, "grid_connected": false},
 *               "soc_end": 5},
 *              {"name": "silence", "duration_sec": 30, "silent": true},
 *              {"name": "junk", "raw": "not json"}]}
 * Each step publishes its state every interval for its duration (soc moving
 * linearly to soc_end when given); "raw" publishes a payload once; "silent"
 * publishes nothing. Frames go to <prefix>/<device>/data as the simulated
 * decoder's JSON (CONTRACT 4.1).
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "efp-log.h"
#include "efp-mqtt-client.h"
#include "efp-json.h"

#define EXIT_USAGE       64
#define EXIT_DATA        65
#define EXIT_UNAVAILABLE 69

/* The seed's critical power event: normal, grid lost with high SoC (no timer),
 * grid lost with low SoC (timer, then shutdown), power restored (abort). */
#define OUTAGE_TEMPLATE                                                                            \
  "{\"device\":\"SimulatedDevice\",\"interval_sec\":1,\"steps\":["                                 \
  "{\"name\":\"normal\",\"duration_sec\":%d,\"state\":{\"soc\":85,\"grid_connected\":true,"        \
  "\"temp_celsius\":30.0,\"input_watts\":150,\"output_watts\":120,\"remain_minutes\":null}},"      \
  "{\"name\":\"grid lost, high soc\",\"duration_sec\":%d,\"state\":{\"soc\":60,"                   \
  "\"grid_connected\":false,\"temp_celsius\":31.0,\"input_watts\":0,\"output_watts\":120,"         \
  "\"remain_minutes\":45}},"                                                                       \
  "{\"name\":\"grid lost, low soc\",\"duration_sec\":%d,\"state\":{\"soc\":8,"                     \
  "\"grid_connected\":false,\"temp_celsius\":33.0,\"input_watts\":0,\"output_watts\":120,"         \
  "\"remain_minutes\":6}},"                                                                        \
  "{\"name\":\"power restored\",\"duration_sec\":%d,\"state\":{\"soc\":9,"                         \
  "\"grid_connected\":true,\"temp_celsius\":32.0,\"input_watts\":300,\"output_watts\":120,"        \
  "\"remain_minutes\":null}}]}"

typedef struct
{
  GMainLoop *loop;
  EfpMqttClient *mqtt;
  JsonArray *steps;
  gchar *topic;
  guint step;
  gint64 step_started_us;
  gdouble interval_sec;
  gboolean connected;
  gboolean quiet;
  int status;
} Sim;

static gboolean
on_connect_timeout (gpointer data)
{
  Sim *sim = data;
  if (!sim->connected)
    {
      g_printerr ("ecoflow-simulate: cannot reach the MQTT broker\n");
      sim->status = EXIT_UNAVAILABLE;
      g_main_loop_quit (sim->loop);
    }
  return G_SOURCE_REMOVE;
}

static void
publish (Sim *sim, const gchar *payload)
{
  g_autoptr (GError) error = NULL;
  if (!efp_mqtt_client_publish (sim->mqtt, sim->topic, payload, strlen (payload), 1, FALSE, &error))
    g_printerr ("ecoflow-simulate: publish failed: %s\n", error->message);
}

static gchar *
state_json (JsonObject *step, gdouble progress)
{
  JsonObject *state = json_object_get_object_member (step, "state");
  g_autoptr (JsonNode) copy = NULL;
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  JsonObject *o;

  copy = json_node_copy (json_object_get_member (step, "state"));
  o = json_node_get_object (copy);
  if (json_object_has_member (step, "soc_end") && json_object_has_member (state, "soc"))
    {
      gdouble a = json_object_get_double_member (state, "soc");
      gdouble b = json_object_get_double_member (step, "soc_end");
      json_object_set_double_member (o, "soc", round ((a + (b - a) * progress) * 10) / 10);
    }
  json_generator_set_root (gen, copy);
  return json_generator_to_data (gen, NULL);
}

static gboolean tick (gpointer data);

static void
begin_step (Sim *sim)
{
  JsonObject *step;
  if (sim->step >= json_array_get_length (sim->steps))
    {
      g_print ("scenario finished\n");
      g_main_loop_quit (sim->loop);
      return;
    }
  step = json_array_get_object_element (sim->steps, sim->step);
  sim->step_started_us = g_get_monotonic_time ();
  g_print ("step %u: %s\n", sim->step + 1,
           json_object_get_string_member_with_default (step, "name", "(unnamed)"));
  if (json_object_has_member (step, "raw"))
    {
      publish (sim, json_object_get_string_member (step, "raw"));
      sim->step++;
      begin_step (sim);
      return;
    }
  tick (sim);
}

static gboolean
tick (gpointer data)
{
  Sim *sim = data;
  JsonObject *step = json_array_get_object_element (sim->steps, sim->step);
  gdouble duration = json_object_get_double_member_with_default (step, "duration_sec", 0);
  gdouble elapsed = (g_get_monotonic_time () - sim->step_started_us) / 1e6;

  if (elapsed >= duration - 1e-3 && elapsed > 0)
    {
      sim->step++;
      begin_step (sim);
      return G_SOURCE_REMOVE;
    }
  if (!json_object_get_boolean_member_with_default (step, "silent", FALSE))
    {
      g_autofree gchar *json = state_json (step, duration > 0 ? elapsed / duration : 1.0);
      if (!sim->quiet)
        g_print ("  %s\n", json);
      publish (sim, json);
    }
  g_timeout_add ((guint) (MIN (sim->interval_sec, MAX (duration - elapsed, 0.001)) * 1000), tick,
                 sim);
  return G_SOURCE_REMOVE;
}

static void
on_connected (EfpMqttClient *client, gpointer data)
{
  Sim *sim = data;
  if (sim->connected)
    return;
  sim->connected = TRUE;
  begin_step (sim);
}

/* Check the timeline before anything is published: bad input is exit 65. */
static gboolean
validate (JsonNode *root, GError **error)
{
  JsonObject *o;
  JsonNode *steps;
  guint i;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "expected a JSON object");
      return FALSE;
    }
  o = json_node_get_object (root);
  steps = json_object_get_member (o, "steps");
  if (steps == NULL || !JSON_NODE_HOLDS_ARRAY (steps))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "expected a \"steps\" array");
      return FALSE;
    }
  for (i = 0; i < json_array_get_length (json_node_get_array (steps)); i++)
    {
      JsonNode *s = json_array_get_element (json_node_get_array (steps), i);
      JsonObject *so;
      JsonNode *state;
      if (!JSON_NODE_HOLDS_OBJECT (s))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "step %u: expected an object",
                       i + 1);
          return FALSE;
        }
      so = json_node_get_object (s);
      state = json_object_get_member (so, "state");
      if (json_object_has_member (so, "raw"))
        continue;
      if (!json_object_get_boolean_member_with_default (so, "silent", FALSE) &&
          (state == NULL || !JSON_NODE_HOLDS_OBJECT (state)))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "step %u: expected \"state\", \"raw\" or \"silent\"", i + 1);
          return FALSE;
        }
      if (json_object_get_double_member_with_default (so, "duration_sec", -1) < 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "step %u: expected \"duration_sec\" >= 0", i + 1);
          return FALSE;
        }
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree gchar *scenario = NULL;
  g_autofree gchar *serial = NULL;
  g_autofree gchar *format = NULL;
  g_autofree gchar *host = NULL;
  g_autofree gchar *prefix = NULL;
  gint port = 1883, step_sec = 3, critical_sec = 8;
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
    { "scenario", 0, 0, G_OPTION_ARG_FILENAME, &scenario,
      "JSON timeline, or 'outage' (default) for the built-in outage", "FILE" },
    { "serial", 0, 0, G_OPTION_ARG_STRING, &serial,
      "Device serial or name in the topic (default: the scenario's, SimulatedDevice)", "SN" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Payload format: json (default)", "json" },
    { "host", 0, 0, G_OPTION_ARG_STRING, &host, "Broker host (default localhost)", "HOST" },
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "Broker port (default 1883)", "PORT" },
    { "prefix", 0, 0, G_OPTION_ARG_STRING, &prefix, "Raw topic prefix (default bridge-ecoflow)",
      "PREFIX" },
    { "step-sec", 0, 0, G_OPTION_ARG_INT, &step_sec,
      "outage: length of the normal, high-SoC and restored phases (default 3)", "N" },
    { "critical-sec", 0, 0, G_OPTION_ARG_INT, &critical_sec,
      "outage: length of the low-SoC phase; make it longer than debounce-sec (default 8)", "N" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Do not print each frame", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- publish simulated EcoFlow telemetry");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree gchar *text = NULL;
  g_autofree gchar *client_id = NULL;
  JsonObject *root;
  EfpMqttOptions o = { 0 };
  Sim sim = { 0 };

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("ecoflow-simulate: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (argc > 1 || port < 1 || port > 65535 || step_sec < 0 || critical_sec < 0 ||
      (format != NULL && !g_str_equal (format, "json")))
    {
      g_printerr ("ecoflow-simulate: bad arguments (see --help; --format takes json)\n");
      return EXIT_USAGE;
    }
  efp_log_setup (0, FALSE);
  if (scenario == NULL || g_str_equal (scenario, "outage"))
    text = g_strdup_printf (OUTAGE_TEMPLATE, step_sec, step_sec, critical_sec, step_sec);
  else if (!g_file_get_contents (scenario, &text, NULL, &error))
    {
      g_printerr ("ecoflow-simulate: %s\n", error->message);
      return EXIT_DATA;
    }
  if (!efp_json_load (parser, text, -1, &error) ||
      !validate (json_parser_get_root (parser), &error))
    {
      g_printerr ("ecoflow-simulate: %s: %s\n", scenario != NULL ? scenario : "outage",
                  error->message);
      return EXIT_DATA;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  sim.steps = json_object_get_array_member (root, "steps");
  sim.interval_sec = json_object_get_double_member_with_default (root, "interval_sec", 1.0);
  if (sim.interval_sec <= 0)
    sim.interval_sec = 1.0;
  sim.quiet = quiet;
  sim.topic = g_strdup_printf ("%s/%s/data", prefix != NULL ? prefix : "bridge-ecoflow",
                               serial != NULL ? serial
                                              : json_object_get_string_member_with_default (
                                                  root, "device", "SimulatedDevice"));

  client_id = g_strdup_printf ("ecoflow-simulate-%d", (int) getpid ());
  o.host = host != NULL ? host : "localhost";
  o.port = (guint16) port;
  o.client_id = client_id;
  o.clean_session = TRUE;
  o.backoff_initial_ms = 500;
  o.backoff_max_ms = 1000;
  sim.mqtt = efp_mqtt_client_new (&o, &error);
  if (sim.mqtt == NULL)
    {
      g_printerr ("ecoflow-simulate: %s\n", error->message);
      return EXIT_UNAVAILABLE;
    }
  sim.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (sim.mqtt, "connected", G_CALLBACK (on_connected), &sim);
  g_timeout_add_seconds (5, on_connect_timeout, &sim);
  efp_mqtt_client_start (sim.mqtt);
  g_print ("publishing to %s on %s:%d\n", sim.topic, o.host, port);
  g_main_loop_run (sim.loop);
  efp_mqtt_client_stop (sim.mqtt);
  g_object_unref (sim.mqtt);
  g_main_loop_unref (sim.loop);
  g_free (sim.topic);
  return sim.status;
}

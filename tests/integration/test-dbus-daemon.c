/* test-dbus-daemon.c: the real ecoflow-powerd on a private system bus.
 *
 * A real mosquitto, the built daemon with --system-bus, simulated frames
 * published with mosquitto_pub; busctl and ecoflow-powerctl read what the
 * daemon serves, and it must be what the daemon publishes on MQTT.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "efp-test-broker.h"
#include "efp-test-daemon.h"
#include "test-dbus-fixture.h"

#define NAME        "io.github.EcoflowPower1"
#define ROOT        "/io/github/EcoflowPower1"
#define STUDY       ROOT "/Device/Study_Room"
#define RAW_TOPIC   "bridge-ecoflow/SIMSTUDY01/data"
#define STATE_TOPIC "bridge-ecoflow/Study Room/json/state"

static EfpTestBus *bus;
static EfpTestBroker *broker;
static EfpTestDaemon *daemon_;
static guint16 port;
static gchar *address_arg;

static gchar *
get_property (const gchar *path, const gchar *iface, const gchar *prop)
{
  const gchar *argv[] = { "busctl", address_arg, "get-property", NAME, path, iface, prop, NULL };
  g_autofree gchar *out = NULL;

  if (efp_test_run (argv, FALSE, &out, NULL) != 0)
    return NULL;
  return g_strdup (g_strstrip (out));
}

/* Poll until @prop reads @want (busctl syntax, e.g. "b true"); FALSE on timeout. */
static gboolean
wait_property (const gchar *path, const gchar *iface, const gchar *prop, const gchar *want,
               guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autofree gchar *last = NULL;

  while (g_get_monotonic_time () < end)
    {
      g_free (last);
      last = get_property (path, iface, prop);
      if (g_strcmp0 (last, want) == 0)
        return TRUE;
      g_usleep (100 * 1000);
    }
  g_test_message ("%s %s: wanted '%s', last '%s'", path, prop, want, last);
  return FALSE;
}

static void
publish_frame (gdouble soc, gboolean grid)
{
  g_autofree gchar *payload = g_strdup_printf (
    "{\"soc\": %g, \"grid_connected\": %s, \"temp_celsius\": 30.5, \"input_watts\": 0, "
    "\"output_watts\": 120, \"remain_minutes\": %d}",
    soc, grid ? "true" : "false", (int) (soc * 2));
  g_assert_true (efp_test_publish (port, RAW_TOPIC, payload));
}

static void
test_objects_from_config (void)
{
  const gchar *argv[] = { "busctl", address_arg, "tree", "--list", NAME, NULL };
  g_autofree gchar *out = NULL;
  g_auto (GStrv) lines = NULL;

  /* configured devices, policies and agents exist from start-up, before any frame */
  g_assert_cmpint (efp_test_run (argv, FALSE, &out, NULL), ==, 0);
  g_test_message ("%s", out);
  lines = g_strsplit (out, "\n", -1);
  g_assert_true (g_strv_contains ((const gchar *const *) lines, STUDY));
  g_assert_true (g_strv_contains ((const gchar *const *) lines, ROOT "/Policy/critical"));
  g_assert_true (g_strv_contains ((const gchar *const *) lines, ROOT "/Agent/nas_1"));
  g_assert_true (wait_property (ROOT, NAME ".Manager", "MqttConnected", "b true", 10000));
}

static void
test_device_drains (void)
{
  g_autofree gchar *name = NULL;
  g_autofree gchar *serial = NULL;
  g_autofree gchar *decoder = NULL;
  gdouble soc, previous = 101;
  guint i, reads = 0;

  for (i = 0; i < 10; i++)
    {
      g_autofree gchar *v = NULL;

      publish_frame (60 - i, FALSE);
      g_usleep (300 * 1000);
      v = get_property (STUDY, NAME ".Device", "StateOfCharge");
      g_assert_nonnull (v);
      if (!g_str_has_prefix (v, "d ") || g_str_equal (v, "d nan"))
        continue;
      soc = g_ascii_strtod (v + 2, NULL);
      g_test_message ("published %u, StateOfCharge %s", 60 - i, v);
      g_assert_cmpfloat (soc, <=, previous);
      g_assert_cmpfloat (soc, >=, 60 - i);
      previous = soc;
      reads++;
    }
  g_assert_cmpuint (reads, >=, 5);
  /* the last frame shows once the at-most-once-a-second window has passed */
  g_assert_true (wait_property (STUDY, NAME ".Device", "StateOfCharge", "d 51", 3000));
  g_assert_true (wait_property (STUDY, NAME ".Device", "OnBattery", "b true", 1000));
  g_assert_true (wait_property (STUDY, NAME ".Device", "GridConnected", "b false", 1000));
  g_assert_true (wait_property (STUDY, NAME ".Device", "RemainingMinutes", "i 102", 1000));
  g_assert_true (wait_property (STUDY, NAME ".Device", "Stale", "b false", 1000));
  name = get_property (STUDY, NAME ".Device", "Name");
  g_assert_cmpstr (name, ==, "s \"Study Room\"");
  serial = get_property (STUDY, NAME ".Device", "Serial");
  g_assert_cmpstr (serial, ==, "s \"SIMSTUDY01\"");
  decoder = get_property (STUDY, NAME ".Device", "Decoder");
  g_assert_cmpstr (decoder, ==, "s \"simulated\"");
}

static JsonNode *
parse (const gchar *text)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static void
test_ctl_matches_mqtt (void)
{
  g_autofree gchar *ctl = efp_test_build_path ("daemon/ctl/ecoflow-powerctl");
  const gchar *argv[] = { ctl, "--json", "devices", NULL };
  g_autofree gchar *out = NULL;
  g_autofree gchar *retained = NULL;
  g_autoptr (JsonNode) devices = NULL;
  g_autoptr (JsonNode) state = NULL;
  JsonArray *a;
  JsonNode *study = NULL;
  guint i;

  /* nothing new arrives now; give the last frame its second to reach the bus */
  g_usleep (1500 * 1000);
  g_assert_cmpint (efp_test_run (argv, FALSE, &out, NULL), ==, 0);
  retained = efp_test_get_retained (port, STATE_TOPIC);
  g_assert_nonnull (retained);
  g_test_message ("ecoflow-powerctl: %s\nMQTT: %s", out, retained);
  devices = parse (out);
  a = json_node_get_array (devices);
  for (i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (g_strcmp0 (json_object_get_string_member (o, "device"), "Study Room") == 0)
        study = json_array_get_element (a, i);
    }
  g_assert_nonnull (study);
  /* the retained MQTT message is "topic payload" */
  state = parse (strchr (retained, '{'));
  g_assert_true (json_node_equal (study, state));
}

typedef struct
{
  GVariant *shutdown;
} Issued;

static void
on_issued (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
           const gchar *member, GVariant *args, gpointer user_data)
{
  Issued *is = user_data;
  if (is->shutdown == NULL)
    is->shutdown = g_variant_ref (args);
}

static void
test_policy_and_shutdown_signal (void)
{
  GDBusConnection *c = efp_test_bus_connection (bus);
  const gchar *topics[] = { "power-manager/nas-1/cmd", NULL };
  g_autoptr (EfpTestSub) sub = efp_test_sub_new (port, topics);
  Issued is = { NULL };
  gint64 end;
  guint id;
  g_autofree gchar *deadline = NULL;
  g_autofree gchar *cmd = NULL;
  g_autofree gchar *expected_id = NULL;
  const gchar *policy, *device, *command_id;
  g_autofree const gchar **agents = NULL;

  id = g_dbus_connection_signal_subscribe (c, NAME, NAME ".Manager", "ShutdownIssued", ROOT, NULL,
                                           G_DBUS_SIGNAL_FLAGS_NONE, on_issued, &is, NULL);
  publish_frame (5, FALSE);
  g_assert_true (
    wait_property (ROOT "/Policy/critical", NAME ".Policy", "State", "s \"armed\"", 5000));
  deadline = get_property (ROOT "/Policy/critical", NAME ".Policy", "Deadline");
  g_assert_true (g_str_has_prefix (deadline, "t "));
  g_assert_cmpint (g_ascii_strtoll (deadline + 2, NULL, 10), >, g_get_real_time ());

  /* keep the station low until the debounce (2 s) fires */
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (is.shutdown == NULL && g_get_monotonic_time () < end)
    {
      publish_frame (5, FALSE);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200 * 1000);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  g_dbus_connection_signal_unsubscribe (c, id);
  g_assert_nonnull (is.shutdown);
  g_variant_get (is.shutdown, "(&s&s^a&s&s)", &policy, &device, &agents, &command_id);
  g_assert_cmpstr (policy, ==, "critical");
  g_assert_cmpstr (device, ==, "Study Room");
  g_assert_cmpuint (g_strv_length ((gchar **) agents), ==, 1);
  g_assert_cmpstr (agents[0], ==, "nas-1");
  /* the signal names the command that went out on MQTT */
  cmd = efp_test_sub_wait (sub, "power-manager/nas-1/cmd *", 5000);
  g_assert_nonnull (cmd);
  expected_id = g_strdup_printf ("\"id\":\"%s\"", command_id);
  g_assert_nonnull (strstr (cmd, expected_id));
  g_assert_true (
    wait_property (ROOT "/Policy/critical", NAME ".Policy", "State", "s \"triggered\"", 3000));
  g_variant_unref (is.shutdown);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *conf = NULL;
  const gchar *extra[] = { "--system-bus", NULL };
  int status;

  g_test_init (&argc, &argv, NULL);
  bus = efp_test_bus_new (&error);
  g_assert_no_error (error);
  address_arg = g_strdup_printf ("--address=%s", efp_test_bus_get_address (bus));
  broker = efp_test_broker_new ();
  g_assert_true (efp_test_broker_start (broker, &error));
  g_assert_no_error (error);
  port = efp_test_broker_get_port (broker);

  conf = g_strdup_printf ("[mqtt]\nhost=127.0.0.1\nport=%u\n"
                          "[device:Study Room]\nserial=SIMSTUDY01\ndecoder=simulated\n"
                          "agents=nas-1\n"
                          "[agent:nas-1]\n"
                          "[policy:critical]\nmodule=critical-soc\nsoc-min=10\ndebounce-sec=2\n"
                          "cooldown-sec=60\nabort-window-sec=30\n",
                          port);
  daemon_ = efp_test_daemon_new (conf);
  /* the daemon inherits DBUS_SYSTEM_BUS_ADDRESS: the private bus */
  g_assert_true (efp_test_daemon_start (daemon_, extra, &error));
  g_assert_no_error (error);
  g_assert_true (efp_test_bus_wait_name (bus, NAME, TRUE, 10000));

  g_test_add_func ("/dbus-daemon/objects-from-config", test_objects_from_config);
  g_test_add_func ("/dbus-daemon/device-drains", test_device_drains);
  g_test_add_func ("/dbus-daemon/ctl-matches-mqtt", test_ctl_matches_mqtt);
  g_test_add_func ("/dbus-daemon/policy-and-shutdown-signal", test_policy_and_shutdown_signal);
  status = g_test_run ();

  efp_test_daemon_stop (daemon_);
  g_clear_pointer (&daemon_, efp_test_daemon_free);
  g_clear_pointer (&broker, efp_test_broker_free);
  g_clear_pointer (&bus, efp_test_bus_free);
  g_free (address_arg);
  return status;
}

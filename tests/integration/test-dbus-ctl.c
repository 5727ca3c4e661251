/* test-dbus-ctl.c: ecoflow-powerctl against the real EfpDbusService.
 *
 * Same private bus and simulated station as test-dbus-service.c; here every
 * check runs the built ecoflow-powerctl and parses what it prints.
 */
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "test-dbus-fixture.h"

#define NAME "io.github.EcoflowPower1"

static EfpTestBus *bus;
static GSubprocess *server;
static gchar *ctl_path;

/* ecoflow-powerctl ARGS...; returns the exit status. */
static gint
ctl (gboolean as_nobody, gchar **out, gchar **err, ...)
{
  const gchar *head[] = { ctl_path, NULL };
  va_list ap;
  gint status;

  va_start (ap, err);
  status = efp_test_run_valist (head, as_nobody, out, err, ap);
  va_end (ap);
  return status;
}

static JsonNode *
ctl_json (const gchar *command)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;

  g_assert_cmpint (ctl (FALSE, &out, &err, "--json", command, NULL), ==, 0);
  g_test_message ("%s --json:\n%s", command, out);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

static JsonObject *
find_by (JsonArray *a, const gchar *key, const gchar *value)
{
  guint i;

  for (i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);
      if (g_strcmp0 (json_object_get_string_member_with_default (o, key, ""), value) == 0)
        return o;
    }
  g_test_message ("no %s=%s", key, value);
  g_assert_not_reached ();
  return NULL;
}

/* The members of @o are exactly @keys, in this order. */
static void
assert_keys (JsonObject *o, const gchar *const *keys)
{
  g_autoptr (GList) members = json_object_get_members (o);
  GList *l;
  guint i = 0;

  for (l = members; l != NULL; l = l->next, i++)
    {
      g_assert_nonnull (keys[i]);
      g_assert_cmpstr (l->data, ==, keys[i]);
    }
  g_assert_null (keys[i]);
}

static gboolean
member_is_null (JsonObject *o, const gchar *key)
{
  JsonNode *n = json_object_get_member (o, key);
  return n != NULL && JSON_NODE_HOLDS_NULL (n);
}

/* ---- tests ---- */

static void
test_devices_json (void)
{
  const gchar *keys[] = { "device",
                          "soc",
                          "grid_connected",
                          "temp_celsius",
                          "serial",
                          "model",
                          "decoder",
                          "on_battery",
                          "input_watts",
                          "output_watts",
                          "remain_minutes",
                          "packs",
                          "grid_source",
                          "stale",
                          "ts",
                          NULL };
  const gchar *pack_keys[] = { "index",      "soc", "temp_celsius", "design_mah", "full_mah",
                               "remain_mah", NULL };
  g_autoptr (JsonNode) root = ctl_json ("devices");
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  JsonArray *devices, *packs;
  JsonObject *study, *garage, *pack;

  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  devices = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (devices), ==, 2);
  study = find_by (devices, "device", "Study Room");
  garage = find_by (devices, "device", "garage/shed");
  assert_keys (study, keys);
  assert_keys (garage, keys);

  g_assert_cmpfloat (json_object_get_double_member (study, "soc"), <=, 80.0);
  g_assert_cmpfloat (json_object_get_double_member (study, "soc"), >, 0.0);
  g_assert_false (json_object_get_boolean_member (study, "grid_connected"));
  g_assert_true (json_object_get_boolean_member (study, "on_battery"));
  g_assert_cmpfloat (json_object_get_double_member (study, "temp_celsius"), ==, 31.5);
  g_assert_cmpstr (json_object_get_string_member (study, "serial"), ==, "R631ZEB4WH000001");
  g_assert_cmpstr (json_object_get_string_member (study, "model"), ==, "RIVER 3 Plus");
  g_assert_cmpstr (json_object_get_string_member (study, "decoder"), ==, "simulated");
  g_assert_cmpint (json_object_get_int_member (study, "input_watts"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (study, "output_watts"), ==, 120);
  g_assert_cmpint (json_object_get_int_member (study, "remain_minutes"), >, 0);
  g_assert_cmpstr (json_object_get_string_member (study, "grid_source"), ==, "simulated");
  g_assert_false (json_object_get_boolean_member (study, "stale"));
  g_assert_cmpint (json_object_get_int_member (study, "ts"), >=, now - 5);
  g_assert_cmpint (json_object_get_int_member (study, "ts"), <=, now + 1);
  packs = json_object_get_array_member (study, "packs");
  g_assert_cmpuint (json_array_get_length (packs), ==, 1);
  pack = json_array_get_object_element (packs, 0);
  assert_keys (pack, pack_keys);
  g_assert_cmpint (json_object_get_int_member (pack, "index"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (pack, "design_mah"), ==, 10000);
  g_assert_cmpint (json_object_get_int_member (pack, "full_mah"), ==, 9500);

  /* unknown values are null, not 0 or "" */
  g_assert_true (json_object_get_boolean_member (garage, "grid_connected"));
  g_assert_false (json_object_get_boolean_member (garage, "on_battery"));
  g_assert_true (json_object_get_boolean_member (garage, "stale"));
  g_assert_cmpint (json_object_get_int_member (garage, "soc"), ==, 100);
  g_assert_true (member_is_null (garage, "serial"));
  g_assert_true (member_is_null (garage, "model"));
  g_assert_true (member_is_null (garage, "decoder"));
  g_assert_true (member_is_null (garage, "temp_celsius"));
  g_assert_true (member_is_null (garage, "remain_minutes"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (garage, "packs")), ==, 0);
  g_assert_cmpint (json_object_get_int_member (garage, "ts"), <=, now - 590);
}

static void
test_policies_json (void)
{
  const gchar *keys[] = { "Name", "Module", "State", "Deadline", "Devices", NULL };
  const gchar *const states[] = { "idle", "armed", "triggered", "cooldown", NULL };
  g_autoptr (JsonNode) root = ctl_json ("policies");
  JsonArray *policies = json_node_get_array (root);
  JsonObject *critical, *guard;
  JsonArray *devices;

  g_assert_cmpuint (json_array_get_length (policies), ==, 2);
  critical = find_by (policies, "Name", "critical");
  guard = find_by (policies, "Name", "runtime-guard");
  assert_keys (critical, keys);
  g_assert_cmpstr (json_object_get_string_member (critical, "Module"), ==, "critical-soc");
  g_assert_true (g_strv_contains (states, json_object_get_string_member (critical, "State")));
  devices = json_object_get_array_member (critical, "Devices");
  g_assert_cmpuint (json_array_get_length (devices), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (devices, 0), ==, "Study Room");
  g_assert_cmpstr (json_object_get_string_member (guard, "State"), ==, "idle");
  g_assert_cmpint (json_object_get_int_member (guard, "Deadline"), ==, 0);
}

static void
test_agents_json (void)
{
  const gchar *keys[] = { "Id", "Online", "LastSeen", "LastCommandId", "LastResult", NULL };
  g_autoptr (JsonNode) root = ctl_json ("agents");
  JsonArray *agents = json_node_get_array (root);
  JsonObject *nas, *pc;

  g_assert_cmpuint (json_array_get_length (agents), ==, 2);
  nas = find_by (agents, "Id", "nas-1");
  pc = find_by (agents, "Id", "pc.office");
  assert_keys (nas, keys);
  g_assert_true (json_object_get_boolean_member (nas, "Online"));
  g_assert_cmpint (json_object_get_int_member (nas, "LastSeen"), >,
                   g_get_real_time () - 10 * G_USEC_PER_SEC);
  g_assert_false (json_object_get_boolean_member (pc, "Online"));
  g_assert_cmpint (json_object_get_int_member (pc, "LastSeen"), ==, 0);
}

static void
test_events_json (void)
{
  const gchar *keys[] = { "ts", "device", "policy", "event", "detail", NULL };
  const gchar *const kinds[] = { "timer-start",   "timer-abort", "shutdown-triggered",
                                 "abort-sent",    "stale",       "grid-lost",
                                 "grid-restored", "wol-sent",    NULL };
  gint64 end = g_get_monotonic_time () + 8 * G_USEC_PER_SEC;
  g_autoptr (JsonNode) root = NULL;
  JsonArray *events;
  JsonObject *first;
  guint i;

  /* the simulated policy starts its first timer 2 s after start-up */
  for (;;)
    {
      g_clear_pointer (&root, json_node_unref);
      root = ctl_json ("events");
      g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
      if (json_array_get_length (json_node_get_array (root)) > 0 || g_get_monotonic_time () > end)
        break;
      efp_test_spin (500);
    }
  events = json_node_get_array (root);
  g_assert_cmpuint (json_array_get_length (events), >, 0);
  for (i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = json_array_get_object_element (events, i);
      assert_keys (e, keys);
      g_assert_true (g_strv_contains (kinds, json_object_get_string_member (e, "event")));
    }
  first = json_array_get_object_element (events, 0);
  g_assert_cmpstr (json_object_get_string_member (first, "event"), ==, "timer-start");
  g_assert_cmpstr (json_object_get_string_member (first, "device"), ==, "Study Room");
  g_assert_cmpstr (json_object_get_string_member (first, "policy"), ==, "critical");
  g_assert_cmpint (json_object_get_int_member (first, "ts"), >,
                   g_get_real_time () / G_USEC_PER_SEC - 60);
}

static void
test_status_json (void)
{
  g_autoptr (JsonNode) root = ctl_json ("status");
  JsonObject *o = json_node_get_object (root);
  JsonObject *manager = json_object_get_object_member (o, "manager");

  g_assert_nonnull (manager);
  g_assert_true (json_object_has_member (manager, "Version"));
  g_assert_true (json_object_get_boolean_member (manager, "MqttConnected"));
  g_assert_false (json_object_get_boolean_member (manager, "CloudConnected"));
  g_assert_true (json_object_get_boolean_member (manager, "DryRun"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "devices")), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "policies")), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "agents")), ==, 2);
}

static void
test_status_text (void)
{
  gint64 end = g_get_monotonic_time () + 8 * G_USEC_PER_SEC;
  g_autofree gchar *out = NULL;
  const gchar *words[] = { "Study Room", "garage/shed", "BATTERY",      "grid",          "120 W",
                           "STALE",      "critical",    "critical-soc", "runtime-guard", "nas-1",
                           "online",     "pc.office",   "never seen",   "DRY RUN",       NULL };
  guint i;

  g_assert_cmpint (ctl (FALSE, &out, NULL, NULL), ==, 0);
  g_test_message ("%s", out);
  for (i = 0; words[i] != NULL; i++)
    {
      g_test_message ("expecting '%s'", words[i]);
      g_assert_nonnull (strstr (out, words[i]));
    }
  /* a SoC bar with its percentage: "[########--]  78%" */
  g_assert_true (g_regex_match_simple ("Study Room\\s+\\[#+-*\\]\\s+\\d+%", out, 0, 0));
  g_assert_true (g_regex_match_simple ("garage/shed\\s+\\[##########\\]\\s+100%", out, 0, 0));
  g_assert_true (
    g_regex_match_simple ("BATTERY\\s+0 W\\s+120 W\\s+(\\d+h \\d\\dm|\\d+ min)", out, 0, 0));
  g_assert_true (g_regex_match_simple ("\\d+s ago", out, 0, 0));

  /* while the policy is armed, its deadline counts down */
  while (g_get_monotonic_time () < end)
    {
      g_clear_pointer (&out, g_free);
      g_assert_cmpint (ctl (FALSE, &out, NULL, "status", NULL), ==, 0);
      if (g_regex_match_simple ("critical\\s+critical-soc\\s+armed\\s+in 0:0[0-2]", out, 0, 0))
        break;
      efp_test_spin (300);
    }
  g_test_message ("%s", out);
  g_assert_true (
    g_regex_match_simple ("critical\\s+critical-soc\\s+armed\\s+in 0:0[0-2]", out, 0, 0));
}

static gchar *
run_monitor (gboolean json, guint ms)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = NULL;
  const gchar *argv[] = { ctl_path, "monitor", json ? "--json" : NULL, NULL };
  g_autoptr (GSubprocess) monitor = efp_test_bus_spawn (bus, argv, TRUE, &error);

  g_assert_no_error (error);
  efp_test_spin (ms);
  g_subprocess_send_signal (monitor, SIGINT);
  g_assert_true (g_subprocess_communicate_utf8 (monitor, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  /* interrupted is a normal end */
  g_assert_true (g_subprocess_get_if_exited (monitor));
  g_assert_cmpint (g_subprocess_get_exit_status (monitor), ==, 0);
  return g_steal_pointer (&out);
}

static void
test_monitor_text (void)
{
  g_autofree gchar *out = run_monitor (FALSE, 2500);

  g_test_message ("%s", out);
  g_assert_true (g_regex_match_simple ("Device/Study_Room .*StateOfCharge=\\d", out, 0, 0));
}

static void
test_monitor_json (void)
{
  g_autofree gchar *out = run_monitor (TRUE, 2500);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint i, changes = 0;

  for (i = 0; lines[i] != NULL; i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      JsonObject *o;

      if (*lines[i] == '\0')
        continue;
      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      o = json_node_get_object (json_parser_get_root (parser));
      g_assert_true (json_object_has_member (o, "signal"));
      g_assert_true (json_object_has_member (o, "path"));
      if (g_str_equal (json_object_get_string_member (o, "signal"), "PropertiesChanged") &&
          g_str_equal (json_object_get_string_member (o, "path"),
                       "/io/github/EcoflowPower1/Device/Study_Room"))
        changes++;
    }
  g_assert_cmpuint (changes, >=, 1);
}

static void
test_test_agent (void)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;

  g_assert_cmpint (ctl (FALSE, &out, &err, "test-agent", "nas-1", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "test-"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* an unprivileged caller is refused: EX_NOPERM */
  g_assert_cmpint (ctl (TRUE, &out, &err, "test-agent", "nas-1", NULL), ==, 77);
  g_test_message ("%s", err);
  g_assert_true (g_str_has_prefix (err, "ecoflow-powerctl: TestAgent: "));
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (ctl (FALSE, &out, &err, "test-agent", "no-such-agent", NULL), ==, 65);
  g_assert_nonnull (strstr (err, "no-such-agent"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (ctl (TRUE, NULL, &err, "reload", NULL), ==, 77);
}

static void
test_usage (void)
{
  g_assert_cmpint (ctl (FALSE, NULL, NULL, "bogus", NULL), ==, 64);
  g_assert_cmpint (ctl (FALSE, NULL, NULL, "test-agent", NULL), ==, 64);
  g_assert_cmpint (ctl (FALSE, NULL, NULL, "devices", "extra", NULL), ==, 64);
  g_assert_cmpint (ctl (FALSE, NULL, NULL, "--json", "test-agent", "nas-1", NULL), ==, 64);
  g_assert_cmpint (ctl (FALSE, NULL, NULL, "--system-bus", "--session-bus", "status", NULL), ==,
                   64);
  g_assert_cmpint (ctl (FALSE, NULL, NULL, "--no-such-option", NULL), ==, 64);
}

static void
test_session_bus (void)
{
  g_autofree gchar *env =
    g_strdup_printf ("DBUS_SESSION_BUS_ADDRESS=%s", efp_test_bus_get_address (bus));
  const gchar *argv[] = { "env", env, ctl_path, "--session-bus", "devices", NULL };
  g_autofree gchar *out = NULL;

  g_assert_cmpint (efp_test_run (argv, FALSE, &out, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Study Room"));
}

static void
test_bus_unreachable (void)
{
  const gchar *argv[] = { "env", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/bus", ctl_path,
                          "status", NULL };
  g_autofree gchar *err = NULL;

  g_assert_cmpint (efp_test_run (argv, FALSE, NULL, &err), ==, 69);
  g_assert_true (g_str_has_prefix (err, "ecoflow-powerctl: cannot connect to the system bus"));
}

static void
test_daemon_not_running (void)
{
  g_autofree gchar *err = NULL;

  g_subprocess_send_signal (server, SIGTERM);
  g_assert_true (g_subprocess_wait (server, NULL, NULL));
  g_assert_true (efp_test_bus_wait_name (bus, NAME, FALSE, 5000));
  g_assert_cmpint (ctl (FALSE, NULL, &err, "status", NULL), ==, 69);
  g_assert_nonnull (strstr (err, "not running"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (ctl (FALSE, NULL, &err, "--json", "devices", NULL), ==, 69);
  g_assert_cmpint (ctl (FALSE, NULL, NULL, "monitor", NULL), ==, 69);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  ctl_path = efp_test_build_path ("daemon/ctl/ecoflow-powerctl");
  bus = efp_test_bus_new (&error);
  g_assert_no_error (error);
  server = efp_test_bus_start_test_server (bus, NAME);

  g_test_add_func ("/ctl/json/devices", test_devices_json);
  g_test_add_func ("/ctl/json/policies", test_policies_json);
  g_test_add_func ("/ctl/json/agents", test_agents_json);
  g_test_add_func ("/ctl/json/events", test_events_json);
  g_test_add_func ("/ctl/json/status", test_status_json);
  g_test_add_func ("/ctl/status/text", test_status_text);
  g_test_add_func ("/ctl/monitor/text", test_monitor_text);
  g_test_add_func ("/ctl/monitor/json", test_monitor_json);
  g_test_add_func ("/ctl/test-agent", test_test_agent);
  g_test_add_func ("/ctl/exit/usage", test_usage);
  g_test_add_func ("/ctl/session-bus", test_session_bus);
  g_test_add_func ("/ctl/exit/bus-unreachable", test_bus_unreachable);
  g_test_add_func ("/ctl/exit/daemon-not-running", test_daemon_not_running);
  status = g_test_run ();

  efp_test_server_clear (&server);
  g_clear_pointer (&bus, efp_test_bus_free);
  g_free (ctl_path);
  return status;
}

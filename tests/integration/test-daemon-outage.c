/* test-daemon-outage.c: the real daemon, a real broker, a real subscriber:
 * the seed's outage scenario end to end, broker restarts, malformed frames. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "efp-command.h"
#include "efp-test-broker.h"
#include "efp-test-daemon.h"

#define KEY "k3y-for-pc"

typedef struct
{
  EfpTestBroker *broker;
  guint16 port;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->broker = efp_test_broker_new ();
  g_assert_true (efp_test_broker_start (f->broker, &error));
  g_assert_no_error (error);
  f->port = efp_test_broker_get_port (f->broker);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  efp_test_broker_free (f->broker);
}

static EfpTestDaemon *
daemon_for (Fixture *f, const gchar *policy_extra)
{
  g_autofree gchar *conf = NULL;
  EfpTestDaemon *d;
  g_autofree gchar *keypath = NULL;

  d = efp_test_daemon_new ("");
  keypath = efp_test_daemon_write_file (d, "pc.key", KEY "\n");
  conf = g_strdup_printf ("[mqtt]\nhost=127.0.0.1\nport=%u\n"
                          "[device:SimulatedDevice]\nagents=pc\n"
                          "[agent:pc]\nkey-file=%s\n"
                          "[policy:critical]\nmodule=critical-soc\nsoc-min=10\ndebounce-sec=2\n"
                          "cooldown-sec=60\nabort-window-sec=30\n%s",
                          f->port, keypath, policy_extra != NULL ? policy_extra : "");
  g_free (efp_test_daemon_write_file (d, "ecoflow-powerd.conf", conf));
  return d;
}

static JsonObject *
payload_object (const gchar *line, JsonParser *parser)
{
  const gchar *sp = strchr (line, ' ');
  g_assert_nonnull (sp);
  g_assert_true (json_parser_load_from_data (parser, sp + 1, -1, NULL));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
assert_command (const gchar *line, const gchar *action)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpCommand) cmd = efp_command_from_json (strchr (line, ' ') + 1, -1, &error);
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonObject *o = payload_object (line, p);
  g_autoptr (GList) members = json_object_get_members (o);
  const gchar *order[] = { "id",     "action", "delay_sec", "reason",  "ttl_sec", "issued_at",
                           "device", "policy", "stage",     "dry_run", "sig" };
  GList *it;
  guint i = 0;

  g_assert_no_error (error);
  /* exactly the keys of CONTRACT 4.3, in its order */
  for (it = members; it != NULL; it = it->next, i++)
    g_assert_cmpstr (it->data, ==, order[i]);
  g_assert_cmpuint (i, ==, G_N_ELEMENTS (order));
  g_assert_cmpstr (cmd->action, ==, action);
  g_assert_cmpint (cmd->delay_sec, ==, 60);
  g_assert_cmpint (cmd->ttl_sec, ==, 300);
  g_assert_cmpstr (cmd->device, ==, "SimulatedDevice");
  g_assert_cmpstr (cmd->policy, ==, "critical");
  g_assert_cmpint (cmd->stage, ==, 1);
  g_assert_false (cmd->dry_run);
  g_assert_cmpint (ABS (cmd->issued_at - g_get_real_time () / G_USEC_PER_SEC), <, 30);
  /* signed for this agent with its key */
  g_assert_true (efp_command_verify (cmd, "pc", (const guint8 *) KEY, strlen (KEY),
                                     g_get_real_time () / G_USEC_PER_SEC, &error));
  g_assert_no_error (error);
}

static void
assert_event (EfpTestSub *sub, const gchar *event, const gchar *policy)
{
  g_autofree gchar *pat = g_strdup_printf ("power-manager/events *\"event\":\"%s\"*", event);
  g_autofree gchar *line = efp_test_sub_wait (sub, pat, 15000);
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonObject *o;

  if (line == NULL)
    g_error ("no %s event", event);
  o = payload_object (line, p);
  g_assert_cmpstr (json_object_get_string_member (o, "device"), ==, "SimulatedDevice");
  if (policy != NULL)
    g_assert_cmpstr (json_object_get_string_member (o, "policy"), ==, policy);
  else
    g_assert_true (json_object_get_null_member (o, "policy"));
  g_assert_true (json_object_has_member (o, "ts"));
  g_assert_true (json_object_has_member (o, "detail"));
}

static void
test_outage (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d = daemon_for (f, NULL);
  g_autoptr (EfpTestSub) sub = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *shutdown = NULL;
  g_autofree gchar *abort_line = NULL;
  g_autofree gchar *retained = NULL;
  g_autofree gchar *all = NULL;
  g_autoptr (JsonParser) p = json_parser_new ();
  const gchar *args[] = { "--step-sec", "2", "--critical-sec", "4", NULL };
  JsonObject *st;

  sub = efp_test_sub_new (f->port, (const gchar *[]){ "power-manager/#", NULL });
  g_assert_true (efp_test_daemon_start (d, NULL, &error));
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1", 5000));
  g_assert_cmpint (efp_test_simulate (f->port, args), ==, 0);

  /* grid lost with high SoC: no timer; with low SoC: timer, then shutdown; restored: abort */
  assert_event (sub, "grid-lost", NULL);
  assert_event (sub, "timer-start", "critical");
  shutdown = efp_test_sub_wait (sub, "power-manager/pc/cmd *\"action\":\"shutdown\"*", 10000);
  g_assert_nonnull (shutdown);
  assert_command (shutdown, "shutdown");
  assert_event (sub, "shutdown-triggered", "critical");
  assert_event (sub, "grid-restored", NULL);
  abort_line = efp_test_sub_wait (sub, "power-manager/pc/cmd *\"action\":\"abort\"*", 10000);
  g_assert_nonnull (abort_line);
  assert_command (abort_line, "abort");
  assert_event (sub, "abort-sent", "critical");

  /* exactly one shutdown and one abort, and the timer started only once */
  all = efp_test_sub_get_all (sub);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "TIMER START"), ==, 1);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "SHUTDOWN TRIGGERED"), ==, 1);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "ABORT policy=critical"), ==, 1);
  g_assert_null (strstr (strstr (all, "\"action\":\"shutdown\"") + 1, "\"action\":\"shutdown\""));

  /* retained normalized state, as a fresh subscriber sees it */
  retained = efp_test_get_retained (f->port, "bridge-ecoflow/SimulatedDevice/json/state");
  g_assert_nonnull (retained);
  g_assert_true (json_parser_load_from_data (p, retained, -1, NULL));
  st = json_node_get_object (json_parser_get_root (p));
  g_assert_cmpstr (json_object_get_string_member (st, "device"), ==, "SimulatedDevice");
  g_assert_cmpfloat (json_object_get_double_member (st, "soc"), ==, 9);
  g_assert_true (json_object_get_boolean_member (st, "grid_connected"));
  g_assert_false (json_object_get_boolean_member (st, "on_battery"));
  g_assert_cmpstr (json_object_get_string_member (st, "decoder"), ==, "simulated");
  g_assert_cmpstr (json_object_get_string_member (st, "grid_source"), ==, "simulated");
  g_assert_false (json_object_get_boolean_member (st, "stale"));
  g_assert_true (json_object_get_null_member (st, "remain_minutes"));
  /* daemon presence */
  g_free (retained);
  retained = efp_test_get_retained (f->port, "power-manager/orchestrator/status");
  g_assert_nonnull (strstr (retained, "\"state\":\"online\""));
}

static void
test_flicker_and_high_soc_never_trigger (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d = daemon_for (f, NULL);
  g_autoptr (EfpTestSub) sub = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *scen = NULL;
  g_autofree gchar *line = NULL;
  const gchar *args[3] = { "--scenario", NULL, NULL };

  scen = efp_test_daemon_write_file (
    d, "flicker.json",
    "{\"interval_sec\":0.5,\"steps\":["
    "{\"duration_sec\":1,\"state\":{\"soc\":8,\"grid_connected\":true}},"
    "{\"duration_sec\":0.5,\"state\":{\"soc\":8,\"grid_connected\":false}},"
    "{\"duration_sec\":3,\"state\":{\"soc\":8,\"grid_connected\":true}},"
    "{\"duration_sec\":3,\"state\":{\"soc\":50,\"grid_connected\":false}}]}");
  args[1] = scen;
  sub = efp_test_sub_new (f->port, (const gchar *[]){ "power-manager/#", NULL });
  g_assert_true (efp_test_daemon_start (d, NULL, &error));
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1", 5000));
  g_assert_cmpint (efp_test_simulate (f->port, args), ==, 0);
  /* the flicker armed and then aborted the timer; nothing was sent */
  line = efp_test_sub_wait (sub, "power-manager/events *timer-abort*", 5000);
  g_assert_nonnull (line);
  g_usleep (500 * 1000);
  g_assert_null (strstr (efp_test_sub_get_all (sub), "/cmd "));
  g_assert_cmpuint (efp_test_daemon_count_log (d, "SHUTDOWN TRIGGERED"), ==, 0);
}

static void
test_broker_restart (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d = daemon_for (f, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *retained = NULL;
  g_autoptr (EfpTestSub) sub = NULL;
  g_autofree gchar *line = NULL;

  g_assert_true (efp_test_daemon_start (d, NULL, &error));
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1", 5000));
  g_assert_true (efp_test_publish (f->port, "bridge-ecoflow/SimulatedDevice/data",
                                   "{\"soc\":70,\"grid_connected\":false}"));
  g_assert_true (efp_test_daemon_wait_log (d, "grid-lost", 5000));
  /* a crash of the broker without persistence loses every retained message */
  efp_test_broker_kill (f->broker);
  g_assert_true (efp_test_daemon_wait_log (d, "lost", 5000));
  g_assert_true (efp_test_broker_start (f->broker, &error));
  g_assert_no_error (error);
  /* the daemon reconnects by itself and republishes its retained state */
  g_assert_cmpuint (efp_test_daemon_count_log (d, "connected to 127.0.0.1"), ==, 1);
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1:", 8000));
  for (guint i = 0; i < 40 && efp_test_daemon_count_log (d, "connected to 127.0.0.1") < 2; i++)
    g_usleep (250 * 1000);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "connected to 127.0.0.1"), >=, 2);
  retained = efp_test_get_retained (f->port, "bridge-ecoflow/SimulatedDevice/json/state");
  g_assert_nonnull (retained);
  g_assert_nonnull (strstr (retained, "\"soc\":70"));
  /* and the policy still works on the new connection */
  sub = efp_test_sub_new (f->port, (const gchar *[]){ "power-manager/#", NULL });
  g_assert_true (efp_test_publish (f->port, "bridge-ecoflow/SimulatedDevice/data",
                                   "{\"soc\":5,\"grid_connected\":false}"));
  line = efp_test_sub_wait (sub, "power-manager/pc/cmd *shutdown*", 10000);
  g_assert_nonnull (line);
}

static void
test_broker_down_at_start (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d = daemon_for (f, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *retained = NULL;

  efp_test_broker_stop (f->broker);
  g_assert_true (efp_test_daemon_start (d, NULL, &error));
  g_usleep (1500 * 1000);
  /* it waits instead of exiting */
  g_assert_true (efp_test_daemon_is_running (d));
  g_assert_true (efp_test_broker_start (f->broker, &error));
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1", 10000));
  retained = efp_test_get_retained (f->port, "power-manager/orchestrator/status");
  g_assert_nonnull (retained);
  g_assert_nonnull (strstr (retained, "online"));
}

static void
test_malformed_frames (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d = daemon_for (f, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree gchar *retained = NULL;
  const gchar *bad[] = { "not json",
                         "{\"soc\":",
                         "[1,2]",
                         "{\"soc\":\"high\"}",
                         "{\"soc\":150}",
                         "{\"soc\":5,\"grid_connected\":\"no\"}",
                         "" };
  guint i;

  g_assert_true (efp_test_daemon_start (d, NULL, &error));
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1", 5000));
  g_assert_true (efp_test_publish (f->port, "bridge-ecoflow/SimulatedDevice/data",
                                   "{\"soc\":55,\"grid_connected\":true}"));
  g_assert_true (efp_test_daemon_wait_log (d, "decoder simulated", 5000));
  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_true (efp_test_publish (f->port, "bridge-ecoflow/SimulatedDevice/data", bad[i]));
  /* every bad frame was logged as dropped, in one line, and changed nothing */
  for (i = 0; i < 50 && efp_test_daemon_count_log (d, "dropped frame") < G_N_ELEMENTS (bad); i++)
    g_usleep (100 * 1000);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "dropped frame"), ==, G_N_ELEMENTS (bad));
  g_assert_true (efp_test_daemon_is_running (d));
  retained = efp_test_get_retained (f->port, "bridge-ecoflow/SimulatedDevice/json/state");
  g_assert_nonnull (strstr (retained, "\"soc\":55"));
  g_assert_nonnull (strstr (retained, "\"grid_connected\":true"));
  /* and a good frame afterwards is taken */
  g_assert_true (efp_test_publish (f->port, "bridge-ecoflow/SimulatedDevice/data", "{\"soc\":54}"));
  g_assert_true (efp_test_daemon_wait_log (d, "SimulatedDevice", 1000));
  for (i = 0; i < 30; i++)
    {
      g_free (retained);
      retained = efp_test_get_retained (f->port, "bridge-ecoflow/SimulatedDevice/json/state");
      if (retained != NULL && strstr (retained, "\"soc\":54") != NULL)
        break;
      g_usleep (100 * 1000);
    }
  g_assert_nonnull (strstr (retained, "\"soc\":54"));
  g_assert_nonnull (strstr (retained, "\"grid_connected\":true"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/daemon/outage", test_outage);
  ADD ("/daemon/flicker-and-high-soc-never-trigger", test_flicker_and_high_soc_never_trigger);
  ADD ("/daemon/broker-restart", test_broker_restart);
  ADD ("/daemon/broker-down-at-start", test_broker_down_at_start);
  ADD ("/daemon/malformed-frames", test_malformed_frames);
  return g_test_run ();
}

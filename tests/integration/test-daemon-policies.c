/* test-daemon-policies.c: what must hold across restarts, stages, groups and silence,
 * with the real daemon, a real broker and a real subscriber. */
#include <json-glib/json-glib.h>
#include <string.h>

#include "efp-command.h"
#include "efp-test-broker.h"
#include "efp-test-daemon.h"

#define RAW "bridge-ecoflow/SimulatedDevice/data"
#define LOW "{\"soc\":5,\"grid_connected\":false,\"output_watts\":100}"

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
  f->port = efp_test_broker_get_port (f->broker);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  efp_test_broker_free (f->broker);
}

static EfpTestDaemon *
daemon_with (Fixture *f, const gchar *body)
{
  g_autofree gchar *conf = g_strdup_printf ("[mqtt]\nhost=127.0.0.1\nport=%u\n%s", f->port, body);
  return efp_test_daemon_new (conf);
}

static void
start (EfpTestDaemon *d, const gchar *const *args)
{
  g_autoptr (GError) error = NULL;
  guint before = efp_test_daemon_count_log (d, "connected to 127.0.0.1");
  g_assert_true (efp_test_daemon_start (d, args, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 100 && efp_test_daemon_count_log (d, "connected to 127.0.0.1") == before;
       i++)
    g_usleep (50 * 1000);
  if (efp_test_daemon_count_log (d, "connected to 127.0.0.1") == before)
    {
      g_autofree gchar *log = efp_test_daemon_get_log (d);
      g_printerr ("%s", log);
    }
  g_assert_cmpuint (efp_test_daemon_count_log (d, "connected to 127.0.0.1"), >, before);
}

static EfpCommand *
parse_cmd (const gchar *line)
{
  g_autoptr (GError) error = NULL;
  EfpCommand *c;
  g_assert_nonnull (line);
  c = efp_command_from_json (strchr (line, ' ') + 1, -1, &error);
  g_assert_no_error (error);
  return c;
}

/* A subscriber to every agent's command topic. */
static EfpTestSub *
cmd_sub (Fixture *f)
{
  return efp_test_sub_new (f->port, (const gchar *[]){ "power-manager/+/cmd", NULL });
}

/* Start @d and publish one frame of SimulatedDevice on battery at 5 %. */
static void
start_low (Fixture *f, EfpTestDaemon *d, const gchar *const *args)
{
  start (d, args);
  g_assert_true (efp_test_publish (f->port, RAW, LOW));
}

/* A restart in the middle of a debounce keeps the original deadline. */
static void
test_restart_mid_debounce (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d =
    daemon_with (f, "[device:SimulatedDevice]\nagents=pc\n[agent:pc]\n"
                    "[policy:critical]\nmodule=critical-soc\ndebounce-sec=4\ncooldown-sec=60\n");
  g_autoptr (EfpTestSub) sub = cmd_sub (f);
  g_autoptr (EfpCommand) cmd = NULL;
  g_autofree gchar *line = NULL;
  gint64 armed;

  start_low (f, d, NULL);
  g_assert_true (efp_test_daemon_wait_log (d, "TIMER START", 3000));
  armed = g_get_real_time ();
  g_usleep (1000 * 1000);
  efp_test_daemon_kill (d);
  start (d, NULL);
  /* no new frame: the restored timer fires by itself at the original deadline */
  line = efp_test_sub_wait (sub, "power-manager/pc/cmd *", 8000);
  cmd = parse_cmd (line);
  g_assert_cmpstr (cmd->action, ==, "shutdown");
  g_assert_cmpint (g_get_real_time () - armed, <, 6 * G_USEC_PER_SEC);
  g_assert_cmpint (g_get_real_time () - armed, >=, 4 * G_USEC_PER_SEC - 200000);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "TIMER START"), ==, 1);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "restored policy critical"), ==, 1);
}

static void
agent_blip (Fixture *f, const gchar *agent)
{
  g_autofree gchar *topic = g_strdup_printf ("power-manager/%s/status", agent);
  g_assert_true (efp_test_publish (f->port, topic, "{\"state\":\"offline\"}"));
  g_assert_true (efp_test_publish (f->port, topic, "{\"state\":\"online\"}"));
}

#define GRID_BACK "{\"soc\":6,\"grid_connected\":true,\"output_watts\":100}"

/* A daemon whose critical-soc policy fires at once for agent pc, with @abort_window_sec;
 * started with pc online and one low frame: returns the shutdown line pc got. */
static gchar *
start_and_shut_pc (Fixture *f, EfpTestDaemon **d_out, EfpTestSub *sub, guint abort_window_sec)
{
  g_autofree gchar *body =
    g_strdup_printf ("[device:SimulatedDevice]\nagents=pc\n[agent:pc]\n"
                     "[policy:critical]\nmodule=critical-soc\ndebounce-sec=0\ncooldown-sec=60\n"
                     "abort-window-sec=%u\n",
                     abort_window_sec);
  EfpTestDaemon *d = daemon_with (f, body);
  gchar *line;

  *d_out = d;
  start (d, NULL);
  g_assert_true (efp_test_publish (f->port, "power-manager/pc/status", "{\"state\":\"online\"}"));
  g_assert_true (efp_test_daemon_wait_log (d, "agent pc is online", 3000));
  g_assert_true (efp_test_publish (f->port, RAW, LOW));
  line = efp_test_sub_wait (sub, "power-manager/pc/cmd *\"action\":\"shutdown\"*", 5000);
  g_assert_nonnull (line);
  return line;
}

/* A host that returns (rebooted, network back) while the shutdown stands is told again;
 * once the grid is back and the abort went out, a return means nothing. */
static void
test_returned_agent (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestSub) sub = cmd_sub (f);
  g_autoptr (EfpTestDaemon) d = NULL;
  g_autoptr (EfpCommand) first = NULL;
  g_autoptr (EfpCommand) again = NULL;
  g_autofree gchar *l1 = start_and_shut_pc (f, &d, sub, 60);
  g_autofree gchar *l2 = NULL;
  g_autofree gchar *l3 = NULL;
  g_autofree gchar *none = NULL;

  first = parse_cmd (l1);
  agent_blip (f, "pc");
  l2 = efp_test_sub_wait (sub, "power-manager/pc/cmd *", 5000);
  again = parse_cmd (l2);
  g_assert_cmpstr (again->action, ==, "shutdown");
  g_assert_cmpstr (again->policy, ==, "critical");
  g_assert_cmpstr (again->id, !=, first->id);
  g_assert_true (efp_test_daemon_wait_log (d, "telling it again", 1000));

  /* power back inside the abort window: abort, and the shutdown no longer stands */
  g_assert_true (efp_test_publish (f->port, RAW, GRID_BACK));
  l3 = efp_test_sub_wait (sub, "power-manager/pc/cmd *\"action\":\"abort\"*", 5000);
  g_assert_nonnull (l3);
  agent_blip (f, "pc");
  g_assert_true (efp_test_daemon_wait_log (d, "agent pc is online", 1000));
  none = efp_test_sub_wait (sub, "power-manager/pc/cmd *", 1500);
  g_assert_null (none);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "telling it again"), ==, 1);
}

/* Past the abort window the shutdown is committed: it stands (cooldown) while the condition
 * holds, and a returning host is told again; once the grid is back it stands no more. */
static void
test_returned_agent_after_window (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestSub) sub = cmd_sub (f);
  g_autoptr (EfpTestDaemon) d = NULL;
  g_autofree gchar *l1 = start_and_shut_pc (f, &d, sub, 1);
  g_autofree gchar *l2 = NULL;
  g_autofree gchar *none = NULL;

  /* the abort window closes; the battery stays low */
  g_usleep (1500 * 1000);
  g_assert_true (efp_test_publish (f->port, RAW, LOW));
  agent_blip (f, "pc");
  l2 = efp_test_sub_wait (sub, "power-manager/pc/cmd *\"action\":\"shutdown\"*", 5000);
  g_assert_nonnull (l2);

  /* grid back after the window: no abort, and the shutdown no longer stands */
  g_assert_true (efp_test_publish (f->port, RAW, GRID_BACK));
  g_assert_true (efp_test_daemon_wait_log (d, "grid-restored", 3000));
  agent_blip (f, "pc");
  none = efp_test_sub_wait (sub, "power-manager/pc/cmd *", 1500);
  g_assert_null (none);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "telling it again"), ==, 1);
  g_assert_cmpuint (efp_test_daemon_count_log (d, "ABORT policy"), ==, 0);
}

/* A restart after a shutdown, inside the cooldown, never sends a second one. */
static void
test_restart_inside_cooldown (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d =
    daemon_with (f, "[device:SimulatedDevice]\nagents=pc\n[agent:pc]\n"
                    "[policy:critical]\nmodule=critical-soc\ndebounce-sec=1\ncooldown-sec=60\n");
  g_autoptr (EfpTestSub) sub = cmd_sub (f);
  g_autofree gchar *first = NULL;
  g_autofree gchar *second = NULL;

  start_low (f, d, NULL);
  first = efp_test_sub_wait (sub, "power-manager/pc/cmd *shutdown*", 5000);
  g_assert_nonnull (first);
  efp_test_daemon_kill (d);
  start (d, NULL);
  for (guint i = 0; i < 6; i++)
    {
      g_assert_true (efp_test_publish (f->port, RAW, LOW));
      g_usleep (500 * 1000);
    }
  /* a command the crash may have cut off is published again, byte for byte (the agent
   * drops the replayed id); a second shutdown, with a new id, never comes */
  while ((second = efp_test_sub_wait (sub, "power-manager/pc/cmd *shutdown*", 500)) != NULL)
    {
      g_autoptr (EfpCommand) a = parse_cmd (first);
      g_autoptr (EfpCommand) b = parse_cmd (second);
      g_assert_cmpstr (a->id, ==, b->id);
      g_assert_cmpstr (first, ==, second);
      g_clear_pointer (&second, g_free);
    }
  g_assert_cmpuint (efp_test_daemon_count_log (d, "SHUTDOWN TRIGGERED"), ==, 1);
}

/* Stage 2 waits for stage 1: here stage 1 never acknowledges, so the stage timeout decides. */
static void
test_stages_with_silent_agent (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d =
    daemon_with (f, "[device:SimulatedDevice]\nagents=vm;nas\n"
                    "[agent:vm]\nstage=1\nstage-timeout-sec=2\n[agent:nas]\nstage=2\n"
                    "[policy:critical]\nmodule=critical-soc\ndebounce-sec=0\n");
  g_autoptr (EfpTestSub) sub = cmd_sub (f);
  g_autoptr (EfpCommand) vm = NULL;
  g_autoptr (EfpCommand) nas = NULL;
  g_autofree gchar *l1 = NULL;
  g_autofree gchar *l2 = NULL;
  gint64 t1;

  start_low (f, d, NULL);
  l1 = efp_test_sub_wait (sub, "power-manager/*/cmd *", 5000);
  t1 = g_get_real_time ();
  g_assert_true (g_str_has_prefix (l1, "power-manager/vm/cmd "));
  l2 = efp_test_sub_wait (sub, "power-manager/*/cmd *", 5000);
  g_assert_true (g_str_has_prefix (l2, "power-manager/nas/cmd "));
  g_assert_cmpint (g_get_real_time () - t1, >=, 1500 * 1000);
  vm = parse_cmd (l1);
  nas = parse_cmd (l2);
  g_assert_cmpint (vm->stage, ==, 1);
  g_assert_cmpint (nas->stage, ==, 2);
  /* one issuance: the same command id for every agent */
  g_assert_cmpstr (vm->id, ==, nas->id);
  g_assert_true (efp_test_daemon_wait_log (d, "stage 1 of command", 1000));
}

/* Stage 2 goes as soon as stage 1 acknowledged. */
static void
test_stages_with_ack (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d =
    daemon_with (f, "[device:SimulatedDevice]\nagents=vm;nas\n"
                    "[agent:vm]\nstage=1\nstage-timeout-sec=30\n[agent:nas]\nstage=2\n"
                    "[policy:critical]\nmodule=critical-soc\ndebounce-sec=0\n");
  g_autoptr (EfpTestSub) sub = cmd_sub (f);
  g_autoptr (EfpCommand) vm = NULL;
  g_autofree gchar *l1 = NULL;
  g_autofree gchar *l2 = NULL;
  g_autofree gchar *ack = NULL;

  start_low (f, d, NULL);
  l1 = efp_test_sub_wait (sub, "power-manager/vm/cmd *", 5000);
  vm = parse_cmd (l1);
  g_assert_null (efp_test_sub_wait (sub, "power-manager/nas/cmd *", 1000));
  ack = g_strdup_printf ("{\"id\":\"%s\",\"action\":\"shutdown\",\"result\":\"scheduled\","
                         "\"detail\":\"in 60 s\"}",
                         vm->id);
  g_assert_true (efp_test_publish (f->port, "power-manager/vm/ack", ack));
  l2 = efp_test_sub_wait (sub, "power-manager/nas/cmd *", 3000);
  g_assert_nonnull (l2);
  g_assert_true (efp_test_daemon_wait_log (d, "ACK vm scheduled", 1000));
}

/* The one command to pc is marked dry-run. */
static void
check_dry_run_command (Fixture *f, const gchar *conf, const gchar *const *args)
{
  g_autoptr (EfpTestDaemon) d = daemon_with (f, conf);
  g_autoptr (EfpTestSub) sub = cmd_sub (f);
  g_autoptr (EfpCommand) cmd = NULL;
  g_autofree gchar *line = NULL;

  start_low (f, d, args);
  line = efp_test_sub_wait (sub, "power-manager/pc/cmd *", 5000);
  cmd = parse_cmd (line);
  g_assert_true (cmd->dry_run);
}

static void
test_dry_run (Fixture *f, gconstpointer data)
{
  check_dry_run_command (f,
                         "[device:SimulatedDevice]\nagents=pc\n[agent:pc]\n"
                         "[policy:critical]\nmodule=critical-soc\ndebounce-sec=0\n",
                         (const gchar *[]){ "--dry-run", NULL });
}

static void
test_policy_dry_run_key (Fixture *f, gconstpointer data)
{
  check_dry_run_command (f,
                         "[device:SimulatedDevice]\nagents=pc\n[agent:pc]\n"
                         "[policy:critical]\nmodule=critical-soc\ndebounce-sec=0\ndry-run=true\n",
                         NULL);
}

/* A group is one virtual battery: a big full member keeps a small empty one from
 * triggering; both empty trigger, and the command goes to every member's agents. */
static void
test_group_policy (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d = daemon_with (
    f, "[device:small]\nagents=a\ncapacity-wh=100\n[device:big]\nagents=b\ncapacity-wh=900\n"
       "[agent:a]\n[agent:b]\n[group:rack]\ndevices=small;big\n"
       "[policy:rack]\nmodule=critical-soc\ndevices=rack\ndebounce-sec=0\n");
  g_autoptr (EfpTestSub) sub = efp_test_sub_new (
    f->port, (const gchar *[]){ "power-manager/+/cmd", "bridge-ecoflow/rack/json/state", NULL });
  g_autofree gchar *state = NULL;
  g_autofree gchar *ca = NULL;
  g_autofree gchar *cb = NULL;

  start (d, NULL);
  g_assert_true (efp_test_publish (f->port, "bridge-ecoflow/small/data",
                                   "{\"soc\":5,\"grid_connected\":false,\"output_watts\":50}"));
  g_assert_true (efp_test_publish (f->port, "bridge-ecoflow/big/data",
                                   "{\"soc\":90,\"grid_connected\":true,\"output_watts\":70}"));
  state = efp_test_sub_wait (sub, "bridge-ecoflow/rack/json/state *\"soc\":81.5*", 5000);
  g_assert_nonnull (state);
  g_assert_nonnull (strstr (state, "\"on_battery\":true"));
  g_assert_nonnull (strstr (state, "\"output_watts\":120"));
  g_assert_null (efp_test_sub_wait (sub, "power-manager/*/cmd *", 1000));
  g_assert_true (
    efp_test_publish (f->port, "bridge-ecoflow/big/data", "{\"soc\":6,\"grid_connected\":false}"));
  ca = efp_test_sub_wait (sub, "power-manager/a/cmd *shutdown*", 5000);
  cb = efp_test_sub_wait (sub, "power-manager/b/cmd *shutdown*", 5000);
  g_assert_nonnull (ca);
  g_assert_nonnull (cb);
  g_assert_nonnull (strstr (ca, "\"device\":\"rack\""));
}

/* The cloud goes silent while on battery: comm-lost still ends in a shutdown. */
static void
test_silence_on_battery (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d = daemon_with (
    f, "[device:SimulatedDevice]\nagents=pc\n[agent:pc]\n"
       "[policy:critical]\nmodule=critical-soc\nmax-data-gap-sec=1\n"
       "[policy:blind]\nmodule=comm-lost\nsoc-min=10\nmax-data-gap-sec=1\nmax-blind-sec=3\n");
  g_autoptr (EfpTestSub) sub = efp_test_sub_new (
    f->port, (const gchar *[]){ "power-manager/+/cmd", "power-manager/events", NULL });
  g_autofree gchar *cmd = NULL;
  g_autofree gchar *stale = NULL;

  start (d, NULL);
  g_assert_true (efp_test_publish (f->port, RAW, "{\"soc\":60,\"grid_connected\":false}"));
  /* then nothing: the station (or the internet) is gone */
  stale = efp_test_sub_wait (sub, "power-manager/events *\"event\":\"stale\"*", 5000);
  g_assert_nonnull (stale);
  cmd = efp_test_sub_wait (sub, "power-manager/pc/cmd *shutdown*", 8000);
  g_assert_nonnull (cmd);
  g_assert_nonnull (strstr (cmd, "\"policy\":\"blind\""));
  /* critical-soc never fired on stale data */
  g_assert_cmpuint (efp_test_daemon_count_log (d, "SHUTDOWN TRIGGERED policy=critical"), ==, 0);
}

/* Silence while on grid: notify only. */
static void
test_silence_on_grid (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d =
    daemon_with (f, "[device:SimulatedDevice]\nagents=pc\n[agent:pc]\n"
                    "[policy:blind]\nmodule=comm-lost\nmax-data-gap-sec=1\nmax-blind-sec=2\n");
  g_autoptr (EfpTestSub) sub = efp_test_sub_new (
    f->port, (const gchar *[]){ "power-manager/+/cmd", "power-manager/events", NULL });
  g_autofree gchar *stale = NULL;

  start (d, NULL);
  g_assert_true (efp_test_publish (f->port, RAW, "{\"soc\":60,\"grid_connected\":true}"));
  stale = efp_test_sub_wait (sub, "power-manager/events *\"event\":\"stale\"*", 5000);
  g_assert_nonnull (stale);
  g_assert_null (efp_test_sub_wait (sub, "power-manager/pc/cmd *", 4000));
}

/* A command decided while the broker is down waits and goes out on reconnect. */
static void
test_command_waits_for_broker (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpTestDaemon) d =
    daemon_with (f, "[device:SimulatedDevice]\nagents=pc\n[agent:pc]\n"
                    "[policy:critical]\nmodule=critical-soc\ndebounce-sec=1\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpTestSub) sub = NULL;
  g_autofree gchar *line = NULL;

  start_low (f, d, NULL);
  g_assert_true (efp_test_daemon_wait_log (d, "TIMER START", 3000));
  efp_test_broker_stop (f->broker);
  g_assert_true (efp_test_daemon_wait_log (d, "SHUTDOWN TRIGGERED", 5000));
  g_assert_true (efp_test_daemon_wait_log (d, "queued", 2000));
  /* the broker keeps no session for the subscriber: subscribe before the daemon is back */
  efp_test_broker_set_extra_config (f->broker, "");
  g_assert_true (efp_test_broker_start (f->broker, &error));
  sub = cmd_sub (f);
  /* the daemon's reconnect backoff doubles while the broker is down (1, 2, 4, 8, 16 s, with
   * jitter): under load the retry that finds the broker back can come 20 s later */
  line = efp_test_sub_wait (sub, "power-manager/pc/cmd *shutdown*", 40000);
  g_assert_nonnull (line);
}

static gchar *
state_with_trigger (gint64 now_us, gboolean command_recorded)
{
  return g_strdup_printf (
    "{\"version\":1,\"policies\":[{\"policy\":\"critical\",\"target\":\"SimulatedDevice\","
    "\"phase\":2,\"armed_since_us\":%" G_GINT64_FORMAT ",\"triggered_at_us\":%" G_GINT64_FORMAT
    ",\"stale_since_us\":0,\"aux\":[0,0,0,0,0,0,0,0],\"aux_us\":[0,0,0,0]}],"
    "\"commands\":[%s],\"devices\":[]}",
    now_us - 10 * G_USEC_PER_SEC, now_us - 2 * G_USEC_PER_SEC,
    command_recorded ? g_strdup_printf ("{\"id\":\"x\",\"agent\":\"pc\",\"action\":\"shutdown\","
                                        "\"policy\":\"critical\",\"device\":\"SimulatedDevice\","
                                        "\"issued_at\":%" G_GINT64_FORMAT "}",
                                        now_us / G_USEC_PER_SEC - 2)
                     : "");
}

/* The daemon died after deciding a shutdown but before sending it: sent after the restart;
 * when the state file shows it was sent, nothing is sent again. */
static void
test_unsent_shutdown_recovered (Fixture *f, gconstpointer data)
{
  const gchar *conf =
    "[device:SimulatedDevice]\nagents=pc\n[agent:pc]\n"
    "[policy:critical]\nmodule=critical-soc\ndebounce-sec=1\nabort-window-sec=60\n";
  g_autoptr (EfpTestDaemon) d1 = daemon_with (f, conf);
  g_autoptr (EfpTestDaemon) d2 = daemon_with (f, conf);
  g_autoptr (EfpTestSub) sub = cmd_sub (f);
  g_autofree gchar *s1 = state_with_trigger (g_get_real_time (), FALSE);
  g_autofree gchar *s2 = state_with_trigger (g_get_real_time (), TRUE);
  g_autofree gchar *line = NULL;

  g_assert_true (g_file_set_contents (efp_test_daemon_get_state_file (d1), s1, -1, NULL));
  start (d1, NULL);
  line = efp_test_sub_wait (sub, "power-manager/pc/cmd *shutdown*", 5000);
  g_assert_nonnull (line);
  g_assert_true (efp_test_daemon_wait_log (d1, "never sent", 100));
  efp_test_daemon_stop (d1);

  g_assert_true (g_file_set_contents (efp_test_daemon_get_state_file (d2), s2, -1, NULL));
  start (d2, NULL);
  g_assert_null (efp_test_sub_wait (sub, "power-manager/pc/cmd *", 2000));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  ADD ("/daemon/restart-mid-debounce", test_restart_mid_debounce);
  ADD ("/daemon/restart-inside-cooldown", test_restart_inside_cooldown);
  ADD ("/daemon/stages-with-silent-agent", test_stages_with_silent_agent);
  ADD ("/daemon/stages-with-ack", test_stages_with_ack);
  ADD ("/daemon/returned-agent", test_returned_agent);
  ADD ("/daemon/returned-agent-after-window", test_returned_agent_after_window);
  ADD ("/daemon/dry-run", test_dry_run);
  ADD ("/daemon/policy-dry-run-key", test_policy_dry_run_key);
  ADD ("/daemon/group-policy", test_group_policy);
  ADD ("/daemon/silence-on-battery", test_silence_on_battery);
  ADD ("/daemon/silence-on-grid", test_silence_on_grid);
  ADD ("/daemon/command-waits-for-broker", test_command_waits_for_broker);
  ADD ("/daemon/unsent-shutdown-recovered", test_unsent_shutdown_recovered);
  return g_test_run ();
}

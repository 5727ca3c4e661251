/* test-dbus-service.c: io.github.EcoflowPower1 seen through busctl and gdbus.
 *
 * A private dbus-daemon (our real policy file included) plays the system bus;
 * efp-dbus-test-server serves the real EfpDbusService on it while a simulated
 * station drains. Every check goes through the tools a user has: busctl tree,
 * introspect, get-property and call, gdbus call for error names, and callers
 * running as "nobody" for the authorization checks.
 */
#include <math.h>
#include <string.h>

#include "test-dbus-fixture.h"

#define NAME  "io.github.EcoflowPower1"
#define ROOT  "/io/github/EcoflowPower1"
#define STUDY ROOT "/Device/Study_Room"

static EfpTestBus *bus;
static GSubprocess *server;
static gchar *address_arg;

/* busctl --address=<bus> ARGS...; returns the exit status. */
static gint
busctl (gboolean as_nobody, gchar **out, gchar **err, ...)
{
  const gchar *head[] = { "busctl", address_arg, NULL };
  va_list ap;
  gint status;

  va_start (ap, err);
  status = efp_test_run_valist (head, as_nobody, out, err, ap);
  va_end (ap);
  return status;
}

/* gdbus call on the (private) system bus: shows the D-Bus error name. */
static gint
gdbus_call (gboolean as_nobody, const gchar *method, const gchar *arg, gchar **out, gchar **err)
{
  const gchar *argv[] = { "gdbus", "call",     "--system", "--dest", NAME, "--object-path",
                          ROOT,    "--method", method,     arg,      NULL };
  return efp_test_run (argv, as_nobody, out, err);
}

static gchar *
get_property (const gchar *path, const gchar *iface, const gchar *prop)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  gint status = busctl (FALSE, &out, &err, "get-property", NAME, path, iface, prop, NULL);

  g_assert_cmpint (status, ==, 0);
  return g_strdup (g_strstrip (out));
}

static gdouble
get_soc (void)
{
  g_autofree gchar *v = get_property (STUDY, NAME ".Device", "StateOfCharge");
  g_assert_true (g_str_has_prefix (v, "d "));
  return g_ascii_strtod (v + 2, NULL);
}

/* ---- tests ---- */

static void
test_tree (void)
{
  g_autofree gchar *out = NULL;
  const gchar *paths[] = { ROOT,
                           STUDY,
                           ROOT "/Device/garage_shed",
                           ROOT "/Policy/critical",
                           ROOT "/Policy/runtime_guard",
                           ROOT "/Agent/nas_1",
                           ROOT "/Agent/pc_office",
                           NULL };
  g_auto (GStrv) lines = NULL;
  guint i;

  g_assert_cmpint (busctl (FALSE, &out, NULL, "tree", "--list", NAME, NULL), ==, 0);
  lines = g_strsplit (out, "\n", -1);
  for (i = 0; paths[i] != NULL; i++)
    {
      g_test_message ("expecting %s", paths[i]);
      g_assert_true (g_strv_contains ((const gchar *const *) lines, paths[i]));
    }
}

/* Every property @names[i] with type @types[i] appears in `busctl introspect`
 * and is marked emits-change. */
static void
check_introspect (const gchar *path, const gchar *iface, const gchar *const *names,
                  const gchar *const *types)
{
  g_autofree gchar *out = NULL;
  g_auto (GStrv) lines = NULL;
  guint i, j;

  g_assert_cmpint (busctl (FALSE, &out, NULL, "introspect", NAME, path, iface, NULL), ==, 0);
  lines = g_strsplit (out, "\n", -1);
  for (i = 0; names[i] != NULL; i++)
    {
      g_autofree gchar *member = g_strconcat (".", names[i], NULL);
      gboolean found = FALSE;

      for (j = 0; lines[j] != NULL && !found; j++)
        {
          g_auto (GStrv) tok = g_strsplit_set (lines[j], " \t", -1);
          g_autoptr (GPtrArray) words = g_ptr_array_new ();
          guint k;

          for (k = 0; tok[k] != NULL; k++)
            if (*tok[k] != '\0')
              g_ptr_array_add (words, tok[k]);
          if (words->len < 3 || !g_str_equal (words->pdata[0], member))
            continue;
          found = TRUE;
          g_test_message ("%s", lines[j]);
          g_assert_cmpstr (words->pdata[1], ==, "property");
          g_assert_cmpstr (words->pdata[2], ==, types[i]);
          g_assert_nonnull (strstr (lines[j], "emits-change"));
        }
      if (!found)
        g_test_message ("%s not in busctl introspect %s %s:\n%s", names[i], path, iface, out);
      g_assert_true (found);
    }
}

static void
test_introspect (void)
{
  const gchar *dev_names[] = { "Name",
                               "Serial",
                               "Model",
                               "Decoder",
                               "StateOfCharge",
                               "GridConnected",
                               "OnBattery",
                               "InputWatts",
                               "OutputWatts",
                               "RemainingMinutes",
                               "TemperatureCelsius",
                               "Stale",
                               "LastUpdate",
                               NULL };
  const gchar *dev_types[] = { "s", "s", "s", "s", "d", "b", "b", "d", "d", "i", "d", "b", "t" };
  const gchar *pol_names[] = { "Name", "Module", "State", "Deadline", "Devices", NULL };
  const gchar *pol_types[] = { "s", "s", "s", "t", "as" };
  const gchar *agent_names[] = { "Id", "Online", "LastSeen", "LastCommandId", "LastResult", NULL };
  const gchar *agent_types[] = { "s", "b", "t", "s", "s" };
  const gchar *mgr_names[] = { "Version", "MqttConnected", "CloudConnected", "DryRun", NULL };
  const gchar *mgr_types[] = { "s", "b", "b", "b" };
  g_autofree gchar *out = NULL;

  check_introspect (STUDY, NAME ".Device", dev_names, dev_types);
  check_introspect (ROOT "/Policy/critical", NAME ".Policy", pol_names, pol_types);
  check_introspect (ROOT "/Agent/nas_1", NAME ".Agent", agent_names, agent_types);
  check_introspect (ROOT, NAME ".Manager", mgr_names, mgr_types);

  g_assert_cmpint (busctl (FALSE, &out, NULL, "introspect", NAME, ROOT, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "org.freedesktop.DBus.ObjectManager"));
  g_assert_true (g_regex_match_simple ("\\.TestAgent\\s+method\\s+s\\s+s", out, 0, 0));
  g_assert_true (g_regex_match_simple ("\\.Reload\\s+method\\s+-\\s+-", out, 0, 0));
  g_assert_true (g_regex_match_simple ("\\.ShutdownIssued\\s+signal\\s+ssass", out, 0, 0));
  g_assert_true (g_regex_match_simple ("\\.AbortIssued\\s+signal\\s+ssass", out, 0, 0));
}

static void
test_live_values (void)
{
  gdouble first, second;
  gint64 now_us = g_get_real_time ();
  g_autofree gchar *name = get_property (STUDY, NAME ".Device", "Name");
  g_autofree gchar *serial = get_property (STUDY, NAME ".Device", "Serial");
  g_autofree gchar *on_battery = get_property (STUDY, NAME ".Device", "OnBattery");
  g_autofree gchar *grid = get_property (STUDY, NAME ".Device", "GridConnected");
  g_autofree gchar *stale = get_property (STUDY, NAME ".Device", "Stale");
  g_autofree gchar *remaining = get_property (STUDY, NAME ".Device", "RemainingMinutes");
  g_autofree gchar *last = get_property (STUDY, NAME ".Device", "LastUpdate");
  g_autofree gchar *garage_stale =
    get_property (ROOT "/Device/garage_shed", NAME ".Device", "Stale");
  g_autofree gchar *garage_grid =
    get_property (ROOT "/Device/garage_shed", NAME ".Device", "GridConnected");
  g_autofree gchar *dry_run = get_property (ROOT, NAME ".Manager", "DryRun");
  g_autofree gchar *mqtt = get_property (ROOT, NAME ".Manager", "MqttConnected");
  g_autofree gchar *version = get_property (ROOT, NAME ".Manager", "Version");
  gint64 last_us;

  g_assert_cmpstr (name, ==, "s \"Study Room\"");
  g_assert_cmpstr (serial, ==, "s \"R631ZEB4WH000001\"");
  g_assert_cmpstr (on_battery, ==, "b true");
  g_assert_cmpstr (grid, ==, "b false");
  g_assert_cmpstr (stale, ==, "b false");
  g_assert_true (g_str_has_prefix (remaining, "i "));
  g_assert_true (g_str_has_prefix (last, "t "));
  last_us = g_ascii_strtoll (last + 2, NULL, 10);
  /* unix microseconds of a frame from the last few seconds */
  g_assert_cmpint (last_us, >, now_us - 5 * G_USEC_PER_SEC);
  g_assert_cmpint (last_us, <=, now_us + G_USEC_PER_SEC);
  g_assert_cmpstr (garage_stale, ==, "b true");
  g_assert_cmpstr (garage_grid, ==, "b true");
  g_assert_cmpstr (dry_run, ==, "b true");
  g_assert_cmpstr (mqtt, ==, "b true");
  g_assert_true (g_str_has_prefix (version, "s \""));

  /* the station drains: the value read over the bus goes down */
  first = get_soc ();
  g_usleep (1500 * 1000);
  second = get_soc ();
  g_test_message ("StateOfCharge %.1f -> %.1f", first, second);
  g_assert_cmpfloat (first, <=, 80.0);
  g_assert_cmpfloat (second, <=, first - 0.5);
}

typedef struct
{
  guint count;
  gdouble last_soc;
  gboolean decreasing;
} ChangeCount;

static void
on_device_changed (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                   const gchar *member, GVariant *args, gpointer user_data)
{
  ChangeCount *cc = user_data;
  g_autoptr (GVariant) changed = g_variant_get_child_value (args, 1);
  gdouble soc;

  if (!g_variant_lookup (changed, "StateOfCharge", "d", &soc))
    return;
  if (cc->count > 0 && soc >= cc->last_soc)
    cc->decreasing = FALSE;
  cc->count++;
  cc->last_soc = soc;
}

static void
test_properties_changed_coalesced (void)
{
  ChangeCount cc = { 0, 0, TRUE };
  guint id = g_dbus_connection_signal_subscribe (
    efp_test_bus_connection (bus), NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
    STUDY, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_device_changed, &cc, NULL);

  /* frames arrive every 200 ms; the device may emit at most once per second */
  efp_test_spin (3500);
  g_dbus_connection_signal_unsubscribe (efp_test_bus_connection (bus), id);
  g_test_message ("%u PropertiesChanged with StateOfCharge in 3.5 s", cc.count);
  g_assert_cmpuint (cc.count, >=, 2);
  g_assert_cmpuint (cc.count, <=, 4);
  g_assert_true (cc.decreasing);
}

static void
test_nobody_can_read (void)
{
  g_autofree gchar *out = NULL;

  g_assert_cmpint (
    busctl (TRUE, &out, NULL, "get-property", NAME, STUDY, NAME ".Device", "StateOfCharge", NULL),
    ==, 0);
  g_assert_true (g_str_has_prefix (out, "d "));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (busctl (TRUE, &out, NULL, "tree", "--list", NAME, NULL), ==, 0);
  g_assert_nonnull (strstr (out, STUDY));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (gdbus_call (TRUE, NAME ".Manager.GetEvents", NULL, &out, NULL), ==, 0);
}

static void
test_nobody_refused (void)
{
  g_autofree gchar *before = get_property (ROOT "/Agent/nas_1", NAME ".Agent", "LastCommandId");
  g_autofree gchar *after = NULL;
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;

  g_assert_cmpint (
    busctl (TRUE, &out, &err, "call", NAME, ROOT, NAME ".Manager", "TestAgent", "s", "nas-1", NULL),
    !=, 0);
  g_test_message ("busctl as nobody: %s", err);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gdbus_call (TRUE, NAME ".Manager.TestAgent", "nas-1", NULL, &err), !=, 0);
  g_test_message ("gdbus as nobody: %s", err);
  g_assert_nonnull (strstr (err, NAME ".Error.NotAuthorized"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gdbus_call (TRUE, NAME ".Manager.Reload", NULL, NULL, &err), !=, 0);
  g_assert_nonnull (strstr (err, NAME ".Error.NotAuthorized"));

  /* and nothing was sent */
  after = get_property (ROOT "/Agent/nas_1", NAME ".Agent", "LastCommandId");
  g_assert_cmpstr (before, ==, after);
}

static void
test_root_allowed (void)
{
  g_autofree gchar *out = NULL;
  g_autofree gchar *id = NULL;
  g_autofree gchar *expected = NULL;
  g_autofree gchar *result = NULL;

  g_assert_cmpint (busctl (FALSE, &out, NULL, "call", NAME, ROOT, NAME ".Manager", "TestAgent", "s",
                           "nas-1", NULL),
                   ==, 0);
  g_strstrip (out);
  g_assert_true (g_str_has_prefix (out, "s \"test-"));
  /* the service shows what the daemon did with it (properties settle in an idle) */
  efp_test_spin (200);
  expected = g_strdup (out);
  id = get_property (ROOT "/Agent/nas_1", NAME ".Agent", "LastCommandId");
  g_assert_cmpstr (id, ==, expected);
  result = get_property (ROOT "/Agent/nas_1", NAME ".Agent", "LastResult");
  g_assert_cmpstr (result, ==, "s \"tested\"");
}

static void
test_error_names (void)
{
  g_autofree gchar *err = NULL;

  g_assert_cmpint (gdbus_call (FALSE, NAME ".Manager.TestAgent", "no-such-agent", NULL, &err), !=,
                   0);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, NAME ".Error.UnknownAgent"));
  g_assert_nonnull (strstr (err, "no-such-agent"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gdbus_call (FALSE, NAME ".Manager.TestAgent", "", NULL, &err), !=, 0);
  g_assert_nonnull (strstr (err, NAME ".Error.InvalidArgs"));
}

static void
with_fake_polkit (const gchar *mode, gboolean expect_allowed)
{
  g_autofree gchar *server_path = efp_test_build_path ("tests/efp-dbus-test-server");
  g_autofree gchar *mode_arg = g_strdup_printf ("--fake-polkit=%s", mode);
  const gchar *argv[] = { server_path, mode_arg, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) polkit = efp_test_bus_spawn (bus, argv, FALSE, &error);
  g_autofree gchar *out = NULL;
  g_autofree gchar *err = NULL;
  gint status;

  g_assert_no_error (error);
  g_assert_true (efp_test_bus_wait_name (bus, "org.freedesktop.PolicyKit1", TRUE, 5000));
  status = gdbus_call (TRUE, NAME ".Manager.TestAgent", "nas-1", &out, &err);
  g_test_message ("polkit %s: status %d, %s%s", mode, status, out, err);
  if (expect_allowed)
    {
      g_assert_cmpint (status, ==, 0);
      g_assert_nonnull (strstr (out, "test-"));
    }
  else
    {
      g_assert_cmpint (status, !=, 0);
      g_assert_nonnull (strstr (err, NAME ".Error.NotAuthorized"));
    }
  g_subprocess_send_signal (polkit, SIGTERM);
  g_subprocess_wait (polkit, NULL, NULL);
  g_assert_true (efp_test_bus_wait_name (bus, "org.freedesktop.PolicyKit1", FALSE, 5000));
}

static void
test_polkit_allows (void)
{
  with_fake_polkit ("allow", TRUE);
}

static void
test_polkit_denies (void)
{
  with_fake_polkit ("deny", FALSE);
}

typedef struct
{
  GVariant *shutdown;
  GVariant *abort;
  guint events;
  gboolean armed_with_deadline;
} Signals;

static void
on_manager_signal (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                   const gchar *member, GVariant *args, gpointer user_data)
{
  Signals *s = user_data;

  if (g_str_equal (member, "ShutdownIssued") && s->shutdown == NULL)
    s->shutdown = g_variant_ref (args);
  else if (g_str_equal (member, "AbortIssued") && s->shutdown != NULL && s->abort == NULL)
    s->abort = g_variant_ref (args);
  else if (g_str_equal (member, "Event"))
    s->events++;
}

static void
on_policy_changed (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
                   const gchar *member, GVariant *args, gpointer user_data)
{
  Signals *s = user_data;
  g_autoptr (GVariant) changed = g_variant_get_child_value (args, 1);
  const gchar *state = NULL;
  guint64 deadline = 0;

  if (g_variant_lookup (changed, "State", "&s", &state) && g_str_equal (state, "armed") &&
      g_variant_lookup (changed, "Deadline", "t", &deadline) &&
      deadline > (guint64) g_get_real_time ())
    s->armed_with_deadline = TRUE;
}

static void
test_signals (void)
{
  GDBusConnection *c = efp_test_bus_connection (bus);
  Signals s = { 0 };
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  const gchar *policy, *device, *command_id;
  g_autofree const gchar **agents = NULL;
  guint sub =
    g_dbus_connection_signal_subscribe (c, NAME, NAME ".Manager", NULL, ROOT, NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, on_manager_signal, &s, NULL);
  guint psub = g_dbus_connection_signal_subscribe (
    c, NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged", ROOT "/Policy/critical", NULL,
    G_DBUS_SIGNAL_FLAGS_NONE, on_policy_changed, &s, NULL);

  /* the simulated policy cycles every 6 s */
  while ((s.abort == NULL || !s.armed_with_deadline) && g_get_monotonic_time () < end)
    efp_test_spin (50);
  g_dbus_connection_signal_unsubscribe (c, sub);
  g_dbus_connection_signal_unsubscribe (c, psub);

  g_assert_nonnull (s.shutdown);
  g_assert_nonnull (s.abort);
  g_assert_true (s.armed_with_deadline);
  g_assert_cmpuint (s.events, >=, 2);
  g_variant_get (s.shutdown, "(&s&s^a&s&s)", &policy, &device, &agents, &command_id);
  g_assert_cmpstr (policy, ==, "critical");
  g_assert_cmpstr (device, ==, "Study Room");
  g_assert_cmpuint (g_strv_length ((gchar **) agents), ==, 1);
  g_assert_cmpstr (agents[0], ==, "nas-1");
  g_assert_true (g_str_has_prefix (command_id, "cmd-"));
  g_variant_unref (s.shutdown);
  g_variant_unref (s.abort);
}

static void
test_get_events (void)
{
  g_autofree gchar *out = NULL;

  g_assert_cmpint (
    busctl (FALSE, &out, NULL, "call", NAME, ROOT, NAME ".Manager", "GetEvents", NULL), ==, 0);
  g_test_message ("%s", out);
  g_assert_true (g_str_has_prefix (out, "a(xssss) "));
  g_assert_nonnull (strstr (out, "\"timer-start\""));
  g_assert_nonnull (strstr (out, "\"shutdown-triggered\""));
  g_assert_nonnull (strstr (out, "\"Study Room\""));
}

typedef struct
{
  gboolean agent_gone;
  gboolean policy_gone;
} Removed;

static void
on_removed (GDBusConnection *c, const gchar *sender, const gchar *path, const gchar *iface,
            const gchar *member, GVariant *args, gpointer user_data)
{
  Removed *r = user_data;
  const gchar *object = NULL;

  g_variant_get (args, "(&o@as)", &object, NULL);
  if (g_str_equal (object, ROOT "/Agent/pc_office"))
    r->agent_gone = TRUE;
  if (g_str_equal (object, ROOT "/Policy/runtime_guard"))
    r->policy_gone = TRUE;
}

static void
test_reload_removes_objects (void)
{
  GDBusConnection *c = efp_test_bus_connection (bus);
  Removed r = { FALSE, FALSE };
  g_autofree gchar *out = NULL;
  gint64 end;
  guint sub = g_dbus_connection_signal_subscribe (c, NAME, "org.freedesktop.DBus.ObjectManager",
                                                  "InterfacesRemoved", ROOT, NULL,
                                                  G_DBUS_SIGNAL_FLAGS_NONE, on_removed, &r, NULL);

  g_assert_cmpint (busctl (FALSE, NULL, NULL, "call", NAME, ROOT, NAME ".Manager", "Reload", NULL),
                   ==, 0);
  end = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  while ((!r.agent_gone || !r.policy_gone) && g_get_monotonic_time () < end)
    efp_test_spin (20);
  g_dbus_connection_signal_unsubscribe (c, sub);
  g_assert_true (r.agent_gone);
  g_assert_true (r.policy_gone);

  g_assert_cmpint (busctl (FALSE, &out, NULL, "tree", "--list", NAME, NULL), ==, 0);
  g_assert_null (strstr (out, "pc_office"));
  g_assert_null (strstr (out, "runtime_guard"));
  g_assert_nonnull (strstr (out, ROOT "/Agent/nas_1"));
}

static void
test_bus_restart (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *out = NULL;

  g_assert_true (efp_test_bus_restart (bus, &error));
  g_assert_no_error (error);
  /* the service neither exits nor gives up: it reconnects (first retry after 1 s)
   * and serves the same objects with live values again */
  g_assert_true (efp_test_bus_wait_name (bus, NAME, TRUE, 10000));
  g_assert_nonnull (g_subprocess_get_identifier (server));
  g_assert_cmpint (busctl (FALSE, &out, NULL, "tree", "--list", NAME, NULL), ==, 0);
  g_assert_nonnull (strstr (out, STUDY));
  g_assert_nonnull (strstr (out, ROOT "/Agent/nas_1"));
  g_assert_cmpfloat (get_soc (), <, 80.0);
}

static void
test_service_gone (void)
{
  g_autofree gchar *err = NULL;

  g_subprocess_send_signal (server, SIGTERM);
  g_assert_true (g_subprocess_wait (server, NULL, NULL));
  g_assert_true (g_subprocess_get_if_exited (server));
  g_assert_cmpint (g_subprocess_get_exit_status (server), ==, 0);
  g_assert_true (efp_test_bus_wait_name (bus, NAME, FALSE, 5000));
  g_assert_cmpint (busctl (FALSE, NULL, &err, "tree", NAME, NULL), !=, 0);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  bus = efp_test_bus_new (&error);
  g_assert_no_error (error);
  address_arg = g_strdup_printf ("--address=%s", efp_test_bus_get_address (bus));
  server = efp_test_bus_start_test_server (bus, NAME);

  g_test_add_func ("/dbus/busctl/tree", test_tree);
  g_test_add_func ("/dbus/busctl/introspect", test_introspect);
  g_test_add_func ("/dbus/busctl/live-values", test_live_values);
  g_test_add_func ("/dbus/properties-changed/coalesced", test_properties_changed_coalesced);
  g_test_add_func ("/dbus/auth/nobody-can-read", test_nobody_can_read);
  g_test_add_func ("/dbus/auth/nobody-refused", test_nobody_refused);
  g_test_add_func ("/dbus/auth/root-allowed", test_root_allowed);
  g_test_add_func ("/dbus/auth/polkit-allows", test_polkit_allows);
  g_test_add_func ("/dbus/auth/polkit-denies", test_polkit_denies);
  g_test_add_func ("/dbus/errors/names", test_error_names);
  g_test_add_func ("/dbus/signals/shutdown-abort-event", test_signals);
  g_test_add_func ("/dbus/methods/get-events", test_get_events);
  g_test_add_func ("/dbus/objects/reload-removes", test_reload_removes_objects);
  g_test_add_func ("/dbus/objects/bus-restart", test_bus_restart);
  g_test_add_func ("/dbus/objects/service-gone", test_service_gone);
  status = g_test_run ();

  efp_test_server_clear (&server);
  g_clear_pointer (&bus, efp_test_bus_free);
  g_free (address_arg);
  return status;
}

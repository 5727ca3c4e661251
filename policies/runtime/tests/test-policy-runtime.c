/* test-policy-runtime.c: the runtime policy and its three estimators on an
 * injected clock, its configuration, and the built module. */
#include <math.h>

#include "efp-policy-module-check.h"

#define LOST EFP_TRISTATE_FALSE
#define GRID EFP_TRISTATE_TRUE

const EfpPolicyVTable *efp_policy_module_query (void);

static Harness *
runtime_new (const gchar *options, gdouble capacity_wh)
{
  return harness_new (efp_policy_module_query (), options, capacity_wh);
}

/* A frame carrying the station's own estimate. */
static void
station_frame (Harness *h, gdouble t, EfpTristate grid, gint minutes)
{
  h->reading.remain_minutes = minutes;
  harness_frame (h, t, grid, 50);
}

static void
test_keys_and_defaults (void)
{
  const EfpPolicyVTable *vt = efp_policy_module_query ();
  static const gchar *const want[] = {
    "runtime-min-minutes", "debounce-sec",       "cooldown-sec", "abort-window-sec",
    "max-data-gap-sec",    "shutdown-delay-sec", "dry-run",      NULL
  };
  g_autofree gchar *dump = harness_dump_defaults (vt);
  guint i;

  g_assert_cmpstr (vt->name, ==, "runtime");
  for (i = 0; want[i] != NULL; i++)
    g_assert_cmpstr (vt->option_keys[i], ==, want[i]);
  g_assert_null (vt->option_keys[i]);
  g_assert_cmpstr (dump, ==,
                   "[policy:test]\nruntime-min-minutes=10\ndebounce-sec=180\ncooldown-sec=300\n"
                   "abort-window-sec=120\nmax-data-gap-sec=60\nshutdown-delay-sec=60\n"
                   "dry-run=false\n");
}

static void
test_config_errors (void)
{
  static const struct
  {
    const gchar *key, *value, *message;
  } cases[] = {
    { "runtime-min-minutes", "0",
      "[policy:test] runtime-min-minutes: expected an integer 1-10080, found '0'" },
    { "runtime-min-minutes", "10081",
      "[policy:test] runtime-min-minutes: expected an integer 1-10080, found '10081'" },
    { "runtime-min-minutes", "ten",
      "[policy:test] runtime-min-minutes: expected an integer 1-10080, found 'ten'" },
    { "runtime-min-minutes", "7.5",
      "[policy:test] runtime-min-minutes: expected an integer 1-10080, found '7.5'" },
    { "debounce-sec", "-1",
      "[policy:test] debounce-sec: expected an integer 0-604800, found '-1'" },
    { "cooldown-sec", "a", "[policy:test] cooldown-sec: expected an integer 0-604800, found 'a'" },
    { "abort-window-sec", "0",
      "[policy:test] abort-window-sec: expected an integer 1-604800, found '0'" },
    { "max-data-gap-sec", "604801",
      "[policy:test] max-data-gap-sec: expected an integer 1-604800, found '604801'" },
    { "shutdown-delay-sec", "now",
      "[policy:test] shutdown-delay-sec: expected an integer 1-604800, found 'now'" },
    { "dry-run", "perhaps", "[policy:test] dry-run: expected true or false, found 'perhaps'" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *msg =
        harness_config_error (efp_policy_module_query (), cases[i].key, cases[i].value);
      g_assert_cmpstr (msg, ==, cases[i].message);
    }
}

static void
test_station_estimate (void)
{
  g_autoptr (Harness) h = runtime_new (NULL, NAN);
  gdouble t;

  for (t = 0; t < 600; t += 10)
    station_frame (h, t, LOST, 40 - (gint) (t / 20)); /* 40 .. 11 */
  g_assert_cmpuint (h->events->len, ==, 0);
  station_frame (h, 600, LOST, 10); /* not below 10 */
  g_assert_cmpuint (h->events->len, ==, 0);
  station_frame (h, 610, LOST, 9);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, ==,
                   "on battery, 9 min left (station) < 10, shutdown in 180 s");
  for (t = 620; t < 790; t += 10)
    station_frame (h, t, LOST, 9 - (gint) ((t - 610) / 60));
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  station_frame (h, 790, LOST, 6);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 0)->detail, ==,
                   "on battery, 6 min left (station) < 10 for 180 s");
  station_frame (h, 800, GRID, 200);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 1);
}

static void
test_station_on_grid_never (void)
{
  g_autoptr (Harness) h = runtime_new ("debounce-sec=0\n", NAN);
  gdouble t;

  for (t = 0; t < 600; t += 10)
    station_frame (h, t, GRID, 1);
  for (t = 600; t < 900; t += 10)
    station_frame (h, t, EFP_TRISTATE_UNKNOWN, 1);
  g_assert_cmpuint (h->events->len, ==, 0);
}

static void
test_station_preferred (void)
{
  g_autoptr (Harness) h = runtime_new ("debounce-sec=0\n", 1000);

  /* the watts alone would say 1000 Wh * 50 % / 3000 W = 10 min: not asked */
  h->reading.output_watts = 3000;
  station_frame (h, 0, LOST, 60);
  station_frame (h, 10, LOST, 60);
  g_assert_cmpuint (h->events->len, ==, 0);
  /* without the station's figure the watts decide */
  h->reading.output_watts = 3100;
  station_frame (h, 20, LOST, -1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 0)->detail, ==,
                   "on battery, 9.7 min left (watts) < 10 for 0 s");
}

static void
test_watts_estimate (void)
{
  g_autoptr (Harness) h = runtime_new ("runtime-min-minutes=15\ndebounce-sec=60\n", 1024);

  /* 1024 Wh at 20 %: 204.8 Wh; at 1000 W that is 12.3 min */
  h->reading.output_watts = 1000;
  harness_frame (h, 0, LOST, 20);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, ==,
                   "on battery, 12.3 min left (watts) < 15, shutdown in 60 s");
  /* the load drops and solar helps: 300 W out, 100 W in -> 61.4 min */
  h->reading.output_watts = 300;
  h->reading.input_watts = 100;
  harness_frame (h, 30, LOST, 20);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_ABORT, 0)->detail, ==,
                   "on battery, 61.4 min left (watts) >= 15 after 30 s");
  /* solar covers everything */
  h->reading.input_watts = 400;
  harness_frame (h, 40, LOST, 20);
  harness_frames (h, 50, 400, 10, LOST, 20);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
}

static void
test_slope_estimate (void)
{
  g_autoptr (Harness) h = runtime_new (NULL, NAN);
  gdouble t;

  /* no station estimate, no capacity: 1 % every 36 s from 40 %, so the
   * minutes left are 0.6 x SoC: 17 % -> 10.2 min, 16 % -> 9.6 min */
  for (t = 0; t <= 1044; t += 6)
    harness_frame (h, t, LOST, 40 - floor (t / 36));
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_TIMER_START, 0), ==, 864);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, ==,
                   "on battery, 9.6 min left (slope) < 10, shutdown in 180 s");
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 1044);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 0);
}

static void
test_no_estimate_never (void)
{
  g_autoptr (Harness) h = runtime_new ("debounce-sec=0\n", NAN);

  /* on battery at 3 % but the SoC has not moved: nothing to judge by */
  harness_frames (h, 0, 900, 10, LOST, 3);
  g_assert_cmpuint (h->events->len, ==, 0);
  /* unknown SoC: the same */
  harness_frames (h, 910, 1200, 10, LOST, NAN);
  g_assert_cmpuint (h->events->len, ==, 0);
}

static void
test_noisy_station_estimate (void)
{
  g_autoptr (Harness) h = runtime_new (NULL, NAN);
  gdouble t;
  guint i = 0;

  /* the station's figure jumps 9 / 11 / 8 / 12 every 40 s: never 180 s below 10 */
  static const gint noise[] = { 9, 11, 8, 12 };
  for (t = 0; t < 1760; t += 40)
    station_frame (h, t, LOST, noise[i++ % G_N_ELEMENTS (noise)]);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==,
                    harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT));
}

static void
test_noise_after_trigger (void)
{
  g_autoptr (Harness) h = runtime_new (NULL, NAN);
  gdouble t;
  guint i = 0;
  static const gint noise[] = { 9, 11, 8, 14, 10 };

  for (t = 0; t <= 180; t += 10)
    station_frame (h, t, LOST, 7);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  for (t = 190; t < 3600; t += 30)
    station_frame (h, t, LOST, noise[i++ % G_N_ELEMENTS (noise)]);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
}

static void
test_noisy_soc_gives_no_slope (void)
{
  g_autoptr (Harness) h = runtime_new ("debounce-sec=0\n", NAN);
  gdouble t;

  /* SoC hopping between 10 and 11 is not a discharge */
  for (t = 0; t < 1800; t += 10)
    harness_frame (h, t, LOST, ((gint) t / 10) % 2 == 0 ? 11 : 10);
  g_assert_cmpuint (h->events->len, ==, 0);
}

static void
test_slope_resets_on_grid (void)
{
  g_autoptr (Harness) h = runtime_new ("debounce-sec=0\n", NAN);
  gdouble t;

  /* a fast drain learnt in one outage ... */
  for (t = 0; t <= 60; t += 10)
    harness_frame (h, t, LOST, 90 - t / 10);
  g_assert_cmpuint (h->events->len, ==, 0);
  /* ... is forgotten once the grid is back, so the next outage starts blind */
  harness_frames (h, 70, 300, 10, GRID, 54);
  harness_frames (h, 310, 400, 10, LOST, 8);
  g_assert_cmpuint (h->events->len, ==, 0);
  /* two new lows later it knows again: 1 % per 10 s at 6 % -> 1 min */
  harness_frame (h, 410, LOST, 7);
  harness_frame (h, 420, LOST, 6);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
}

static void
test_stale_station_data_never_fires (void)
{
  g_autoptr (Harness) h = runtime_new (NULL, NAN);

  station_frame (h, 0, LOST, 5);
  harness_idle_until (h, 3600);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  station_frame (h, 3600, LOST, 5);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
}

static void
test_module_loads (void)
{
  g_autoptr (EfpPluginRegistry) registry = NULL;
  const EfpPolicyVTable *vt = harness_load_module (efp_policy_module_query (), &registry);
  g_autoptr (Harness) h = harness_new (vt, "runtime-min-minutes=30\ndebounce-sec=0\n", NAN);
  g_autofree gchar *msg = harness_config_error (vt, "runtime-min-minutes", "0");

  g_assert_cmpstr (msg, ==,
                   "[policy:test] runtime-min-minutes: expected an integer 1-10080, found '0'");
  station_frame (h, 0, LOST, 45);
  g_assert_cmpuint (h->events->len, ==, 0);
  station_frame (h, 10, LOST, 29);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/runtime/keys-and-defaults", test_keys_and_defaults);
  g_test_add_func ("/policy/runtime/config-errors", test_config_errors);
  g_test_add_func ("/policy/runtime/station-estimate", test_station_estimate);
  g_test_add_func ("/policy/runtime/station-on-grid", test_station_on_grid_never);
  g_test_add_func ("/policy/runtime/station-preferred", test_station_preferred);
  g_test_add_func ("/policy/runtime/watts-estimate", test_watts_estimate);
  g_test_add_func ("/policy/runtime/slope-estimate", test_slope_estimate);
  g_test_add_func ("/policy/runtime/no-estimate", test_no_estimate_never);
  g_test_add_func ("/policy/runtime/noisy-station", test_noisy_station_estimate);
  g_test_add_func ("/policy/runtime/noise-after-trigger", test_noise_after_trigger);
  g_test_add_func ("/policy/runtime/noisy-soc", test_noisy_soc_gives_no_slope);
  g_test_add_func ("/policy/runtime/slope-resets-on-grid", test_slope_resets_on_grid);
  g_test_add_func ("/policy/runtime/stale", test_stale_station_data_never_fires);
  g_test_add_func ("/policy/runtime/module", test_module_loads);
  return g_test_run ();
}

/* test-policy-comm-lost.c: the comm-lost policy on an injected clock, its
 * configuration, and the built module. */
#include <math.h>

#include "efp-policy-module-check.h"

#define LOST EFP_TRISTATE_FALSE
#define GRID EFP_TRISTATE_TRUE

const EfpPolicyVTable *efp_policy_module_query (void);

static Harness *
comm_new (const gchar *options, gdouble capacity_wh)
{
  return harness_new (efp_policy_module_query (), options, capacity_wh);
}

/* On battery, 1 % every 10 s from 30 % to 20 % at t = 100, then silence. */
static Harness *
fast_drain_then_silence (void)
{
  Harness *h = comm_new (NULL, NAN);
  gdouble t;

  for (t = 0; t <= 100; t += 5)
    harness_frame (h, t, LOST, 30 - floor (t / 10));
  g_assert_cmpuint (h->events->len, ==, 0);
  return h;
}

static void
test_keys_and_defaults (void)
{
  const EfpPolicyVTable *vt = efp_policy_module_query ();
  static const gchar *const want[] = {
    "soc-min", "max-data-gap-sec", "max-blind-sec", "shutdown-delay-sec", "dry-run", NULL,
  };
  g_autofree gchar *dump = harness_dump_defaults (vt);
  guint i;

  g_assert_cmpstr (vt->name, ==, "comm-lost");
  for (i = 0; want[i] != NULL; i++)
    g_assert_cmpstr (vt->option_keys[i], ==, want[i]);
  g_assert_null (vt->option_keys[i]);
  g_assert_cmpstr (dump, ==,
                   "[policy:test]\nsoc-min=10\nmax-data-gap-sec=60\nmax-blind-sec=900\n"
                   "shutdown-delay-sec=60\ndry-run=false\n");
}

static void
test_config_errors (void)
{
  static const struct
  {
    const gchar *key, *value, *message;
  } cases[] = {
    { "soc-min", "low", "[policy:test] soc-min: expected an integer 0-100, found 'low'" },
    { "soc-min", "101", "[policy:test] soc-min: expected an integer 0-100, found '101'" },
    { "max-data-gap-sec", "0",
      "[policy:test] max-data-gap-sec: expected an integer 1-604800, found '0'" },
    { "max-data-gap-sec", "1m",
      "[policy:test] max-data-gap-sec: expected an integer 1-604800, found '1m'" },
    { "max-blind-sec", "0",
      "[policy:test] max-blind-sec: expected an integer 1-604800, found '0'" },
    { "max-blind-sec", "604801",
      "[policy:test] max-blind-sec: expected an integer 1-604800, found '604801'" },
    { "max-blind-sec", "15 min",
      "[policy:test] max-blind-sec: expected an integer 1-604800, found '15 min'" },
    { "shutdown-delay-sec", "-60",
      "[policy:test] shutdown-delay-sec: expected an integer 1-604800, found '-60'" },
    { "dry-run", "nope", "[policy:test] dry-run: expected true or false, found 'nope'" },
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
test_estimate_by_slope (void)
{
  g_autoptr (Harness) h = fast_drain_then_silence ();

  /* stale at 160: 20 % left at 0.1 %/s reaches 10 % 100 s after the last frame */
  harness_idle_until (h, 170);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, ==,
                   "no data for 60 s, last seen on battery at soc 20: shutdown in 40 s, "
                   "when soc should reach 10 (slope)");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  g_assert_cmpint (h->verdict.deadline_us, ==, HARNESS_AT (200));
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (200));
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  harness_idle_until (h, 200);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 200);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 0)->detail, ==,
                   "no data for 100 s while on battery, soc estimated at 10 or less");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_TRIGGERED);
  g_assert_cmpuint (h->verdict.delay_sec, ==, 60);
  /* the abort window closes at 320; blind for hours after: one shutdown only */
  harness_idle_until (h, 36000);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_COOLDOWN);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
}

static void
test_max_blind_without_rate (void)
{
  g_autoptr (Harness) h = comm_new ("dry-run=true\n", NAN);

  /* on battery, SoC steady: no rate known at all */
  harness_frames (h, 0, 100, 10, LOST, 50);
  harness_idle_until (h, 999);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, ==,
                   "no data for 60 s, last seen on battery: shutdown in 840 s (max-blind-sec 900)");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  harness_idle_until (h, 1000);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 1000);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 0)->detail, ==,
                   "no data for 900 s while on battery (max-blind-sec 900)");
  g_assert_true (h->verdict.dry_run);
}

static void
test_max_blind_before_slow_estimate (void)
{
  g_autoptr (Harness) h = comm_new (NULL, NAN);
  gdouble t;

  /* 1 % a minute at 45 %: 35 min to soc-min, but only 15 min of blindness allowed */
  for (t = 0; t <= 300; t += 10)
    harness_frame (h, t, LOST, 50 - floor (t / 60));
  harness_idle_until (h, 1300);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 1200);
}

static void
test_estimate_by_station (void)
{
  g_autoptr (Harness) h = comm_new ("max-blind-sec=3600\n", NAN);

  /* the station said 30 min to empty at 40 %: 30 points in 1350 s */
  h->reading.remain_minutes = 30;
  harness_frames (h, 0, 100, 10, LOST, 40);
  harness_idle_until (h, 200);
  g_assert_cmpint (h->verdict.deadline_us, ==, HARNESS_AT (1450));
  g_assert_nonnull (
    strstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, "(station)"));
  harness_idle_until (h, 1450);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 1450);
}

static void
test_estimate_by_watts (void)
{
  g_autoptr (Harness) h = comm_new (NULL, 1000);

  /* 500 W from 1000 Wh is 50 %/h: 10 points above soc-min last 720 s */
  h->reading.output_watts = 500;
  harness_frames (h, 0, 100, 10, LOST, 20);
  harness_idle_until (h, 819);
  g_assert_cmpint (h->verdict.deadline_us, ==, HARNESS_AT (820));
  g_assert_nonnull (strstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, "(watts)"));
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  harness_idle_until (h, 820);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
}

static void
test_slope_preferred_over_watts (void)
{
  g_autoptr (Harness) h = comm_new (NULL, 1000);
  gdouble t;

  /* watts say 50 %/h, the SoC says 0.1 %/s: what was seen wins */
  h->reading.output_watts = 500;
  for (t = 0; t <= 100; t += 5)
    harness_frame (h, t, LOST, 30 - floor (t / 10));
  harness_idle_until (h, 200);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 200);
}

static void
test_already_at_soc_min (void)
{
  g_autoptr (Harness) h = comm_new (NULL, NAN);

  harness_frames (h, 0, 100, 10, LOST, 8);
  harness_idle_until (h, 200);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 160.000001);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, ==,
                   "no data for 60 s, last seen on battery at soc 8 <= 10: shutdown now");
}

static void
test_stale_on_grid_never_shuts_down (void)
{
  g_autoptr (Harness) h = comm_new ("max-blind-sec=1\n", NAN);

  harness_frames (h, 0, 100, 10, GRID, 5);
  harness_idle_until (h, 86400);
  g_assert_cmpuint (h->events->len, ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
  harness_evaluate (h, HARNESS_AT (90000));
  g_assert_cmpuint (h->events->len, ==, 1);
}

static void
test_stale_with_grid_unknown_never_shuts_down (void)
{
  g_autoptr (Harness) h = comm_new (NULL, NAN);

  harness_frames (h, 0, 100, 10, EFP_TRISTATE_UNKNOWN, 5);
  harness_idle_until (h, 86400);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
}

static void
test_data_resumes_before_trigger (void)
{
  g_autoptr (Harness) h = comm_new (NULL, NAN);

  harness_frames (h, 0, 100, 10, LOST, 50);
  harness_idle_until (h, 500);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  harness_frame (h, 500, LOST, 48);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_ABORT, 0)->detail, ==,
                   "data resumed after 400 s");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
  g_assert_cmpint (h->verdict.deadline_us, ==, 0);
  harness_frames (h, 510, 2000, 10, LOST, 48);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  /* a second silence is a new countdown from its own last frame */
  harness_idle_until (h, 2899);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 2);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 2);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  harness_idle_until (h, 2900);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
}

static void
test_abort_inside_window (void)
{
  g_autoptr (Harness) h = fast_drain_then_silence ();

  harness_idle_until (h, 250);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  harness_frame (h, 319, GRID, 12);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_ABORT, 0)->detail, ==,
                   "grid returned 119 s after the shutdown");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
}

static void
test_no_abort_after_window (void)
{
  g_autoptr (Harness) h = fast_drain_then_silence ();

  harness_idle_until (h, 250);
  harness_frame (h, 320, GRID, 12);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
}

static void
test_battery_data_after_trigger (void)
{
  g_autoptr (Harness) h = fast_drain_then_silence ();
  gdouble t;

  harness_idle_until (h, 250);
  /* the station is back, still on battery: the shutdown stands */
  harness_frames (h, 260, 330, 10, LOST, 11);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
  /* and a later grid return is no abort either (the window is over) */
  for (t = 340; t <= 400; t += 10)
    harness_frame (h, t, GRID, 11);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
}

static void
test_restart_while_blind (void)
{
  g_autoptr (Harness) h = fast_drain_then_silence ();
  g_autoptr (Harness) h2 = comm_new (NULL, NAN);
  g_autoptr (Harness) h3 = comm_new (NULL, NAN);

  harness_idle_until (h, 170);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  /* the daemon restarts with the persisted state and no data at all */
  h2->state = h->state;
  harness_evaluate (h2, HARNESS_AT (180));
  g_assert_cmpint (h2->verdict.deadline_us, ==, HARNESS_AT (200));
  g_assert_cmpint (h2->verdict.wake_at_us, ==, HARNESS_AT (200));
  harness_idle_until (h2, 200);
  g_assert_cmpuint (harness_count (h2, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);

  /* a persisted deadline that is out of range falls back to max-blind-sec */
  h3->state = h->state;
  h3->state.aux[7] = 0;
  harness_evaluate (h3, HARNESS_AT (180));
  g_assert_cmpint (h3->verdict.deadline_us, ==, HARNESS_AT (1000));
}

static void
test_module_loads (void)
{
  g_autoptr (EfpPluginRegistry) registry = NULL;
  const EfpPolicyVTable *vt = harness_load_module (efp_policy_module_query (), &registry);
  g_autoptr (Harness) h = harness_new (vt, "max-data-gap-sec=10\nmax-blind-sec=30\n", NAN);
  g_autofree gchar *msg = harness_config_error (vt, "max-blind-sec", "0");

  g_assert_cmpstr (msg, ==, "[policy:test] max-blind-sec: expected an integer 1-604800, found '0'");
  harness_frame (h, 0, LOST, 60);
  harness_idle_until (h, 30);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 30);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/comm-lost/keys-and-defaults", test_keys_and_defaults);
  g_test_add_func ("/policy/comm-lost/config-errors", test_config_errors);
  g_test_add_func ("/policy/comm-lost/estimate-slope", test_estimate_by_slope);
  g_test_add_func ("/policy/comm-lost/max-blind", test_max_blind_without_rate);
  g_test_add_func ("/policy/comm-lost/max-blind-first", test_max_blind_before_slow_estimate);
  g_test_add_func ("/policy/comm-lost/estimate-station", test_estimate_by_station);
  g_test_add_func ("/policy/comm-lost/estimate-watts", test_estimate_by_watts);
  g_test_add_func ("/policy/comm-lost/slope-preferred", test_slope_preferred_over_watts);
  g_test_add_func ("/policy/comm-lost/already-at-soc-min", test_already_at_soc_min);
  g_test_add_func ("/policy/comm-lost/stale-on-grid", test_stale_on_grid_never_shuts_down);
  g_test_add_func ("/policy/comm-lost/stale-grid-unknown",
                   test_stale_with_grid_unknown_never_shuts_down);
  g_test_add_func ("/policy/comm-lost/data-resumes", test_data_resumes_before_trigger);
  g_test_add_func ("/policy/comm-lost/abort-inside-window", test_abort_inside_window);
  g_test_add_func ("/policy/comm-lost/no-abort-after-window", test_no_abort_after_window);
  g_test_add_func ("/policy/comm-lost/battery-data-after-trigger", test_battery_data_after_trigger);
  g_test_add_func ("/policy/comm-lost/restart-while-blind", test_restart_while_blind);
  g_test_add_func ("/policy/comm-lost/module", test_module_loads);
  return g_test_run ();
}

/* test-policy-critical-soc.c: the critical-soc policy on an injected clock, its
 * configuration, and the built module loaded the way the daemon loads it. */
#include <math.h>

#include "efp-policy-module-check.h"

#define LOST EFP_TRISTATE_FALSE
#define GRID EFP_TRISTATE_TRUE

const EfpPolicyVTable *efp_policy_module_query (void);

static Harness *
crit_new (const gchar *options)
{
  return harness_new (efp_policy_module_query (), options, NAN);
}

static void
test_keys_and_defaults (void)
{
  const EfpPolicyVTable *vt = efp_policy_module_query ();
  static const gchar *const want[] = { "soc-min",          "debounce-sec",
                                       "cooldown-sec",     "abort-window-sec",
                                       "max-data-gap-sec", "shutdown-delay-sec",
                                       "dry-run",          NULL };
  g_autofree gchar *dump = harness_dump_defaults (vt);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree gchar *dry_run = NULL;
  g_auto (GStrv) keys = NULL;
  guint i;

  g_assert_cmpstr (vt->name, ==, "critical-soc");
  g_assert_cmpuint (g_strv_length ((gchar **) vt->option_keys), ==,
                    g_strv_length ((gchar **) want));
  for (i = 0; want[i] != NULL; i++)
    g_assert_cmpstr (vt->option_keys[i], ==, want[i]);

  g_assert_true (g_key_file_load_from_data (kf, dump, -1, G_KEY_FILE_NONE, NULL));
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:test", "soc-min", NULL), ==, 10);
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:test", "debounce-sec", NULL), ==, 180);
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:test", "cooldown-sec", NULL), ==, 300);
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:test", "abort-window-sec", NULL), ==, 120);
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:test", "max-data-gap-sec", NULL), ==, 60);
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:test", "shutdown-delay-sec", NULL), ==, 60);
  dry_run = g_key_file_get_value (kf, "policy:test", "dry-run", NULL);
  g_assert_cmpstr (dry_run, ==, "false");
  /* every option key is dumped, and nothing else */
  keys = g_key_file_get_keys (kf, "policy:test", NULL, NULL);
  g_assert_cmpuint (g_strv_length (keys), ==, 7);
  for (i = 0; keys[i] != NULL; i++)
    g_assert_true (g_strv_contains (want, keys[i]));
}

static void
test_config_dump_roundtrip (void)
{
  g_autoptr (Harness) h = crit_new ("soc-min=25\ndebounce-sec=0\ncooldown-sec=0\n"
                                    "abort-window-sec=30\nmax-data-gap-sec=15\n"
                                    "shutdown-delay-sec=5\ndry-run=on\n");
  g_autoptr (GKeyFile) out = g_key_file_new ();
  g_autofree gchar *text = NULL;

  h->vt->config_dump (h->config, out, "policy:x");
  text = g_key_file_to_data (out, NULL, NULL);
  g_assert_cmpstr (text, ==,
                   "[policy:x]\nsoc-min=25\ndebounce-sec=0\ncooldown-sec=0\n"
                   "abort-window-sec=30\nmax-data-gap-sec=15\nshutdown-delay-sec=5\n"
                   "dry-run=true\n");
}

static void
test_config_errors (void)
{
  static const struct
  {
    const gchar *key, *value, *message;
  } cases[] = {
    { "soc-min", "ten", "[policy:test] soc-min: expected an integer 0-100, found 'ten'" },
    { "soc-min", "101", "[policy:test] soc-min: expected an integer 0-100, found '101'" },
    { "soc-min", "-1", "[policy:test] soc-min: expected an integer 0-100, found '-1'" },
    { "soc-min", "9.5", "[policy:test] soc-min: expected an integer 0-100, found '9.5'" },
    { "debounce-sec", "soon",
      "[policy:test] debounce-sec: expected an integer 0-604800, found 'soon'" },
    { "debounce-sec", "604801",
      "[policy:test] debounce-sec: expected an integer 0-604800, found '604801'" },
    { "cooldown-sec", "5 min",
      "[policy:test] cooldown-sec: expected an integer 0-604800, found '5 min'" },
    { "cooldown-sec", "-5",
      "[policy:test] cooldown-sec: expected an integer 0-604800, found '-5'" },
    { "abort-window-sec", "x",
      "[policy:test] abort-window-sec: expected an integer 1-604800, found 'x'" },
    { "abort-window-sec", "0",
      "[policy:test] abort-window-sec: expected an integer 1-604800, found '0'" },
    { "max-data-gap-sec", "sixty",
      "[policy:test] max-data-gap-sec: expected an integer 1-604800, found 'sixty'" },
    { "max-data-gap-sec", "0",
      "[policy:test] max-data-gap-sec: expected an integer 1-604800, found '0'" },
    { "shutdown-delay-sec", "1e3",
      "[policy:test] shutdown-delay-sec: expected an integer 1-604800, found '1e3'" },
    { "shutdown-delay-sec", "99999999999999999999",
      "[policy:test] shutdown-delay-sec: expected an integer 1-604800, found "
      "'99999999999999999999'" },
    { "dry-run", "2", "[policy:test] dry-run: expected true or false, found '2'" },
    { "dry-run", "", "[policy:test] dry-run: expected true or false, found ''" },
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
test_config_bounds_accepted (void)
{
  g_autoptr (Harness) lo = crit_new ("soc-min=0\ndebounce-sec=0\ncooldown-sec=0\n"
                                     "abort-window-sec=1\nmax-data-gap-sec=1\n"
                                     "shutdown-delay-sec=1\ndry-run=false\n");
  g_autoptr (Harness) hi = crit_new ("soc-min=100\ndebounce-sec=604800\ncooldown-sec=604800\n"
                                     "abort-window-sec=604800\nmax-data-gap-sec=604800\n"
                                     "shutdown-delay-sec=604800\ndry-run=TRUE\n");

  g_assert_nonnull (lo->config);
  g_assert_nonnull (hi->config);
}

/* The seed's outage with default timings: frames every 5 s, SoC sinking. */
static void
test_seed_outage (void)
{
  g_autoptr (Harness) h = crit_new (NULL);
  gdouble t;

  harness_frames (h, 0, 55, 5, GRID, 30);
  for (t = 60; t < 120; t += 5)
    harness_frame (h, t, LOST, 30 - (t - 60) / 3); /* 30 .. 11 */
  g_assert_cmpuint (h->events->len, ==, 0);
  harness_frame (h, 120, LOST, 10); /* at the line: armed */
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, ==,
                   "grid lost and soc 10 <= 10, shutdown in 180 s");
  g_assert_cmpint (h->verdict.deadline_us, ==, HARNESS_AT (300));
  harness_frames (h, 125, 295, 5, LOST, 9);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  harness_frame (h, 300, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 0)->detail, ==,
                   "grid lost and soc 8 <= 10 for 180 s");
  g_assert_cmpuint (h->verdict.delay_sec, ==, 60);
  harness_frames (h, 305, 355, 5, LOST, 8);
  harness_frame (h, 360, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_ABORT, 0)->detail, ==,
                   "grid returned 60 s after the shutdown");
  harness_frames (h, 365, 1200, 5, GRID, 12);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
}

static void
test_condition_needs_grid_lost_and_known_soc (void)
{
  g_autoptr (Harness) h = crit_new ("debounce-sec=0\n");

  harness_frame (h, 0, GRID, 3);
  harness_frame (h, 10, EFP_TRISTATE_UNKNOWN, 3);
  harness_frame (h, 20, LOST, NAN);
  harness_frame (h, 30, LOST, 10.5);
  g_assert_cmpuint (h->events->len, ==, 0);
  harness_frame (h, 40, LOST, 10); /* <= is inclusive */
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 0)->detail, ==,
                   "grid lost and soc 10 <= 10 for 0 s");
}

static void
test_unknown_grid_is_not_a_return (void)
{
  g_autoptr (Harness) h = crit_new ("debounce-sec=0\n");

  harness_frame (h, 0, LOST, 5);
  harness_frame (h, 10, EFP_TRISTATE_UNKNOWN, 5);
  harness_frame (h, 20, LOST, NAN);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_TRIGGERED);
}

static void
test_single_frame_grid_flicker (void)
{
  g_autoptr (Harness) h = crit_new (NULL);
  gdouble t;

  /* on mains with a low battery; now and then one frame claims the grid is gone */
  for (t = 0; t < 3600; t += 5)
    harness_frame (h, t, ((gint) t % 200) == 0 ? LOST : GRID, 6);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 18);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 18);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_ABORT, 0)->detail, ==,
                   "grid returned after 5 s");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
}

static void
test_soc_noise_triggers_once_never_aborts (void)
{
  g_autoptr (Harness) h = crit_new (NULL);
  static const gdouble noise[] = { 10, 11, 9, 11, 10, 12, 10, 11 };
  gdouble t;
  guint i = 0;

  harness_frames (h, 0, 180, 5, LOST, 10);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  /* an hour of SoC hopping around the line while the grid stays out */
  for (t = 185; t < 3785; t += 20)
    harness_frame (h, t, LOST, noise[i++ % G_N_ELEMENTS (noise)]);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
  /* inside the abort window and cooldown the noise is not even a timer event */
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_TIMER_ABORT, 0), >=, 480);
}

static void
test_soc_noise_before_trigger_restarts_timer (void)
{
  g_autoptr (Harness) h = crit_new (NULL);
  gdouble t;

  /* 9, 11, 9, 11 every 60 s: never 180 s in a row, never a shutdown */
  for (t = 0; t < 1800; t += 60)
    harness_frame (h, t, LOST, ((gint) t / 60) % 2 == 0 ? 9 : 11);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 15);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_ABORT, 0)->detail, ==,
                   "soc 11 > 10 after 60 s");
}

static void
test_debounce_zero_first_frame (void)
{
  g_autoptr (Harness) h = crit_new ("debounce-sec=0\nshutdown-delay-sec=120\ndry-run=true\n");

  harness_frame (h, 0, LOST, 4);
  g_assert_cmpuint (h->verdict.n_events, ==, 2);
  g_assert_cmpint (h->verdict.events[0].kind, ==, EFP_POLICY_EVENT_TIMER_START);
  g_assert_cmpint (h->verdict.events[1].kind, ==, EFP_POLICY_EVENT_SHUTDOWN);
  g_assert_cmpuint (h->verdict.delay_sec, ==, 120);
  g_assert_true (h->verdict.dry_run);
  g_assert_cmpint (h->state.triggered_at_us, ==, HARNESS_AT (0));
}

static void
test_cooldown_blocks_then_allows (void)
{
  g_autoptr (Harness) h = crit_new ("debounce-sec=60\ncooldown-sec=600\n");

  harness_frames (h, 0, 655, 5, LOST, 7);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 60);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_COOLDOWN);
  harness_frame (h, 660, LOST, 7);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 2);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 1), ==, 660);
}

static void
test_abort_window (void)
{
  g_autoptr (Harness) in = crit_new ("debounce-sec=0\n");
  g_autoptr (Harness) out = crit_new ("debounce-sec=0\n");

  harness_frames (in, 0, 110, 10, LOST, 5);
  harness_frame (in, 115, GRID, 5);
  g_assert_cmpuint (harness_count (in, EFP_POLICY_EVENT_ABORT), ==, 1);

  harness_frames (out, 0, 110, 10, LOST, 5);
  harness_frame (out, 120, GRID, 5);
  harness_frames (out, 130, 400, 10, GRID, 5);
  g_assert_cmpuint (harness_count (out, EFP_POLICY_EVENT_ABORT), ==, 0);
  g_assert_cmpuint (harness_count (out, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
}

static void
test_gap_while_armed_fires_on_resume (void)
{
  g_autoptr (Harness) h = crit_new (NULL);

  harness_frames (h, 0, 100, 10, LOST, 9);
  /* the station goes quiet at 100 (stale from 160) for ten minutes */
  harness_idle_until (h, 700);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  g_assert_cmpint (h->state.armed_since_us, ==, HARNESS_AT (0));
  harness_frame (h, 700, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 0)->detail, ==,
                   "grid lost and soc 8 <= 10 for 700 s");
}

static void
test_gap_before_debounce_keeps_age (void)
{
  g_autoptr (Harness) h = crit_new (NULL);

  harness_frames (h, 0, 40, 10, LOST, 9);
  harness_idle_until (h, 150);
  /* data back at 150, debounce not yet over: fires at 180, counted from 0 */
  harness_frame (h, 150, LOST, 9);
  g_assert_cmpint (h->verdict.deadline_us, ==, HARNESS_AT (180));
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (180));
  harness_idle_until (h, 180);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 180);
}

static void
test_module_loads (void)
{
  g_autoptr (EfpPluginRegistry) registry = NULL;
  const EfpPolicyVTable *vt = harness_load_module (efp_policy_module_query (), &registry);
  g_autoptr (Harness) h = harness_new (vt, "soc-min=20\ndebounce-sec=30\n", NAN);
  g_autofree gchar *msg = harness_config_error (vt, "soc-min", "200");

  g_assert_cmpstr (msg, ==, "[policy:test] soc-min: expected an integer 0-100, found '200'");
  harness_frames (h, 0, 25, 5, LOST, 15);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
  harness_frame (h, 30, LOST, 15);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  harness_frame (h, 40, GRID, 15);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/critical-soc/keys-and-defaults", test_keys_and_defaults);
  g_test_add_func ("/policy/critical-soc/config-dump", test_config_dump_roundtrip);
  g_test_add_func ("/policy/critical-soc/config-errors", test_config_errors);
  g_test_add_func ("/policy/critical-soc/config-bounds", test_config_bounds_accepted);
  g_test_add_func ("/policy/critical-soc/seed-outage", test_seed_outage);
  g_test_add_func ("/policy/critical-soc/condition", test_condition_needs_grid_lost_and_known_soc);
  g_test_add_func ("/policy/critical-soc/unknown-grid-no-abort", test_unknown_grid_is_not_a_return);
  g_test_add_func ("/policy/critical-soc/grid-flicker", test_single_frame_grid_flicker);
  g_test_add_func ("/policy/critical-soc/soc-noise-after-trigger",
                   test_soc_noise_triggers_once_never_aborts);
  g_test_add_func ("/policy/critical-soc/soc-noise-before-trigger",
                   test_soc_noise_before_trigger_restarts_timer);
  g_test_add_func ("/policy/critical-soc/debounce-zero", test_debounce_zero_first_frame);
  g_test_add_func ("/policy/critical-soc/cooldown", test_cooldown_blocks_then_allows);
  g_test_add_func ("/policy/critical-soc/abort-window", test_abort_window);
  g_test_add_func ("/policy/critical-soc/gap-fires-on-resume",
                   test_gap_while_armed_fires_on_resume);
  g_test_add_func ("/policy/critical-soc/gap-keeps-age", test_gap_before_debounce_keeps_age);
  g_test_add_func ("/policy/critical-soc/module", test_module_loads);
  return g_test_run ();
}

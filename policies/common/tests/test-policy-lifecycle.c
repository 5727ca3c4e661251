/* test-policy-lifecycle.c: every transition of the shared debounce / abort /
 * cooldown life cycle and of the freshness bookkeeping, on an injected clock.
 *
 * The life cycle is driven through a minimal policy whose condition is the
 * seed's (grid lost and soc <= 10), so scenarios read like real ones.
 */
#include <math.h>

#include "efp-plugin-util.h"
#include "efp-policy-harness.h"
#include "efp-policy-lifecycle.h"

#define LOST EFP_TRISTATE_FALSE
#define GRID EFP_TRISTATE_TRUE

static gpointer
probe_config_new (GKeyFile *kf, const gchar *group, GError **error)
{
  g_autofree EfpPolicyLifecycleConfig *cfg = g_new0 (EfpPolicyLifecycleConfig, 1);

  if (!efp_policy_lifecycle_config_load (cfg, kf, group, error))
    return NULL;
  return g_steal_pointer (&cfg);
}

static void
probe_config_dump (gconstpointer config, GKeyFile *kf, const gchar *group)
{
  efp_policy_lifecycle_config_dump (config, kf, group);
}

static void
probe_evaluate (gconstpointer config, EfpPolicyState *state, const EfpPolicyInput *input,
                gint64 now_us, EfpPolicyVerdict *verdict)
{
  const EfpPolicyLifecycleConfig *cfg = config;
  const EfpReading *r = input->reading;
  EfpPolicyCondition cond = { 0 };
  EfpPolicyData data;

  data = efp_policy_data_check (state, input, cfg->max_data_gap_sec, now_us, verdict);
  cond.condition = r->grid_connected == EFP_TRISTATE_FALSE && r->soc <= 10;
  cond.grid_returned = r->grid_connected == EFP_TRISTATE_TRUE;
  cond.detail = cond.condition ? "danger" : "safe";
  efp_policy_lifecycle_evaluate (cfg, state, data, &cond, now_us, verdict);
}

static const gchar *const probe_keys[] = { NULL };
static const EfpPolicyVTable probe_vtable = {
  .abi_major = EFP_POLICY_ABI_MAJOR,
  .struct_size = sizeof (EfpPolicyVTable),
  .name = "probe",
  .option_keys = probe_keys,
  .config_new = probe_config_new,
  .config_free = g_free,
  .config_dump = probe_config_dump,
  .evaluate = probe_evaluate,
};

/* debounce 100, cooldown 300, abort window 120, gap 60 unless overridden */
static Harness *
probe_new (const gchar *extra)
{
  g_autofree gchar *opts = g_strdup_printf ("debounce-sec=100\ncooldown-sec=300\n"
                                            "abort-window-sec=120\nmax-data-gap-sec=60\n%s",
                                            extra != NULL ? extra : "");
  return harness_new (&probe_vtable, opts, NAN);
}

static void
test_idle_stays_idle (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frames (h, 0, 600, 10, GRID, 5);    /* low but on grid */
  harness_frames (h, 610, 900, 10, LOST, 50); /* on battery but high */
  g_assert_cmpuint (h->events->len, ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
  g_assert_cmpint (h->state.armed_since_us, ==, 0);
  /* the only wake-up while idle: the moment the data would turn stale */
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (960) + 1);
}

static void
test_arm_then_fire_on_wake (void)
{
  g_autoptr (Harness) h = probe_new ("shutdown-delay-sec=45\n");

  harness_frame (h, 0, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_START, 0)->detail, ==,
                   "danger, shutdown in 100 s");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  g_assert_cmpint (h->state.armed_since_us, ==, HARNESS_AT (0));
  g_assert_cmpint (h->verdict.deadline_us, ==, HARNESS_AT (100));
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (60) + 1);

  /* frames at 45 and 90 keep it fresh; at 90 the next wake is the deadline */
  harness_frame (h, 45, LOST, 8);
  harness_frame (h, 90, LOST, 8);
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (100));
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  /* no frame at 100: the wake-up alone fires it, on time */
  harness_idle_until (h, 100);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 100);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 0)->detail, ==, "danger for 100 s");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_TRIGGERED);
  g_assert_cmpint (h->state.triggered_at_us, ==, HARNESS_AT (100));
  g_assert_cmpuint (h->verdict.delay_sec, ==, 45);
  g_assert_false (h->verdict.dry_run);
  /* next: the end of the abort window (before the data would turn stale at 150) */
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (150) + 1);
}

static void
test_debounce_zero_fires_on_first_frame (void)
{
  g_autoptr (Harness) h = probe_new ("debounce-sec=0\ndry-run=true\n");

  harness_frame (h, 0, LOST, 10);
  g_assert_cmpuint (h->verdict.n_events, ==, 2);
  g_assert_cmpint (h->verdict.events[0].kind, ==, EFP_POLICY_EVENT_TIMER_START);
  g_assert_cmpstr (h->verdict.events[0].detail, ==, "danger, shutdown now");
  g_assert_cmpint (h->verdict.events[1].kind, ==, EFP_POLICY_EVENT_SHUTDOWN);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_TRIGGERED);
  g_assert_true (h->verdict.dry_run);
  g_assert_cmpuint (h->verdict.delay_sec, ==, 60);
}

static void
test_timer_abort_and_rearm (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frame (h, 0, LOST, 8);
  harness_frame (h, 50, LOST, 12); /* condition ends: SoC above the line */
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_TIMER_ABORT, 0)->detail, ==,
                   "safe after 50 s");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
  g_assert_cmpint (h->state.armed_since_us, ==, 0);
  g_assert_cmpint (h->verdict.deadline_us, ==, 0);

  /* it comes back: a full new debounce, counted from now */
  harness_frame (h, 60, LOST, 8);
  g_assert_cmpint (h->verdict.deadline_us, ==, HARNESS_AT (160));
  harness_frames (h, 70, 150, 10, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  harness_frame (h, 160, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 2);
}

static void
test_timer_abort_on_grid_return (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frame (h, 0, LOST, 8);
  harness_frame (h, 99, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 1);
  harness_frames (h, 100, 400, 10, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
}

static void
test_abort_inside_window (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frames (h, 0, 210, 10, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  harness_frame (h, 219, GRID, 8); /* 119 s after the trigger */
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 1);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_ABORT, 0)->detail, ==,
                   "grid returned 119 s after the shutdown");
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_COOLDOWN);
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (279) + 1);
  /* grid flickers again: no second abort */
  harness_frame (h, 225, LOST, 8);
  harness_frame (h, 230, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 1);
  /* cooldown ends 300 s after the trigger; on grid that means idle */
  harness_frames (h, 240, 400, 10, GRID, 8);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
}

static void
test_abort_goes_idle_when_cooldown_over (void)
{
  g_autoptr (Harness) h = probe_new ("cooldown-sec=30\n");

  harness_frames (h, 0, 100, 10, LOST, 8);
  harness_frame (h, 150, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 1);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
}

static void
test_no_abort_after_window (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frames (h, 0, 100, 10, LOST, 8);
  harness_frames (h, 110, 210, 10, LOST, 8);
  /* the window is [trigger, trigger + 120 s): at exactly 120 s it is closed */
  harness_frame (h, 220, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_COOLDOWN);
  harness_frames (h, 230, 600, 10, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
}

static void
test_window_closes_on_wake (void)
{
  g_autoptr (Harness) h = probe_new ("max-data-gap-sec=600\n");

  harness_frames (h, 0, 100, 50, LOST, 8);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_TRIGGERED);
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (220));
  harness_idle_until (h, 220);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_COOLDOWN);
  g_assert_cmpint (h->now_us, ==, HARNESS_AT (220));
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (400));
}

static void
test_condition_clearing_never_aborts (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frames (h, 0, 100, 10, LOST, 8);
  /* SoC reads above the line while the grid is still out */
  harness_frame (h, 110, LOST, 11);
  harness_frame (h, 120, LOST, 9);
  harness_frame (h, 130, LOST, 11);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_TRIGGERED);
}

static void
test_cooldown_blocks_then_fires_again (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  /* the condition never lets go: seed behaviour, one reminder per cooldown */
  harness_frames (h, 0, 395, 5, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_COOLDOWN);
  harness_frame (h, 400, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 2);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 1), ==, 400);
  /* back through armed with the condition's original start */
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 2);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 1)->detail, ==, "danger for 400 s");
  g_assert_cmpint (h->state.triggered_at_us, ==, HARNESS_AT (400));
  harness_frames (h, 405, 695, 5, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 2);
  harness_frame (h, 700, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 3);
}

static void
test_cooldown_end_fires_on_wake (void)
{
  g_autoptr (Harness) h = probe_new ("max-data-gap-sec=900\n");

  harness_frames (h, 0, 100, 100, LOST, 8);
  harness_frame (h, 200, LOST, 8);
  /* no frame after 200: the cooldown end at 400 is a wake-up of its own */
  harness_idle_until (h, 400);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 2);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 1), ==, 400);
}

static void
test_interrupted_condition_needs_new_debounce (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frames (h, 0, 340, 10, LOST, 8);
  harness_frame (h, 350, LOST, 12); /* a good reading during the cooldown */
  harness_frames (h, 360, 455, 5, LOST, 8);
  /* cooldown over at 400, but the condition only holds since 360: fires at 460 */
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  g_assert_cmpint (h->verdict.deadline_us, ==, HARNESS_AT (460));
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  harness_frame (h, 460, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 2);
  /* nothing in the cooldown ever showed as a timer event */
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 0);
}

static void
test_abort_then_outage_waits_for_cooldown (void)
{
  g_autoptr (Harness) h = probe_new ("debounce-sec=0\n");

  harness_frame (h, 0, LOST, 8);
  harness_frame (h, 30, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 1);
  harness_frames (h, 40, 295, 5, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  harness_frame (h, 300, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 2);
}

static void
test_cooldown_zero (void)
{
  g_autoptr (Harness) h = probe_new ("cooldown-sec=0\nabort-window-sec=30\n");

  /* the abort window alone spaces the shutdowns */
  harness_frames (h, 0, 200, 10, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 4);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 100);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 1), ==, 130);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 3), ==, 190);
}

static void
test_gap_keeps_timer_and_fires_on_resume (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frames (h, 0, 30, 10, LOST, 8);
  /* silence from 30: stale after 90, wake-ups do not fire on stale data */
  harness_idle_until (h, 1000);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_STALE, 0), ==, 90.000001);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_STALE, 0)->detail, ==,
                   "no data for 60 s (max-data-gap-sec 60)");
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  g_assert_cmpint (h->state.armed_since_us, ==, HARNESS_AT (0));
  g_assert_cmpint (h->state.stale_since_us, ==, HARNESS_AT (90) + 1);
  /* stale and armed: nothing to wait for but data */
  g_assert_cmpint (h->verdict.wake_at_us, ==, 0);
  g_assert_cmpint (h->verdict.deadline_us, ==, HARNESS_AT (100));

  /* a stale evaluation (e.g. a restart) does not repeat the event */
  harness_evaluate (h, HARNESS_AT (1100));
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);

  harness_frame (h, 1200, LOST, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_SHUTDOWN, 0), ==, 1200);
  g_assert_cmpstr (harness_event (h, EFP_POLICY_EVENT_SHUTDOWN, 0)->detail, ==,
                   "danger for 1200 s");
  g_assert_cmpint (h->state.stale_since_us, ==, 0);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_START), ==, 1);
}

static void
test_gap_then_safe_data_aborts_timer (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frame (h, 0, LOST, 8);
  harness_idle_until (h, 500);
  harness_frame (h, 500, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_TIMER_ABORT), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_SHUTDOWN), ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
}

static void
test_stale_once_per_gap (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  harness_frame (h, 0, GRID, 50);
  harness_idle_until (h, 300);
  harness_evaluate (h, HARNESS_AT (310));
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
  harness_frames (h, 400, 450, 10, GRID, 50);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  harness_idle_until (h, 600);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 2);
  g_assert_cmpfloat (harness_event_time (h, EFP_POLICY_EVENT_STALE, 1), ==, 510.000001);
}

static void
test_gap_at_exact_threshold_is_fresh (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  /* frames exactly max-data-gap-sec apart: never stale */
  harness_frames (h, 0, 600, 60, GRID, 50);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 0);
  g_assert_cmpuint (h->n_evaluations, ==, 11);
  /* a timer firing exactly max-data-gap-sec after the last frame: still fresh */
  harness_evaluate (h, HARNESS_AT (660));
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 0);
  g_assert_cmpint (h->verdict.wake_at_us, ==, HARNESS_AT (660) + 1);
  harness_evaluate (h, HARNESS_AT (660) + 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
}

static void
test_stale_never_aborts (void)
{
  g_autoptr (Harness) h = probe_new ("max-data-gap-sec=10\n");

  harness_frames (h, 0, 100, 5, LOST, 8);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_TRIGGERED);
  /* the merged state says grid, but that frame is older than the gap */
  h->reading.grid_connected = GRID;
  harness_idle_until (h, 225);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_STALE), ==, 1);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
  /* the window closes on its own wake-up; fresh grid after it sends nothing */
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_COOLDOWN);
  harness_frame (h, 230, GRID, 8);
  g_assert_cmpuint (harness_count (h, EFP_POLICY_EVENT_ABORT), ==, 0);
}

static void
test_no_data_does_nothing (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  h->reading.grid_connected = LOST;
  h->reading.soc = 1;
  harness_evaluate (h, HARNESS_AT (0));
  harness_evaluate (h, HARNESS_AT (1000));
  g_assert_cmpuint (h->events->len, ==, 0);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_IDLE);
  g_assert_cmpint (h->verdict.wake_at_us, ==, 0);
}

static void
test_restored_state_keeps_timer (void)
{
  g_autoptr (Harness) h = probe_new (NULL);
  g_autoptr (Harness) h2 = NULL;

  harness_frames (h, 0, 50, 10, LOST, 8);
  /* the daemon restarts: persisted state, new config, no data yet */
  h2 = probe_new (NULL);
  h2->state = h->state;
  harness_evaluate (h2, HARNESS_AT (70));
  g_assert_cmpint (h2->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  g_assert_cmpuint (h2->events->len, ==, 0);
  harness_frame (h2, 90, LOST, 8);
  g_assert_cmpint (h2->verdict.wake_at_us, ==, HARNESS_AT (100));
  harness_idle_until (h2, 100);
  g_assert_cmpuint (harness_count (h2, EFP_POLICY_EVENT_SHUTDOWN), ==, 1);

  /* restored in the cooldown with no data at all: the clock alone ends it */
  {
    g_autoptr (Harness) h3 = probe_new (NULL);
    h3->state = h2->state;
    h3->state.phase = EFP_POLICY_PHASE_COOLDOWN;
    harness_evaluate (h3, HARNESS_AT (200));
    g_assert_cmpint (h3->verdict.wake_at_us, ==, HARNESS_AT (400));
    harness_idle_until (h3, 400);
    g_assert_cmpint (h3->state.phase, ==, EFP_POLICY_PHASE_IDLE);
  }
}

static void
test_unknown_phase_resets (void)
{
  g_autoptr (Harness) h = probe_new (NULL);

  h->state.phase = (EfpPolicyPhase) 42;
  h->state.armed_since_us = HARNESS_AT (-5000);
  harness_frame (h, 0, LOST, 8);
  g_assert_cmpint (h->state.phase, ==, EFP_POLICY_PHASE_ARMED);
  g_assert_cmpint (h->state.armed_since_us, ==, HARNESS_AT (0));
}

static void
test_config_defaults_and_dump (void)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GKeyFile) out = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  EfpPolicyLifecycleConfig cfg;

  g_assert_true (efp_policy_lifecycle_config_load (&cfg, kf, "policy:x", &error));
  g_assert_no_error (error);
  g_assert_cmpint (cfg.debounce_sec, ==, 180);
  g_assert_cmpint (cfg.cooldown_sec, ==, 300);
  g_assert_cmpint (cfg.abort_window_sec, ==, 120);
  g_assert_cmpint (cfg.max_data_gap_sec, ==, 60);
  g_assert_cmpint (cfg.shutdown_delay_sec, ==, 60);
  g_assert_false (cfg.dry_run);
  efp_policy_lifecycle_config_dump (&cfg, out, "policy:x");
  g_assert_cmpint (g_key_file_get_int64 (out, "policy:x", "debounce-sec", NULL), ==, 180);
  g_assert_cmpint (g_key_file_get_int64 (out, "policy:x", "shutdown-delay-sec", NULL), ==, 60);
  g_assert_false (g_key_file_get_boolean (out, "policy:x", "dry-run", &error));
  g_assert_no_error (error);

  /* zero is a valid debounce and cooldown, the top of the range is valid too */
  g_key_file_set_value (kf, "policy:x", "debounce-sec", "0");
  g_key_file_set_value (kf, "policy:x", "cooldown-sec", "0");
  g_key_file_set_value (kf, "policy:x", "abort-window-sec", "604800");
  g_key_file_set_value (kf, "policy:x", "dry-run", "yes");
  g_assert_true (efp_policy_lifecycle_config_load (&cfg, kf, "policy:x", &error));
  g_assert_cmpint (cfg.debounce_sec, ==, 0);
  g_assert_cmpint (cfg.cooldown_sec, ==, 0);
  g_assert_cmpint (cfg.abort_window_sec, ==, 604800);
  g_assert_true (cfg.dry_run);
}

static void
test_config_errors (void)
{
  static const struct
  {
    const gchar *key, *value, *message;
  } cases[] = {
    { "debounce-sec", "-1", "[policy:x] debounce-sec: expected an integer 0-604800, found '-1'" },
    { "debounce-sec", "3m", "[policy:x] debounce-sec: expected an integer 0-604800, found '3m'" },
    { "cooldown-sec", "604801",
      "[policy:x] cooldown-sec: expected an integer 0-604800, found '604801'" },
    { "abort-window-sec", "0",
      "[policy:x] abort-window-sec: expected an integer 1-604800, found '0'" },
    { "max-data-gap-sec", "",
      "[policy:x] max-data-gap-sec: expected an integer 1-604800, found ''" },
    { "shutdown-delay-sec", "1.5",
      "[policy:x] shutdown-delay-sec: expected an integer 1-604800, found '1.5'" },
    { "dry-run", "maybe", "[policy:x] dry-run: expected true or false, found 'maybe'" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GKeyFile) kf = g_key_file_new ();
      g_autoptr (GError) error = NULL;
      EfpPolicyLifecycleConfig cfg;

      g_key_file_set_value (kf, "policy:x", cases[i].key, cases[i].value);
      g_assert_false (efp_policy_lifecycle_config_load (&cfg, kf, "policy:x", &error));
      g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/lifecycle/idle-stays-idle", test_idle_stays_idle);
  g_test_add_func ("/policy/lifecycle/arm-then-fire-on-wake", test_arm_then_fire_on_wake);
  g_test_add_func ("/policy/lifecycle/debounce-zero", test_debounce_zero_fires_on_first_frame);
  g_test_add_func ("/policy/lifecycle/timer-abort-and-rearm", test_timer_abort_and_rearm);
  g_test_add_func ("/policy/lifecycle/timer-abort-on-grid", test_timer_abort_on_grid_return);
  g_test_add_func ("/policy/lifecycle/abort-inside-window", test_abort_inside_window);
  g_test_add_func ("/policy/lifecycle/abort-idle-when-cooldown-over",
                   test_abort_goes_idle_when_cooldown_over);
  g_test_add_func ("/policy/lifecycle/no-abort-after-window", test_no_abort_after_window);
  g_test_add_func ("/policy/lifecycle/window-closes-on-wake", test_window_closes_on_wake);
  g_test_add_func ("/policy/lifecycle/condition-clearing-never-aborts",
                   test_condition_clearing_never_aborts);
  g_test_add_func ("/policy/lifecycle/cooldown-blocks-then-fires",
                   test_cooldown_blocks_then_fires_again);
  g_test_add_func ("/policy/lifecycle/cooldown-end-fires-on-wake", test_cooldown_end_fires_on_wake);
  g_test_add_func ("/policy/lifecycle/interrupted-needs-new-debounce",
                   test_interrupted_condition_needs_new_debounce);
  g_test_add_func ("/policy/lifecycle/abort-then-outage-waits",
                   test_abort_then_outage_waits_for_cooldown);
  g_test_add_func ("/policy/lifecycle/cooldown-zero", test_cooldown_zero);
  g_test_add_func ("/policy/lifecycle/gap-keeps-timer", test_gap_keeps_timer_and_fires_on_resume);
  g_test_add_func ("/policy/lifecycle/gap-then-safe-aborts-timer",
                   test_gap_then_safe_data_aborts_timer);
  g_test_add_func ("/policy/lifecycle/stale-once-per-gap", test_stale_once_per_gap);
  g_test_add_func ("/policy/lifecycle/gap-threshold-is-fresh",
                   test_gap_at_exact_threshold_is_fresh);
  g_test_add_func ("/policy/lifecycle/stale-never-aborts", test_stale_never_aborts);
  g_test_add_func ("/policy/lifecycle/no-data", test_no_data_does_nothing);
  g_test_add_func ("/policy/lifecycle/restored-state", test_restored_state_keeps_timer);
  g_test_add_func ("/policy/lifecycle/unknown-phase", test_unknown_phase_resets);
  g_test_add_func ("/policy/lifecycle/config-defaults", test_config_defaults_and_dump);
  g_test_add_func ("/policy/lifecycle/config-errors", test_config_errors);
  return g_test_run ();
}

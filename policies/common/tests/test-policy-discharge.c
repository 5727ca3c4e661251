/* test-policy-discharge.c: the discharge-rate tracker shared by runtime and comm-lost. */
#include <math.h>

#include "efp-policy-discharge.h"

#define SEC(s) ((gint64) (s) *G_USEC_PER_SEC)

static void
feed (EfpPolicyState *st, EfpReading *r, EfpTristate grid, gdouble soc, gdouble t)
{
  r->grid_connected = grid;
  r->soc = soc;
  efp_policy_discharge_update (st, r, SEC (1000000) + (gint64) (t * G_USEC_PER_SEC));
}

static void
test_needs_two_new_lows (void)
{
  EfpPolicyState st = { 0 };
  EfpReading r;

  efp_reading_init (&r);
  g_assert_true (isnan (efp_policy_discharge_rate (&st)));
  feed (&st, &r, EFP_TRISTATE_FALSE, 50, 0);
  g_assert_true (isnan (efp_policy_discharge_rate (&st)));
  /* the first value may sit anywhere in its percent: 49 is the first real edge */
  feed (&st, &r, EFP_TRISTATE_FALSE, 49, 30);
  feed (&st, &r, EFP_TRISTATE_FALSE, 49, 60);
  g_assert_true (isnan (efp_policy_discharge_rate (&st)));
  feed (&st, &r, EFP_TRISTATE_FALSE, 48, 90);
  g_assert_cmpfloat_with_epsilon (efp_policy_discharge_rate (&st), 1.0 / 60, 1e-12);
  feed (&st, &r, EFP_TRISTATE_FALSE, 48, 100);
  feed (&st, &r, EFP_TRISTATE_FALSE, 47, 210);
  /* 2 points over 180 s */
  g_assert_cmpfloat_with_epsilon (efp_policy_discharge_rate (&st), 2.0 / 180, 1e-12);
}

static void
test_noise_adds_nothing (void)
{
  EfpPolicyState st = { 0 };
  EfpReading r;
  guint i;

  efp_reading_init (&r);
  feed (&st, &r, EFP_TRISTATE_FALSE, 11, 0);
  feed (&st, &r, EFP_TRISTATE_FALSE, 10, 10);
  for (i = 0; i < 50; i++)
    feed (&st, &r, EFP_TRISTATE_FALSE, i % 2 == 0 ? 11 : 10, 20 + 10 * i);
  g_assert_true (isnan (efp_policy_discharge_rate (&st)));
  feed (&st, &r, EFP_TRISTATE_FALSE, 9, 610);
  g_assert_cmpfloat_with_epsilon (efp_policy_discharge_rate (&st), 1.0 / 600, 1e-12);
}

static void
test_window_slides (void)
{
  EfpPolicyState st = { 0 };
  EfpReading r;

  efp_reading_init (&r);
  feed (&st, &r, EFP_TRISTATE_FALSE, 80, 0);
  /* slow at first (one point per 600 s), then fast (one per 60 s) */
  feed (&st, &r, EFP_TRISTATE_FALSE, 79, 600);
  feed (&st, &r, EFP_TRISTATE_FALSE, 78, 1200);
  feed (&st, &r, EFP_TRISTATE_FALSE, 77, 1800);
  feed (&st, &r, EFP_TRISTATE_FALSE, 76, 1860);
  feed (&st, &r, EFP_TRISTATE_FALSE, 75, 1920);
  feed (&st, &r, EFP_TRISTATE_FALSE, 74, 1980);
  /* only the last four lows count: 77 -> 74 in 180 s */
  g_assert_cmpfloat_with_epsilon (efp_policy_discharge_rate (&st), 3.0 / 180, 1e-12);
  g_assert_cmpfloat (st.aux[4], ==, 4);
}

static void
test_grid_clears_unknown_keeps (void)
{
  EfpPolicyState st = { 0 };
  EfpReading r;

  efp_reading_init (&r);
  feed (&st, &r, EFP_TRISTATE_FALSE, 50, 0);
  feed (&st, &r, EFP_TRISTATE_FALSE, 49, 60);
  feed (&st, &r, EFP_TRISTATE_FALSE, 48, 120);
  /* unknown grid or SoC: no information, nothing changes */
  feed (&st, &r, EFP_TRISTATE_UNKNOWN, 30, 130);
  feed (&st, &r, EFP_TRISTATE_FALSE, NAN, 140);
  g_assert_cmpfloat_with_epsilon (efp_policy_discharge_rate (&st), 1.0 / 60, 1e-12);
  feed (&st, &r, EFP_TRISTATE_TRUE, 48, 150);
  g_assert_true (isnan (efp_policy_discharge_rate (&st)));
  g_assert_cmpfloat (st.aux[6], ==, 0);
}

static void
test_big_rise_restarts (void)
{
  EfpPolicyState st = { 0 };
  EfpReading r;

  efp_reading_init (&r);
  feed (&st, &r, EFP_TRISTATE_FALSE, 50, 0);
  feed (&st, &r, EFP_TRISTATE_FALSE, 49, 60);
  feed (&st, &r, EFP_TRISTATE_FALSE, 48, 120);
  feed (&st, &r, EFP_TRISTATE_FALSE, 50, 130); /* +2: still noise */
  g_assert_false (isnan (efp_policy_discharge_rate (&st)));
  feed (&st, &r, EFP_TRISTATE_FALSE, 51, 140); /* +3: solar is charging it */
  g_assert_true (isnan (efp_policy_discharge_rate (&st)));
  feed (&st, &r, EFP_TRISTATE_FALSE, 50, 200);
  feed (&st, &r, EFP_TRISTATE_FALSE, 49, 500);
  g_assert_cmpfloat_with_epsilon (efp_policy_discharge_rate (&st), 1.0 / 300, 1e-12);
}

static void
test_fractional_soc (void)
{
  EfpPolicyState st = { 0 };
  EfpReading r;

  efp_reading_init (&r);
  feed (&st, &r, EFP_TRISTATE_FALSE, 40.0, 0);
  feed (&st, &r, EFP_TRISTATE_FALSE, 39.8, 10);
  feed (&st, &r, EFP_TRISTATE_FALSE, 39.9, 20);
  feed (&st, &r, EFP_TRISTATE_FALSE, 39.6, 30);
  g_assert_cmpfloat_with_epsilon (efp_policy_discharge_rate (&st), 0.2 / 20, 1e-9);
}

static void
test_rate_from_watts (void)
{
  EfpReading r;

  efp_reading_init (&r);
  g_assert_true (isnan (efp_policy_discharge_rate_from_watts (&r, 1000)));
  r.output_watts = 360;
  g_assert_true (isnan (efp_policy_discharge_rate_from_watts (&r, NAN)));
  g_assert_true (isnan (efp_policy_discharge_rate_from_watts (&r, 0)));
  /* 360 W from 1000 Wh: 36 %/h = 0.01 %/s */
  g_assert_cmpfloat_with_epsilon (efp_policy_discharge_rate_from_watts (&r, 1000), 0.01, 1e-12);
  /* solar input covers part of the load */
  r.input_watts = 180;
  g_assert_cmpfloat_with_epsilon (efp_policy_discharge_rate_from_watts (&r, 1000), 0.005, 1e-12);
  /* ... or all of it: not draining */
  r.input_watts = 400;
  g_assert_true (isnan (efp_policy_discharge_rate_from_watts (&r, 1000)));
  r.input_watts = 0;
  r.output_watts = 0;
  g_assert_true (isnan (efp_policy_discharge_rate_from_watts (&r, 1000)));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy/discharge/needs-two-new-lows", test_needs_two_new_lows);
  g_test_add_func ("/policy/discharge/noise-adds-nothing", test_noise_adds_nothing);
  g_test_add_func ("/policy/discharge/window-slides", test_window_slides);
  g_test_add_func ("/policy/discharge/grid-clears", test_grid_clears_unknown_keeps);
  g_test_add_func ("/policy/discharge/big-rise-restarts", test_big_rise_restarts);
  g_test_add_func ("/policy/discharge/fractional-soc", test_fractional_soc);
  g_test_add_func ("/policy/discharge/rate-from-watts", test_rate_from_watts);
  return g_test_run ();
}

/* test-group.c: the virtual battery of [group:NAME] (capacity-weighted SoC, sums, grid). */
#include <math.h>

#include "efp-group.h"
#include "efp-reading-json.h"

#define EPS 1e-9

typedef struct
{
  EfpReading r[4];
  EfpGroupMember m[4];
} Members;

/* @n members, every reading unknown, every member with data and no capacity. */
static void
members_init (Members *ms, guint n)
{
  guint i;
  for (i = 0; i < n; i++)
    {
      efp_reading_init (&ms->r[i]);
      ms->m[i].reading = &ms->r[i];
      ms->m[i].capacity_wh = NAN;
      ms->m[i].has_data = TRUE;
    }
}

static void
test_capacity_weighted (void)
{
  Members ms;
  EfpReading out;

  members_init (&ms, 2);
  ms.r[0].soc = 5;
  ms.m[0].capacity_wh = 100;
  ms.r[1].soc = 90;
  ms.m[1].capacity_wh = 900;
  efp_group_aggregate (ms.m, 2, &out);
  /* (100 * 5 + 900 * 90) / 1000 */
  g_assert_cmpfloat_with_epsilon (out.soc, 81.5, EPS);
  g_assert_cmpstr (out.model, ==, "Group");
  g_assert_cmpstr (out.grid_source, ==, "group");

  /* order does not matter */
  ms.m[0].reading = &ms.r[1];
  ms.m[0].capacity_wh = 900;
  ms.m[1].reading = &ms.r[0];
  ms.m[1].capacity_wh = 100;
  efp_group_aggregate (ms.m, 2, &out);
  g_assert_cmpfloat_with_epsilon (out.soc, 81.5, EPS);
}

static void
test_equal_weights_without_capacity (void)
{
  Members ms;
  EfpReading out;

  members_init (&ms, 3);
  ms.r[0].soc = 5;
  ms.m[0].capacity_wh = 100;
  ms.r[1].soc = 90;
  ms.m[1].capacity_wh = 900;
  ms.r[2].soc = 40;
  ms.m[2].capacity_wh = NAN; /* unknown: every member weighs the same */
  efp_group_aggregate (ms.m, 3, &out);
  g_assert_cmpfloat_with_epsilon (out.soc, (5.0 + 90 + 40) / 3, EPS);

  /* a zero capacity is no capacity either */
  ms.m[2].capacity_wh = 0;
  efp_group_aggregate (ms.m, 3, &out);
  g_assert_cmpfloat_with_epsilon (out.soc, (5.0 + 90 + 40) / 3, EPS);

  /* none known */
  members_init (&ms, 2);
  ms.r[0].soc = 20;
  ms.r[1].soc = 60;
  efp_group_aggregate (ms.m, 2, &out);
  g_assert_cmpfloat_with_epsilon (out.soc, 40, EPS);
}

static void
test_members_without_data (void)
{
  Members ms;
  EfpReading out;

  members_init (&ms, 3);
  ms.r[0].soc = 5;
  ms.m[0].capacity_wh = 100;
  ms.r[1].soc = 90;
  ms.m[1].capacity_wh = 900;
  /* no frame yet: whatever its reading holds, it is left out entirely */
  ms.m[2].has_data = FALSE;
  ms.m[2].capacity_wh = NAN;
  ms.r[2].soc = 0;
  ms.r[2].output_watts = 1000;
  ms.r[2].grid_connected = EFP_TRISTATE_FALSE;
  ms.r[2].remain_minutes = 1;
  ms.r[0].grid_connected = EFP_TRISTATE_TRUE;
  ms.r[1].grid_connected = EFP_TRISTATE_TRUE;
  ms.r[0].output_watts = 10;
  efp_group_aggregate (ms.m, 3, &out);
  /* its missing capacity does not turn the weights equal either */
  g_assert_cmpfloat_with_epsilon (out.soc, 81.5, EPS);
  g_assert_cmpfloat_with_epsilon (out.output_watts, 10, EPS);
  g_assert_false (efp_reading_on_battery (&out));
  g_assert_cmpint (out.remain_minutes, ==, -1);

  /* a member with data but no SoC is left out of the SoC only */
  members_init (&ms, 2);
  ms.r[0].soc = 30;
  ms.m[0].capacity_wh = 500;
  ms.m[1].capacity_wh = NAN;
  ms.r[1].output_watts = 50;
  efp_group_aggregate (ms.m, 2, &out);
  g_assert_cmpfloat_with_epsilon (out.soc, 30, EPS);
  g_assert_cmpfloat_with_epsilon (out.output_watts, 50, EPS);

  /* nobody has data: everything unknown */
  members_init (&ms, 2);
  ms.m[0].has_data = ms.m[1].has_data = FALSE;
  ms.r[0].soc = ms.r[1].soc = 50;
  efp_group_aggregate (ms.m, 2, &out);
  g_assert_true (isnan (out.soc));
  g_assert_true (isnan (out.input_watts));
  g_assert_true (isnan (out.output_watts));
  g_assert_cmpint (out.grid_connected, ==, EFP_TRISTATE_UNKNOWN);
  g_assert_cmpint (out.remain_minutes, ==, -1);

  /* no members at all */
  efp_group_aggregate (ms.m, 0, &out);
  g_assert_true (isnan (out.soc));
  g_assert_cmpint (out.grid_connected, ==, EFP_TRISTATE_UNKNOWN);
}

static void
test_watts_summed (void)
{
  Members ms;
  EfpReading out;

  members_init (&ms, 3);
  ms.r[0].input_watts = 100;
  ms.r[0].output_watts = 200;
  ms.r[1].input_watts = 50.5;
  ms.r[1].output_watts = 300;
  /* the third reports no watts: left out of the sums, not counted as 0 or NAN */
  efp_group_aggregate (ms.m, 3, &out);
  g_assert_cmpfloat_with_epsilon (out.input_watts, 150.5, EPS);
  g_assert_cmpfloat_with_epsilon (out.output_watts, 500, EPS);

  /* only outputs known */
  members_init (&ms, 2);
  ms.r[0].output_watts = 0;
  ms.r[1].output_watts = 7;
  efp_group_aggregate (ms.m, 2, &out);
  g_assert_true (isnan (out.input_watts));
  g_assert_cmpfloat_with_epsilon (out.output_watts, 7, EPS);
}

static EfpTristate
grid_of (EfpTristate a, EfpTristate b)
{
  Members ms;
  EfpReading out;
  members_init (&ms, 2);
  ms.r[0].grid_connected = a;
  ms.r[1].grid_connected = b;
  efp_group_aggregate (ms.m, 2, &out);
  g_assert_true (efp_reading_on_battery (&out) == (out.grid_connected == EFP_TRISTATE_FALSE));
  return out.grid_connected;
}

static void
test_grid (void)
{
  const EfpTristate T = EFP_TRISTATE_TRUE, F = EFP_TRISTATE_FALSE, U = EFP_TRISTATE_UNKNOWN;

  g_assert_cmpint (grid_of (T, T), ==, T);
  /* on battery as soon as any member is */
  g_assert_cmpint (grid_of (T, F), ==, F);
  g_assert_cmpint (grid_of (F, T), ==, F);
  g_assert_cmpint (grid_of (F, F), ==, F);
  g_assert_cmpint (grid_of (U, F), ==, F);
  g_assert_cmpint (grid_of (F, U), ==, F);
  /* unknown when one is unknown and none is false */
  g_assert_cmpint (grid_of (T, U), ==, U);
  g_assert_cmpint (grid_of (U, T), ==, U);
  g_assert_cmpint (grid_of (U, U), ==, U);
}

static void
test_remaining_minutes (void)
{
  Members ms;
  EfpReading out;

  members_init (&ms, 4);
  ms.r[0].grid_connected = EFP_TRISTATE_FALSE;
  ms.r[0].remain_minutes = 30;
  ms.r[1].grid_connected = EFP_TRISTATE_FALSE;
  ms.r[1].remain_minutes = 12;
  /* on the grid: its estimate says nothing about running out */
  ms.r[2].grid_connected = EFP_TRISTATE_TRUE;
  ms.r[2].remain_minutes = 5;
  /* on battery without an estimate: no influence */
  ms.r[3].grid_connected = EFP_TRISTATE_FALSE;
  ms.r[3].remain_minutes = -1;
  efp_group_aggregate (ms.m, 4, &out);
  g_assert_cmpint (out.remain_minutes, ==, 12);
  g_assert_true (efp_reading_on_battery (&out));

  /* 0 minutes is an estimate, the shortest one */
  ms.r[0].remain_minutes = 0;
  efp_group_aggregate (ms.m, 4, &out);
  g_assert_cmpint (out.remain_minutes, ==, 0);

  /* nobody on battery: no estimate */
  ms.r[0].grid_connected = ms.r[1].grid_connected = ms.r[3].grid_connected = EFP_TRISTATE_TRUE;
  efp_group_aggregate (ms.m, 4, &out);
  g_assert_cmpint (out.remain_minutes, ==, -1);
  g_assert_false (efp_reading_on_battery (&out));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/group/capacity-weighted", test_capacity_weighted);
  g_test_add_func ("/group/equal-weights-without-capacity", test_equal_weights_without_capacity);
  g_test_add_func ("/group/members-without-data", test_members_without_data);
  g_test_add_func ("/group/watts-summed", test_watts_summed);
  g_test_add_func ("/group/grid", test_grid);
  g_test_add_func ("/group/remaining-minutes", test_remaining_minutes);
  return g_test_run ();
}

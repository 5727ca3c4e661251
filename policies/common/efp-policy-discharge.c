/* efp-policy-discharge.c: discharge-rate tracking shared by runtime and comm-lost. */
#include "efp-policy-discharge.h"

#include <math.h>

#define AUX_COUNT  4
#define AUX_LOW    5
#define AUX_ACTIVE 6

void
efp_policy_discharge_reset (EfpPolicyState *state)
{
  guint i;

  for (i = 0; i < EFP_POLICY_DISCHARGE_SLOTS; i++)
    {
      state->aux[i] = 0;
      state->aux_us[i] = 0;
    }
  state->aux[AUX_COUNT] = 0;
  state->aux[AUX_LOW] = 0;
  state->aux[AUX_ACTIVE] = 0;
}

static void
start (EfpPolicyState *state, gdouble soc)
{
  efp_policy_discharge_reset (state);
  state->aux[AUX_LOW] = soc;
  state->aux[AUX_ACTIVE] = 1;
}

void
efp_policy_discharge_update (EfpPolicyState *state, const EfpReading *reading, gint64 frame_us)
{
  gdouble soc = reading->soc;
  guint n;

  if (reading->grid_connected == EFP_TRISTATE_TRUE)
    {
      efp_policy_discharge_reset (state);
      return;
    }
  if (reading->grid_connected != EFP_TRISTATE_FALSE || isnan (soc))
    return;
  if (state->aux[AUX_ACTIVE] == 0 || soc > state->aux[AUX_LOW] + EFP_POLICY_DISCHARGE_RESTART_RISE)
    {
      start (state, soc);
      return;
    }
  if (soc >= state->aux[AUX_LOW])
    return;

  state->aux[AUX_LOW] = soc;
  n = (guint) CLAMP (state->aux[AUX_COUNT], 0, EFP_POLICY_DISCHARGE_SLOTS);
  if (n == EFP_POLICY_DISCHARGE_SLOTS)
    {
      guint i;
      for (i = 1; i < n; i++)
        {
          state->aux[i - 1] = state->aux[i];
          state->aux_us[i - 1] = state->aux_us[i];
        }
      n--;
    }
  state->aux[n] = soc;
  state->aux_us[n] = frame_us;
  state->aux[AUX_COUNT] = n + 1;
}

gdouble
efp_policy_discharge_rate (const EfpPolicyState *state)
{
  guint n = (guint) CLAMP (state->aux[AUX_COUNT], 0, EFP_POLICY_DISCHARGE_SLOTS);
  gdouble fall, span_s;

  if (state->aux[AUX_ACTIVE] == 0 || n < 2)
    return NAN;
  fall = state->aux[0] - state->aux[n - 1];
  span_s = (gdouble) (state->aux_us[n - 1] - state->aux_us[0]) / G_USEC_PER_SEC;
  if (!(fall > 0) || !(span_s > 0))
    return NAN;
  return fall / span_s;
}

gdouble
efp_policy_discharge_rate_from_watts (const EfpReading *reading, gdouble capacity_wh)
{
  gdouble net = reading->output_watts;

  if (isnan (capacity_wh) || !(capacity_wh > 0) || isnan (net))
    return NAN;
  if (!isnan (reading->input_watts) && reading->input_watts > 0)
    net -= reading->input_watts;
  if (!(net > 0))
    return NAN;
  /* W / Wh = 1/h; as percent of capacity per second */
  return net / capacity_wh * 100.0 / 3600.0;
}

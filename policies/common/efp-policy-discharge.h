/* efp-policy-discharge.h: how fast a battery drains, from what a policy has seen.
 * Shared by runtime (minutes left) and comm-lost (SoC estimate while blind).
 * Private to the policy modules; pure functions over EfpPolicyState.aux.
 *
 * The tracker keeps, in aux[0..3] / aux_us[0..3], the last four times the SoC
 * fell to a new low during one discharge (aux[4] = how many, aux[5] = the low
 * so far, aux[6] = 1 while tracking). The rate is the fall from the oldest to
 * the newest of those lows over the time between them. Only new lows count, so
 * SoC noise (10, 11, 10, 11) adds nothing, and the first value seen (which may
 * sit anywhere inside its percent) is never a starting point. aux[7] is left
 * to the module.
 */
#pragma once

#include "efp-policy.h"

G_BEGIN_DECLS

#define EFP_POLICY_DISCHARGE_SLOTS 4
/* a rise of more than this many points (e.g. solar charging while the grid is
 * out) starts a new discharge */
#define EFP_POLICY_DISCHARGE_RESTART_RISE 2.0

/* Feed one fresh reading; @frame_us is when its frame arrived. Grid connected
 * clears the tracker; unknown grid or SoC leaves it as it is. */
void efp_policy_discharge_update (EfpPolicyState *state, const EfpReading *reading,
                                  gint64 frame_us);
void efp_policy_discharge_reset (EfpPolicyState *state);
/* Observed fall in %/s; NAN until two new lows have been seen. */
gdouble efp_policy_discharge_rate (const EfpPolicyState *state);
/* Fall in %/s from the net drain (output minus any input) and @capacity_wh;
 * NAN when either is unknown or the battery is not draining. */
gdouble efp_policy_discharge_rate_from_watts (const EfpReading *reading, gdouble capacity_wh);

G_END_DECLS

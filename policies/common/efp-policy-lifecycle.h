/* efp-policy-lifecycle.h: the debounce / shutdown / abort / cooldown life cycle
 * that critical-soc and runtime share, and the data-freshness bookkeeping that
 * every policy shares. Private to the policy modules (a static library linked
 * into each one); pure functions of (config, state, input, now).
 */
#pragma once

#include "efp-policy.h"

G_BEGIN_DECLS

#define EFP_USEC_PER_SEC G_GINT64_CONSTANT (1000000)

/* Whole seconds from @from_us to @to_us, rounded up so that an event text never
 * says "in 0 s" before the moment has come; 0 when it has. */
static inline gint64
efp_policy_secs_until (gint64 from_us, gint64 to_us)
{
  gint64 d = to_us - from_us;
  return d <= 0 ? 0 : (d + EFP_USEC_PER_SEC - 1) / EFP_USEC_PER_SEC;
}

typedef struct
{
  gint64 debounce_sec;       /* condition must hold this long before SHUTDOWN (0: at once) */
  gint64 cooldown_sec;       /* no second SHUTDOWN sooner than this after the last */
  gint64 abort_window_sec;   /* grid returning this soon after SHUTDOWN sends ABORT */
  gint64 max_data_gap_sec;   /* older data is stale: never fire nor abort on it */
  gint64 shutdown_delay_sec; /* delay_sec of the SHUTDOWN command */
  gboolean dry_run;
} EfpPolicyLifecycleConfig;

/* Read debounce-sec, cooldown-sec, abort-window-sec, max-data-gap-sec,
 * shutdown-delay-sec and dry-run of @group (defaults of CONTRACT 3.1). */
gboolean efp_policy_lifecycle_config_load (EfpPolicyLifecycleConfig *cfg, GKeyFile *kf,
                                           const gchar *group, GError **error);
void efp_policy_lifecycle_config_dump (const EfpPolicyLifecycleConfig *cfg, GKeyFile *kf,
                                       const gchar *group);

typedef enum
{
  EFP_POLICY_DATA_NONE,  /* no frame yet: nothing to judge */
  EFP_POLICY_DATA_FRESH, /* last frame at most max-data-gap-sec old */
  EFP_POLICY_DATA_STALE, /* older: the reading is only the last known state */
} EfpPolicyData;

/* Classify @input's data. The first evaluation that finds it stale sets
 * state->stale_since_us and emits one STALE event; fresh data clears it. While
 * fresh, asks to be woken exactly when the data would turn stale. */
EfpPolicyData efp_policy_data_check (EfpPolicyState *state, const EfpPolicyInput *input,
                                     gint64 max_data_gap_sec, gint64 now_us,
                                     EfpPolicyVerdict *verdict);

typedef struct
{
  gboolean condition;     /* the policy's danger condition, judged on fresh data */
  gboolean grid_returned; /* fresh data says the grid is back (abort trigger) */
  /* short human text of the current situation, e.g. "grid lost and soc 8 <= 10"
   * when the condition holds or "soc 12 > 10" when it does not */
  const gchar *detail;
} EfpPolicyCondition;

/* One step of the life cycle (phases as in efp-policy.h):
 *   idle -> armed      condition begins on fresh data (TIMER_START)
 *   armed -> idle      condition ends on fresh data (TIMER_ABORT)
 *   armed -> triggered fresh data, condition held debounce-sec and cooldown-sec
 *                      passed since the last SHUTDOWN (SHUTDOWN)
 *   triggered -> cooldown/idle  grid back on fresh data inside the abort window
 *                      (ABORT), or the window ends; a condition that merely stops
 *                      holding (SoC noise) never aborts
 *   cooldown -> idle/armed      cooldown-sec after the SHUTDOWN; when the condition
 *                      held throughout, armed with its original start (fires at once)
 * Stale data changes nothing but the clocks: armed_since keeps its age. */
void efp_policy_lifecycle_evaluate (const EfpPolicyLifecycleConfig *cfg, EfpPolicyState *state,
                                    EfpPolicyData data, const EfpPolicyCondition *cond,
                                    gint64 now_us, EfpPolicyVerdict *verdict);

G_END_DECLS

/* efp-policy-lifecycle.c: the shared debounce / abort / cooldown life cycle. */
#include "efp-policy-lifecycle.h"

#include "efp-plugin-util.h"

gboolean
efp_policy_lifecycle_config_load (EfpPolicyLifecycleConfig *cfg, GKeyFile *kf, const gchar *group,
                                  GError **error)
{
  return efp_keyfile_get_seconds (kf, group, "debounce-sec", 180, TRUE, &cfg->debounce_sec,
                                  error) &&
         efp_keyfile_get_seconds (kf, group, "cooldown-sec", 300, TRUE, &cfg->cooldown_sec,
                                  error) &&
         efp_keyfile_get_seconds (kf, group, "abort-window-sec", 120, FALSE, &cfg->abort_window_sec,
                                  error) &&
         efp_keyfile_get_seconds (kf, group, "max-data-gap-sec", 60, FALSE, &cfg->max_data_gap_sec,
                                  error) &&
         efp_keyfile_get_seconds (kf, group, "shutdown-delay-sec", 60, FALSE,
                                  &cfg->shutdown_delay_sec, error) &&
         efp_keyfile_get_bool (kf, group, "dry-run", FALSE, &cfg->dry_run, error);
}

void
efp_policy_lifecycle_config_dump (const EfpPolicyLifecycleConfig *cfg, GKeyFile *kf,
                                  const gchar *group)
{
  g_key_file_set_int64 (kf, group, "debounce-sec", cfg->debounce_sec);
  g_key_file_set_int64 (kf, group, "cooldown-sec", cfg->cooldown_sec);
  g_key_file_set_int64 (kf, group, "abort-window-sec", cfg->abort_window_sec);
  g_key_file_set_int64 (kf, group, "max-data-gap-sec", cfg->max_data_gap_sec);
  g_key_file_set_int64 (kf, group, "shutdown-delay-sec", cfg->shutdown_delay_sec);
  g_key_file_set_boolean (kf, group, "dry-run", cfg->dry_run);
}

EfpPolicyData
efp_policy_data_check (EfpPolicyState *state, const EfpPolicyInput *input, gint64 max_data_gap_sec,
                       gint64 now_us, EfpPolicyVerdict *verdict)
{
  gint64 gap_us = max_data_gap_sec * EFP_USEC_PER_SEC;
  gint64 age_us;

  if (!input->has_data || input->last_frame_us <= 0)
    return EFP_POLICY_DATA_NONE;
  age_us = now_us - input->last_frame_us;
  if (age_us <= gap_us)
    {
      state->stale_since_us = 0;
      /* stale means strictly older than the gap: wake one microsecond past it */
      efp_policy_verdict_wake (verdict, input->last_frame_us + gap_us + 1);
      return EFP_POLICY_DATA_FRESH;
    }
  if (state->stale_since_us == 0)
    {
      state->stale_since_us = now_us;
      efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_STALE,
                              "no data for %" G_GINT64_FORMAT
                              " s (max-data-gap-sec %" G_GINT64_FORMAT ")",
                              age_us / EFP_USEC_PER_SEC, max_data_gap_sec);
    }
  return EFP_POLICY_DATA_STALE;
}

/* While a shutdown stands (triggered, cooldown) the condition is only tracked,
 * so that after the cooldown it fires again only if it held throughout (seed). */
static void
track_condition (EfpPolicyState *state, EfpPolicyData data, const EfpPolicyCondition *cond,
                 gint64 now_us)
{
  if (data != EFP_POLICY_DATA_FRESH)
    return;
  if (!cond->condition)
    state->armed_since_us = 0;
  else if (state->armed_since_us == 0)
    state->armed_since_us = now_us;
}

static gint64
fire_time (const EfpPolicyLifecycleConfig *cfg, const EfpPolicyState *state)
{
  gint64 t = state->armed_since_us + cfg->debounce_sec * EFP_USEC_PER_SEC;

  if (state->triggered_at_us > 0)
    t = MAX (t, state->triggered_at_us + cfg->cooldown_sec * EFP_USEC_PER_SEC);
  return t;
}

void
efp_policy_lifecycle_evaluate (const EfpPolicyLifecycleConfig *cfg, EfpPolicyState *state,
                               EfpPolicyData data, const EfpPolicyCondition *cond, gint64 now_us,
                               EfpPolicyVerdict *verdict)
{
  gboolean fresh = data == EFP_POLICY_DATA_FRESH;
  const gchar *detail = cond->detail != NULL ? cond->detail : "";
  guint step;

  verdict->delay_sec = (guint) cfg->shutdown_delay_sec;
  verdict->dry_run = cfg->dry_run;

  /* each pass either returns or moves to another phase; a few passes cover
   * the longest chain (triggered -> cooldown -> idle -> armed -> triggered) */
  for (step = 0; step < 8; step++)
    {
      switch (state->phase)
        {
          case EFP_POLICY_PHASE_TRIGGERED:
            {
              gint64 window_end = state->triggered_at_us + cfg->abort_window_sec * EFP_USEC_PER_SEC;

              if (fresh && cond->grid_returned && now_us < window_end)
                {
                  efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_ABORT,
                                          "grid returned %" G_GINT64_FORMAT " s after the shutdown",
                                          (now_us - state->triggered_at_us) / EFP_USEC_PER_SEC);
                  state->armed_since_us = 0;
                  state->phase = EFP_POLICY_PHASE_COOLDOWN;
                  continue;
                }
              if (now_us >= window_end)
                {
                  state->phase = EFP_POLICY_PHASE_COOLDOWN;
                  continue;
                }
              track_condition (state, data, cond, now_us);
              efp_policy_verdict_wake (verdict, window_end);
              return;
            }

          case EFP_POLICY_PHASE_COOLDOWN:
            {
              gint64 end = state->triggered_at_us + cfg->cooldown_sec * EFP_USEC_PER_SEC;

              if (now_us >= end)
                {
                  state->phase = EFP_POLICY_PHASE_IDLE;
                  continue;
                }
              track_condition (state, data, cond, now_us);
              efp_policy_verdict_wake (verdict, end);
              return;
            }

          case EFP_POLICY_PHASE_IDLE:
            {
              gint64 fire_at;

              /* stale or no data: keep armed_since (a gap must not reset the clock) */
              if (!fresh)
                return;
              if (!cond->condition)
                {
                  state->armed_since_us = 0;
                  return;
                }
              if (state->armed_since_us == 0)
                state->armed_since_us = now_us;
              state->phase = EFP_POLICY_PHASE_ARMED;
              fire_at = fire_time (cfg, state);
              if (now_us < fire_at)
                efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_TIMER_START,
                                        "%s, shutdown in %" G_GINT64_FORMAT " s", detail,
                                        efp_policy_secs_until (now_us, fire_at));
              else
                efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_TIMER_START, "%s, shutdown now",
                                        detail);
              continue;
            }

          case EFP_POLICY_PHASE_ARMED:
            {
              gint64 fire_at = fire_time (cfg, state);

              verdict->deadline_us = fire_at;
              if (!fresh)
                return;
              if (!cond->condition)
                {
                  efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_TIMER_ABORT,
                                          "%s after %" G_GINT64_FORMAT " s", detail,
                                          (now_us - state->armed_since_us) / EFP_USEC_PER_SEC);
                  state->phase = EFP_POLICY_PHASE_IDLE;
                  state->armed_since_us = 0;
                  verdict->deadline_us = 0;
                  return;
                }
              if (now_us < fire_at)
                {
                  efp_policy_verdict_wake (verdict, fire_at);
                  return;
                }
              efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_SHUTDOWN,
                                      "%s for %" G_GINT64_FORMAT " s", detail,
                                      (now_us - state->armed_since_us) / EFP_USEC_PER_SEC);
              state->phase = EFP_POLICY_PHASE_TRIGGERED;
              state->triggered_at_us = now_us;
              verdict->deadline_us = 0;
              continue;
            }

          default:
            /* a persisted value this build does not know: start over */
            state->phase = EFP_POLICY_PHASE_IDLE;
            state->armed_since_us = 0;
            continue;
        }
    }
}

/* efp-policy-comm-lost.c: shut down when a station that was last seen on
 * battery goes silent, at the moment its SoC should reach soc-min, or after
 * max-blind-sec of silence at the latest (CONTRACT 3.1, README.md). */
#include <gmodule.h>
#include <math.h>

#include "efp-plugin-util.h"
#include "efp-policy-discharge.h"
#include "efp-policy-lifecycle.h"
#include "efp-policy.h"

/* The keys are fixed by the contract, so the abort window is not one of them. */
#define COMM_LOST_ABORT_WINDOW_SEC 120
/* aux[7]: the blind countdown's deadline (wall-clock µs, exact in a double);
 * aux[0..6] belong to the discharge tracker */
#define AUX_DEADLINE 7

typedef struct
{
  gint64 soc_min;
  gint64 max_data_gap_sec;
  gint64 max_blind_sec;
  gint64 shutdown_delay_sec;
  gboolean dry_run;
} CommLostConfig;

static const gchar *const comm_lost_keys[] = {
  "soc-min", "max-data-gap-sec", "max-blind-sec", "shutdown-delay-sec", "dry-run", NULL,
};

static gpointer
comm_lost_config_new (GKeyFile *kf, const gchar *group, GError **error)
{
  g_autofree CommLostConfig *cfg = g_new0 (CommLostConfig, 1);

  if (!efp_keyfile_get_int (kf, group, "soc-min", 10, 0, 100, &cfg->soc_min, error) ||
      !efp_keyfile_get_seconds (kf, group, "max-data-gap-sec", 60, FALSE, &cfg->max_data_gap_sec,
                                error) ||
      !efp_keyfile_get_seconds (kf, group, "max-blind-sec", 900, FALSE, &cfg->max_blind_sec,
                                error) ||
      !efp_keyfile_get_seconds (kf, group, "shutdown-delay-sec", 60, FALSE,
                                &cfg->shutdown_delay_sec, error) ||
      !efp_keyfile_get_bool (kf, group, "dry-run", FALSE, &cfg->dry_run, error))
    return NULL;
  return g_steal_pointer (&cfg);
}

static void
comm_lost_config_free (gpointer config)
{
  g_free (config);
}

static void
comm_lost_config_dump (gconstpointer config, GKeyFile *kf, const gchar *group)
{
  const CommLostConfig *cfg = config;

  g_key_file_set_int64 (kf, group, "soc-min", cfg->soc_min);
  g_key_file_set_int64 (kf, group, "max-data-gap-sec", cfg->max_data_gap_sec);
  g_key_file_set_int64 (kf, group, "max-blind-sec", cfg->max_blind_sec);
  g_key_file_set_int64 (kf, group, "shutdown-delay-sec", cfg->shutdown_delay_sec);
  g_key_file_set_boolean (kf, group, "dry-run", cfg->dry_run);
}

/* How fast the last known state drains, in %/s, and which figure said so:
 * the observed SoC slope, else the station's minutes to empty, else the
 * watts and the configured capacity. NAN when none is known. */
static gdouble
blind_rate (const EfpPolicyState *state, const EfpPolicyInput *input, const gchar **source)
{
  const EfpReading *r = input->reading;
  gdouble rate = efp_policy_discharge_rate (state);

  if (!isnan (rate))
    {
      *source = "slope";
      return rate;
    }
  if (r->remain_minutes > 0 && !isnan (r->soc) && r->soc > 0)
    {
      *source = "station";
      return r->soc / (r->remain_minutes * 60.0);
    }
  rate = efp_policy_discharge_rate_from_watts (r, input->capacity_wh);
  if (!isnan (rate))
    {
      *source = "watts";
      return rate;
    }
  return NAN;
}

/* Start the blind countdown: the earlier of "the SoC should reach soc-min"
 * and max-blind-sec, both counted from the last frame. */
static void
arm (const CommLostConfig *cfg, EfpPolicyState *state, const EfpPolicyInput *input, gint64 now_us,
     EfpPolicyVerdict *verdict)
{
  const EfpReading *r = input->reading;
  gint64 from = input->last_frame_us;
  gint64 deadline = from + cfg->max_blind_sec * EFP_USEC_PER_SEC;
  gint64 silent_s = (now_us - from) / EFP_USEC_PER_SEC;
  gdouble above = r->soc - (gdouble) cfg->soc_min;
  const gchar *source = NULL;

  state->phase = EFP_POLICY_PHASE_ARMED;
  state->armed_since_us = from;
  if (!isnan (r->soc) && above <= 0)
    {
      state->aux[AUX_DEADLINE] = (gdouble) from;
      efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_TIMER_START,
                              "no data for %" G_GINT64_FORMAT " s, last seen on battery at soc %g "
                              "<= %" G_GINT64_FORMAT ": shutdown now",
                              silent_s, r->soc, cfg->soc_min);
      return;
    }
  if (!isnan (r->soc))
    {
      gdouble rate = blind_rate (state, input, &source);

      /* compare in seconds first: a slow drain would overflow microseconds */
      if (!isnan (rate) && above / rate < (gdouble) cfg->max_blind_sec)
        deadline = from + (gint64) round (above / rate * EFP_USEC_PER_SEC);
      else
        source = NULL;
    }
  state->aux[AUX_DEADLINE] = (gdouble) deadline;
  if (source != NULL)
    efp_policy_verdict_add (
      verdict, EFP_POLICY_EVENT_TIMER_START,
      "no data for %" G_GINT64_FORMAT " s, last seen on battery at soc %g: "
      "shutdown in %" G_GINT64_FORMAT " s, when soc should reach %" G_GINT64_FORMAT " (%s)",
      silent_s, r->soc, efp_policy_secs_until (now_us, deadline), cfg->soc_min, source);
  else
    efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_TIMER_START,
                            "no data for %" G_GINT64_FORMAT " s, last seen on battery: shutdown "
                            "in %" G_GINT64_FORMAT " s (max-blind-sec %" G_GINT64_FORMAT ")",
                            silent_s, efp_policy_secs_until (now_us, deadline), cfg->max_blind_sec);
}

static void
comm_lost_evaluate (gconstpointer config, EfpPolicyState *state, const EfpPolicyInput *input,
                    gint64 now_us, EfpPolicyVerdict *verdict)
{
  const CommLostConfig *cfg = config;
  const EfpReading *r = input->reading;
  EfpPolicyData data;
  guint step;

  verdict->delay_sec = (guint) cfg->shutdown_delay_sec;
  verdict->dry_run = cfg->dry_run;
  data = efp_policy_data_check (state, input, cfg->max_data_gap_sec, now_us, verdict);
  if (r == NULL)
    data = EFP_POLICY_DATA_NONE;
  if (data == EFP_POLICY_DATA_FRESH)
    efp_policy_discharge_update (state, r, input->last_frame_us);

  for (step = 0; step < 8; step++)
    {
      switch (state->phase)
        {
          case EFP_POLICY_PHASE_IDLE:
            /* stale on grid, or with the grid unknown: the STALE event is all */
            if (data != EFP_POLICY_DATA_STALE || r->grid_connected != EFP_TRISTATE_FALSE)
              return;
            arm (cfg, state, input, now_us, verdict);
            continue;

          case EFP_POLICY_PHASE_ARMED:
            {
              gint64 max_blind = state->armed_since_us + cfg->max_blind_sec * EFP_USEC_PER_SEC;
              gint64 deadline = (gint64) state->aux[AUX_DEADLINE];
              gint64 blind_s = (now_us - state->armed_since_us) / EFP_USEC_PER_SEC;

              if (data == EFP_POLICY_DATA_FRESH)
                {
                  efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_TIMER_ABORT,
                                          "data resumed after %" G_GINT64_FORMAT " s",
                                          (input->last_frame_us - state->armed_since_us) /
                                            EFP_USEC_PER_SEC);
                  state->phase = EFP_POLICY_PHASE_IDLE;
                  state->armed_since_us = 0;
                  state->aux[AUX_DEADLINE] = 0;
                  return;
                }
              /* a persisted deadline that makes no sense: the latest one allowed */
              if (deadline <= 0 || deadline > max_blind)
                deadline = max_blind;
              /* no data at all (a restart): still blind, the countdown goes on */
              if (now_us < deadline)
                {
                  verdict->deadline_us = deadline;
                  efp_policy_verdict_wake (verdict, deadline);
                  return;
                }
              if (deadline == max_blind)
                efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_SHUTDOWN,
                                        "no data for %" G_GINT64_FORMAT
                                        " s while on battery (max-blind-sec %" G_GINT64_FORMAT ")",
                                        blind_s, cfg->max_blind_sec);
              else
                efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_SHUTDOWN,
                                        "no data for %" G_GINT64_FORMAT
                                        " s while on battery, soc estimated at %" G_GINT64_FORMAT
                                        " or less",
                                        blind_s, cfg->soc_min);
              state->phase = EFP_POLICY_PHASE_TRIGGERED;
              state->triggered_at_us = now_us;
              state->aux[AUX_DEADLINE] = 0;
              continue;
            }

          case EFP_POLICY_PHASE_TRIGGERED:
            {
              gint64 window_end =
                state->triggered_at_us + COMM_LOST_ABORT_WINDOW_SEC * EFP_USEC_PER_SEC;

              if (data == EFP_POLICY_DATA_FRESH && r->grid_connected == EFP_TRISTATE_TRUE &&
                  now_us < window_end)
                {
                  efp_policy_verdict_add (verdict, EFP_POLICY_EVENT_ABORT,
                                          "grid returned %" G_GINT64_FORMAT " s after the shutdown",
                                          (now_us - state->triggered_at_us) / EFP_USEC_PER_SEC);
                  state->phase = EFP_POLICY_PHASE_IDLE;
                  state->armed_since_us = 0;
                  return;
                }
              if (now_us >= window_end)
                {
                  state->phase = EFP_POLICY_PHASE_COOLDOWN;
                  continue;
                }
              efp_policy_verdict_wake (verdict, window_end);
              return;
            }

          case EFP_POLICY_PHASE_COOLDOWN:
            /* one shutdown per blind spell: the spell ends with fresh data */
            if (data != EFP_POLICY_DATA_FRESH)
              return;
            state->phase = EFP_POLICY_PHASE_IDLE;
            state->armed_since_us = 0;
            continue;

          default:
            state->phase = EFP_POLICY_PHASE_IDLE;
            state->armed_since_us = 0;
            continue;
        }
    }
}

static const EfpPolicyVTable comm_lost_vtable = {
  .abi_major = EFP_POLICY_ABI_MAJOR,
  .abi_minor = EFP_POLICY_ABI_MINOR,
  .struct_size = sizeof (EfpPolicyVTable),
  .name = "comm-lost",
  .description = "shut down when a station on battery goes silent for too long",
  .option_keys = comm_lost_keys,
  .config_new = comm_lost_config_new,
  .config_free = comm_lost_config_free,
  .config_dump = comm_lost_config_dump,
  .evaluate = comm_lost_evaluate,
};

EFP_POLICY_DEFINE (comm_lost_vtable)

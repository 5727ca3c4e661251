/* efp-policy-runtime.c: shut down when the station is on battery and fewer than
 * runtime-min-minutes of runtime are left (CONTRACT 3.1). The remaining time is
 * the station's own estimate, else one from the drain in watts and the
 * configured capacity, else one from the observed SoC slope (README.md). */
#include <gmodule.h>
#include <math.h>

#include "efp-plugin-util.h"
#include "efp-policy-discharge.h"
#include "efp-policy-lifecycle.h"
#include "efp-policy.h"

typedef struct
{
  gint64 runtime_min_minutes;
  EfpPolicyLifecycleConfig life;
} RuntimeConfig;

static const gchar *const runtime_keys[] = {
  "runtime-min-minutes", "debounce-sec",       "cooldown-sec", "abort-window-sec",
  "max-data-gap-sec",    "shutdown-delay-sec", "dry-run",      NULL,
};

static gpointer
runtime_config_new (GKeyFile *kf, const gchar *group, GError **error)
{
  g_autofree RuntimeConfig *cfg = g_new0 (RuntimeConfig, 1);

  if (!efp_keyfile_get_int (kf, group, "runtime-min-minutes", 10, 1, 10080,
                            &cfg->runtime_min_minutes, error))
    return NULL;
  if (!efp_policy_lifecycle_config_load (&cfg->life, kf, group, error))
    return NULL;
  return g_steal_pointer (&cfg);
}

static void
runtime_config_free (gpointer config)
{
  g_free (config);
}

static void
runtime_config_dump (gconstpointer config, GKeyFile *kf, const gchar *group)
{
  const RuntimeConfig *cfg = config;

  g_key_file_set_int64 (kf, group, "runtime-min-minutes", cfg->runtime_min_minutes);
  efp_policy_lifecycle_config_dump (&cfg->life, kf, group);
}

/* Minutes to empty and where the number came from; NAN when nothing is known,
 * INFINITY when the watts say the battery is not draining. */
static gdouble
runtime_minutes (const EfpPolicyState *state, const EfpPolicyInput *input, const gchar **source)
{
  const EfpReading *r = input->reading;
  gdouble rate;

  if (r->remain_minutes >= 0)
    {
      *source = "station";
      return r->remain_minutes;
    }
  if (isnan (r->soc))
    return NAN;
  if (!isnan (input->capacity_wh) && input->capacity_wh > 0 && !isnan (r->output_watts))
    {
      *source = "watts";
      rate = efp_policy_discharge_rate_from_watts (r, input->capacity_wh);
      return isnan (rate) ? INFINITY : r->soc / rate / 60.0;
    }
  rate = efp_policy_discharge_rate (state);
  if (!isnan (rate))
    {
      *source = "slope";
      return r->soc / rate / 60.0;
    }
  return NAN;
}

/* "8 min" for whole numbers (the station's), "8.5 min" for estimates */
static void
format_minutes (gchar *buf, gsize len, gdouble minutes)
{
  if (isinf (minutes))
    g_strlcpy (buf, "not draining", len);
  else if (minutes == floor (minutes))
    g_snprintf (buf, len, "%.0f min left", minutes);
  else
    g_snprintf (buf, len, "%.1f min left", minutes);
}

static void
runtime_evaluate (gconstpointer config, EfpPolicyState *state, const EfpPolicyInput *input,
                  gint64 now_us, EfpPolicyVerdict *verdict)
{
  const RuntimeConfig *cfg = config;
  const EfpReading *r = input->reading;
  EfpPolicyCondition cond = { 0 };
  gchar detail[EFP_POLICY_DETAIL_LEN];
  EfpPolicyData data;

  data = efp_policy_data_check (state, input, cfg->life.max_data_gap_sec, now_us, verdict);
  if (data == EFP_POLICY_DATA_FRESH && r == NULL)
    data = EFP_POLICY_DATA_NONE;
  if (data == EFP_POLICY_DATA_FRESH)
    {
      const gchar *source = NULL;
      gdouble minutes;
      gchar left[48];

      efp_policy_discharge_update (state, r, input->last_frame_us);
      minutes = runtime_minutes (state, input, &source);
      format_minutes (left, sizeof left, minutes);
      cond.grid_returned = r->grid_connected == EFP_TRISTATE_TRUE;
      cond.condition = r->grid_connected == EFP_TRISTATE_FALSE && !isnan (minutes) &&
                       minutes < (gdouble) cfg->runtime_min_minutes;
      if (cond.grid_returned)
        g_strlcpy (detail, "grid returned", sizeof detail);
      else if (r->grid_connected == EFP_TRISTATE_UNKNOWN)
        g_strlcpy (detail, "grid state unknown", sizeof detail);
      else if (isnan (minutes))
        g_strlcpy (detail, "on battery, runtime unknown", sizeof detail);
      else if (isinf (minutes))
        g_snprintf (detail, sizeof detail, "on battery, %s (%s)", left, source);
      else
        g_snprintf (detail, sizeof detail, "on battery, %s (%s) %s %" G_GINT64_FORMAT, left, source,
                    cond.condition ? "<" : ">=", cfg->runtime_min_minutes);
      cond.detail = detail;
    }
  efp_policy_lifecycle_evaluate (&cfg->life, state, data, &cond, now_us, verdict);
}

static const EfpPolicyVTable runtime_vtable = {
  .abi_major = EFP_POLICY_ABI_MAJOR,
  .abi_minor = EFP_POLICY_ABI_MINOR,
  .struct_size = sizeof (EfpPolicyVTable),
  .name = "runtime",
  .description = "shut down when on battery with less than runtime-min-minutes left",
  .option_keys = runtime_keys,
  .config_new = runtime_config_new,
  .config_free = runtime_config_free,
  .config_dump = runtime_config_dump,
  .evaluate = runtime_evaluate,
};

EFP_POLICY_DEFINE (runtime_vtable)

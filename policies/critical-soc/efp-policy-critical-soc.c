/* efp-policy-critical-soc.c: shut down when the grid is lost and the SoC is at
 * or below soc-min for debounce-sec (the seed's policy, CONTRACT 3.1). */
#include <gmodule.h>
#include <math.h>

#include "efp-plugin-util.h"
#include "efp-policy-lifecycle.h"
#include "efp-policy.h"

typedef struct
{
  gint64 soc_min;
  EfpPolicyLifecycleConfig life;
} CriticalSocConfig;

static const gchar *const critical_soc_keys[] = {
  "soc-min",          "debounce-sec",       "cooldown-sec", "abort-window-sec",
  "max-data-gap-sec", "shutdown-delay-sec", "dry-run",      NULL,
};

static gpointer
critical_soc_config_new (GKeyFile *kf, const gchar *group, GError **error)
{
  g_autofree CriticalSocConfig *cfg = g_new0 (CriticalSocConfig, 1);

  if (!efp_keyfile_get_int (kf, group, "soc-min", 10, 0, 100, &cfg->soc_min, error))
    return NULL;
  if (!efp_policy_lifecycle_config_load (&cfg->life, kf, group, error))
    return NULL;
  return g_steal_pointer (&cfg);
}

static void
critical_soc_config_free (gpointer config)
{
  g_free (config);
}

static void
critical_soc_config_dump (gconstpointer config, GKeyFile *kf, const gchar *group)
{
  const CriticalSocConfig *cfg = config;

  g_key_file_set_int64 (kf, group, "soc-min", cfg->soc_min);
  efp_policy_lifecycle_config_dump (&cfg->life, kf, group);
}

static void
critical_soc_evaluate (gconstpointer config, EfpPolicyState *state, const EfpPolicyInput *input,
                       gint64 now_us, EfpPolicyVerdict *verdict)
{
  const CriticalSocConfig *cfg = config;
  const EfpReading *r = input->reading;
  EfpPolicyCondition cond = { 0 };
  gchar detail[EFP_POLICY_DETAIL_LEN];
  EfpPolicyData data;

  data = efp_policy_data_check (state, input, cfg->life.max_data_gap_sec, now_us, verdict);
  if (data == EFP_POLICY_DATA_FRESH && r != NULL)
    {
      gboolean grid_lost = r->grid_connected == EFP_TRISTATE_FALSE;
      gboolean soc_known = !isnan (r->soc);

      cond.grid_returned = r->grid_connected == EFP_TRISTATE_TRUE;
      cond.condition = grid_lost && soc_known && r->soc <= (gdouble) cfg->soc_min;
      if (cond.condition)
        g_snprintf (detail, sizeof detail, "grid lost and soc %g <= %" G_GINT64_FORMAT, r->soc,
                    cfg->soc_min);
      else if (cond.grid_returned)
        g_snprintf (detail, sizeof detail, "grid returned");
      else if (r->grid_connected == EFP_TRISTATE_UNKNOWN)
        g_snprintf (detail, sizeof detail, "grid state unknown");
      else if (!soc_known)
        g_snprintf (detail, sizeof detail, "soc unknown");
      else
        g_snprintf (detail, sizeof detail, "soc %g > %" G_GINT64_FORMAT, r->soc, cfg->soc_min);
      cond.detail = detail;
    }
  else if (data == EFP_POLICY_DATA_FRESH)
    data = EFP_POLICY_DATA_NONE;
  efp_policy_lifecycle_evaluate (&cfg->life, state, data, &cond, now_us, verdict);
}

static const EfpPolicyVTable critical_soc_vtable = {
  .abi_major = EFP_POLICY_ABI_MAJOR,
  .abi_minor = EFP_POLICY_ABI_MINOR,
  .struct_size = sizeof (EfpPolicyVTable),
  .name = "critical-soc",
  .description = "shut down when the grid is lost and the SoC stays at or below soc-min",
  .option_keys = critical_soc_keys,
  .config_new = critical_soc_config_new,
  .config_free = critical_soc_config_free,
  .config_dump = critical_soc_config_dump,
  .evaluate = critical_soc_evaluate,
};

EFP_POLICY_DEFINE (critical_soc_vtable)

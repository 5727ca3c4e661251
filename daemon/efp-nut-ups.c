/* efp-nut-ups.c: a reading as NUT variables, and the FSD latch. */
#include "efp-nut-ups.h"

#include <math.h>
#include <string.h>
#include "efp-nut-protocol.h"

/* EfpReading carries no voltage: the nominal number while the grid is present
 * and 0 on battery is what clients that chart input.voltage need */
#define NOMINAL_GRID_VOLTS "230"

typedef enum
{
  V_CHARGE,
  V_CHARGE_LOW,
  V_RUNTIME,
  V_TEMPERATURE,
  V_DEVICE_MFR,
  V_DEVICE_MODEL,
  V_DEVICE_SERIAL,
  V_DEVICE_TYPE,
  V_INPUT_VOLTAGE,
  V_OUTPUT_POWER,
  V_UPS_MFR,
  V_UPS_MODEL,
  V_UPS_REALPOWER,
  V_UPS_SERIAL,
  V_UPS_STATUS,
} VarId;

typedef struct
{
  VarId id;
  const gchar *desc;
  gboolean is_string;
} Var;

/* sorted by name (upsd lists its variables in name order too); same order as var_names */
static const gchar *const var_names[] = {
  "battery.charge", "battery.charge.low", "battery.runtime", "battery.temperature",
  "device.mfr",     "device.model",       "device.serial",   "device.type",
  "input.voltage",  "output.power",       "ups.mfr",         "ups.model",
  "ups.realpower",  "ups.serial",         "ups.status",      NULL,
};

static const Var vars[] = {
  { V_CHARGE, "Battery charge (percent)", FALSE },
  { V_CHARGE_LOW, "Charge at or below which the battery is low (percent)", FALSE },
  { V_RUNTIME, "Battery runtime left (seconds)", FALSE },
  { V_TEMPERATURE, "Battery temperature (degrees C)", FALSE },
  { V_DEVICE_MFR, "Device manufacturer", TRUE },
  { V_DEVICE_MODEL, "Device model", TRUE },
  { V_DEVICE_SERIAL, "Device serial number", TRUE },
  { V_DEVICE_TYPE, "Device type", TRUE },
  { V_INPUT_VOLTAGE, "Input voltage (V; nominal while the grid is present, 0 on battery)", FALSE },
  { V_OUTPUT_POWER, "Output power (W)", FALSE },
  { V_UPS_MFR, "UPS manufacturer", TRUE },
  { V_UPS_MODEL, "UPS model", TRUE },
  { V_UPS_REALPOWER, "Real power drawn by the load (W)", FALSE },
  { V_UPS_SERIAL, "UPS serial number", TRUE },
  { V_UPS_STATUS, "UPS status", TRUE },
};

G_STATIC_ASSERT (G_N_ELEMENTS (vars) + 1 == G_N_ELEMENTS (var_names));

EfpNutUps *
efp_nut_ups_new (const gchar *device)
{
  EfpNutUps *u = g_new0 (EfpNutUps, 1);

  u->name = efp_nut_ups_name (device);
  u->device = g_strdup (device);
  efp_reading_init (&u->reading);
  u->stale = TRUE;
  u->charge_low = NAN;
  return u;
}

void
efp_nut_ups_free (EfpNutUps *u)
{
  if (u == NULL)
    return;
  g_free (u->name);
  g_free (u->device);
  g_free (u->serial);
  g_free (u);
}

void
efp_nut_ups_set_fsd (EfpNutUps *u, gint64 now_us)
{
  u->fsd = TRUE;
  u->fsd_since_us = now_us;
}

EfpNutUpsFsdChange
efp_nut_ups_update (EfpNutUps *u, const EfpReading *reading, const EfpReadingMeta *meta,
                    gboolean fsd, gdouble charge_low, gint64 now_us, gint64 fsd_hold_us)
{
  EfpNutUpsFsdChange change = EFP_NUT_UPS_FSD_UNCHANGED;

  u->reading = *reading;
  /* never had a valid frame: nothing true to say, like upsd before a driver's first dump */
  u->stale = meta->stale || meta->ts == 0;
  u->is_group = meta->serial == NULL && meta->decoder == NULL;
  if (g_strcmp0 (u->serial, meta->serial) != 0)
    {
      g_free (u->serial);
      u->serial = g_strdup (meta->serial);
    }
  u->charge_low = charge_low;

  if (fsd && !u->policy_fsd)
    {
      efp_nut_ups_set_fsd (u, now_us);
      change = EFP_NUT_UPS_FSD_SET;
    }
  u->policy_fsd = fsd;
  if (u->fsd && !fsd && !u->stale && !efp_reading_on_battery (reading) &&
      now_us - u->fsd_since_us >= fsd_hold_us)
    {
      u->fsd = FALSE;
      change = EFP_NUT_UPS_FSD_CLEARED;
    }
  return change;
}

const gchar *const *
efp_nut_var_names (void)
{
  return var_names;
}

static const Var *
find_var (const gchar *name, const gchar **canonical)
{
  gsize i;

  for (i = 0; var_names[i] != NULL; i++)
    if (g_ascii_strcasecmp (var_names[i], name) == 0)
      {
        if (canonical != NULL)
          *canonical = var_names[i];
        return &vars[i];
      }
  return NULL;
}

gboolean
efp_nut_var_info (const gchar *name, const gchar **canonical, const gchar **desc,
                  gboolean *is_string)
{
  const Var *v = find_var (name, canonical);

  if (v == NULL)
    return FALSE;
  if (desc != NULL)
    *desc = v->desc;
  if (is_string != NULL)
    *is_string = v->is_string;
  return TRUE;
}

static gchar *
ups_model (const EfpNutUps *u)
{
  if (u->reading.model[0] != '\0')
    return g_strdup (u->reading.model);
  return u->is_group ? g_strdup ("Virtual battery") : NULL;
}

gchar *
efp_nut_ups_var (const EfpNutUps *u, const gchar *name)
{
  const EfpReading *r = &u->reading;
  const Var *v = find_var (name, NULL);

  if (v == NULL)
    return NULL;
  switch (v->id)
    {
      case V_CHARGE:
        return isnan (r->soc) ? NULL : g_strdup_printf ("%.0f", CLAMP (round (r->soc), 0.0, 100.0));
      case V_CHARGE_LOW:
        return isnan (u->charge_low) ? NULL : efp_nut_format_number (u->charge_low);
      case V_RUNTIME:
        return r->remain_minutes < 0
                 ? NULL
                 : g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) r->remain_minutes * 60);
      case V_TEMPERATURE:
        return isnan (r->temp_celsius) ? NULL : efp_nut_format_number (r->temp_celsius);
      case V_DEVICE_MFR:
      case V_UPS_MFR:
        return g_strdup ("EcoFlow");
      case V_DEVICE_MODEL:
      case V_UPS_MODEL:
        return ups_model (u);
      case V_DEVICE_SERIAL:
      case V_UPS_SERIAL:
        return g_strdup (u->serial);
      case V_DEVICE_TYPE:
        return g_strdup ("ups");
      case V_INPUT_VOLTAGE:
        if (r->grid_connected == EFP_TRISTATE_UNKNOWN)
          return NULL;
        return g_strdup (r->grid_connected == EFP_TRISTATE_TRUE ? NOMINAL_GRID_VOLTS : "0");
      case V_OUTPUT_POWER:
      case V_UPS_REALPOWER:
        return isnan (r->output_watts) ? NULL : efp_nut_format_number (r->output_watts);
      case V_UPS_STATUS:
        return efp_nut_ups_status (r, u->charge_low, u->fsd);
      default:
        return NULL;
    }
}

gchar *
efp_nut_ups_description (const EfpNutUps *u)
{
  g_autofree gchar *model = ups_model (u);

  if (u->is_group)
    return g_strdup_printf ("%s (group of EcoFlow power stations)", u->device);
  if (model != NULL)
    return g_strdup_printf ("%s (EcoFlow %s)", u->device, model);
  return g_strdup_printf ("%s (EcoFlow)", u->device);
}

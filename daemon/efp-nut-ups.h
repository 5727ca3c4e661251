/* efp-nut-ups.h: one UPS as NUT clients see it: a device or group's reading,
 * mapped onto NUT variables, plus the FSD latch. Pure: no I/O, time passed in. */
#pragma once

#include <glib.h>
#include "efp-reading.h"
#include "efp-reading-json.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *name;   /* NUT name (efp_nut_ups_name of the device) */
  gchar *device; /* the daemon's device or group name */
  gchar *serial; /* NULL unknown */
  gboolean is_group;
  EfpReading reading;
  gboolean stale; /* stale or never had data: every VAR read is ERR DATA-STALE */
  gdouble charge_low;
  gboolean policy_fsd; /* the daemon's flag as last passed */
  gboolean fsd;        /* latched FSD (a policy, or a primary's FSD command) */
  gint64 fsd_since_us; /* monotonic time FSD was last set */
} EfpNutUps;

typedef enum
{
  EFP_NUT_UPS_FSD_UNCHANGED,
  EFP_NUT_UPS_FSD_SET,     /* a policy set FSD with this update */
  EFP_NUT_UPS_FSD_CLEARED, /* on line again long enough after FSD: cleared */
} EfpNutUpsFsdChange;

EfpNutUps *efp_nut_ups_new (const gchar *device);
void efp_nut_ups_free (EfpNutUps *u);

/* Take a new reading. FSD latches like upsd's, but opens again with the first
 * fresh on-line reading at least @fsd_hold_us after it was set while @fsd is
 * FALSE, so hosts that boot again once the grid is back are not shut down again. */
EfpNutUpsFsdChange efp_nut_ups_update (EfpNutUps *u, const EfpReading *reading,
                                       const EfpReadingMeta *meta, gboolean fsd, gdouble charge_low,
                                       gint64 now_us, gint64 fsd_hold_us);
/* The FSD command of a primary. */
void efp_nut_ups_set_fsd (EfpNutUps *u, gint64 now_us);

/* Every variable name we may serve, sorted (the LIST VAR order), NULL-terminated. */
const gchar *const *efp_nut_var_names (void);
/* Canonical name, description and type of @name (any case); FALSE when not ours. */
gboolean efp_nut_var_info (const gchar *name, const gchar **canonical, const gchar **desc,
                           gboolean *is_string);
/* The value of @name, NULL when this UPS has none (unknown number, no serial). */
gchar *efp_nut_ups_var (const EfpNutUps *u, const gchar *name);
/* For LIST UPS and GET UPSDESC. */
gchar *efp_nut_ups_description (const EfpNutUps *u);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpNutUps, efp_nut_ups_free)

G_END_DECLS

/* efp-group.h: a virtual battery over several stations (CONTRACT 3.1 [group:NAME]). */
#pragma once

#include <glib.h>
#include "efp-reading.h"

G_BEGIN_DECLS

typedef struct
{
  const EfpReading *reading;
  gdouble capacity_wh; /* NAN: unknown */
  gboolean has_data;
} EfpGroupMember;

/* Capacity-weighted SoC (equal weights when no capacity is known), summed
 * watts, on battery when any member is, the shortest runtime of the members
 * on battery. Members without data are left out of the SoC. */
void efp_group_aggregate (const EfpGroupMember *members, guint n, EfpReading *out);

G_END_DECLS

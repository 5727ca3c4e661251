/* efp-pb-telemetry.h: a parsed protobuf envelope -> station slots (SPEC 5 and 7). */
#pragma once

#include <glib.h>

#include "efp-envelope.h"
#include "efp-model-table.h"
#include "efp-station.h"

G_BEGIN_DECLS

/* Which signal decides grid_connected on protobuf devices (grid-source=). */
typedef enum
{
  EFP_GRID_MODE_AUTO,         /* charger flag, else AC-in watts, else AC-in volts */
  EFP_GRID_MODE_CHARGER_FLAG, /* Display field 202 only */
  EFP_GRID_MODE_TAG27,        /* the seed's rule: BMS heartbeat field 27 <= 1 */
} EfpGridMode;

/* grid_source strings (static, published as is) */
#define EFP_GRID_SOURCE_CHARGER_FLAG "charger-flag"
#define EFP_GRID_SOURCE_AC_IN_WATTS  "ac-in-watts"
#define EFP_GRID_SOURCE_AC_IN_VOLTS  "ac-in-volts"
#define EFP_GRID_SOURCE_AC_IN_FREQ   "ac-in-freq"
#define EFP_GRID_SOURCE_TAG27        "tag27"

/* AC input above this many watts means mains (SPEC 7.2: 0 W proves nothing) */
#define EFP_GRID_MIN_AC_IN_WATTS 5.0
/* AC input voltage at or above this means mains (Delta 3 shows ~7 V of noise) */
#define EFP_GRID_MIN_AC_IN_VOLTS 80.0

gboolean efp_grid_mode_parse (const gchar *text, EfpGridMode *out);

/* Apply every device header of @env to @station, unpacking the payloads it
 * reads: RuntimePropertyUpload only when @mode is AUTO and neither the charger
 * flag nor the AC-in watts of the frame decide the grid, a CMS heartbeat only
 * while a Display source it backs up is unknown. FALSE (with a one-line
 * reason) when a payload read does not parse, a value is out of range or the
 * frame carries no device data; @station may then be
 * half-updated, so callers apply to a copy. @models names the model from
 * product ids and types; may be NULL. */
gboolean efp_pb_telemetry_apply (EfpStation *station, EfpEnvelope *env, EfpGridMode mode,
                                 const EfpModelTable *models, GError **error);

G_END_DECLS

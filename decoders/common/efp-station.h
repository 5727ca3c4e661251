/* efp-station.h: everything a decoder knows about one station, merged.
 *
 * Frames update source slots (absent fields leave them alone); the published
 * EfpReading is derived from the slots each time, so merging rules live in one
 * place: the best known source wins, SoC falls back to a capacity-weighted
 * mean over packs, the remaining-time sentinels mean "no estimate".
 */
#pragma once

#include <glib.h>

#include "efp-reading.h"

G_BEGIN_DECLS

/* Sources per quantity, best first (SPEC 7.1 and 7.3 give at most three). */
#define EFP_STATION_RANKS 3
/* Remaining-time values at or above this mean "no estimate" (SPEC 7.3). */
#define EFP_REMAIN_SENTINEL 5939

typedef struct
{
  gboolean known;
  gdouble value;
} EfpKnown;

typedef struct
{
  EfpPack pack;
  gboolean soc_precise;  /* soc came from the float value, the integer one no longer counts */
  gboolean remain_known; /* remain_minutes was reported (-1 then means "no estimate") */
} EfpStationPack;

typedef struct
{
  EfpKnown soc[EFP_STATION_RANKS];           /* combined SoC, % */
  EfpKnown temp[EFP_STATION_RANKS];          /* station temperature, degrees C */
  EfpKnown dsg_minutes[EFP_STATION_RANKS];   /* minutes to empty (sentinels kept) */
  EfpKnown chg_dsg_state[EFP_STATION_RANKS]; /* 0 idle, 1 discharging, 2 charging */
  EfpKnown input_watts;
  EfpKnown output_watts;
  EfpTristate grid;
  const gchar *grid_source; /* static string */
  gboolean grid_flag_seen;  /* the station sends the AC charger flag: only it decides "absent" */
  gboolean model_fixed;     /* named by the setup: frames do not rename it */
  gchar model[EFP_READING_MODEL_LEN];
  EfpStationPack packs[EFP_READING_MAX_PACKS];
} EfpStation;

void efp_station_init (EfpStation *self, const gchar *model);
/* The slot of pack @index, claimed on first use; NULL when all are taken. */
EfpStationPack *efp_station_pack (EfpStation *self, guint index);
/* A model name seen in a frame; ignored when the setup named the model. */
void efp_station_set_model (EfpStation *self, const gchar *model);
/* Pack SoC from the float (precise) or integer value. */
void efp_station_pack_set_soc (EfpStationPack *pack, gdouble soc, gboolean precise);
/* Combined SoC as published: best source, else the pack mean; NAN when unknown. */
gdouble efp_station_get_soc (const EfpStation *self);
/* Write every known value into @r; unknown ones stay as they are. */
void efp_station_to_reading (const EfpStation *self, EfpReading *r);

static inline void
efp_known_set (EfpKnown *k, gdouble v)
{
  k->known = TRUE;
  k->value = v;
}

G_END_DECLS

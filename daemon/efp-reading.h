/* efp-reading.h: the normalized state of one power station (public, installed).
 *
 * A decoder fills an EfpReading from frames; the daemon merges readings over
 * time, publishes them as JSON (CONTRACT 4.2) and feeds them to policies.
 * Unknown numbers are NAN (doubles) or -1 (integers); unknown booleans are
 * EFP_TRISTATE_UNKNOWN. A field a frame does not carry is left untouched.
 */
#pragma once

#include <glib.h>
#include <math.h>
#include <string.h>

G_BEGIN_DECLS

typedef enum
{
  EFP_TRISTATE_UNKNOWN = -1,
  EFP_TRISTATE_FALSE = 0,
  EFP_TRISTATE_TRUE = 1,
} EfpTristate;

#define EFP_READING_MAX_PACKS 8
#define EFP_READING_MODEL_LEN 48

typedef struct
{
  gboolean present; /* this slot holds a pack that reported */
  guint index;      /* the station's own pack index (0 = internal) */
  gdouble soc;      /* % or NAN */
  gdouble temp_celsius;
  gint64 design_mah; /* -1 unknown */
  gint64 full_mah;
  gint64 remain_mah;
  gdouble input_watts;
  gdouble output_watts;
  gint remain_minutes; /* -1 unknown */
} EfpPack;

typedef struct
{
  gdouble soc;                /* combined state of charge, 0-100, or NAN */
  EfpTristate grid_connected; /* mains present */
  const gchar *grid_source;   /* static string naming the signal that decided grid_connected */
  gdouble temp_celsius;
  gdouble input_watts;
  gdouble output_watts;
  gint remain_minutes;                  /* minutes to empty while discharging; -1 no estimate */
  gint chg_dsg_state;                   /* 0 idle, 1 discharging, 2 charging, -1 unknown */
  gchar model[EFP_READING_MODEL_LEN];   /* "" unknown */
  EfpPack packs[EFP_READING_MAX_PACKS]; /* ordered by index as first seen */
} EfpReading;

/* Everything unknown. */
static inline void
efp_reading_init (EfpReading *r)
{
  guint i;
  memset (r, 0, sizeof (*r));
  r->soc = NAN;
  r->grid_connected = EFP_TRISTATE_UNKNOWN;
  r->grid_source = NULL;
  r->temp_celsius = NAN;
  r->input_watts = NAN;
  r->output_watts = NAN;
  r->remain_minutes = -1;
  r->chg_dsg_state = -1;
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      EfpPack *p = &r->packs[i];
      p->soc = NAN;
      p->temp_celsius = NAN;
      p->design_mah = p->full_mah = p->remain_mah = -1;
      p->input_watts = p->output_watts = NAN;
      p->remain_minutes = -1;
    }
}

/* The slot for pack @index, claiming a free one the first time; NULL when full. */
static inline EfpPack *
efp_reading_pack (EfpReading *r, guint index)
{
  guint i;
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (r->packs[i].present && r->packs[i].index == index)
      return &r->packs[i];
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (!r->packs[i].present)
      {
        r->packs[i].present = TRUE;
        r->packs[i].index = index;
        return &r->packs[i];
      }
  return NULL;
}

G_END_DECLS

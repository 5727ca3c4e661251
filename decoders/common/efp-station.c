/* efp-station.c: source slots -> EfpReading. */
#include "efp-station.h"

#include <math.h>

void
efp_station_init (EfpStation *self, const gchar *model)
{
  guint i;

  memset (self, 0, sizeof (*self));
  self->grid = EFP_TRISTATE_UNKNOWN;
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      EfpPack *p = &self->packs[i].pack;
      p->soc = NAN;
      p->temp_celsius = NAN;
      p->design_mah = p->full_mah = p->remain_mah = -1;
      p->input_watts = p->output_watts = NAN;
      p->remain_minutes = -1;
    }
  if (model != NULL && *model != '\0')
    {
      g_strlcpy (self->model, model, sizeof (self->model));
      self->model_fixed = TRUE;
    }
}

EfpStationPack *
efp_station_pack (EfpStation *self, guint index)
{
  guint i;

  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (self->packs[i].pack.present && self->packs[i].pack.index == index)
      return &self->packs[i];
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (!self->packs[i].pack.present)
      {
        self->packs[i].pack.present = TRUE;
        self->packs[i].pack.index = index;
        return &self->packs[i];
      }
  return NULL;
}

void
efp_station_set_model (EfpStation *self, const gchar *model)
{
  if (self->model_fixed || model == NULL)
    return;
  g_strlcpy (self->model, model, sizeof (self->model));
}

void
efp_station_pack_set_soc (EfpStationPack *pack, gdouble soc, gboolean precise)
{
  if (precise)
    {
      pack->pack.soc = soc;
      pack->soc_precise = TRUE;
    }
  else if (!pack->soc_precise)
    pack->pack.soc = soc;
}

static const EfpKnown *
best (const EfpKnown *ranks)
{
  guint i;

  for (i = 0; i < EFP_STATION_RANKS; i++)
    if (ranks[i].known)
      return &ranks[i];
  return NULL;
}

/* Capacity-weighted mean over the packs that reported a SoC: weights are the
 * full capacities when every such pack has one, else the design capacities,
 * else equal. A mean over all packs never jumps from one pack to another. */
static gdouble
pack_mean_soc (const EfpStation *self)
{
  gdouble sum_full = 0, sum_design = 0, sum = 0;
  gdouble w_full = 0, w_design = 0;
  gboolean all_full = TRUE, all_design = TRUE;
  guint n = 0;
  guint i;

  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      const EfpPack *p = &self->packs[i].pack;
      if (!p->present || isnan (p->soc))
        continue;
      n++;
      sum += p->soc;
      if (p->full_mah > 0)
        {
          sum_full += p->soc * (gdouble) p->full_mah;
          w_full += (gdouble) p->full_mah;
        }
      else
        all_full = FALSE;
      if (p->design_mah > 0)
        {
          sum_design += p->soc * (gdouble) p->design_mah;
          w_design += (gdouble) p->design_mah;
        }
      else
        all_design = FALSE;
    }
  if (n == 0)
    return NAN;
  if (all_full)
    return sum_full / w_full;
  if (all_design)
    return sum_design / w_design;
  return sum / n;
}

gdouble
efp_station_get_soc (const EfpStation *self)
{
  const EfpKnown *k = best (self->soc);
  return k != NULL ? k->value : pack_mean_soc (self);
}

static gdouble
hottest_pack (const EfpStation *self)
{
  gdouble t = NAN;
  guint i;

  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      const EfpPack *p = &self->packs[i].pack;
      if (p->present && !isnan (p->temp_celsius) && (isnan (t) || p->temp_celsius > t))
        t = p->temp_celsius;
    }
  return t;
}

void
efp_station_to_reading (const EfpStation *self, EfpReading *r)
{
  const EfpKnown *k;
  gdouble v;
  guint i;

  v = efp_station_get_soc (self);
  if (!isnan (v))
    r->soc = v;

  if (self->grid != EFP_TRISTATE_UNKNOWN)
    {
      r->grid_connected = self->grid;
      r->grid_source = self->grid_source;
    }

  k = best (self->temp);
  v = k != NULL ? k->value : hottest_pack (self);
  if (!isnan (v))
    r->temp_celsius = v;

  if (self->input_watts.known)
    r->input_watts = self->input_watts.value;
  if (self->output_watts.known)
    r->output_watts = self->output_watts.value;

  k = best (self->chg_dsg_state);
  if (k != NULL)
    r->chg_dsg_state = (gint) k->value;
  /* minutes to empty: none while charging; sentinels mean no estimate */
  if (k != NULL && k->value == 2)
    r->remain_minutes = -1;
  else if ((k = best (self->dsg_minutes)) != NULL)
    r->remain_minutes = k->value >= EFP_REMAIN_SENTINEL || k->value < 0 ? -1 : (gint) k->value;

  if (self->model[0] != '\0')
    g_strlcpy (r->model, self->model, sizeof (r->model));

  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      const EfpPack *src = &self->packs[i].pack;
      EfpPack *dst;
      if (!src->present)
        continue;
      dst = efp_reading_pack (r, src->index);
      if (dst == NULL)
        continue;
      if (!isnan (src->soc))
        dst->soc = src->soc;
      if (!isnan (src->temp_celsius))
        dst->temp_celsius = src->temp_celsius;
      if (src->design_mah >= 0)
        dst->design_mah = src->design_mah;
      if (src->full_mah >= 0)
        dst->full_mah = src->full_mah;
      if (src->remain_mah >= 0)
        dst->remain_mah = src->remain_mah;
      if (!isnan (src->input_watts))
        dst->input_watts = src->input_watts;
      if (!isnan (src->output_watts))
        dst->output_watts = src->output_watts;
      if (src->remain_minutes >= 0 || self->packs[i].remain_known)
        dst->remain_minutes = src->remain_minutes;
    }
}

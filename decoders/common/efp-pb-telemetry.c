/* efp-pb-telemetry.c: Display, Runtime, CMS and BMS heartbeats into the station. */
#include "efp-pb-telemetry.h"

#include <math.h>

#include "efp-decoder.h"

/* Grid signals of one frame; the mode decides after all headers are seen, so
 * a bundle's charger flag outranks its AC-in watts whatever the header order. */
typedef struct
{
  gboolean has_flag;
  gboolean flag;
  gboolean has_ac_watts;
  gdouble ac_watts;
  gboolean has_ac_volts;
  gdouble ac_volts;
  gboolean has_tag27;
  guint32 tag27;
} GridSignals;

gboolean
efp_grid_mode_parse (const gchar *text, EfpGridMode *out)
{
  if (g_str_equal (text, "auto"))
    *out = EFP_GRID_MODE_AUTO;
  else if (g_str_equal (text, "charger-flag"))
    *out = EFP_GRID_MODE_CHARGER_FLAG;
  else if (g_str_equal (text, "tag27"))
    *out = EFP_GRID_MODE_TAG27;
  else
    return FALSE;
  return TRUE;
}

static gboolean
check_finite (const gchar *msg, const gchar *field, gdouble v, GError **error)
{
  if (isfinite (v))
    return TRUE;
  g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID, "%s %s is not a finite number",
               msg, field);
  return FALSE;
}

static gboolean
check_soc (const gchar *msg, const gchar *field, gdouble v, GError **error)
{
  if (isfinite (v) && v >= 0 && v <= 100)
    return TRUE;
  g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_INVALID, "%s %s %g outside 0-100", msg,
               field, v);
  return FALSE;
}

static void
set_state (EfpKnown *k, guint32 v)
{
  /* 0 idle, 1 discharging, 2 charging; anything else says nothing */
  if (v <= 2)
    efp_known_set (k, v);
}

static gboolean
apply_display (EfpStation *st, const Efp__DisplayPropertyUpload *d, GridSignals *g, GError **error)
{
  static const gchar msg[] = "DisplayPropertyUpload";

  if (d->has_cms_batt_soc)
    {
      if (!check_soc (msg, "cms_batt_soc", d->cms_batt_soc, error))
        return FALSE;
      efp_known_set (&st->soc[0], d->cms_batt_soc);
    }
  if (d->has_pow_in_sum_w)
    {
      if (!check_finite (msg, "pow_in_sum_w", d->pow_in_sum_w, error))
        return FALSE;
      efp_known_set (&st->input_watts, d->pow_in_sum_w);
    }
  if (d->has_pow_out_sum_w)
    {
      if (!check_finite (msg, "pow_out_sum_w", d->pow_out_sum_w, error))
        return FALSE;
      efp_known_set (&st->output_watts, d->pow_out_sum_w);
    }
  if (d->has_cms_batt_temp)
    efp_known_set (&st->temp[0], d->cms_batt_temp);
  if (d->has_bms_max_cell_temp)
    efp_known_set (&st->temp[1], d->bms_max_cell_temp);
  if (d->has_cms_dsg_rem_time)
    efp_known_set (&st->dsg_minutes[0], d->cms_dsg_rem_time);
  if (d->has_cms_chg_dsg_state)
    set_state (&st->chg_dsg_state[0], d->cms_chg_dsg_state);
  if (d->has_plug_in_info_ac_charger_flag)
    {
      g->has_flag = TRUE;
      g->flag = d->plug_in_info_ac_charger_flag;
    }
  if (d->has_pow_get_ac_in)
    {
      if (!check_finite (msg, "pow_get_ac_in", d->pow_get_ac_in, error))
        return FALSE;
      g->has_ac_watts = TRUE;
      g->ac_watts = d->pow_get_ac_in;
    }
  return TRUE;
}

static gboolean
apply_runtime (const Efp__RuntimePropertyUpload *rt, GridSignals *g, GError **error)
{
  if (rt->has_plug_in_info_ac_in_vol)
    {
      if (!check_finite ("RuntimePropertyUpload", "plug_in_info_ac_in_vol",
                         rt->plug_in_info_ac_in_vol, error))
        return FALSE;
      g->has_ac_volts = TRUE;
      g->ac_volts = rt->plug_in_info_ac_in_vol;
    }
  return TRUE;
}

static gboolean
apply_cms (EfpStation *st, const Efp__CmsHeartBeatReport *c, GError **error)
{
  static const gchar msg[] = "CMSHeartBeatReport";
  const Efp__CmsHeartbeatV1p0 *v0 = c->v1p0;
  const Efp__CmsHeartbeatV1p3 *v3 = c->v1p3;

  if (v0 != NULL)
    {
      if (v0->has_f32_lcd_show_soc)
        {
          if (!check_soc (msg, "f32_lcd_show_soc", v0->f32_lcd_show_soc, error))
            return FALSE;
          efp_known_set (&st->soc[1], v0->f32_lcd_show_soc);
        }
      if (v0->has_lcd_show_soc)
        {
          if (!check_soc (msg, "lcd_show_soc", v0->lcd_show_soc, error))
            return FALSE;
          efp_known_set (&st->soc[2], v0->lcd_show_soc);
        }
      if (v0->has_dsg_remain_time)
        efp_known_set (&st->dsg_minutes[1], v0->dsg_remain_time);
    }
  if (v3 != NULL && v3->has_sys_chg_dsg_state)
    set_state (&st->chg_dsg_state[1], v3->sys_chg_dsg_state);
  return TRUE;
}

static gboolean
apply_bms (EfpStation *st, const Efp__BmsHeartBeatReport *b, const EfpModelTable *models,
           GridSignals *g, GError **error)
{
  static const gchar msg[] = "BMSHeartBeatReport";
  guint num = b->has_num ? b->num : 0;
  EfpStationPack *sp;

  if (b->has_f32_show_soc && !check_soc (msg, "f32_show_soc", b->f32_show_soc, error))
    return FALSE;
  if (b->has_soc && !check_soc (msg, "soc", b->soc, error))
    return FALSE;
  /* the seed's "field 27" is this pack's output power (SPEC 6); the last
   * heartbeat of a bundle wins, as in the seed */
  if (b->has_output_watts)
    {
      g->has_tag27 = TRUE;
      g->tag27 = b->output_watts;
    }
  if (num == 0 && b->has_product_type && models != NULL)
    {
      const EfpModelEntry *e =
        efp_model_table_lookup_number (models, EFP_MODEL_KEY_BMS_TYPE, b->product_type);
      if (e != NULL)
        efp_station_set_model (st, e->model);
    }

  sp = efp_station_pack (st, num);
  if (sp == NULL)
    return TRUE; /* more packs than slots: the first ones stay */
  if (b->has_f32_show_soc)
    efp_station_pack_set_soc (sp, b->f32_show_soc, TRUE);
  if (b->has_soc)
    efp_station_pack_set_soc (sp, b->soc, FALSE);
  if (b->has_temp)
    sp->pack.temp_celsius = b->temp;
  if (b->has_design_cap)
    sp->pack.design_mah = b->design_cap;
  if (b->has_full_cap)
    sp->pack.full_mah = b->full_cap;
  if (b->has_remain_cap)
    sp->pack.remain_mah = b->remain_cap;
  if (b->has_input_watts)
    sp->pack.input_watts = b->input_watts;
  if (b->has_output_watts)
    sp->pack.output_watts = b->output_watts;
  if (b->has_remain_time)
    {
      sp->remain_known = TRUE;
      sp->pack.remain_minutes = b->remain_time >= EFP_REMAIN_SENTINEL ? -1 : (gint) b->remain_time;
    }
  return TRUE;
}

static void
decide_grid (EfpStation *st, const GridSignals *g, EfpGridMode mode)
{
  switch (mode)
    {
      case EFP_GRID_MODE_AUTO:
        if (g->has_flag)
          {
            st->grid = g->flag ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE;
            st->grid_source = EFP_GRID_SOURCE_CHARGER_FLAG;
            st->grid_flag_seen = TRUE;
          }
        else if (g->has_ac_watts && g->ac_watts > EFP_GRID_MIN_AC_IN_WATTS)
          {
            st->grid = EFP_TRISTATE_TRUE;
            st->grid_source = EFP_GRID_SOURCE_AC_IN_WATTS;
          }
        else if (g->has_ac_volts && g->ac_volts >= EFP_GRID_MIN_AC_IN_VOLTS)
          {
            st->grid = EFP_TRISTATE_TRUE;
            st->grid_source = EFP_GRID_SOURCE_AC_IN_VOLTS;
          }
        else if (g->has_ac_volts && !st->grid_flag_seen)
          {
            /* a station that never sends the charger flag (DELTA 3 / Pro 3 class) would
             * otherwise never be seen on battery: there the AC input voltage is the grid
             * (~7 V of noise when unplugged). Stations with the flag (RIVER 3 reads 0 V
             * while not charging) are decided by the flag alone. */
            st->grid = EFP_TRISTATE_FALSE;
            st->grid_source = EFP_GRID_SOURCE_AC_IN_VOLTS;
          }
        /* otherwise nothing in this frame says anything: keep the last value */
        break;
      case EFP_GRID_MODE_CHARGER_FLAG:
        if (g->has_flag)
          {
            st->grid = g->flag ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE;
            st->grid_source = EFP_GRID_SOURCE_CHARGER_FLAG;
          }
        break;
      case EFP_GRID_MODE_TAG27:
        if (g->has_tag27)
          {
            st->grid = g->tag27 <= 1 ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE;
            st->grid_source = EFP_GRID_SOURCE_TAG27;
          }
        break;
      default:
        break;
    }
}

/* Unpacking is most of a frame's cost, so two payloads are read only when
 * they can still change what is published: RuntimePropertyUpload feeds only
 * the AUTO grid fallback to the AC-in voltage (decide_grid), needed when the
 * frame's charger flag and AC-in watts say nothing; a CMS heartbeat feeds only
 * sources ranked below Display's, which shadow it once known. */
static gboolean
is_deferred (EfpPayloadKind kind)
{
  return kind == EFP_PAYLOAD_RUNTIME || kind == EFP_PAYLOAD_CMS_HEARTBEAT;
}

static gboolean
is_needed (const EfpStation *st, const GridSignals *g, EfpGridMode mode, EfpPayloadKind kind)
{
  if (kind == EFP_PAYLOAD_RUNTIME)
    return mode == EFP_GRID_MODE_AUTO && !g->has_flag &&
           !(g->has_ac_watts && g->ac_watts > EFP_GRID_MIN_AC_IN_WATTS);
  if (kind == EFP_PAYLOAD_CMS_HEARTBEAT)
    return !st->soc[0].known || !st->dsg_minutes[0].known || !st->chg_dsg_state[0].known;
  return TRUE;
}

/* Unpacks item @i if it carries power data, and applies it; the Runtime payload only
 * collects grid signals. */
static gboolean
apply_item (EfpStation *st, EfpEnvelope *env, guint i, const EfpModelTable *models, GridSignals *g,
            GError **error)
{
  const EfpEnvelopeItem *it = &env->items[i];
  const ProtobufCMessage *m;

  switch (it->kind)
    {
      case EFP_PAYLOAD_DISPLAY:
        return (m = efp_envelope_unpack (env, i, error)) != NULL &&
               apply_display (st, (const Efp__DisplayPropertyUpload *) m, g, error);
      case EFP_PAYLOAD_RUNTIME:
        return (m = efp_envelope_unpack (env, i, error)) != NULL &&
               apply_runtime ((const Efp__RuntimePropertyUpload *) m, g, error);
      case EFP_PAYLOAD_CMS_HEARTBEAT:
        return (m = efp_envelope_unpack (env, i, error)) != NULL &&
               apply_cms (st, (const Efp__CmsHeartBeatReport *) m, error);
      case EFP_PAYLOAD_BMS_HEARTBEAT:
        return (m = efp_envelope_unpack (env, i, error)) != NULL &&
               apply_bms (st, (const Efp__BmsHeartBeatReport *) m, models, g, error);
      case EFP_PAYLOAD_UNKNOWN:
        g_debug ("ignoring unknown cmd_func/cmd_id %u/%u (%" G_GSIZE_FORMAT " bytes)", it->cmd_func,
                 it->cmd_id, it->pdata_len);
        return TRUE;
      default:
        return TRUE; /* known, but no power data: not even unpacked */
    }
}

gboolean
efp_pb_telemetry_apply (EfpStation *st, EfpEnvelope *env, EfpGridMode mode,
                        const EfpModelTable *models, GError **error)
{
  GridSignals g = { 0 };
  guint n_device = 0, n_deferred = 0;
  guint i;

  for (i = 0; i < env->n_items; i++)
    {
      const EfpEnvelopeItem *it = &env->items[i];
      const Efp__Header *h = it->header;

      if (it->src == EFP_SRC_APP)
        continue;
      n_device++;
      if (h->has_product_id && models != NULL)
        {
          const EfpModelEntry *e = efp_model_table_lookup_number (models, EFP_MODEL_KEY_PRODUCT_ID,
                                                                  (guint32) h->product_id);
          if (e != NULL)
            efp_station_set_model (st, e->model);
        }
      if (is_deferred (it->kind))
        n_deferred++;
      else if (!apply_item (st, env, i, models, &g, error))
        return FALSE;
    }
  if (n_device == 0)
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_UNSUPPORTED,
                   "app-originated message (src %d, %u/%u), no device data", EFP_SRC_APP,
                   env->items[0].cmd_func, env->items[0].cmd_id);
      return FALSE;
    }
  /* in header order, once the other headers have spoken */
  for (i = 0; n_deferred > 0 && i < env->n_items; i++)
    {
      const EfpEnvelopeItem *it = &env->items[i];

      if (it->src != EFP_SRC_APP && is_deferred (it->kind) && is_needed (st, &g, mode, it->kind) &&
          !apply_item (st, env, i, models, &g, error))
        return FALSE;
    }
  decide_grid (st, &g, mode);
  return TRUE;
}

/* efp-reading-json.c: EfpReading -> CONTRACT 4.2 JSON (daemon and ecoflow-decode share it). */
#include "efp-reading-json.h"
#include "efp-json.h"

#include <math.h>

static void
add_number (JsonBuilder *b, const gchar *name, gdouble v)
{
  json_builder_set_member_name (b, name);
  if (isnan (v))
    json_builder_add_null_value (b);
  else if (v == floor (v) && fabs (v) < 1e15)
    json_builder_add_int_value (b, (gint64) v);
  else
    /* three decimals is the precision of every source we decode; efp_json_to_string
     * prints it as such */
    json_builder_add_double_value (b, round (v * 1000.0) / 1000.0);
}

static void
add_int_or_null (JsonBuilder *b, const gchar *name, gint64 v)
{
  json_builder_set_member_name (b, name);
  if (v < 0)
    json_builder_add_null_value (b);
  else
    json_builder_add_int_value (b, v);
}

void
efp_reading_build_json (JsonBuilder *b, const EfpReading *r, const EfpReadingMeta *meta)
{
  guint i;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, meta->device);
  add_number (b, "soc", r->soc);
  json_builder_set_member_name (b, "grid_connected");
  if (r->grid_connected == EFP_TRISTATE_UNKNOWN)
    json_builder_add_null_value (b);
  else
    json_builder_add_boolean_value (b, r->grid_connected == EFP_TRISTATE_TRUE);
  add_number (b, "temp_celsius", r->temp_celsius);
  json_builder_set_member_name (b, "serial");
  if (meta->serial != NULL)
    json_builder_add_string_value (b, meta->serial);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "model");
  if (r->model[0] != '\0')
    json_builder_add_string_value (b, r->model);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "decoder");
  if (meta->decoder != NULL)
    json_builder_add_string_value (b, meta->decoder);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "on_battery");
  json_builder_add_boolean_value (b, efp_reading_on_battery (r));
  add_number (b, "input_watts", r->input_watts);
  add_number (b, "output_watts", r->output_watts);
  add_int_or_null (b, "remain_minutes", r->remain_minutes);
  json_builder_set_member_name (b, "packs");
  json_builder_begin_array (b);
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      const EfpPack *p = &r->packs[i];
      if (!p->present)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, p->index);
      add_number (b, "soc", p->soc);
      add_number (b, "temp_celsius", p->temp_celsius);
      add_int_or_null (b, "design_mah", p->design_mah);
      add_int_or_null (b, "full_mah", p->full_mah);
      add_int_or_null (b, "remain_mah", p->remain_mah);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "grid_source");
  if (r->grid_source != NULL)
    json_builder_add_string_value (b, r->grid_source);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "stale");
  json_builder_add_boolean_value (b, meta->stale);
  json_builder_set_member_name (b, "ts");
  if (meta->ts > 0)
    json_builder_add_int_value (b, meta->ts);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
}

gchar *
efp_reading_to_json (const EfpReading *r, const EfpReadingMeta *meta)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  efp_reading_build_json (b, r, meta);
  root = json_builder_get_root (b);
  return efp_json_to_string (root, 0);
}

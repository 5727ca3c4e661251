/* efp-test-expect.c: expectations from vectors.json, checks through the plugins. */
#include "efp-test-expect.h"

#include <math.h>
#include <string.h>

#define SENTINEL 5939

typedef struct
{
  gboolean present;
  guint index;
  gdouble soc, temp;
  gint64 design, full, remain;
  gint remain_minutes;
  gboolean check_remain;
} ExpectPack;

typedef struct
{
  gdouble soc;
  EfpTristate grid;
  const gchar *grid_source;
  gboolean check_state;
  gint state;
  gboolean check_remain;
  gint remain;
  gdouble in_w, out_w, temp;
  gchar *model;
  ExpectPack packs[EFP_READING_MAX_PACKS];
} Expect;

static EfpPluginRegistry *registry;

EfpPluginRegistry *
efp_test_registry (void)
{
  if (registry == NULL)
    {
      const gchar *dir = g_getenv ("EFP_PLUGIN_DIR");
      g_assert_nonnull (dir);
      registry = efp_plugin_registry_new ();
      g_assert_cmpuint (efp_plugin_registry_load_dir (registry, dir), >=, 4);
    }
  return registry;
}

EfpDecoderSession *
efp_test_session_new (const gchar *name, const gchar *grid_source, const gchar *model)
{
  const EfpDecoderVTable *vt = efp_plugin_registry_get_decoder (efp_test_registry (), name);
  g_autoptr (GHashTable) options = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GError) error = NULL;
  EfpDecoderSetup setup = { sizeof (EfpDecoderSetup), NULL, model, options };
  EfpDecoderSession *s;

  g_assert_nonnull (vt);
  if (grid_source != NULL)
    g_hash_table_insert (options, (gpointer) "grid-source", (gpointer) grid_source);
  s = efp_decoder_session_new (vt, &setup, &error);
  g_assert_no_error (error);
  return s;
}

gboolean
efp_test_feed (EfpDecoderSession *s, GBytes *frame, GError **error)
{
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (frame, &len);
  return efp_decoder_session_feed (s, p, len, g_get_real_time (), error);
}

gboolean
efp_test_vector_is_app_message (const EfpTestVector *v)
{
  JsonArray *h;
  JsonObject *first;

  if (!json_object_has_member (v->expected, "headers"))
    return FALSE;
  h = json_object_get_array_member (v->expected, "headers");
  first = json_object_get_object_member (json_array_get_object_element (h, 0), "header");
  return json_object_get_int_member_with_default (first, "src", 0) == 32;
}

/* member lookups that tolerate absence */
static gboolean
get_num (JsonObject *o, const gchar *key, gdouble *out)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, key) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return FALSE;
  *out = json_node_get_value_type (n) == G_TYPE_BOOLEAN ? (json_node_get_boolean (n) ? 1 : 0)
                                                        : json_node_get_double (n);
  return TRUE;
}

static JsonObject *
get_obj (JsonObject *o, const gchar *key)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, key) : NULL;
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static ExpectPack *
expect_pack (Expect *e, guint index)
{
  guint i;
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (e->packs[i].present && e->packs[i].index == index)
      return &e->packs[i];
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (!e->packs[i].present)
      {
        ExpectPack *p = &e->packs[i];
        p->present = TRUE;
        p->index = index;
        p->soc = p->temp = NAN;
        p->design = p->full = p->remain = -1;
        p->remain_minutes = -1;
        return p;
      }
  g_assert_not_reached ();
  return NULL;
}

static gdouble
weighted_pack_soc (const Expect *e)
{
  gdouble sum = 0, w = 0;
  guint i;
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (e->packs[i].present && !isnan (e->packs[i].soc))
      {
        sum += e->packs[i].soc * (gdouble) e->packs[i].full;
        w += (gdouble) e->packs[i].full;
      }
  return w > 0 ? sum / w : NAN;
}

static gdouble
hottest (const Expect *e)
{
  gdouble t = NAN;
  guint i;
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (e->packs[i].present && !isnan (e->packs[i].temp) && (isnan (t) || e->packs[i].temp > t))
      t = e->packs[i].temp;
  return t;
}

static void
state_from_derived (Expect *e, JsonObject *derived)
{
  const gchar *s;
  if (derived == NULL || !json_object_has_member (derived, "chg_dsg_state"))
    return;
  s = json_object_get_string_member (derived, "chg_dsg_state");
  e->check_state = TRUE;
  e->state = g_str_equal (s, "idle") ? 0 : g_str_equal (s, "discharging") ? 1 : 2;
}

/* Protobuf vectors: SPEC 7 applied to the decoded fields listed in expected. */
static void
expect_protobuf (const EfpTestVector *v, Expect *e)
{
  JsonObject *derived = get_obj (v->expected, "derived");
  JsonObject *display = NULL, *runtime = NULL, *cms = NULL;
  g_autoptr (GPtrArray) bms = g_ptr_array_new ();
  gdouble x;
  guint i;

  if (g_str_equal (v->payload_kind, "pdata"))
    {
      const gchar *m = json_object_get_string_member (v->expected, "message");
      JsonObject *f = get_obj (v->expected, "fields");
      if (g_str_equal (m, "BMSHeartBeatReport"))
        g_ptr_array_add (bms, f);
      else
        cms = f;
    }
  else
    {
      JsonArray *headers = json_object_get_array_member (v->expected, "headers");
      for (i = 0; i < json_array_get_length (headers); i++)
        {
          JsonObject *h = json_array_get_object_element (headers, i);
          const gchar *m = json_object_get_string_member_with_default (h, "message", "");
          JsonObject *f = get_obj (h, "fields");
          if (g_str_equal (m, "DisplayPropertyUpload"))
            display = f;
          else if (g_str_equal (m, "RuntimePropertyUpload"))
            runtime = f;
          else if (g_str_equal (m, "CMSHeartBeatReport"))
            cms = f;
          else if (g_str_equal (m, "BMSHeartBeatReport"))
            g_ptr_array_add (bms, f);
        }
    }

  for (i = 0; i < bms->len; i++)
    {
      JsonObject *b = bms->pdata[i];
      ExpectPack *p = expect_pack (e, (guint) json_object_get_int_member (b, "num"));
      if (!get_num (b, "f32_show_soc", &p->soc))
        get_num (b, "soc", &p->soc);
      get_num (b, "temp", &p->temp);
      if (get_num (b, "design_cap", &x))
        p->design = (gint64) x;
      if (get_num (b, "full_cap", &x))
        p->full = (gint64) x;
      if (get_num (b, "remain_cap", &x))
        p->remain = (gint64) x;
      if (get_num (b, "remain_time", &x))
        {
          p->check_remain = TRUE;
          p->remain_minutes = x >= SENTINEL ? -1 : (gint) x;
        }
    }

  /* SoC: the combined value, else CMS, else the pack mean (SPEC 7.1) */
  if (!get_num (derived, "soc_pct", &e->soc) && !get_num (display, "cms_batt_soc", &e->soc) &&
      !get_num (get_obj (cms, "v1p0"), "f32_lcd_show_soc", &e->soc) &&
      !get_num (get_obj (cms, "v1p0"), "lcd_show_soc", &e->soc))
    e->soc = weighted_pack_soc (e);

  /* grid (SPEC 7.2) */
  if (get_num (derived, "grid_present", &x))
    {
      e->grid = x != 0 ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE;
      g_assert_true (get_num (display, "plug_in_info_ac_charger_flag", &x));
      e->grid_source = "charger-flag";
    }
  else if (get_num (display, "pow_get_ac_in", &x) && x > 5)
    {
      e->grid = EFP_TRISTATE_TRUE;
      e->grid_source = "ac-in-watts";
    }
  else if (get_num (runtime, "plug_in_info_ac_in_vol", &x) && x >= 80)
    {
      e->grid = EFP_TRISTATE_TRUE;
      e->grid_source = "ac-in-volts";
    }

  /* state and minutes to empty (SPEC 7.3) */
  e->check_state = TRUE;
  if (get_num (display, "cms_chg_dsg_state", &x) ||
      get_num (get_obj (cms, "v1p3"), "sys_chg_dsg_state", &x))
    e->state = (gint) x;
  state_from_derived (e, derived);
  e->check_remain = TRUE;
  if (e->state == 2)
    e->remain = -1;
  else if (get_num (derived, "discharge_remaining_min", &x) ||
           get_num (display, "cms_dsg_rem_time", &x) ||
           get_num (get_obj (cms, "v1p0"), "dsg_remain_time", &x))
    e->remain = x >= SENTINEL ? -1 : (gint) x;

  get_num (display, "pow_in_sum_w", &e->in_w);
  get_num (display, "pow_out_sum_w", &e->out_w);
  if (!get_num (display, "bms_max_cell_temp", &e->temp))
    e->temp = hottest (e);
  e->model = efp_test_vector_model (v);
}

static gint
json_pack_index (const gchar *prefix)
{
  if (g_str_equal (prefix, "bms_bmsStatus") || g_str_equal (prefix, "bmsMaster"))
    return 0;
  if (g_str_has_prefix (prefix, "bms_slave_bmsSlaveStatus_"))
    return atoi (prefix + strlen ("bms_slave_bmsSlaveStatus_"));
  if (g_str_has_prefix (prefix, "bmsSlave"))
    return atoi (prefix + strlen ("bmsSlave"));
  return -1;
}

static void
expect_json (const EfpTestVector *v, Expect *e)
{
  JsonObject *derived = get_obj (v->expected, "derived");
  JsonObject *fields = get_obj (v->expected, "fields");
  JsonObjectIter iter;
  const gchar *key;
  JsonNode *node;
  gdouble x, freq = 0;

  json_object_iter_init (&iter, fields);
  while (json_object_iter_next (&iter, &key, &node))
    {
      const gchar *dot = strrchr (key, '.');
      g_autofree gchar *prefix = g_strndup (key, (gsize) (dot - key));
      gint index = json_pack_index (prefix);
      ExpectPack *p;
      if (index < 0)
        continue;
      p = expect_pack (e, (guint) index);
      x = json_node_get_double (node);
      if (g_str_equal (dot + 1, "f32ShowSoc"))
        p->soc = x;
      else if (g_str_equal (dot + 1, "soc") && isnan (p->soc))
        p->soc = x;
      else if (g_str_equal (dot + 1, "temp"))
        p->temp = x;
      else if (g_str_equal (dot + 1, "designCap"))
        p->design = (gint64) x;
      else if (g_str_equal (dot + 1, "fullCap"))
        p->full = (gint64) x;
      else if (g_str_equal (dot + 1, "remainCap"))
        p->remain = (gint64) x;
      else if (g_str_equal (dot + 1, "remainTime"))
        {
          p->check_remain = TRUE;
          p->remain_minutes = x >= SENTINEL ? -1 : (gint) x;
        }
    }
  if (!get_num (derived, "soc_pct", &e->soc))
    e->soc = weighted_pack_soc (e);
  if (get_num (derived, "grid_present", &x))
    {
      e->grid = x != 0 ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE;
      get_num (fields, "inv.acInFreq", &freq);
      if (get_num (fields, "inv.acInVol", &x))
        e->grid_source = x > 80000 || freq == 0 ? "ac-in-volts" : "ac-in-freq";
      else
        e->grid_source = "ac-in-freq";
    }
  get_num (fields, "pd.wattsInSum", &e->in_w);
  get_num (fields, "pd.wattsOutSum", &e->out_w);
  e->temp = hottest (e);
  e->model =
    json_object_has_member (v->expected, "productType") ? efp_test_vector_model (v) : g_strdup ("");
}

static void
assert_close (const gchar *what, gdouble got, gdouble want)
{
  if (isnan (want) && isnan (got))
    return;
  if (isnan (want) != isnan (got) || fabs (got - want) > 1e-3)
    {
      g_printerr ("%s: got %g, expected %g\n", what, got, want);
      g_assert_not_reached ();
    }
}

void
efp_test_expect_vector (const EfpTestVector *v, const EfpReading *r)
{
  Expect e = { 0 };
  guint i, n_want = 0, n_got = 0;

  e.soc = e.in_w = e.out_w = e.temp = NAN;
  e.grid = EFP_TRISTATE_UNKNOWN;
  e.state = -1;
  e.remain = -1;
  if (g_str_equal (v->payload_kind, "json"))
    expect_json (v, &e);
  else
    expect_protobuf (v, &e);

  assert_close ("soc", r->soc, e.soc);
  g_assert_cmpint (r->grid_connected, ==, e.grid);
  g_assert_cmpstr (r->grid_source, ==, e.grid_source);
  if (e.check_state)
    g_assert_cmpint (r->chg_dsg_state, ==, e.state);
  if (e.check_remain)
    g_assert_cmpint (r->remain_minutes, ==, e.remain);
  assert_close ("input_watts", r->input_watts, e.in_w);
  assert_close ("output_watts", r->output_watts, e.out_w);
  assert_close ("temp_celsius", r->temp_celsius, e.temp);
  g_assert_cmpstr (r->model, ==, e.model);
  g_free (e.model);

  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      const ExpectPack *w = &e.packs[i];
      const EfpPack *p = NULL;
      guint j;
      n_want += w->present ? 1 : 0;
      n_got += r->packs[i].present ? 1 : 0;
      if (!w->present)
        continue;
      for (j = 0; j < EFP_READING_MAX_PACKS; j++)
        if (r->packs[j].present && r->packs[j].index == w->index)
          p = &r->packs[j];
      g_assert_nonnull (p);
      assert_close ("pack soc", p->soc, w->soc);
      assert_close ("pack temp", p->temp_celsius, w->temp);
      g_assert_cmpint (p->design_mah, ==, w->design);
      g_assert_cmpint (p->full_mah, ==, w->full);
      g_assert_cmpint (p->remain_mah, ==, w->remain);
      if (w->check_remain)
        g_assert_cmpint (p->remain_minutes, ==, w->remain_minutes);
    }
  g_assert_cmpuint (n_got, ==, n_want);
}

void
efp_test_assert_same_reading (const EfpReading *before, const EfpReading *after)
{
  /* NAN != NAN, so compare bytes: the session copies the struct whole */
  g_assert_cmpmem (before, sizeof (*before), after, sizeof (*after));
}

static void
vector_test (gconstpointer data)
{
  const EfpTestVector *v = data;
  g_autoptr (EfpDecoderSession) s = NULL;
  g_autoptr (GError) error = NULL;
  const EfpDecoderVTable *probed;
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (v->payload, &len);

  s = efp_test_session_new (efp_test_vector_decoder (v), NULL, NULL);
  probed = efp_plugin_registry_probe (efp_test_registry (), NULL, p, len);
  if (efp_test_vector_is_app_message (v))
    {
      /* an app request carries no device data: refused, and no decoder claims it */
      g_assert_false (efp_test_feed (s, v->payload, &error));
      g_assert_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_UNSUPPORTED);
      g_test_message ("%s", error->message);
      g_assert_null (probed);
      return;
    }
  g_assert_true (efp_test_feed (s, v->payload, &error));
  g_assert_no_error (error);
  g_assert_nonnull (probed);
  g_assert_cmpstr (probed->name, ==, efp_test_vector_decoder (v));
  efp_test_expect_vector (v, efp_decoder_session_get_reading (s));
}

void
efp_test_add_vector_tests (GPtrArray *vectors, const gchar *name)
{
  guint i;

  for (i = 0; i < vectors->len; i++)
    {
      const EfpTestVector *v = vectors->pdata[i];
      g_autofree gchar *path = NULL;
      if (!g_str_equal (efp_test_vector_decoder (v), name))
        continue;
      path = g_strdup_printf ("/%s/vector/%s", name, v->name);
      g_test_add_data_func (path, v, vector_test);
    }
}

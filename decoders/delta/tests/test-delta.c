/* test-delta.c: the delta plugin (.so): DELTA 3 family protobuf, DELTA 2 /
 * 2 Max / Max / Pro JSON in both key families. */
#include <math.h>
#include <string.h>

#include "efp-test-expect.h"

static GPtrArray *vectors;

static GBytes *
vec (const gchar *name)
{
  const EfpTestVector *v = efp_test_vectors_find (vectors, name);
  g_assert_nonnull (v);
  return v->payload;
}

static const EfpReading *
feed_ok (EfpDecoderSession *s, GBytes *frame)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (efp_test_feed (s, frame, &error));
  g_assert_no_error (error);
  return efp_decoder_session_get_reading (s);
}

static const EfpReading *
feed_json (EfpDecoderSession *s, const gchar *json)
{
  g_autoptr (GBytes) b = g_bytes_new (json, strlen (json));
  return feed_ok (s, b);
}

static const EfpPack *
pack (const EfpReading *r, guint index)
{
  guint i;
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    if (r->packs[i].present && r->packs[i].index == index)
      return &r->packs[i];
  g_assert_not_reached ();
  return NULL;
}

static void
feed_bad (EfpDecoderSession *s, const gchar *text, gsize len, gint code, const gchar *message)
{
  EfpReading before = *efp_decoder_session_get_reading (s);
  g_autoptr (GError) error = NULL;

  g_assert_false (efp_decoder_session_feed (s, (const guint8 *) text, len, 1, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (error->domain == EFP_DECODER_ERROR);
  if (code >= 0)
    g_assert_error (error, EFP_DECODER_ERROR, code);
  g_assert_true (g_str_has_prefix (error->message, "delta: "));
  g_assert_null (strchr (error->message, '\n'));
  if (message != NULL)
    g_assert_cmpstr (error->message, ==, message);
  efp_test_assert_same_reading (&before, efp_decoder_session_get_reading (s));
}

/* DELTA Pro 3: CMS, BMS and Display deltas merge into one state. */
static void
test_deltapro3_merge (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("delta", NULL, NULL);
  const EfpReading *r;

  r = feed_ok (s, vec ("deltapro3_cms_heartbeat_xor"));
  g_assert_cmpfloat_with_epsilon (r->soc, 35.1025, 1e-3);
  g_assert_cmpint (r->remain_minutes, ==, 4705);
  g_assert_cmpstr (r->model, ==, "DELTA Pro 3");
  r = feed_ok (s, vec ("deltapro3_bms_heartbeat_a"));
  g_assert_cmpfloat_with_epsilon (r->soc, 35.1025, 1e-3); /* the pack does not replace it */
  g_assert_cmpfloat_with_epsilon (r->packs[0].soc, 35.032, 1e-3);
  g_assert_cmpint (r->packs[0].full_mah, ==, 80000);
  g_assert_cmpfloat_with_epsilon (r->packs[0].output_watts, 16, 1e-3);
  g_assert_cmpfloat_with_epsilon (r->temp_celsius, 32, 1e-3);
  r = feed_ok (s, vec ("deltapro3_display_incr_xor_b"));
  g_assert_cmpfloat_with_epsilon (r->output_watts, 107, 1e-3);
  g_assert_true (isnan (r->input_watts));
  g_assert_cmpfloat_with_epsilon (r->soc, 35.1025, 1e-3);
  /* nothing here says whether mains is present (field 27 is not a grid flag) */
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_UNKNOWN);
  g_assert_cmpint (efp_decoder_session_get_n_frames (s), ==, 3);
}

/* DELTA 3: an absent charger flag in a full frame is unknown, not false. */
static void
test_delta3_grid (void)
{
  static const guint8 runtime_230v[] = { 0xa5, 0x04, 0x00, 0x00, 0x66, 0x43 }; /* 68: 230 V */
  static const guint8 flag0[] = { 0xd0, 0x0c, 0x00 };                          /* 202: 0 */
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("delta", NULL, NULL);
  g_autoptr (GBytes) volts =
    efp_test_envelope_wrap (runtime_230v, 6, 2, 254, 22, TRUE, 10465, 19713);
  g_autoptr (GBytes) unplugged = efp_test_envelope_wrap (flag0, 3, 2, 254, 21, TRUE, 10466, 19713);
  const EfpReading *r;

  r = feed_ok (s, vec ("delta3_display_full_xor"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_UNKNOWN);
  g_assert_cmpfloat_with_epsilon (r->soc, 100, 1e-3);
  g_assert_cmpint (r->remain_minutes, ==, 3999);
  r = feed_ok (s, volts);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-volts");
  r = feed_ok (s, unplugged);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpstr (r->grid_source, ==, "charger-flag");
  g_assert_cmpstr (r->model, ==, "DELTA 3");
}

/* DELTA 2 JSON: incremental pushes merge; a combined SoC outranks the pack. */
static void
test_delta2_merge (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("delta", NULL, NULL);
  const EfpReading *r;

  r = feed_ok (s, vec ("delta2_app_update_bms"));
  g_assert_cmpfloat_with_epsilon (r->soc, 89.7, 1e-3); /* only the pack said anything */
  r = feed_ok (s, vec ("delta2_app_update_inv_ac_in_vol"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-volts");
  g_assert_cmpfloat_with_epsilon (r->soc, 89.7, 1e-3);
  r = feed_ok (s, vec ("delta2_latest_quotas_ac_present_not_charging"));
  g_assert_cmpfloat_with_epsilon (r->soc, 85.0, 1e-3);
  g_assert_cmpint (r->chg_dsg_state, ==, 0);
  g_assert_cmpint (r->remain_minutes, ==, 1765);
  g_assert_cmpfloat_with_epsilon (r->output_watts, 43, 1e-3);
  g_assert_cmpstr (r->model, ==, "DELTA 2");
  r = feed_ok (s, vec ("delta2_app_update_bms"));
  g_assert_cmpfloat_with_epsilon (r->soc, 85.0, 1e-3);
  g_assert_cmpfloat_with_epsilon (r->packs[0].soc, 89.7, 1e-3);
  g_assert_cmpint (r->packs[0].full_mah, ==, 20000); /* kept from the quota reply */
  /* unplugged: volts and frequency gone */
  r = feed_json (s, "{\"moduleType\":\"3\",\"params\":{\"inv.acInVol\":0,\"inv.acInFreq\":0}}");
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-volts");
  r = feed_json (s, "{\"params\":{\"inv.acInFreq\":60}}");
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-freq");
  r = feed_json (s, "{\"params\":{\"pd.remainTime\":-300,\"pd.chgDsgState\":1}}");
  g_assert_cmpint (r->remain_minutes, ==, 1765); /* ems dsgRemainTime outranks pd */
}

/* DELTA 2 Max with two extra batteries; DELTA Pro (v1 keys) with one. */
static void
test_extra_batteries (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("delta", NULL, NULL);
  g_autoptr (EfpDecoderSession) p = efp_test_session_new ("delta", NULL, NULL);
  g_autoptr (EfpDecoderSession) m = efp_test_session_new ("delta", NULL, NULL);
  const EfpReading *r;

  r = feed_ok (s, vec ("delta2max_latest_quotas_two_extra_batteries"));
  g_assert_cmpfloat_with_epsilon (r->soc, 72.1, 1e-3);
  g_assert_cmpint (pack (r, 2)->remain_minutes, ==, 2020);
  g_assert_cmpfloat_with_epsilon (pack (r, 1)->soc, 74.5, 1e-3);
  g_assert_cmpfloat_with_epsilon (r->temp_celsius, 28, 1e-3); /* the hottest pack */
  g_assert_cmpint (r->chg_dsg_state, ==, 2);
  g_assert_cmpint (r->remain_minutes, ==, -1);

  r = feed_ok (p, vec ("deltapro_latest_quotas_with_extra_battery"));
  g_assert_cmpfloat_with_epsilon (r->soc, 84.570175, 1e-3);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpint (r->remain_minutes, ==, -1); /* 143999: no estimate */
  g_assert_cmpint (pack (r, 1)->remain_minutes, ==, -1);
  g_assert_cmpstr (r->model, ==, "DELTA Pro");

  /* no combined value: capacity-weighted over the packs, both key families */
  r = feed_json (m, "{\"params\":{\"bmsMaster.f32ShowSoc\":90,\"bmsMaster.fullCap\":30000,"
                    "\"bmsSlave1.f32ShowSoc\":60,\"bmsSlave1.fullCap\":10000}}");
  g_assert_cmpfloat_with_epsilon (r->soc, 82.5, 1e-3);
  r = feed_json (m, "{\"params\":{\"bmsSlave1.f32ShowSoc\":50}}");
  g_assert_cmpfloat_with_epsilon (r->soc, 80.0, 1e-3);
  r = feed_json (m, "{\"params\":{\"bmsSlave1.soc\":40}}"); /* the float one stays */
  g_assert_cmpfloat_with_epsilon (r->soc, 80.0, 1e-3);
}

/* Open API message shapes (SPEC 2.1) */
static void
test_open_api_shapes (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("delta", NULL, NULL);
  g_autoptr (EfpDecoderSession) c = efp_test_session_new ("delta", NULL, NULL);
  const EfpReading *r;

  r = feed_json (s, "{\"moduleType\":2,\"typeCode\":\"emsStatus\",\"params\":{\"f32LcdShowSoc\":"
                    "55.5,\"dsgRemainTime\":120}}");
  g_assert_cmpfloat_with_epsilon (r->soc, 55.5, 1e-3);
  g_assert_cmpint (r->remain_minutes, ==, 120);
  r = feed_json (s, "{\"moduleType\":2,\"typeCode\":\"bmsSlaveStatus_1\",\"params\":{\"soc\":40,"
                    "\"fullCap\":1000}}");
  g_assert_cmpuint (r->packs[0].index, ==, 1);
  g_assert_cmpfloat_with_epsilon (r->packs[0].soc, 40, 1e-3);
  r = feed_json (s, "{\"moduleType\":3,\"params\":{\"acInVol\":231000}}");
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  r = feed_json (s, "{\"moduleType\":1,\"params\":{\"wattsOutSum\":12}}");
  g_assert_cmpfloat_with_epsilon (r->output_watts, 12, 1e-3);
  r =
    feed_json (s, "{\"cmdId\":1,\"cmdFunc\":20,\"addr\":\"iot\",\"param\":{\"pd.wattsInSum\":9}}");
  g_assert_cmpfloat_with_epsilon (r->input_watts, 9, 1e-3);
  /* HTTP quota/all: dotted keys directly under data */
  r = feed_json (s, "{\"code\":\"0\",\"message\":\"Success\",\"data\":{\"bms_emsStatus."
                    "f32LcdShowSoc\":56.5,\"inv.acInVol\":0,\"inv.acInFreq\":0}}");
  g_assert_cmpfloat_with_epsilon (r->soc, 56.5, 1e-3);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);

  /* the DELTA 3 class on the Open API: camelCase protobuf names */
  r = feed_json (c, "{\"cmsBattSoc\":42.5,\"plugInInfoAcChargerFlag\":true,\"powInSumW\":300,"
                    "\"cmsChgDsgState\":2}");
  g_assert_cmpfloat_with_epsilon (r->soc, 42.5, 1e-3);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "charger-flag");
  g_assert_cmpint (r->remain_minutes, ==, -1);
  r = feed_json (c, "{\"plugInInfoAcChargerFlag\":0,\"powGetAcIn\":0}");
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
}

static void
test_bad_json (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("delta", NULL, NULL);
  GBytes *big = vec ("delta2max_latest_quotas_two_extra_batteries");
  gsize len = 0, i;
  const gchar *text = g_bytes_get_data (big, &len);
  GString *deep = g_string_new ("{\"a\":");
  static const gchar offline[] = "{\"id\":1,\"operateType\":\"latestQuotas\",\"data\":{"
                                 "\"online\":0,\"quotaMap\":{\"pd.soc\":1}}}";
  static const gchar cloud_error[] = "{\"code\":\"1006\",\"message\":\"x\",\"data\":{}}";
  static const gchar *const bad[] = {
    "{\"params\":{\"pd.soc\":\"85\"}}",
    "{\"params\":{\"pd.soc\":150}}",
    "{\"params\":{\"bms_bmsStatus.f32ShowSoc\":-1}}",
    "{\"params\":",
    "{\"params\":{}} trailing",
    "{\"params\":{\"pd.soc\":1e999}}",
  };

  feed_ok (s, vec ("delta2_latest_quotas_ac_present_not_charging"));
  feed_bad (s, offline, strlen (offline), EFP_DECODER_ERROR_INVALID,
            "delta: the cloud reports the device offline (online=0); quotaMap ignored");
  feed_bad (s, cloud_error, strlen (cloud_error), EFP_DECODER_ERROR_INVALID,
            "delta: cloud reply carries error code '1006'");
  feed_bad (s, bad[0], strlen (bad[0]), EFP_DECODER_ERROR_INVALID,
            "delta: pd.soc: expected a number");
  feed_bad (s, bad[1], strlen (bad[1]), EFP_DECODER_ERROR_INVALID,
            "delta: pd.soc 150 outside 0-100");
  for (i = 2; i < G_N_ELEMENTS (bad); i++)
    feed_bad (s, bad[i], strlen (bad[i]), -1, NULL);
  for (i = 0; i < 40; i++)
    g_string_append (deep, "[");
  feed_bad (s, deep->str, deep->len, EFP_DECODER_ERROR_MALFORMED,
            "delta: JSON nested deeper than 32 levels");
  g_string_free (deep, TRUE);
  feed_bad (s, "[1,2]", 5, EFP_DECODER_ERROR_MALFORMED, NULL);
  feed_bad (s, "{\"a\":1", 6, EFP_DECODER_ERROR_MALFORMED, NULL);
  /* every cut of an 11 KB quota reply is refused without a crash */
  for (i = 1; i < len; i += 7)
    feed_bad (s, text, i, EFP_DECODER_ERROR_MALFORMED, NULL);
}

static void
test_probe (void)
{
  const EfpDecoderVTable *d = efp_plugin_registry_get_decoder (efp_test_registry (), "delta");
  const EfpDecoderVTable *r2 = efp_plugin_registry_get_decoder (efp_test_registry (), "river2");
  static const gchar v1[] = "{\"params\":{\"bmsMaster.soc\":50}}";
  gsize len = 0;
  const guint8 *p;

  p = g_bytes_get_data (vec ("delta2_latest_quotas_ac_present_not_charging"), &len);
  g_assert_cmpint (d->probe (NULL, p, len), ==, EFP_PROBE_SURE);
  g_assert_cmpint (r2->probe (NULL, p, len), ==, EFP_PROBE_NO);
  p = g_bytes_get_data (vec ("river2pro_latest_quotas_ac_charging"), &len);
  g_assert_cmpint (d->probe (NULL, p, len), ==, EFP_PROBE_NO);
  g_assert_cmpint (d->probe (NULL, (const guint8 *) v1, strlen (v1)), ==, EFP_PROBE_LIKELY);
  g_assert_cmpint (r2->probe (NULL, (const guint8 *) v1, strlen (v1)), ==, EFP_PROBE_NO);
  g_assert_cmpint (d->probe ("DCEBZ8ZE307XXX", NULL, 0), ==, EFP_PROBE_SURE);
  g_assert_cmpint (d->probe ("R621ZEB", NULL, 0), ==, EFP_PROBE_NO);
  p = g_bytes_get_data (vec ("deltapro3_bms_heartbeat_a"), &len);
  g_assert_cmpint (d->probe (NULL, p, len), ==, EFP_PROBE_SURE);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  vectors = efp_test_vectors_load (NULL, &error);
  g_assert_no_error (error);
  efp_test_add_vector_tests (vectors, "delta");
  g_test_add_func ("/delta/merge/deltapro3", test_deltapro3_merge);
  g_test_add_func ("/delta/grid/delta3", test_delta3_grid);
  g_test_add_func ("/delta/merge/delta2-json", test_delta2_merge);
  g_test_add_func ("/delta/packs/extra-batteries", test_extra_batteries);
  g_test_add_func ("/delta/json/open-api-shapes", test_open_api_shapes);
  g_test_add_func ("/delta/errors/bad-json", test_bad_json);
  g_test_add_func ("/delta/probe", test_probe);
  return g_test_run ();
}

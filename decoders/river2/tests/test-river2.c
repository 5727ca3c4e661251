/* test-river2.c: the river2 plugin (.so): RIVER 2 family JSON. */
#include <math.h>
#include <string.h>

#include "efp-test-expect.h"

static GPtrArray *vectors;

static const EfpReading *
feed_json (EfpDecoderSession *s, const gchar *json)
{
  g_autoptr (GBytes) b = g_bytes_new (json, strlen (json));
  g_autoptr (GError) error = NULL;
  g_assert_true (efp_test_feed (s, b, &error));
  g_assert_no_error (error);
  return efp_decoder_session_get_reading (s);
}

/* RIVER 2 Pro charging from AC at 850 W */
static void
test_river2pro_charging (void)
{
  const EfpTestVector *v = efp_test_vectors_find (vectors, "river2pro_latest_quotas_ac_charging");
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river2", NULL, NULL);
  g_autoptr (GError) error = NULL;
  const EfpReading *r;

  g_assert_true (efp_test_feed (s, v->payload, &error));
  r = efp_decoder_session_get_reading (s);
  g_assert_cmpfloat_with_epsilon (r->soc, 82.6, 1e-3);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-volts");
  g_assert_cmpfloat_with_epsilon (r->input_watts, 844, 1e-3);
  g_assert_cmpfloat_with_epsilon (r->output_watts, 3, 1e-3);
  /* pd.chgDsgState says 1 on this unit; dsgRemainTime 5999 is "no estimate" */
  g_assert_cmpint (r->remain_minutes, ==, -1);
  g_assert_cmpstr (r->model, ==, "RIVER 2 Pro");
  g_assert_cmpint (r->packs[0].full_mah, ==, 35980);
  g_assert_cmpfloat_with_epsilon (r->packs[0].input_watts, 753, 1e-3);

  /* an App-API push after it: only what it carries changes */
  r = feed_json (s, "{\"id\":1330299618754038533,\"version\":\"1.0\",\"moduleType\":\"2\","
                    "\"params\":{\"bms_emsStatus.f32LcdShowSoc\":83.1}}");
  g_assert_cmpfloat_with_epsilon (r->soc, 83.1, 1e-3);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpfloat_with_epsilon (r->input_watts, 844, 1e-3);
}

/* RIVER 2 speaks the v2 key family only; v1 keys say nothing to it. */
static void
test_key_family (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river2", NULL, "RIVER 2");
  const EfpDecoderVTable *vt = efp_plugin_registry_get_decoder (efp_test_registry (), "river2");
  static const gchar v1[] = "{\"params\":{\"ems.f32LcdShowSoc\":50,\"bmsMaster.soc\":50}}";
  const EfpReading *r;
  g_autoptr (GError) error = NULL;
  static const guint8 pb[] = { 0x0a, 0x02, 0x10, 0x02 };

  r = feed_json (s, v1);
  g_assert_true (isnan (r->soc));
  g_assert_false (r->packs[0].present);
  g_assert_cmpstr (r->model, ==, "RIVER 2");
  g_assert_cmpint (vt->probe (NULL, (const guint8 *) v1, strlen (v1)), ==, EFP_PROBE_NO);
  g_assert_cmpint (vt->probe ("R521ZEB", NULL, 0), ==, EFP_PROBE_SURE);
  g_assert_null (vt->option_keys);
  g_assert_false (efp_decoder_session_feed (s, pb, sizeof (pb), 1, &error));
  g_assert_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_UNSUPPORTED);
  g_assert_cmpstr (error->message, ==, "river2: protobuf frame, but this decoder reads JSON only");
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  vectors = efp_test_vectors_load (NULL, &error);
  g_assert_no_error (error);
  efp_test_add_vector_tests (vectors, "river2");
  g_test_add_func ("/river2/river2pro-charging", test_river2pro_charging);
  g_test_add_func ("/river2/key-family", test_key_family);
  return g_test_run ();
}

/* test-river3plus.c: the river3plus plugin (.so) on the RIVER 3 captures. */
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

/* Refused with @code and a one-line message; the merged state is untouched. */
static void
feed_bad (EfpDecoderSession *s, const guint8 *data, gsize len, gint code)
{
  EfpReading before = *efp_decoder_session_get_reading (s);
  g_autoptr (GError) error = NULL;

  g_assert_false (efp_decoder_session_feed (s, data, len, 1, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_error (error, EFP_DECODER_ERROR, code);
  /* the session itself refuses an empty frame before the decoder sees it */
  if (len > 0)
    g_assert_true (g_str_has_prefix (error->message, "river3plus: "));
  g_assert_null (strchr (error->message, '\n'));
  efp_test_assert_same_reading (&before, efp_decoder_session_get_reading (s));
}

/* The seed's decoder answers (expected.reference_decoder_would_report) come
 * back exactly in grid-source=tag27 mode: BMS output_watts <= 1 means "grid". */
static void
test_tag27_reproduces_seed (void)
{
  guint i, n_accepted = 0;

  for (i = 0; i < vectors->len; i++)
    {
      const EfpTestVector *v = vectors->pdata[i];
      g_autoptr (EfpDecoderSession) s = NULL;
      JsonObject *ref;
      const EfpReading *r;

      if (!json_object_has_member (v->expected, "reference_decoder_would_report"))
        continue;
      ref = json_object_get_object_member (v->expected, "reference_decoder_would_report");
      s = efp_test_session_new ("river3plus", "tag27", NULL);
      r = feed_ok (s, v->payload);
      if (json_object_get_boolean_member (ref, "accepted"))
        {
          gboolean want = json_object_get_boolean_member (ref, "grid_connected");
          g_assert_cmpint (r->grid_connected, ==, want ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE);
          g_assert_cmpstr (r->grid_source, ==, "tag27");
          n_accepted++;
        }
      else
        {
          /* the seed took nothing from these frames: no grid answer either */
          g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_UNKNOWN);
          g_assert_null (r->grid_source);
        }
    }
  g_assert_cmpuint (n_accepted, ==, 3);
}

/* tag27 ignores input watts: AC returning (88 W in) does not change its answer. */
static void
test_tag27_ignores_input (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", "tag27", NULL);
  const EfpReading *r;

  r = feed_ok (s, vec ("river3_r655_get_reply_ac_unplugged"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE); /* BMS output 28 W */
  r = feed_ok (s, vec ("river3_r655_display_incr_xor_ac_return"));
  r = feed_ok (s, vec ("river3_r655_display_incr_xor_charging"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpstr (r->grid_source, ==, "tag27");
  /* everything else is decoded as in auto mode */
  g_assert_cmpint (r->chg_dsg_state, ==, 2);
  g_assert_cmpfloat_with_epsilon (r->input_watts, 89.0, 1e-3);
}

/* RIVER 3 unplug and replug, frame by frame, as the daemon merges them. */
static void
test_merge_unplug_replug (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", NULL, NULL);
  const EfpReading *r;

  r = feed_ok (s, vec ("river3_r655_get_reply_ac_unplugged"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpstr (r->grid_source, ==, "charger-flag");
  g_assert_cmpfloat_with_epsilon (r->soc, 98.0, 1e-3);
  g_assert_cmpint (r->chg_dsg_state, ==, 1);
  g_assert_cmpint (r->remain_minutes, ==, 500);
  g_assert_cmpstr (r->model, ==, "RIVER 3");

  /* first delta after AC came back: only powers and the charge time */
  r = feed_ok (s, vec ("river3_r655_display_incr_xor_ac_return"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-watts");
  g_assert_cmpfloat_with_epsilon (r->soc, 98.0, 1e-3); /* absent: unchanged */
  g_assert_cmpint (r->chg_dsg_state, ==, 1);           /* absent: unchanged */
  g_assert_cmpfloat_with_epsilon (r->input_watts, 39.0, 1e-3);
  g_assert_cmpfloat_with_epsilon (r->output_watts, 20.0, 1e-3); /* from the get_reply */
  g_assert_cmpfloat_with_epsilon (r->temp_celsius, 35.0, 1e-3);
  g_assert_true (r->packs[0].present);
  g_assert_cmpfloat_with_epsilon (r->packs[0].soc, 98.226, 1e-3);

  r = feed_ok (s, vec ("river3_r655_display_incr_xor_charging"));
  g_assert_cmpint (r->chg_dsg_state, ==, 2);
  g_assert_cmpint (r->remain_minutes, ==, -1); /* no time to empty while charging */
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);

  r = feed_ok (s, vec ("river3_r655_display_incr_xor_soc"));
  g_assert_cmpfloat_with_epsilon (r->soc, 99.0, 1e-3);
  g_assert_cmpfloat_with_epsilon (r->input_watts, 210.0, 1e-3);
  g_assert_cmpint (efp_decoder_session_get_n_frames (s), ==, 4);
}

/* Display's combined SoC outranks the CMS heartbeat's, whichever came last;
 * per-pack values come only from each pack's own heartbeat. */
static void
test_merge_sources (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", NULL, NULL);
  g_autoptr (EfpDecoderSession) c = efp_test_session_new ("river3plus", NULL, NULL);
  const EfpReading *r;

  r = feed_ok (s, vec ("river3plus_display_full_xor"));
  g_assert_cmpfloat_with_epsilon (r->soc, 64.0, 1e-3);
  g_assert_cmpint (r->remain_minutes, ==, 4881);
  g_assert_false (r->packs[0].present); /* bms_batt_soc (242) is not a pack report */
  r = feed_ok (s, vec ("river3plus_cms_heartbeat_xor"));
  g_assert_cmpfloat_with_epsilon (r->soc, 64.0, 1e-3);
  g_assert_cmpint (r->remain_minutes, ==, 4881);
  r = feed_ok (s, vec ("river3plus_bms_heartbeat_main_pack"));
  g_assert_cmpfloat_with_epsilon (r->soc, 64.0, 1e-3);
  g_assert_cmpfloat_with_epsilon (r->packs[0].soc, 65.545, 1e-3);
  g_assert_cmpint (r->packs[0].remain_minutes, ==, 4909);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "charger-flag");

  /* without a Display frame the CMS heartbeat's combined SoC is used ... */
  r = feed_ok (c, vec ("river3plus_cms_heartbeat_xor"));
  g_assert_cmpfloat_with_epsilon (r->soc, 64.1997, 1e-3);
  g_assert_cmpint (r->remain_minutes, ==, 4909);
  /* ... until the Display's arrives */
  r = feed_ok (c, vec ("river3plus_display_full_xor"));
  g_assert_cmpfloat_with_epsilon (r->soc, 64.0, 1e-3);
  /* a SoC-less delta keeps it */
  r = feed_ok (c, vec ("river3plus_display_incremental_xor_ac_in"));
  g_assert_cmpfloat_with_epsilon (r->soc, 64.0, 1e-3);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
}

/* Two packs and no combined value: the SoC is the capacity-weighted mean and
 * does not jump to whichever pack reported last (the seed's "ghost module"). */
static void
test_pack_mean (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", NULL, NULL);
  GBytes *bundle = vec ("river3plus_get_reply_two_batteries");
  g_autoptr (GBytes) pack1 = efp_test_envelope_pick (bundle, 0);
  g_autoptr (GBytes) pack0 = efp_test_envelope_pick (bundle, 4);
  const gdouble mean = (63.51 * 25582 + 65.472 * 12792) / (25582 + 12792);
  const EfpReading *r;

  r = feed_ok (s, pack1);
  g_assert_cmpfloat_with_epsilon (r->soc, 63.51, 1e-3);
  r = feed_ok (s, pack0);
  g_assert_cmpfloat_with_epsilon (r->soc, mean, 1e-3);
  r = feed_ok (s, vec ("river3plus_bms_heartbeat_main_pack")); /* pack 0 again, 65.545 */
  g_assert_cmpfloat_with_epsilon (r->soc, (63.51 * 25582 + 65.545 * 12792) / (25582 + 12792), 1e-3);
  r = feed_ok (s, pack1);
  g_assert_cmpfloat_with_epsilon (r->soc, (63.51 * 25582 + 65.545 * 12792) / (25582 + 12792), 1e-3);
  g_assert_cmpuint (r->packs[0].index, ==, 1);
  g_assert_cmpuint (r->packs[1].index, ==, 0);
  g_assert_false (r->packs[2].present);
  /* once the station names a combined value, that is what counts */
  r = feed_ok (s, vec ("river3plus_cms_heartbeat_xor"));
  g_assert_cmpfloat_with_epsilon (r->soc, 64.1997, 1e-3);
  g_assert_cmpfloat_with_epsilon (r->packs[1].soc, 65.545, 1e-3);
}

static void
test_grid_source_charger_flag (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", "charger-flag", NULL);
  const EfpReading *r;

  r = feed_ok (s, vec ("river3plus_display_incremental_xor_ac_in"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_UNKNOWN); /* 88.7 W says nothing here */
  r = feed_ok (s, vec ("river3plus_bms_heartbeat_main_pack"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_UNKNOWN);
  r = feed_ok (s, vec ("river3plus_display_full_xor"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "charger-flag");
  r = feed_ok (s, vec ("river3_r655_get_reply_ac_unplugged"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  r = feed_ok (s, vec ("river3_r655_display_incr_xor_ac_return"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
}

/* auto: without the charger flag, AC-in watts above 5 W, then AC-in volts (which also
 * says absent on a station that never sends the flag) */
static void
test_grid_auto_fallbacks (void)
{
  /* a Runtime frame with 230 V on AC in (Delta 3 style) and nothing else */
  static const guint8 runtime_230v[] = { 0xa5, 0x04, 0x00, 0x00, 0x66, 0x43 }; /* 68: 230.0f */
  static const guint8 runtime_7v[] = { 0xa5, 0x04, 0x00, 0x00, 0xe0, 0x40 };   /* 68: 7.0f */
  static const guint8 display_3w[] = { 0xb5, 0x03, 0x00, 0x00, 0x40, 0x40 };   /* 54: 3.0f */
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", "auto", NULL);
  g_autoptr (GBytes) f230 = efp_test_envelope_wrap (runtime_230v, 6, 2, 254, 22, TRUE, 77, 0);
  g_autoptr (GBytes) f7 = efp_test_envelope_wrap (runtime_7v, 6, 2, 254, 22, FALSE, 78, 0);
  g_autoptr (GBytes) f3w = efp_test_envelope_wrap (display_3w, 6, 2, 254, 21, TRUE, 79, 0);
  const EfpReading *r;

  /* a station that has never sent the charger flag: its AC input voltage decides both ways */
  r = feed_ok (s, f7);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-volts");
  r = feed_ok (s, f230);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-volts");
  r = feed_ok (s, f7);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  /* 3 W of AC input proves nothing: the last answer stays */
  r = feed_ok (s, f3w);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-volts");
  r = feed_ok (s, f230);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  /* the charger flag says 0: gone, whatever came before */
  r = feed_ok (s, vec ("river3_r655_get_reply_ac_unplugged"));
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpstr (r->grid_source, ==, "charger-flag");
  /* once the flag is known, 230 V says present, but a low voltage alone no longer says
   * absent (a RIVER 3 reads 0 V on AC when not charging) */
  r = feed_ok (s, f230);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  r = feed_ok (s, f7);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-volts");
  r = feed_ok (s, vec ("river3_r655_get_reply_ac_unplugged"));
  g_assert_cmpstr (r->grid_source, ==, "charger-flag");
}

static GBytes *
concat (GBytes *a, GBytes *b)
{
  /* two envelopes back to back are one envelope with both headers (field 1 repeats) */
  GByteArray *out = g_byte_array_new ();

  g_byte_array_append (out, g_bytes_get_data (a, NULL), g_bytes_get_size (a));
  g_byte_array_append (out, g_bytes_get_data (b, NULL), g_bytes_get_size (b));
  return g_byte_array_free_to_bytes (out);
}

/* Payloads are read only when they can change the reading: Runtime when the rest of
 * the frame leaves the grid open in auto mode, a CMS heartbeat while a Display value
 * it backs up is unknown. A corrupt one is refused when read, never read otherwise. */
static void
test_grid_auto_runtime_on_demand (void)
{
  static const guint8 display_flag[] = { 0xd0, 0x0c, 0x01 };                 /* 202: true */
  static const guint8 display_3w[] = { 0xb5, 0x03, 0x00, 0x00, 0x40, 0x40 }; /* 54: 3.0f */
  static const guint8 runtime_cut[] = { 0xa5, 0x04, 0x00, 0x00 };            /* 68: 2 of 4 bytes */
  static const guint8 runtime_230v[] = { 0xa5, 0x04, 0x00, 0x00, 0x66, 0x43 };
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", "auto", NULL);
  g_autoptr (GBytes) flag = efp_test_envelope_wrap (display_flag, 3, 2, 254, 21, TRUE, 90, 0);
  g_autoptr (GBytes) w3 = efp_test_envelope_wrap (display_3w, 6, 2, 254, 21, TRUE, 91, 0);
  g_autoptr (GBytes) cut = efp_test_envelope_wrap (runtime_cut, 4, 2, 254, 22, TRUE, 92, 0);
  g_autoptr (GBytes) v230 = efp_test_envelope_wrap (runtime_230v, 6, 2, 254, 22, TRUE, 93, 0);
  g_autoptr (GBytes) runtime_first = concat (v230, w3);
  g_autoptr (GBytes) flag_cut = concat (cut, flag);
  g_autoptr (GBytes) w3_cut = concat (w3, cut);
  static const guint8 cms_pdata_cut[] = { 0x0a, 0x05, 0x48, 0x32 };
  g_autoptr (GBytes) cms_cut_frame =
    efp_test_envelope_wrap (cms_pdata_cut, 4, 3, 32, 2, FALSE, 94, 0);
  const guint8 *cms_cut = g_bytes_get_data (cms_cut_frame, NULL);
  g_autoptr (EfpDecoderSession) fresh = efp_test_session_new ("river3plus", "auto", NULL);
  const EfpReading *r;
  gdouble soc;

  /* Runtime before Display in the bundle: still read once Display left the grid open */
  r = feed_ok (s, runtime_first);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "ac-in-volts");
  /* the flag decides: the cut Runtime payload is never unpacked */
  r = feed_ok (s, flag_cut);
  g_assert_cmpint (r->grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpstr (r->grid_source, ==, "charger-flag");
  /* 3 W decides nothing: the cut payload must be read, so the frame is refused */
  feed_bad (s, g_bytes_get_data (w3_cut, NULL), g_bytes_get_size (w3_cut),
            EFP_DECODER_ERROR_MALFORMED);

  /* v1p0 says 5 bytes, holds 2: refused while the CMS SoC could still count */
  r = feed_ok (fresh, vec ("river3plus_cms_heartbeat_xor"));
  g_assert_cmpfloat (r->soc, >, 0);
  feed_bad (fresh, cms_cut, g_bytes_get_size (cms_cut_frame), EFP_DECODER_ERROR_MALFORMED);
  /* once Display gave SoC, minutes and state, the heartbeat is not read */
  r = feed_ok (fresh, vec ("river3plus_display_full_xor"));
  soc = r->soc;
  r = feed_ok (fresh, cms_cut_frame);
  g_assert_cmpfloat (r->soc, ==, soc);
}

static void
test_bad_option (void)
{
  const EfpDecoderVTable *vt = efp_plugin_registry_get_decoder (efp_test_registry (), "river3plus");
  g_autoptr (GHashTable) options = g_hash_table_new (g_str_hash, g_str_equal);
  EfpDecoderSetup setup = { sizeof (EfpDecoderSetup), "R631X", NULL, options };
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpDecoderSession) s = NULL;

  g_assert_cmpstr (vt->option_keys[0], ==, "grid-source");
  g_assert_null (vt->option_keys[1]);
  g_hash_table_insert (options, (gpointer) "grid-source", (gpointer) "field27");
  s = efp_decoder_session_new (vt, &setup, &error);
  g_assert_null (s);
  g_assert_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_OPTION);
  g_assert_cmpstr (error->message, ==,
                   "river3plus: grid-source: expected auto, charger-flag or tag27, found "
                   "'field27'");
}

static void
test_bad_frames (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", NULL, NULL);
  GBytes *bundle = vec ("river3plus_get_reply_two_batteries");
  gsize len = 0, full_len = 0, i;
  const guint8 *p = g_bytes_get_data (bundle, &len);
  const guint8 *full = g_bytes_get_data (vec ("river3plus_display_full_xor"), &full_len);
  g_autofree guint8 *big = g_malloc0 (200 * 1024);
  g_autofree guint8 *wrong_xor = g_memdup2 (full, full_len);
  static const guint8 garbage[] = { 0xff, 0x00, 0x13, 0x37, 0x0a };
  static const gchar json[] = "{\"soc\": 50}";
  guint n_failed = 0;

  feed_ok (s, vec ("river3_r655_get_reply_ac_unplugged"));

  feed_bad (s, p, 0, EFP_DECODER_ERROR_TRUNCATED);
  big[0] = 0x0a;
  feed_bad (s, big, 200 * 1024, EFP_DECODER_ERROR_INVALID);
  feed_bad (s, garbage, sizeof (garbage), EFP_DECODER_ERROR_MALFORMED);
  feed_bad (s, garbage + 4, 1, EFP_DECODER_ERROR_MALFORMED);
  feed_bad (s, (const guint8 *) json, strlen (json), EFP_DECODER_ERROR_UNSUPPORTED);
  feed_bad (s, (const guint8 *) "0a1c10", 6, EFP_DECODER_ERROR_MALFORMED); /* hex text */

  /* wrong XOR: the seq low byte (the key) off by one */
  for (i = 0; i + 1 < full_len; i++)
    if (wrong_xor[i] == 0x70 && wrong_xor[i + 1] == ((21747299 & 0x7f) | 0x80))
      break;
  g_assert_cmpuint (i + 1, <, full_len);
  wrong_xor[i + 1] ^= 0x01;
  feed_bad (s, wrong_xor, full_len, EFP_DECODER_ERROR_MALFORMED);

  /* every cut of the 5-header bundle: refused unless it ends on a header
   * boundary (then it is a smaller valid bundle); never a crash */
  for (i = 1; i < len; i++)
    {
      EfpReading before = *efp_decoder_session_get_reading (s);
      g_autoptr (GError) error = NULL;
      if (efp_decoder_session_feed (s, p, i, 1, &error))
        continue;
      n_failed++;
      g_assert_nonnull (error);
      g_assert_null (strchr (error->message, '\n'));
      efp_test_assert_same_reading (&before, efp_decoder_session_get_reading (s));
    }
  g_assert_cmpuint (n_failed, >=, len - 1 - 4);
}

static void
test_app_and_unknown_frames (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", NULL, NULL);
  static const guint8 pdata[] = { 0x08, 0x01 };
  g_autoptr (GBytes) unknown = efp_test_envelope_wrap (pdata, 2, 2, 99, 7, TRUE, 5, 0);
  g_autoptr (GBytes) app = efp_test_envelope_wrap (pdata, 2, 32, 254, 17, FALSE, 5, 0);
  g_autoptr (GError) error = NULL;
  const EfpReading *r;
  EfpReading before;

  r = feed_ok (s, vec ("river3plus_display_full_xor"));
  before = *r;
  /* a device frame with a pair the SPEC does not name: logged, ignored, accepted */
  r = feed_ok (s, unknown);
  efp_test_assert_same_reading (&before, r);
  /* an app request is not device data */
  g_assert_false (efp_test_feed (s, app, &error));
  g_assert_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_UNSUPPORTED);
  g_assert_cmpuint (efp_decoder_session_get_n_errors (s), ==, 1);
}

static void
test_soc_out_of_range (void)
{
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", NULL, NULL);
  static const guint8 soc150[] = { 0xb5, 0x10, 0x00, 0x00, 0x16, 0x43 }; /* 262: 150.0f */
  g_autoptr (GBytes) f = efp_test_envelope_wrap (soc150, 6, 2, 254, 21, TRUE, 9, 0);
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (f, &len);

  feed_ok (s, vec ("river3plus_display_full_xor"));
  feed_bad (s, p, len, EFP_DECODER_ERROR_INVALID);
}

static void
test_probe_and_model (void)
{
  const EfpDecoderVTable *vt = efp_plugin_registry_get_decoder (efp_test_registry (), "river3plus");
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (vec ("river3plus_bms_heartbeat_main_pack"), &len);
  g_autoptr (EfpDecoderSession) s = efp_test_session_new ("river3plus", NULL, "Garage UPS");
  const EfpReading *r;

  g_assert_cmpint (vt->probe ("R631ZEB4XXXX", NULL, 0), ==, EFP_PROBE_SURE);
  g_assert_cmpint (vt->probe ("P231ZEB4XXXX", p, len), ==, EFP_PROBE_NO);
  g_assert_cmpint (vt->probe (NULL, p, len), ==, EFP_PROBE_SURE); /* BMS type 68 */
  g_assert_cmpint (vt->probe (NULL, (const guint8 *) "{\"pd.soc\":1}", 12), ==, EFP_PROBE_NO);
  g_assert_cmpint (vt->probe (NULL, p, 0), ==, EFP_PROBE_NO);

  /* the model from the setup (config or serial prefix) is never renamed */
  r = feed_ok (s, vec ("river3plus_bms_heartbeat_main_pack"));
  g_assert_cmpstr (r->model, ==, "Garage UPS");
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  vectors = efp_test_vectors_load (NULL, &error);
  g_assert_no_error (error);
  efp_test_add_vector_tests (vectors, "river3plus");
  g_test_add_func ("/river3plus/tag27/seed-answers", test_tag27_reproduces_seed);
  g_test_add_func ("/river3plus/tag27/ignores-input", test_tag27_ignores_input);
  g_test_add_func ("/river3plus/merge/unplug-replug", test_merge_unplug_replug);
  g_test_add_func ("/river3plus/merge/sources", test_merge_sources);
  g_test_add_func ("/river3plus/soc/pack-mean", test_pack_mean);
  g_test_add_func ("/river3plus/grid-source/charger-flag", test_grid_source_charger_flag);
  g_test_add_func ("/river3plus/grid-source/auto-fallbacks", test_grid_auto_fallbacks);
  g_test_add_func ("/river3plus/grid-source/auto-runtime-on-demand",
                   test_grid_auto_runtime_on_demand);
  g_test_add_func ("/river3plus/grid-source/bad-option", test_bad_option);
  g_test_add_func ("/river3plus/errors/bad-frames", test_bad_frames);
  g_test_add_func ("/river3plus/errors/soc-out-of-range", test_soc_out_of_range);
  g_test_add_func ("/river3plus/frames/app-and-unknown", test_app_and_unknown_frames);
  g_test_add_func ("/river3plus/probe-and-model", test_probe_and_model);
  return g_test_run ();
}

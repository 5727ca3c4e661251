/* test-json-keys.c: the JSON quota key tables. */
#include "efp-json-keys.h"

static const guint all = EFP_JSON_FAMILY_V1 | EFP_JSON_FAMILY_V2 | EFP_JSON_FAMILY_CAMEL;

static void
expect (const gchar *key, guint families, EfpJsonKeyKind kind, guint arg)
{
  EfpJsonKey k;
  g_assert_true (efp_json_key_classify (key, families, &k));
  g_assert_cmpint (k.kind, ==, kind);
  g_assert_cmpuint (k.arg, ==, arg);
}

static void
expect_none (const gchar *key, guint families)
{
  EfpJsonKey k;
  g_assert_false (efp_json_key_classify (key, families, &k));
}

static void
test_sorted (void)
{
  g_assert_true (efp_json_keys_table_is_sorted ());
}

static void
test_station_keys (void)
{
  /* SPEC 7.1 order: f32 combined, integer combined, pd.soc */
  expect ("bms_emsStatus.f32LcdShowSoc", all, EFP_JSON_KEY_SOC, 0);
  expect ("bms_emsStatus.lcdShowSoc", all, EFP_JSON_KEY_SOC, 1);
  expect ("ems.f32LcdShowSoc", all, EFP_JSON_KEY_SOC, 0);
  expect ("pd.soc", all, EFP_JSON_KEY_SOC, 2);
  expect ("inv.acInVol", all, EFP_JSON_KEY_AC_IN_MILLIVOLTS, 0);
  expect ("inv.acInFreq", all, EFP_JSON_KEY_AC_IN_FREQ, 0);
  expect ("pd.remainTime", all, EFP_JSON_KEY_SIGNED_MINUTES, 1);
  expect ("cmsBattSoc", all, EFP_JSON_KEY_SOC, 0);
  expect ("plugInInfoAcChargerFlag", all, EFP_JSON_KEY_CHARGER_FLAG, 0);
  /* families: the v1 spelling is not a RIVER 2 key, camelCase only for DELTA 3 class */
  expect_none ("ems.f32LcdShowSoc", EFP_JSON_FAMILY_V2);
  expect_none ("cmsBattSoc", EFP_JSON_FAMILY_V2);
  expect ("pd.soc", EFP_JSON_FAMILY_V2, EFP_JSON_KEY_SOC, 2);
  expect_none ("pd.soc", EFP_JSON_FAMILY_CAMEL);
  expect_none ("pd.usb1Watts", all);
  expect_none ("soc", all);
  expect_none ("", all);
}

static void
test_pack_keys (void)
{
  expect ("bms_bmsStatus.f32ShowSoc", all, EFP_JSON_KEY_PACK_F32_SOC, 0);
  expect ("bms_bmsStatus.soc", all, EFP_JSON_KEY_PACK_SOC, 0);
  expect ("bms_slave_bmsSlaveStatus_2.fullCap", all, EFP_JSON_KEY_PACK_FULL_CAP, 2);
  expect ("bms_slave.temp", all, EFP_JSON_KEY_PACK_TEMP, 1);
  expect ("bmsMaster.remainCap", all, EFP_JSON_KEY_PACK_REMAIN_CAP, 0);
  expect ("bmsSlave1.designCap", all, EFP_JSON_KEY_PACK_DESIGN_CAP, 1);
  expect ("bmsSlave1.remainTime", all, EFP_JSON_KEY_PACK_REMAIN_TIME, 1);
  expect_none ("bmsSlave1.designCap", EFP_JSON_FAMILY_V2);
  expect_none ("bmsSlave0.soc", all);
  expect_none ("bmsSlave12.soc", all);
  expect_none ("bms_slave_bmsSlaveStatus_.soc", all);
  expect_none ("bms_bmsStatus.vol", all);
  expect_none ("bms_bmsStatusX.soc", all);
  expect_none (".soc", all);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json-keys/sorted", test_sorted);
  g_test_add_func ("/json-keys/station", test_station_keys);
  g_test_add_func ("/json-keys/packs", test_pack_keys);
  return g_test_run ();
}

/* efp-json-keys.c: sorted key table plus pack prefix/suffix rules. */
#include "efp-json-keys.h"

#include <stdlib.h>
#include <string.h>

typedef struct
{
  const gchar *key;
  guint family;
  EfpJsonKeyKind kind;
  guint arg;
} StationKey;

/* Sorted by strcmp (the unit test checks). Ranks follow SPEC 7.1 / 7.3. */
static const StationKey station_keys[] = {
  { "bmsMaster.chgDsgState", EFP_JSON_FAMILY_V1, EFP_JSON_KEY_STATE, 1 },
  { "bms_emsStatus.dsgRemainTime", EFP_JSON_FAMILY_V2, EFP_JSON_KEY_DSG_MINUTES, 0 },
  { "bms_emsStatus.f32LcdShowSoc", EFP_JSON_FAMILY_V2, EFP_JSON_KEY_SOC, 0 },
  { "bms_emsStatus.lcdShowSoc", EFP_JSON_FAMILY_V2, EFP_JSON_KEY_SOC, 1 },
  { "cmsBattSoc", EFP_JSON_FAMILY_CAMEL, EFP_JSON_KEY_SOC, 0 },
  { "cmsChgDsgState", EFP_JSON_FAMILY_CAMEL, EFP_JSON_KEY_STATE, 0 },
  { "cmsDsgRemTime", EFP_JSON_FAMILY_CAMEL, EFP_JSON_KEY_DSG_MINUTES, 0 },
  { "ems.dsgRemainTime", EFP_JSON_FAMILY_V1, EFP_JSON_KEY_DSG_MINUTES, 0 },
  { "ems.f32LcdShowSoc", EFP_JSON_FAMILY_V1, EFP_JSON_KEY_SOC, 0 },
  { "ems.lcdShowSoc", EFP_JSON_FAMILY_V1, EFP_JSON_KEY_SOC, 1 },
  { "inv.acInFreq", EFP_JSON_FAMILY_COMMON, EFP_JSON_KEY_AC_IN_FREQ, 0 },
  { "inv.acInVol", EFP_JSON_FAMILY_COMMON, EFP_JSON_KEY_AC_IN_MILLIVOLTS, 0 },
  { "pd.chgDsgState", EFP_JSON_FAMILY_COMMON, EFP_JSON_KEY_STATE, 0 },
  { "pd.remainTime", EFP_JSON_FAMILY_COMMON, EFP_JSON_KEY_SIGNED_MINUTES, 1 },
  { "pd.soc", EFP_JSON_FAMILY_COMMON, EFP_JSON_KEY_SOC, 2 },
  { "pd.wattsInSum", EFP_JSON_FAMILY_COMMON, EFP_JSON_KEY_INPUT_WATTS, 0 },
  { "pd.wattsOutSum", EFP_JSON_FAMILY_COMMON, EFP_JSON_KEY_OUTPUT_WATTS, 0 },
  { "plugInInfoAcChargerFlag", EFP_JSON_FAMILY_CAMEL, EFP_JSON_KEY_CHARGER_FLAG, 0 },
  { "plugInInfoAcInVol", EFP_JSON_FAMILY_CAMEL, EFP_JSON_KEY_AC_IN_VOLTS, 0 },
  { "powGetAcIn", EFP_JSON_FAMILY_CAMEL, EFP_JSON_KEY_AC_IN_WATTS, 0 },
  { "powInSumW", EFP_JSON_FAMILY_CAMEL, EFP_JSON_KEY_INPUT_WATTS, 0 },
  { "powOutSumW", EFP_JSON_FAMILY_CAMEL, EFP_JSON_KEY_OUTPUT_WATTS, 0 },
};

static const struct
{
  const gchar *suffix;
  EfpJsonKeyKind kind;
} pack_fields[] = {
  { "soc", EFP_JSON_KEY_PACK_SOC },
  { "f32ShowSoc", EFP_JSON_KEY_PACK_F32_SOC },
  { "temp", EFP_JSON_KEY_PACK_TEMP },
  { "designCap", EFP_JSON_KEY_PACK_DESIGN_CAP },
  { "fullCap", EFP_JSON_KEY_PACK_FULL_CAP },
  { "remainCap", EFP_JSON_KEY_PACK_REMAIN_CAP },
  { "inputWatts", EFP_JSON_KEY_PACK_INPUT_WATTS },
  { "outputWatts", EFP_JSON_KEY_PACK_OUTPUT_WATTS },
  { "remainTime", EFP_JSON_KEY_PACK_REMAIN_TIME },
};

static int
cmp_station_key (const void *key, const void *entry)
{
  return strcmp (key, ((const StationKey *) entry)->key);
}

gboolean
efp_json_keys_table_is_sorted (void)
{
  guint i;

  for (i = 1; i < G_N_ELEMENTS (station_keys); i++)
    if (strcmp (station_keys[i - 1].key, station_keys[i].key) >= 0)
      return FALSE;
  return TRUE;
}

/* "N" of an extra pack, 1..EFP_READING_MAX_PACKS-1; 0 when not a plain number */
static guint
pack_number (const gchar *s, gsize len)
{
  if (len != 1 || s[0] < '1' || s[0] > '7')
    return 0;
  return (guint) (s[0] - '0');
}

/* The pack index a prefix (the part before the last '.') names, or -1. */
static gint
pack_index (const gchar *prefix, gsize len, guint families)
{
  static const gchar v2_slave[] = "bms_slave_bmsSlaveStatus_";
  static const gchar v1_slave[] = "bmsSlave";
  gsize n;

  if ((families & EFP_JSON_FAMILY_V2) != 0)
    {
      if (len == 13 && memcmp (prefix, "bms_bmsStatus", 13) == 0)
        return 0;
      if (len == 9 && memcmp (prefix, "bms_slave", 9) == 0)
        return 1;
      n = sizeof (v2_slave) - 1;
      if (len > n && memcmp (prefix, v2_slave, n) == 0 && pack_number (prefix + n, len - n) > 0)
        return (gint) pack_number (prefix + n, len - n);
    }
  if ((families & EFP_JSON_FAMILY_V1) != 0)
    {
      if (len == 9 && memcmp (prefix, "bmsMaster", 9) == 0)
        return 0;
      n = sizeof (v1_slave) - 1;
      if (len > n && memcmp (prefix, v1_slave, n) == 0 && pack_number (prefix + n, len - n) > 0)
        return (gint) pack_number (prefix + n, len - n);
    }
  return -1;
}

gboolean
efp_json_key_classify (const gchar *key, guint families, EfpJsonKey *out)
{
  const StationKey *sk;
  const gchar *dot;
  gint index;
  guint i;

  sk = bsearch (key, station_keys, G_N_ELEMENTS (station_keys), sizeof (station_keys[0]),
                cmp_station_key);
  if (sk != NULL)
    {
      guint want = sk->family == EFP_JSON_FAMILY_COMMON
                     ? (families & (EFP_JSON_FAMILY_V1 | EFP_JSON_FAMILY_V2))
                     : (families & sk->family);
      if (want == 0)
        return FALSE;
      out->kind = sk->kind;
      out->arg = sk->arg;
      return TRUE;
    }

  dot = strrchr (key, '.');
  if (dot == NULL)
    return FALSE;
  index = pack_index (key, (gsize) (dot - key), families);
  if (index < 0)
    return FALSE;
  for (i = 0; i < G_N_ELEMENTS (pack_fields); i++)
    if (strcmp (dot + 1, pack_fields[i].suffix) == 0)
      {
        out->kind = pack_fields[i].kind;
        out->arg = (guint) index;
        return TRUE;
      }
  return FALSE;
}

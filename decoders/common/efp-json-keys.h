/* efp-json-keys.h: the quota keys of the JSON families (SPEC 7 and 8).
 *
 * One table names every station-level key; pack keys are a prefix naming the
 * pack (bms_bmsStatus., bmsMaster., bms_slave_bmsSlaveStatus_N., bmsSlaveN.)
 * plus a field suffix. Families select which spellings a decoder accepts.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  EFP_JSON_FAMILY_V1 = 1 << 0,     /* DELTA Max / Pro: bmsMaster.*, bmsSlaveN.*, ems.* */
  EFP_JSON_FAMILY_V2 = 1 << 1,     /* DELTA 2 / RIVER 2: bms_bmsStatus.*, bms_emsStatus.* */
  EFP_JSON_FAMILY_CAMEL = 1 << 2,  /* Open API camelCase of the protobuf names (DELTA 3 class) */
  EFP_JSON_FAMILY_COMMON = 1 << 3, /* pd.*, inv.*: both dotted families */
} EfpJsonFamily;

typedef enum
{
  EFP_JSON_KEY_SOC, /* combined SoC; arg = rank */
  EFP_JSON_KEY_INPUT_WATTS,
  EFP_JSON_KEY_OUTPUT_WATTS,
  EFP_JSON_KEY_AC_IN_MILLIVOLTS, /* inv.acInVol */
  EFP_JSON_KEY_AC_IN_FREQ,       /* inv.acInFreq */
  EFP_JSON_KEY_AC_IN_VOLTS,      /* plugInInfoAcInVol */
  EFP_JSON_KEY_AC_IN_WATTS,      /* powGetAcIn */
  EFP_JSON_KEY_CHARGER_FLAG,     /* plugInInfoAcChargerFlag */
  EFP_JSON_KEY_DSG_MINUTES,      /* minutes to empty; arg = rank */
  EFP_JSON_KEY_SIGNED_MINUTES,   /* pd.remainTime: <0 to empty, >0 to full; arg = rank */
  EFP_JSON_KEY_STATE,            /* 0 idle, 1 discharging, 2 charging; arg = rank */
  EFP_JSON_KEY_PACK_SOC,         /* integer pack SoC; arg = pack index */
  EFP_JSON_KEY_PACK_F32_SOC,
  EFP_JSON_KEY_PACK_TEMP,
  EFP_JSON_KEY_PACK_DESIGN_CAP,
  EFP_JSON_KEY_PACK_FULL_CAP,
  EFP_JSON_KEY_PACK_REMAIN_CAP,
  EFP_JSON_KEY_PACK_INPUT_WATTS,
  EFP_JSON_KEY_PACK_OUTPUT_WATTS,
  EFP_JSON_KEY_PACK_REMAIN_TIME,
} EfpJsonKeyKind;

typedef struct
{
  EfpJsonKeyKind kind;
  guint arg; /* rank for station keys, pack index for pack keys */
} EfpJsonKey;

/* What @key means for a decoder accepting @families; FALSE when nothing. */
gboolean efp_json_key_classify (const gchar *key, guint families, EfpJsonKey *out);
/* For the unit test: the station table must stay sorted for bsearch. */
gboolean efp_json_keys_table_is_sorted (void);

G_END_DECLS

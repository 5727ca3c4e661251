/* efp-model-table.h: serial prefixes and product types -> decoder and model name.
 *
 * The table is the data file decoders/models.conf (installed as
 * $datadir/ecoflow-power/models.conf). One entry per line:
 *   KIND  VALUE  DECODER  MODEL NAME
 * KIND is serial (a serial-number prefix), product-id (protobuf header field
 * 15), bms-type (BMS heartbeat product_type) or product-type (JSON
 * productType). A copy of the file is built in, so the decoders (which do no
 * I/O) and an uninstalled ecoflow-decode see the same table.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  EFP_MODEL_KEY_SERIAL,
  EFP_MODEL_KEY_PRODUCT_ID,
  EFP_MODEL_KEY_BMS_TYPE,
  EFP_MODEL_KEY_PRODUCT_TYPE,
} EfpModelKey;

typedef struct
{
  const gchar *decoder; /* "river3plus" */
  const gchar *model;   /* "RIVER 3 Plus" */
} EfpModelEntry;

typedef struct _EfpModelTable EfpModelTable;

/* Parse @text (@len bytes, -1 for NUL-terminated). @origin names it in errors:
 * "ORIGIN:LINE: expected ..., found '...'" (EFP_CONFIG_ERROR_INVALID). */
EfpModelTable *efp_model_table_new_from_data (const gchar *text, gssize len, const gchar *origin,
                                              GError **error);
EfpModelTable *efp_model_table_new_from_file (const gchar *path, GError **error);
/* The installed file when it exists, else the built-in copy. */
EfpModelTable *efp_model_table_new_default (GError **error);
/* The built-in copy, parsed; never fails (the build checks it). */
EfpModelTable *efp_model_table_new_builtin (void);
void efp_model_table_free (EfpModelTable *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpModelTable, efp_model_table_free)

/* The text of decoders/models.conf as built in. */
const gchar *efp_model_table_get_builtin_text (void);

/* Longest serial prefix that matches @serial (case-insensitive); NULL when none. */
const EfpModelEntry *efp_model_table_lookup_serial (const EfpModelTable *self, const gchar *serial);
/* Entry for a numeric key (product-id, bms-type, product-type); NULL when none. */
const EfpModelEntry *efp_model_table_lookup_number (const EfpModelTable *self, EfpModelKey kind,
                                                    guint32 value);
guint efp_model_table_get_size (const EfpModelTable *self);

G_END_DECLS

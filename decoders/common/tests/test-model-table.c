/* test-model-table.c: models.conf parsing and lookups. */
#include <glib/gstdio.h>

#include "efp-model-table.h"
#include "efp-plugin-util.h"

static void
test_builtin (void)
{
  g_autoptr (EfpModelTable) t = efp_model_table_new_builtin ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *path = NULL;
  g_autoptr (EfpModelTable) from_file = NULL;
  const EfpModelEntry *e;

  g_assert_cmpuint (efp_model_table_get_size (t), >, 20);
  e = efp_model_table_lookup_serial (t, "R631ZEB4XXXXXXXX");
  g_assert_nonnull (e);
  g_assert_cmpstr (e->decoder, ==, "river3plus");
  g_assert_cmpstr (e->model, ==, "RIVER 3 Plus");
  e = efp_model_table_lookup_serial (t, "r655abc");
  g_assert_cmpstr (e->model, ==, "RIVER 3");
  e = efp_model_table_lookup_serial (t, "DCEBZ8ZE307XXX");
  g_assert_cmpstr (e->decoder, ==, "delta");
  g_assert_cmpstr (e->model, ==, "DELTA Pro");
  g_assert_null (efp_model_table_lookup_serial (t, "HW51000"));
  g_assert_null (efp_model_table_lookup_serial (t, "R63"));
  g_assert_null (efp_model_table_lookup_serial (t, NULL));

  e = efp_model_table_lookup_number (t, EFP_MODEL_KEY_PRODUCT_ID, 17665);
  g_assert_cmpstr (e->model, ==, "RIVER 3");
  e = efp_model_table_lookup_number (t, EFP_MODEL_KEY_BMS_TYPE, 28);
  g_assert_cmpstr (e->model, ==, "DELTA Pro 3");
  e = efp_model_table_lookup_number (t, EFP_MODEL_KEY_PRODUCT_TYPE, 72);
  g_assert_cmpstr (e->decoder, ==, "river2");
  /* the namespaces stay apart: 72 is no product id */
  g_assert_null (efp_model_table_lookup_number (t, EFP_MODEL_KEY_PRODUCT_ID, 72));

  /* the source file and the built-in copy are the same table */
  path = g_build_filename (g_getenv ("EFP_SOURCE_ROOT"), "decoders", "models.conf", NULL);
  from_file = efp_model_table_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (efp_model_table_get_size (from_file), ==, efp_model_table_get_size (t));
}

static void
test_longest_prefix (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpModelTable) t = efp_model_table_new_from_data (
    "serial R6 river2 Generic\nserial R631 river3plus  RIVER   3\tPlus\n", -1, "t", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (efp_model_table_lookup_serial (t, "R6310")->model, ==, "RIVER 3 Plus");
  g_assert_cmpstr (efp_model_table_lookup_serial (t, "R621")->model, ==, "Generic");
}

static void
expect_error (const gchar *text, const gchar *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpModelTable) t = efp_model_table_new_from_data (text, -1, "models.conf", &error);
  g_assert_null (t);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_errors (void)
{
  expect_error ("# c\n\nserial R631 river3plus\n",
                "models.conf:3: expected 'KIND VALUE DECODER MODEL NAME', found 'serial R631 "
                "river3plus'");
  expect_error ("prefix R631 river3plus X\n",
                "models.conf:1: expected serial, product-id, bms-type or product-type, found "
                "'prefix'");
  expect_error ("product-id 12x delta X\n",
                "models.conf:1: expected a number 0-4294967295, found '12x'");
  expect_error ("product-id 4294967296 delta X\n",
                "models.conf:1: expected a number 0-4294967295, found '4294967296'");
  expect_error ("serial R6-1 delta X\n",
                "models.conf:1: expected a serial prefix of letters and digits, found 'R6-1'");
  expect_error ("serial R631 River3 X\n",
                "models.conf:1: expected a decoder name (a-z, 0-9, -), found 'River3'");
  expect_error ("serial R631 delta X\nserial r631 delta Y\n",
                "models.conf:2: expected each serial prefix once, found 'r631'");
  expect_error ("bms-type 1 delta X\nbms-type 1 delta Y\n",
                "models.conf:2: expected each product id or type once, found 'bms-type 1 delta "
                "Y'");
  expect_error ("serial R631 delta 0123456789012345678901234567890123456789012345678\n",
                "models.conf:1: expected a model name of 1-47 bytes, found "
                "'0123456789012345678901234567890123456789012345678'");
}

static void
test_missing_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpModelTable) t = efp_model_table_new_from_file ("/nonexistent/models.conf", &error);
  g_assert_null (t);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/models.conf: cannot read"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model-table/builtin", test_builtin);
  g_test_add_func ("/model-table/longest-prefix", test_longest_prefix);
  g_test_add_func ("/model-table/errors", test_errors);
  g_test_add_func ("/model-table/missing-file", test_missing_file);
  return g_test_run ();
}

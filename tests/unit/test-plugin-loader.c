/* test-plugin-loader.c: good modules load; bad ones are refused with the file named. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "efp-plugin-loader.h"

static gchar *
build_path (const gchar *rel)
{
  return g_build_filename (g_getenv ("EFP_BUILD_ROOT"), rel, NULL);
}

static void
test_good_decoder (void)
{
  g_autoptr (EfpPluginRegistry) reg = efp_plugin_registry_new ();
  g_autofree gchar *path = build_path ("decoders/efp-decoder-simulated.so");
  g_autoptr (GError) error = NULL;
  const EfpDecoderVTable *vt;
  const gchar *json = "{\"soc\": 50}";

  g_assert_true (efp_plugin_registry_load_decoder (reg, path, &error));
  g_assert_no_error (error);
  vt = efp_plugin_registry_get_decoder (reg, "simulated");
  g_assert_nonnull (vt);
  g_assert_cmpuint (vt->abi_major, ==, EFP_DECODER_ABI_MAJOR);
  /* probing picks it for a JSON object with a soc key, and nothing else */
  g_assert_true (efp_plugin_registry_probe (reg, NULL, (const guint8 *) json, strlen (json)) == vt);
  g_assert_null (efp_plugin_registry_probe (reg, NULL, (const guint8 *) "\x0a\x01", 2));
  /* loading the same name twice is refused */
  g_assert_false (efp_plugin_registry_load_decoder (reg, path, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
}

static void
test_wrong_abi (void)
{
  g_autoptr (EfpPluginRegistry) reg = efp_plugin_registry_new ();
  g_autofree gchar *path = build_path ("tests/efp-decoder-bad-abi.so");
  g_autoptr (GError) error = NULL;

  g_assert_false (efp_plugin_registry_load_decoder (reg, path, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "ABI major version"));
  g_assert_null (efp_plugin_registry_get_decoder (reg, "bad-abi"));
}

static void
test_missing_symbol (void)
{
  g_autoptr (EfpPluginRegistry) reg = efp_plugin_registry_new ();
  g_autofree gchar *path = build_path ("tests/efp-decoder-no-symbol.so");
  g_autoptr (GError) error = NULL;

  g_assert_false (efp_plugin_registry_load_decoder (reg, path, &error));
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "missing symbol efp_decoder_module_query"));
}

static GPtrArray *warnings;

/* The loader logs structured messages; keep the warnings to assert on them. */
static GLogWriterOutput
collect_warnings (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
  gsize i;
  if (!(level & G_LOG_LEVEL_WARNING) || warnings == NULL)
    return G_LOG_WRITER_HANDLED;
  for (i = 0; i < n; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      g_ptr_array_add (warnings, g_strdup (fields[i].value));
  return G_LOG_WRITER_HANDLED;
}

static gboolean
has_warning (const gchar *a, const gchar *b)
{
  guint i;
  for (i = 0; i < warnings->len; i++)
    if (strstr (warnings->pdata[i], a) != NULL && (b == NULL || strstr (warnings->pdata[i], b)))
      return TRUE;
  return FALSE;
}

/* A plugin dir with a good module, a bad one and a world-writable copy:
 * the good one loads, the others are refused, the scan goes on. */
static void
test_directory_scan (void)
{
  g_autoptr (EfpPluginRegistry) reg = efp_plugin_registry_new ();
  g_autofree gchar *dir = g_dir_make_tmp ("efp-plugins-XXXXXX", NULL);
  g_autofree gchar *ddir = g_build_filename (dir, "decoders", NULL);
  g_autofree gchar *good = build_path ("decoders/efp-decoder-simulated.so");
  g_autofree gchar *bad = build_path ("tests/efp-decoder-bad-abi.so");
  g_autofree gchar *contents = NULL;
  g_autofree gchar *bad_contents = NULL;
  g_autofree gchar *p1 = g_build_filename (ddir, "efp-decoder-simulated.so", NULL);
  g_autofree gchar *p2 = g_build_filename (ddir, "efp-decoder-bad-abi.so", NULL);
  g_autofree gchar *p3 = g_build_filename (ddir, "efp-decoder-writable.so", NULL);
  gsize len, bad_len;

  g_assert_cmpint (g_mkdir (ddir, 0755), ==, 0);
  g_assert_true (g_file_get_contents (good, &contents, &len, NULL));
  g_assert_true (g_file_get_contents (bad, &bad_contents, &bad_len, NULL));
  g_assert_true (g_file_set_contents_full (p1, contents, len, 0, 0755, NULL));
  g_assert_true (g_file_set_contents_full (p2, bad_contents, bad_len, 0, 0755, NULL));
  g_assert_true (g_file_set_contents_full (p3, contents, len, 0, 0755, NULL));
  g_assert_cmpint (g_chmod (p3, 0777), ==, 0);

  warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (collect_warnings, NULL, NULL);
  g_assert_cmpuint (efp_plugin_registry_load_dir (reg, dir), ==, 1);
  /* one warning per refused file, naming it, and one for the missing policies/ folder */
  g_assert_cmpuint (warnings->len, ==, 3);
  g_assert_true (has_warning ("efp-decoder-bad-abi.so", "ABI major version"));
  g_assert_true (has_warning ("efp-decoder-writable.so", "writable"));
  g_assert_true (has_warning ("policies", NULL));
  g_clear_pointer (&warnings, g_ptr_array_unref);
  g_assert_nonnull (efp_plugin_registry_get_decoder (reg, "simulated"));
  g_assert_cmpuint (efp_plugin_registry_get_decoders (reg)->len, ==, 1);

  g_unlink (p1);
  g_unlink (p2);
  g_unlink (p3);
  g_rmdir (ddir);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugin-loader/good-decoder", test_good_decoder);
  g_test_add_func ("/plugin-loader/wrong-abi", test_wrong_abi);
  g_test_add_func ("/plugin-loader/missing-symbol", test_missing_symbol);
  g_test_add_func ("/plugin-loader/directory-scan", test_directory_scan);
  return g_test_run ();
}

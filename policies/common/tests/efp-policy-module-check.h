/* efp-policy-module-check.h: load the built efp-policy-<name>.so exactly as the
 * daemon does (EFP_PLUGIN_DIR from the test environment) and check that it is
 * the same policy as the statically linked logic. Header-only, tests only.
 */
#pragma once

#include "efp-plugin-loader.h"
#include "efp-policy-harness.h"

/* Returns the module's vtable, owned by *@registry. */
static inline const EfpPolicyVTable *
harness_load_module (const EfpPolicyVTable *linked, EfpPluginRegistry **registry)
{
  const gchar *dir = g_getenv ("EFP_PLUGIN_DIR");
  g_autofree gchar *file = g_strdup_printf ("efp-policy-%s.so", linked->name);
  g_autofree gchar *path = NULL;
  g_autofree gchar *dump_linked = NULL;
  g_autofree gchar *dump_module = NULL;
  g_autoptr (GError) error = NULL;
  const EfpPolicyVTable *vt;
  guint i;

  g_assert_nonnull (dir);
  path = g_build_filename (dir, "policies", file, NULL);
  *registry = efp_plugin_registry_new ();
  g_assert_true (efp_plugin_registry_load_policy (*registry, path, &error));
  g_assert_no_error (error);
  vt = efp_plugin_registry_get_policy (*registry, linked->name);
  g_assert_nonnull (vt);
  /* the module's own copy, not the one linked into this test */
  g_assert_true (vt != linked);
  g_assert_cmpuint (vt->abi_major, ==, EFP_POLICY_ABI_MAJOR);
  g_assert_cmpuint (vt->struct_size, ==, sizeof (EfpPolicyVTable));
  g_assert_cmpstr (vt->name, ==, linked->name);
  g_assert_nonnull (vt->description);
  g_assert_nonnull (vt->config_new);
  g_assert_nonnull (vt->config_free);
  g_assert_nonnull (vt->config_dump);
  g_assert_nonnull (vt->evaluate);
  for (i = 0; linked->option_keys[i] != NULL; i++)
    g_assert_cmpstr (vt->option_keys[i], ==, linked->option_keys[i]);
  g_assert_null (vt->option_keys[i]);
  dump_linked = harness_dump_defaults (linked);
  dump_module = harness_dump_defaults (vt);
  g_assert_cmpstr (dump_module, ==, dump_linked);
  return vt;
}

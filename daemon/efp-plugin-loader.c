/* efp-plugin-loader.c: sorted directory scan, ABI checks, refusal with a warning. */
#include "efp-plugin-loader.h"

#include <gio/gio.h>
#include <gmodule.h>
#include <string.h>
#include <sys/stat.h>

struct _EfpPluginRegistry
{
  GPtrArray *decoders;      /* const EfpDecoderVTable* */
  GPtrArray *policies;      /* const EfpPolicyVTable* */
  GHashTable *decoder_keys; /* name -> option_keys */
  GHashTable *policy_keys;
};

static const gchar *const no_keys[] = { NULL };

EfpPluginRegistry *
efp_plugin_registry_new (void)
{
  EfpPluginRegistry *self = g_new0 (EfpPluginRegistry, 1);
  self->decoders = g_ptr_array_new ();
  self->policies = g_ptr_array_new ();
  self->decoder_keys = g_hash_table_new (g_str_hash, g_str_equal);
  self->policy_keys = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

void
efp_plugin_registry_free (EfpPluginRegistry *self)
{
  if (self == NULL)
    return;
  /* modules stay resident: vtables and strings point into them */
  g_ptr_array_unref (self->decoders);
  g_ptr_array_unref (self->policies);
  g_hash_table_unref (self->decoder_keys);
  g_hash_table_unref (self->policy_keys);
  g_free (self);
}

/* Open @path and return the query function, refusing unsafe files. */
static gpointer
open_module (const gchar *path, const gchar *symbol, GModule **module_out, GError **error)
{
  struct stat st;
  g_autoptr (GError) local = NULL;
  GModule *module;
  gpointer query = NULL;

  if (stat (path, &st) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: cannot stat: %s", path,
                   g_strerror (errno));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, "%s: not a regular file",
                   path);
      return NULL;
    }
  /* a module anyone can rewrite would run code in the daemon */
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "%s: refused: group- or world-writable (mode %04o)", path,
                   (guint) (st.st_mode & 07777));
      return NULL;
    }
  module = g_module_open_full (path, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY, &local);
  if (module == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot load: %s", path,
                   local != NULL ? local->message : "unknown error");
      return NULL;
    }
  if (!g_module_symbol (module, symbol, &query) || query == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: missing symbol %s", path,
                   symbol);
      g_module_close (module);
      return NULL;
    }
  *module_out = module;
  return query;
}

static gboolean
check_abi (const gchar *path, guint32 major, guint32 want_major, gsize struct_size,
           gsize min_size, const gchar *name, GError **error)
{
  if (major != want_major)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: ABI major version %u, %u is required", path, major, want_major);
      return FALSE;
    }
  if (struct_size < min_size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: vtable too small (%" G_GSIZE_FORMAT " bytes, need %" G_GSIZE_FORMAT ")",
                   path, struct_size, min_size);
      return FALSE;
    }
  if (name == NULL || *name == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: module has no name", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
efp_plugin_registry_load_decoder (EfpPluginRegistry *self, const gchar *path, GError **error)
{
  GModule *module = NULL;
  EfpDecoderQueryFunc query;
  const EfpDecoderVTable *vt;

  query = (EfpDecoderQueryFunc) open_module (path, EFP_DECODER_QUERY_SYMBOL, &module, error);
  if (query == NULL)
    return FALSE;
  vt = query ();
  if (vt == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: query returned nothing",
                   path);
      g_module_close (module);
      return FALSE;
    }
  if (!check_abi (path, vt->abi_major, EFP_DECODER_ABI_MAJOR, vt->struct_size,
                  G_STRUCT_OFFSET (EfpDecoderVTable, decode) + sizeof (gpointer), vt->name,
                  error))
    {
      g_module_close (module);
      return FALSE;
    }
  if (vt->decode == NULL || vt->probe == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: decode or probe missing",
                   path);
      g_module_close (module);
      return FALSE;
    }
  if (efp_plugin_registry_get_decoder (self, vt->name) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "%s: a decoder named '%s' is already loaded", path, vt->name);
      g_module_close (module);
      return FALSE;
    }
  g_module_make_resident (module);
  g_ptr_array_add (self->decoders, (gpointer) vt);
  g_hash_table_insert (self->decoder_keys, (gpointer) vt->name,
                       (gpointer) (vt->option_keys != NULL ? vt->option_keys : no_keys));
  g_debug ("loaded decoder '%s' from %s", vt->name, path);
  return TRUE;
}

gboolean
efp_plugin_registry_load_policy (EfpPluginRegistry *self, const gchar *path, GError **error)
{
  GModule *module = NULL;
  EfpPolicyQueryFunc query;
  const EfpPolicyVTable *vt;

  query = (EfpPolicyQueryFunc) open_module (path, EFP_POLICY_QUERY_SYMBOL, &module, error);
  if (query == NULL)
    return FALSE;
  vt = query ();
  if (vt == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: query returned nothing",
                   path);
      g_module_close (module);
      return FALSE;
    }
  if (!check_abi (path, vt->abi_major, EFP_POLICY_ABI_MAJOR, vt->struct_size,
                  G_STRUCT_OFFSET (EfpPolicyVTable, evaluate) + sizeof (gpointer), vt->name,
                  error))
    {
      g_module_close (module);
      return FALSE;
    }
  if (vt->evaluate == NULL || vt->config_new == NULL || vt->config_free == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "%s: evaluate or config functions missing", path);
      g_module_close (module);
      return FALSE;
    }
  if (efp_plugin_registry_get_policy (self, vt->name) != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "%s: a policy named '%s' is already loaded", path, vt->name);
      g_module_close (module);
      return FALSE;
    }
  g_module_make_resident (module);
  g_ptr_array_add (self->policies, (gpointer) vt);
  g_hash_table_insert (self->policy_keys, (gpointer) vt->name,
                       (gpointer) (vt->option_keys != NULL ? vt->option_keys : no_keys));
  g_debug ("loaded policy '%s' from %s", vt->name, path);
  return TRUE;
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *) a, *(const gchar *const *) b);
}

static guint
load_kind (EfpPluginRegistry *self, const gchar *dir, const gchar *prefix, gboolean policy)
{
  g_autoptr (GDir) d = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  const gchar *name;
  guint n = 0, i;

  d = g_dir_open (dir, 0, &error);
  if (d == NULL)
    {
      g_warning ("plugin directory %s: %s", dir, error->message);
      return 0;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".so"))
      g_ptr_array_add (names, g_strdup (name));
  /* the same order on every start */
  g_ptr_array_sort (names, cmp_str);
  for (i = 0; i < names->len; i++)
    {
      g_autofree gchar *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autoptr (GError) lerr = NULL;
      gboolean ok;

      if (!g_str_has_prefix (names->pdata[i], prefix))
        {
          g_debug ("%s: ignored, not named %s*.so", path, prefix);
          continue;
        }
      ok = policy ? efp_plugin_registry_load_policy (self, path, &lerr)
                  : efp_plugin_registry_load_decoder (self, path, &lerr);
      if (ok)
        n++;
      else
        g_warning ("refusing plugin %s", lerr->message);
    }
  return n;
}

guint
efp_plugin_registry_load_dir (EfpPluginRegistry *self, const gchar *plugin_dir)
{
  g_autofree gchar *ddir = g_build_filename (plugin_dir, "decoders", NULL);
  g_autofree gchar *pdir = g_build_filename (plugin_dir, "policies", NULL);
  return load_kind (self, ddir, "efp-decoder-", FALSE) +
         load_kind (self, pdir, "efp-policy-", TRUE);
}

const EfpDecoderVTable *
efp_plugin_registry_get_decoder (EfpPluginRegistry *self, const gchar *name)
{
  guint i;
  for (i = 0; i < self->decoders->len; i++)
    {
      const EfpDecoderVTable *vt = self->decoders->pdata[i];
      if (g_strcmp0 (vt->name, name) == 0)
        return vt;
    }
  return NULL;
}

const EfpPolicyVTable *
efp_plugin_registry_get_policy (EfpPluginRegistry *self, const gchar *name)
{
  guint i;
  for (i = 0; i < self->policies->len; i++)
    {
      const EfpPolicyVTable *vt = self->policies->pdata[i];
      if (g_strcmp0 (vt->name, name) == 0)
        return vt;
    }
  return NULL;
}

GPtrArray *
efp_plugin_registry_get_decoders (EfpPluginRegistry *self)
{
  return self->decoders;
}

GPtrArray *
efp_plugin_registry_get_policies (EfpPluginRegistry *self)
{
  return self->policies;
}

const EfpDecoderVTable *
efp_plugin_registry_probe (EfpPluginRegistry *self, const gchar *serial, const guint8 *data,
                           gsize len)
{
  const EfpDecoderVTable *best = NULL;
  gint best_score = EFP_PROBE_NO;
  guint i;

  for (i = 0; i < self->decoders->len; i++)
    {
      const EfpDecoderVTable *vt = self->decoders->pdata[i];
      gint score = vt->probe (serial, data, len);
      if (score > best_score)
        {
          best = vt;
          best_score = score;
        }
    }
  return best;
}

GHashTable *
efp_plugin_registry_decoder_option_keys (EfpPluginRegistry *self)
{
  return self->decoder_keys;
}

GHashTable *
efp_plugin_registry_policy_option_keys (EfpPluginRegistry *self)
{
  return self->policy_keys;
}

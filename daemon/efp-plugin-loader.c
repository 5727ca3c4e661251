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
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, "%s: not a regular file", path);
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
check_abi (const gchar *path, guint32 major, guint32 want_major, gsize struct_size, gsize min_size,
           const gchar *name, GError **error)
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

/* The members both vtables begin with (efp-decoder.h, efp-policy.h). */
typedef struct
{
  guint32 abi_major;
  guint32 abi_minor;
  gsize struct_size;
  const gchar *name;
  const gchar *description;
  const gchar *const *option_keys;
} PluginHead;

typedef struct
{
  const gchar *kind; /* "decoder" | "policy" */
  const gchar *symbol;
  guint32 abi_major;
  gsize min_size; /* up to and including the last required function */
  gboolean (*functions_ok) (gconstpointer vtable);
} PluginKind;

static gboolean
decoder_functions_ok (gconstpointer p)
{
  const EfpDecoderVTable *vt = p;
  return vt->decode != NULL && vt->probe != NULL;
}

static gboolean
policy_functions_ok (gconstpointer p)
{
  const EfpPolicyVTable *vt = p;
  return vt->evaluate != NULL && vt->config_new != NULL && vt->config_free != NULL;
}

static const PluginKind decoder_kind = { "decoder", EFP_DECODER_QUERY_SYMBOL, EFP_DECODER_ABI_MAJOR,
                                         G_STRUCT_OFFSET (EfpDecoderVTable, decode) +
                                           sizeof (gpointer),
                                         decoder_functions_ok };
static const PluginKind policy_kind = { "policy", EFP_POLICY_QUERY_SYMBOL, EFP_POLICY_ABI_MAJOR,
                                        G_STRUCT_OFFSET (EfpPolicyVTable, evaluate) +
                                          sizeof (gpointer),
                                        policy_functions_ok };

/* Open, query and check one module; the module stays resident when accepted. */
static gconstpointer
load_module (const gchar *path, const PluginKind *kind, GPtrArray *list, GHashTable *keys,
             GError **error)
{
  GModule *module = NULL;
  gconstpointer (*query) (void);
  const PluginHead *head;
  guint i;

  query = open_module (path, kind->symbol, &module, error);
  if (query == NULL)
    return NULL;
  head = query ();
  if (head == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: query returned nothing", path);
  /* the major version is checked before anything else is read */
  else if (check_abi (path, head->abi_major, kind->abi_major, head->struct_size, kind->min_size,
                      head->name, error))
    {
      if (!kind->functions_ok (head))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                     "%s: a required %s function is missing", path, kind->kind);
      else
        {
          for (i = 0; i < list->len; i++)
            if (g_str_equal (((const PluginHead *) list->pdata[i])->name, head->name))
              break;
          if (i < list->len)
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                         "%s: a %s named '%s' is already loaded", path, kind->kind, head->name);
          else
            {
              g_module_make_resident (module);
              g_ptr_array_add (list, (gpointer) head);
              g_hash_table_insert (
                keys, (gpointer) head->name,
                (gpointer) (head->option_keys != NULL ? head->option_keys : no_keys));
              g_debug ("loaded %s '%s' from %s", kind->kind, head->name, path);
              return head;
            }
        }
    }
  g_module_close (module);
  return NULL;
}

gboolean
efp_plugin_registry_load_decoder (EfpPluginRegistry *self, const gchar *path, GError **error)
{
  return load_module (path, &decoder_kind, self->decoders, self->decoder_keys, error) != NULL;
}

gboolean
efp_plugin_registry_load_policy (EfpPluginRegistry *self, const gchar *path, GError **error)
{
  return load_module (path, &policy_kind, self->policies, self->policy_keys, error) != NULL;
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

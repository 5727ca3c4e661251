/* efp-plugin-loader.h: finds, checks and keeps decoder and policy modules. */
#pragma once

#include <glib.h>
#include "efp-decoder.h"
#include "efp-policy.h"

G_BEGIN_DECLS

typedef struct _EfpPluginRegistry EfpPluginRegistry;

EfpPluginRegistry *efp_plugin_registry_new (void);
void efp_plugin_registry_free (EfpPluginRegistry *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpPluginRegistry, efp_plugin_registry_free)

/* Load <dir>/decoders/efp-decoder-*.so and <dir>/policies/efp-policy-*.so in
 * sorted order. A bad module is refused with a warning naming the file; the
 * rest still load. Returns the number of modules accepted. */
guint efp_plugin_registry_load_dir (EfpPluginRegistry *self, const gchar *plugin_dir);
/* Load one module file; FALSE with a one-line reason naming the file. */
gboolean efp_plugin_registry_load_decoder (EfpPluginRegistry *self, const gchar *path,
                                           GError **error);
gboolean efp_plugin_registry_load_policy (EfpPluginRegistry *self, const gchar *path,
                                          GError **error);

const EfpDecoderVTable *efp_plugin_registry_get_decoder (EfpPluginRegistry *self,
                                                         const gchar *name);
const EfpPolicyVTable *efp_plugin_registry_get_policy (EfpPluginRegistry *self, const gchar *name);
/* (element-type const EfpDecoderVTable*) in load order */
GPtrArray *efp_plugin_registry_get_decoders (EfpPluginRegistry *self);
GPtrArray *efp_plugin_registry_get_policies (EfpPluginRegistry *self);
/* The decoder whose probe scores highest (ties: load order); NULL when none accepts. */
const EfpDecoderVTable *efp_plugin_registry_probe (EfpPluginRegistry *self, const gchar *serial,
                                                   const guint8 *data, gsize len);
/* name -> (const gchar *const *) option keys, for config validation. Owned by @self. */
GHashTable *efp_plugin_registry_decoder_option_keys (EfpPluginRegistry *self);
GHashTable *efp_plugin_registry_policy_option_keys (EfpPluginRegistry *self);

G_END_DECLS

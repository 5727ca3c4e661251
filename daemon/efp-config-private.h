/* efp-config-private.h: shared between the configuration loader's files. */
#pragma once

#include "efp-config.h"
#include "efp-env-file.h"

G_BEGIN_DECLS

gboolean efp_config_valid_name (const gchar *s);
GStrv efp_config_split_list (const gchar *s);
void efp_config_secret_free (gchar *s);
EfpDeviceConfig *efp_config_device_new (const gchar *name);
EfpDeviceConfig *efp_config_find_device_mut (EfpConfig *c, const gchar *name_or_serial);
EfpAgentConfig *efp_config_ensure_agent (EfpConfig *c, const gchar *id);
/* Apply the seed names of @env (name -> EfpEnvEntry*) over @c. */
gboolean efp_config_apply_seed_env (EfpConfig *c, GHashTable *env, GError **error);

G_END_DECLS

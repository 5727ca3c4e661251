/* efp-env-file.h: the seed project's .env format (CONTRACT 3.3). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *key;
  gchar *value;
  gchar *origin; /* "FILE: line N" or "environment" */
} EfpEnvEntry;

/* Parse like the seed: KEY=VALUE lines, '#' comments (also after unquoted
 * values), values in matching quotes may span lines, quotes removed.
 * Returns a table key -> EfpEnvEntry*. */
GHashTable *efp_env_file_parse (const gchar *path, GError **error);
/* Parse from a string (for tests); @origin_name names it in messages. */
GHashTable *efp_env_file_parse_data (const gchar *data, const gchar *origin_name, GError **error);
/* Add the process environment's value of each name in @names (it wins, as in the seed). */
void efp_env_file_add_environment (GHashTable *table, const gchar *const *names);

G_END_DECLS

/* fuzz-env-file.c: libFuzzer harness for the seed-style .env parser (CONTRACT 3.3).
 *
 * Users edit .env files by hand. A refusal is one line; an accepted file gives
 * entries whose key, value and origin are all set.
 */
#include <string.h>

#include "efp-env-file.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  /* the parser reads a C string, as g_file_get_contents gives it */
  g_autofree gchar *text = g_strndup ((const gchar *) data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) table = efp_env_file_parse_data (text, "fuzz.env", &error);
  GHashTableIter it;
  gpointer k, v;

  if (table == NULL)
    {
      if (error == NULL || strchr (error->message, '\n') != NULL)
        __builtin_trap ();
      return 0;
    }
  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const EfpEnvEntry *e = v;
      if (k == NULL || e->key == NULL || e->value == NULL || e->origin == NULL ||
          strcmp (k, e->key) != 0)
        __builtin_trap ();
    }
  return 0;
}

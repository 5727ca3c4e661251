/* efp-env-file.c: read a seed-style .env file unchanged. */
#include "efp-env-file.h"

#include <gio/gio.h>
#include <string.h>

static void
env_entry_free (gpointer p)
{
  EfpEnvEntry *e = p;
  g_free (e->key);
  g_free (e->value);
  g_free (e->origin);
  g_free (e);
}

static void
put (GHashTable *t, const gchar *key, const gchar *value, gchar *origin)
{
  EfpEnvEntry *e = g_new0 (EfpEnvEntry, 1);
  e->key = g_strdup (key);
  e->value = g_strdup (value);
  e->origin = origin;
  g_hash_table_replace (t, e->key, e);
}

static gboolean
valid_name (const gchar *s)
{
  if (*s == '\0' || g_ascii_isdigit (*s))
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isalnum (*s) && *s != '_')
      return FALSE;
  return TRUE;
}

GHashTable *
efp_env_file_parse_data (const gchar *data, const gchar *origin_name, GError **error)
{
  g_autoptr (GHashTable) t = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, env_entry_free);
  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);
  guint n = g_strv_length (lines);
  guint i;

  for (i = 0; i < n; i++)
    {
      g_autofree gchar *line = g_strstrip (g_strdup (lines[i]));
      g_autofree gchar *key = NULL;
      g_autoptr (GString) value = NULL;
      guint first_line = i + 1;
      gchar *eq;

      if (*line == '\0' || *line == '#')
        continue;
      eq = strchr (line, '=');
      if (eq == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: line %u: expected KEY=VALUE, found '%s'", origin_name, first_line,
                       line);
          return NULL;
        }
      *eq = '\0';
      key = g_strstrip (g_strdup (line));
      if (g_str_has_prefix (key, "export "))
        {
          gchar *k = g_strstrip (g_strdup (key + 7));
          g_free (key);
          key = k;
        }
      if (!valid_name (key))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s: line %u: expected a variable name, found '%s'", origin_name, first_line,
                       key);
          return NULL;
        }
      value = g_string_new (g_strstrip (eq + 1));
      if (value->len > 0 && (value->str[0] == '"' || value->str[0] == '\''))
        {
          gchar q = value->str[0];
          /* a quoted value may continue on the following lines until its closing quote */
          while (value->len < 2 || value->str[value->len - 1] != q)
            {
              if (i + 1 >= n)
                {
                  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "%s: line %u: %s: expected a closing %c quote, found the end "
                               "of the file",
                               origin_name, first_line, key, q);
                  return NULL;
                }
              i++;
              g_string_append_c (value, '\n');
              g_string_append (value, lines[i]);
              g_strchomp (value->str);
              value->len = strlen (value->str);
            }
          g_string_erase (value, 0, 1);
          g_string_truncate (value, value->len - 1);
        }
      else
        {
          gchar *hash = strchr (value->str, '#');
          if (hash != NULL)
            g_string_truncate (value, hash - value->str);
        }
      g_strstrip (value->str);
      put (t, key, value->str, g_strdup_printf ("%s: line %u", origin_name, first_line));
    }
  return g_steal_pointer (&t);
}

GHashTable *
efp_env_file_parse (const gchar *path, GError **error)
{
  g_autofree gchar *data = NULL;
  g_autoptr (GError) local = NULL;

  if (!g_file_get_contents (path, &data, NULL, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: cannot read: %s", path,
                   local->message);
      return NULL;
    }
  return efp_env_file_parse_data (data, path, error);
}

void
efp_env_file_add_environment (GHashTable *table, const gchar *const *names)
{
  for (; *names != NULL; names++)
    {
      const gchar *v = g_getenv (*names);
      if (v != NULL)
        put (table, *names, v, g_strdup_printf ("environment variable %s", *names));
    }
}

/* efp-secret.c: read secrets without ever logging them. */
#include "efp-secret.h"

#include <gio/gio.h>
#include <string.h>

static gchar *
strip_one_newline (gchar *s, gsize *len)
{
  gsize n = strlen (s);
  if (n > 0 && s[n - 1] == '\n')
    {
      s[--n] = '\0';
      if (n > 0 && s[n - 1] == '\r')
        s[--n] = '\0';
    }
  if (len != NULL)
    *len = n;
  return s;
}

gchar *
efp_secret_read_credential (const gchar *name, gsize *len)
{
  const gchar *dir = g_getenv ("CREDENTIALS_DIRECTORY");
  g_autofree gchar *path = NULL;
  gchar *contents = NULL;

  if (dir == NULL || name == NULL || strchr (name, '/') != NULL)
    return NULL;
  path = g_build_filename (dir, name, NULL);
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  return strip_one_newline (contents, len);
}

gchar *
efp_secret_read_file (const gchar *path, gsize *len, GError **error)
{
  gchar *contents = NULL;
  gsize n = 0;
  g_autoptr (GError) local = NULL;

  if (!g_path_is_absolute (path))
    {
      gchar *cred = efp_secret_read_credential (path, len);
      if (cred != NULL)
        return cred;
    }
  if (!g_file_get_contents (path, &contents, &n, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "cannot read secret file %s: %s", path,
                   local->message);
      return NULL;
    }
  if (memchr (contents, '\0', n) != NULL || !g_utf8_validate (contents, n, NULL))
    {
      g_free (contents);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "secret file %s: expected UTF-8 text, found binary data", path);
      return NULL;
    }
  return strip_one_newline (contents, len);
}

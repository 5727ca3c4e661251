/* fuzz-replay.c: runs a fuzz harness over its corpus without libFuzzer, so every
 * normal build replays the corpus as a test (TAP, one case per file). */
#include <glib.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static gint
cmp_path (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

static void
collect (const gchar *path, GPtrArray *files)
{
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GPtrArray) names = NULL;
  const gchar *name;
  guint i;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (files, g_strdup (path));
      return;
    }
  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    return;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, cmp_path);
  for (i = 0; i < names->len; i++)
    g_ptr_array_add (files, g_strdup (names->pdata[i]));
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  guint failed = 0;
  guint i;

  for (i = 1; i < (guint) argc; i++)
    collect (argv[i], files);
  g_ptr_array_sort (files, cmp_path);
  if (files->len == 0)
    {
      printf ("Bail out! no corpus files\n");
      return 1;
    }
  printf ("1..%u\n", files->len);
  for (i = 0; i < files->len; i++)
    {
      const gchar *path = files->pdata[i];
      g_autofree gchar *data = NULL;
      gsize len = 0;

      if (!g_file_get_contents (path, &data, &len, NULL))
        {
          printf ("not ok %u - %s (unreadable)\n", i + 1, path);
          failed++;
          continue;
        }
      LLVMFuzzerTestOneInput ((const guint8 *) data, len);
      printf ("ok %u - %s\n", i + 1, path);
      fflush (stdout);
    }
  return failed > 0 ? 1 : 0;
}

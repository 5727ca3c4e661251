/* fuzz-nut-line.c: libFuzzer harness for the NUT request line splitter (port 3493).
 *
 * Any client can send any bytes. A refusal carries a one-line reason; every
 * word of an accepted line, quoted the way values go back to clients, splits
 * back into exactly that word (control characters, which efp_nut_quote turns
 * into blanks, excepted). The UPS name derived from a word stays in [a-z0-9_-].
 */
#include <string.h>

#include "efp-nut-protocol.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_word (const gchar *word)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *quoted = efp_nut_quote (word);
  g_autofree gchar *expected = g_strdup (word);
  g_autofree gchar *name = efp_nut_ups_name (word);
  g_auto (GStrv) again = NULL;
  gchar *p;

  for (p = expected; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = ' ';
  again = efp_nut_split (quoted, strlen (quoted), EFP_NUT_SPLIT_NONE, &error);
  if (again == NULL || again[0] == NULL || again[1] != NULL || strcmp (again[0], expected) != 0)
    __builtin_trap ();
  for (p = name; *p != '\0'; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '_' || *p == '-'))
      __builtin_trap ();
}

static void
split (const guint8 *data, size_t size, EfpNutSplitFlags flags)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) words = efp_nut_split ((const gchar *) data, size, flags, &error);
  guint i;

  if (words == NULL)
    {
      if (error == NULL || strchr (error->message, '\n') != NULL)
        __builtin_trap ();
      return;
    }
  if (g_strv_length (words) > EFP_NUT_MAX_WORDS)
    __builtin_trap ();
  for (i = 0; words[i] != NULL; i++)
    check_word (words[i]);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  split (data, size, EFP_NUT_SPLIT_NONE);
  split (data, size, EFP_NUT_SPLIT_COMMENTS);
  return 0;
}

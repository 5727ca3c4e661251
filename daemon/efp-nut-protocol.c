/* efp-nut-protocol.c: NUT word splitting, quoting, UPS names and ups.status. */
#include "efp-nut-protocol.h"

#include <math.h>

static gboolean
push_word (GPtrArray *words, GString **word, GError **error)
{
  if (words->len >= EFP_NUT_MAX_WORDS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "more than %d words",
                   EFP_NUT_MAX_WORDS);
      return FALSE;
    }
  g_ptr_array_add (words, g_string_free (*word, FALSE));
  *word = NULL;
  return TRUE;
}

gchar **
efp_nut_split (const gchar *line, gsize len, EfpNutSplitFlags flags, GError **error)
{
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  GString *word = NULL; /* NULL between words, so "" can still make an empty word */
  gboolean quoted = FALSE;
  gsize i;

  for (i = 0; i < len; i++)
    {
      gchar c = line[i];

      if (c == '\0')
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "NUL byte in line");
          break;
        }
      if (!quoted && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
        {
          if (word != NULL && !push_word (words, &word, error))
            break;
          continue;
        }
      /* a comment starts only where a word could start, so "pass#1" stays one word */
      if (!quoted && word == NULL && c == '#' && (flags & EFP_NUT_SPLIT_COMMENTS) != 0)
        {
          i = len;
          break;
        }
      if (word == NULL)
        word = g_string_new (NULL);
      if (c == '\\')
        {
          if (i + 1 >= len || line[i + 1] == '\0')
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                   i + 1 >= len ? "backslash at the end of the line"
                                                : "NUL byte in line");
              break;
            }
          g_string_append_c (word, line[++i]);
          continue;
        }
      if (c == '"')
        {
          quoted = !quoted;
          continue;
        }
      g_string_append_c (word, c);
    }

  if (i < len)
    {
      /* the loop stopped on an error */
      if (word != NULL)
        g_string_free (word, TRUE);
      return NULL;
    }
  if (quoted)
    {
      g_string_free (word, TRUE);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unterminated quote");
      return NULL;
    }
  if (word != NULL && !push_word (words, &word, error))
    {
      g_string_free (word, TRUE);
      return NULL;
    }
  g_ptr_array_add (words, NULL);
  return (gchar **) g_ptr_array_free (g_steal_pointer (&words), FALSE);
}

gchar *
efp_nut_quote (const gchar *value)
{
  GString *s = g_string_sized_new (strlen (value) + 2);
  const gchar *p;

  g_string_append_c (s, '"');
  for (p = value; *p != '\0'; p++)
    {
      /* a control character would end or corrupt the reply line */
      if ((guchar) *p < 0x20 || *p == 0x7f)
        {
          g_string_append_c (s, ' ');
          continue;
        }
      if (*p == '\\' || *p == '"')
        g_string_append_c (s, '\\');
      g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
  return g_string_free (s, FALSE);
}

static gchar
name_char (gunichar c)
{
  if (c < 0x80 && (g_ascii_isalnum ((gchar) c) || c == '_' || c == '-'))
    return g_ascii_tolower ((gchar) c);
  return '_';
}

gchar *
efp_nut_ups_name (const gchar *device)
{
  GString *s = g_string_new (NULL);
  const gchar *p;

  if (g_utf8_validate (device, -1, NULL))
    {
      for (p = device; *p != '\0'; p = g_utf8_next_char (p))
        g_string_append_c (s, name_char (g_utf8_get_char (p)));
    }
  else
    {
      for (p = device; *p != '\0'; p++)
        g_string_append_c (s, name_char ((guchar) *p));
    }
  return g_string_free (s, FALSE);
}

gchar *
efp_nut_ups_status (const EfpReading *r, gdouble charge_low, gboolean fsd)
{
  GString *s = g_string_new (NULL);
  gboolean on_battery = r->grid_connected == EFP_TRISTATE_FALSE;
  gboolean low = fsd;

  if (on_battery && !isnan (charge_low) && !isnan (r->soc) && r->soc <= charge_low)
    low = TRUE;
  if (fsd)
    g_string_append (s, "FSD ");
  g_string_append (s, on_battery ? "OB" : "OL");
  if (!on_battery && r->chg_dsg_state == 2)
    g_string_append (s, " CHRG");
  if (low)
    g_string_append (s, " LB");
  return g_string_free (s, FALSE);
}

gchar *
efp_nut_format_number (gdouble value)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  gdouble rounded = round (value * 10.0) / 10.0;

  if (rounded == 0.0)
    rounded = 0.0; /* no "-0" */
  if (rounded == floor (rounded) && fabs (rounded) < 1e15)
    return g_strdup_printf ("%.0f", rounded);
  return g_strdup (g_ascii_formatd (buf, sizeof (buf), "%.1f", rounded));
}

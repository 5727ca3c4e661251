/* efp-model-table.c: the models.conf parser and lookups. */
#include "efp-model-table.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "efp-models-builtin.h"
#include "efp-plugin-util.h"

/* decoders/models.conf as configured into efp-models-builtin.h */
static const char efp_models_builtin_text[] = EFP_MODELS_BUILTIN_TEXT;

#define MODEL_NAME_MAX 47 /* EfpReading.model holds 48 bytes with the NUL */

typedef struct
{
  EfpModelEntry pub;
  gchar *prefix; /* serial entries only, upper case */
} Entry;

struct _EfpModelTable
{
  GPtrArray *entries;  /* Entry*, owned */
  GPtrArray *serials;  /* Entry*, longest prefix first */
  GHashTable *numbers; /* (kind << 32 | value) -> Entry* */
};

static const struct
{
  const gchar *name;
  EfpModelKey kind;
} kinds[] = {
  { "serial", EFP_MODEL_KEY_SERIAL },
  { "product-id", EFP_MODEL_KEY_PRODUCT_ID },
  { "bms-type", EFP_MODEL_KEY_BMS_TYPE },
  { "product-type", EFP_MODEL_KEY_PRODUCT_TYPE },
};

static void
entry_free (gpointer p)
{
  Entry *e = p;
  g_free ((gchar *) e->pub.decoder);
  g_free ((gchar *) e->pub.model);
  g_free (e->prefix);
  g_free (e);
}

static guint64
number_key (EfpModelKey kind, guint32 value)
{
  return ((guint64) kind << 32) | value;
}

static gint
longest_first (gconstpointer a, gconstpointer b)
{
  const Entry *ea = *(const Entry *const *) a;
  const Entry *eb = *(const Entry *const *) b;
  return (gint) strlen (eb->prefix) - (gint) strlen (ea->prefix);
}

static gboolean
valid_decoder_name (const gchar *s)
{
  for (; *s != '\0'; s++)
    if (!(g_ascii_isdigit (*s) || g_ascii_islower (*s) || *s == '-'))
      return FALSE;
  return TRUE;
}

static gboolean
fail (GError **error, const gchar *origin, guint lineno, const gchar *expected, const gchar *found)
{
  g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID, "%s:%u: expected %s, found '%s'",
               origin, lineno, expected, found);
  return FALSE;
}

/* One non-comment line: KIND VALUE DECODER MODEL... (blanks between words
 * collapse, so the model name's own spaces become single spaces). */
static gboolean
parse_line (EfpModelTable *self, const gchar *origin, guint lineno, const gchar *line,
            GError **error)
{
  g_auto (GStrv) all = g_strsplit_set (line, " \t", -1);
  g_autoptr (GPtrArray) tok = g_ptr_array_new ();
  g_autofree gchar *model = NULL;
  const gchar *kind_s, *value_s, *decoder_s;
  EfpModelKey kind = EFP_MODEL_KEY_SERIAL;
  gboolean kind_ok = FALSE;
  guint64 value = 0;
  Entry *e;
  guint i;

  for (i = 0; all[i] != NULL; i++)
    if (all[i][0] != '\0')
      g_ptr_array_add (tok, all[i]);
  if (tok->len < 4)
    return fail (error, origin, lineno, "'KIND VALUE DECODER MODEL NAME'", line);
  g_ptr_array_add (tok, NULL);
  model = g_strjoinv (" ", (gchar **) tok->pdata + 3);
  kind_s = tok->pdata[0];
  value_s = tok->pdata[1];
  decoder_s = tok->pdata[2];

  for (i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (kind_s, kinds[i].name))
      {
        kind = kinds[i].kind;
        kind_ok = TRUE;
      }
  if (!kind_ok)
    return fail (error, origin, lineno, "serial, product-id, bms-type or product-type", kind_s);

  if (kind == EFP_MODEL_KEY_SERIAL)
    {
      const gchar *c;
      for (c = value_s; *c != '\0'; c++)
        if (!g_ascii_isalnum (*c))
          return fail (error, origin, lineno, "a serial prefix of letters and digits", value_s);
    }
  else
    {
      gchar *end = NULL;
      errno = 0;
      value = g_ascii_strtoull (value_s, &end, 10);
      if (!g_ascii_isdigit (value_s[0]) || *end != '\0' || errno != 0 || value > G_MAXUINT32)
        return fail (error, origin, lineno, "a number 0-4294967295", value_s);
    }
  if (!valid_decoder_name (decoder_s))
    return fail (error, origin, lineno, "a decoder name (a-z, 0-9, -)", decoder_s);
  if (strlen (model) > MODEL_NAME_MAX)
    return fail (error, origin, lineno, "a model name of 1-47 bytes", model);

  e = g_new0 (Entry, 1);
  e->pub.decoder = g_strdup (decoder_s);
  e->pub.model = g_steal_pointer (&model);
  g_ptr_array_add (self->entries, e);
  if (kind == EFP_MODEL_KEY_SERIAL)
    {
      for (i = 0; i < self->serials->len; i++)
        {
          const Entry *o = self->serials->pdata[i];
          if (g_ascii_strcasecmp (o->prefix, value_s) == 0)
            return fail (error, origin, lineno, "each serial prefix once", value_s);
        }
      e->prefix = g_ascii_strup (value_s, -1);
      g_ptr_array_add (self->serials, e);
    }
  else
    {
      guint64 *key = g_new (guint64, 1);
      *key = number_key (kind, (guint32) value);
      if (g_hash_table_contains (self->numbers, key))
        {
          g_free (key);
          return fail (error, origin, lineno, "each product id or type once", line);
        }
      g_hash_table_insert (self->numbers, key, e);
    }
  return TRUE;
}

EfpModelTable *
efp_model_table_new_from_data (const gchar *text, gssize len, const gchar *origin, GError **error)
{
  g_autoptr (EfpModelTable) self = g_new0 (EfpModelTable, 1);
  g_autofree gchar *copy = NULL;
  g_auto (GStrv) lines = NULL;
  guint i;

  self->entries = g_ptr_array_new_with_free_func (entry_free);
  self->serials = g_ptr_array_new ();
  self->numbers = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  copy = len < 0 ? g_strdup (text) : g_strndup (text, (gsize) len);
  if (!g_utf8_validate (copy, -1, NULL))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "%s: expected UTF-8 text, found invalid bytes", origin);
      return NULL;
    }
  lines = g_strsplit (copy, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    {
      gchar *line = g_strstrip (lines[i]);
      if (*line == '\0' || *line == '#')
        continue;
      if (!parse_line (self, origin, i + 1, line, error))
        return NULL;
    }
  g_ptr_array_sort (self->serials, longest_first);
  return g_steal_pointer (&self);
}

EfpModelTable *
efp_model_table_new_from_file (const gchar *path, GError **error)
{
  g_autofree gchar *text = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;

  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO, "%s: cannot read: %s", path,
                   local->message);
      return NULL;
    }
  return efp_model_table_new_from_data (text, (gssize) len, path, error);
}

EfpModelTable *
efp_model_table_new_default (GError **error)
{
  g_autofree gchar *path = g_build_filename (EFP_DATADIR, "models.conf", NULL);

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return efp_model_table_new_from_file (path, error);
  return efp_model_table_new_builtin ();
}

EfpModelTable *
efp_model_table_new_builtin (void)
{
  g_autoptr (GError) error = NULL;
  EfpModelTable *self;

  self =
    efp_model_table_new_from_data (efp_models_builtin_text, -1, "models.conf (built in)", &error);
  /* the unit test parses the same text, so this only guards a broken build */
  g_assert_no_error (error);
  return self;
}

void
efp_model_table_free (EfpModelTable *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->serials, g_ptr_array_unref);
  g_clear_pointer (&self->numbers, g_hash_table_unref);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_free (self);
}

const gchar *
efp_model_table_get_builtin_text (void)
{
  return efp_models_builtin_text;
}

const EfpModelEntry *
efp_model_table_lookup_serial (const EfpModelTable *self, const gchar *serial)
{
  guint i;

  if (serial == NULL)
    return NULL;
  for (i = 0; i < self->serials->len; i++)
    {
      const Entry *e = self->serials->pdata[i];
      gsize n = strlen (e->prefix);
      if (g_ascii_strncasecmp (serial, e->prefix, n) == 0 && strlen (serial) >= n)
        return &e->pub;
    }
  return NULL;
}

const EfpModelEntry *
efp_model_table_lookup_number (const EfpModelTable *self, EfpModelKey kind, guint32 value)
{
  guint64 key = number_key (kind, value);
  const Entry *e = g_hash_table_lookup (self->numbers, &key);
  return e != NULL ? &e->pub : NULL;
}

guint
efp_model_table_get_size (const EfpModelTable *self)
{
  return self->entries->len;
}

/* ecoflow-decode.c: decode captured EcoFlow frames offline (CONTRACT section 1).
 *
 * Frames are merged with the daemon's own EfpDecoderSession, so what this
 * prints after each frame is what the daemon would publish (CONTRACT 4.2).
 */
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "efp-decoder-session.h"
#include "efp-model-table.h"
#include "efp-plugin-loader.h"
#include "efp-reading-json.h"

#define EXIT_USAGE   64
#define EXIT_DATAERR 65
#define EXIT_CONFIG  78

typedef enum
{
  INPUT_AUTO,
  INPUT_HEX,
  INPUT_BASE64,
  INPUT_JSON,
  INPUT_RAW,
} InputFormat;

typedef struct
{
  EfpPluginRegistry *registry;
  EfpModelTable *models;
  const EfpDecoderVTable *vtable; /* NULL until chosen */
  EfpDecoderSession *session;
  GHashTable *options;
  const gchar *serial;
  const gchar *model;
  const gchar *grid_source;
  guint n_failed;
} Decode;

static void
decode_clear (Decode *d)
{
  g_clear_pointer (&d->session, efp_decoder_session_free);
  g_clear_pointer (&d->options, g_hash_table_unref);
  g_clear_pointer (&d->models, efp_model_table_free);
  g_clear_pointer (&d->registry, efp_plugin_registry_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Decode, decode_clear)

static gboolean
vtable_has_option (const EfpDecoderVTable *vt, const gchar *key)
{
  guint i;

  for (i = 0; vt->option_keys != NULL && vt->option_keys[i] != NULL; i++)
    if (g_str_equal (vt->option_keys[i], key))
      return TRUE;
  return FALSE;
}

static gchar *
decoder_names (EfpPluginRegistry *registry)
{
  GPtrArray *all = efp_plugin_registry_get_decoders (registry);
  g_autoptr (GString) s = g_string_new (NULL);
  guint i;

  for (i = 0; i < all->len; i++)
    {
      const EfpDecoderVTable *vt = all->pdata[i];
      g_string_append_printf (s, "%s%s", i > 0 ? ", " : "", vt->name);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Create the session once the decoder is known; FALSE (exit 64) on a bad option. */
static gboolean
ensure_session (Decode *d, GError **error)
{
  EfpDecoderSetup setup = { sizeof (EfpDecoderSetup), d->serial, d->model, d->options };

  if (d->session != NULL)
    return TRUE;
  if (d->grid_source != NULL && !vtable_has_option (d->vtable, "grid-source"))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--grid-source: decoder %s has no grid-source option", d->vtable->name);
      return FALSE;
    }
  d->session = efp_decoder_session_new (d->vtable, &setup, error);
  return d->session != NULL;
}

static gboolean
is_hex (const gchar *s, gsize len)
{
  gsize i;

  if (len == 0 || len % 2 != 0)
    return FALSE;
  for (i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

static gboolean
is_base64 (const gchar *s, gsize len)
{
  gsize i;

  if (len == 0 || len % 4 != 0)
    return FALSE;
  for (i = 0; i < len; i++)
    if (!(g_ascii_isalnum (s[i]) || s[i] == '+' || s[i] == '/' || (s[i] == '=' && i + 2 >= len)))
      return FALSE;
  return TRUE;
}

/* One text line -> frame bytes; NULL with a reason when the text is not @format. */
static GBytes *
line_to_frame (gchar *line, InputFormat format, GError **error)
{
  gsize len;

  g_strstrip (line);
  len = strlen (line);
  if (format == INPUT_AUTO)
    format = line[0] == '{' ? INPUT_JSON : is_hex (line, len) ? INPUT_HEX : INPUT_BASE64;

  switch (format)
    {
      case INPUT_HEX:
        {
          guint8 *b;
          gsize i;
          if (!is_hex (line, len))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "expected an even number of hex digits");
              return NULL;
            }
          b = g_malloc (len / 2);
          for (i = 0; i < len / 2; i++)
            b[i] = (guint8) (g_ascii_xdigit_value (line[2 * i]) << 4 |
                             g_ascii_xdigit_value (line[2 * i + 1]));
          return g_bytes_new_take (b, len / 2);
        }
      case INPUT_BASE64:
        {
          gsize n = 0;
          guchar *b;
          if (!is_base64 (line, len))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "expected base64 text");
              return NULL;
            }
          b = g_base64_decode (line, &n);
          return g_bytes_new_take (b, n);
        }
      case INPUT_JSON:
      case INPUT_AUTO:
      case INPUT_RAW:
      default:
        return g_bytes_new (line, len);
    }
}

static void
print_state (Decode *d)
{
  const EfpReading *r = efp_decoder_session_get_reading (d->session);
  EfpReadingMeta meta = { 0 };
  g_autofree gchar *json = NULL;

  meta.device = d->serial != NULL ? d->serial : "device";
  meta.serial = d->serial;
  meta.decoder = d->vtable->name;
  /* the frame just arrived: fresh by definition */
  meta.stale = FALSE;
  meta.ts = efp_decoder_session_get_last_frame_us (d->session) / G_USEC_PER_SEC;
  json = efp_reading_to_json (r, &meta);
  g_print ("%s\n", json);
  fflush (stdout);
}

/* Decode one frame; FALSE only for a fatal (command line) problem. */
static gboolean
feed_frame (Decode *d, const gchar *where, GBytes *frame, GError **fatal)
{
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (frame, &len);

  if (d->vtable == NULL)
    {
      d->vtable = efp_plugin_registry_probe (d->registry, d->serial, data, len);
      if (d->vtable == NULL)
        {
          g_printerr ("ecoflow-decode: %s: no decoder recognises this frame (%" G_GSIZE_FORMAT
                      " bytes)\n",
                      where, len);
          d->n_failed++;
          return TRUE;
        }
    }
  if (!ensure_session (d, fatal))
    return FALSE;
  if (!efp_decoder_session_feed (d->session, data, len, g_get_real_time (), &error))
    {
      g_printerr ("ecoflow-decode: %s: %s\n", where, error->message);
      d->n_failed++;
      return TRUE;
    }
  print_state (d);
  return TRUE;
}

static GInputStream *
open_input (const gchar *path, GError **error)
{
  g_autoptr (GFile) file = NULL;

  if (path == NULL || g_str_equal (path, "-"))
    return g_unix_input_stream_new (0, FALSE);
  file = g_file_new_for_commandline_arg (path);
  return G_INPUT_STREAM (g_file_read (file, NULL, error));
}

static gboolean
run_lines (Decode *d, GInputStream *in, InputFormat format, GError **fatal)
{
  g_autoptr (GDataInputStream) lines = g_data_input_stream_new (in);
  guint lineno = 0;

  g_data_input_stream_set_newline_type (lines, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *line = g_data_input_stream_read_line (lines, NULL, NULL, &error);
      g_autofree gchar *where = NULL;
      g_autoptr (GBytes) frame = NULL;

      if (line == NULL)
        {
          if (error != NULL)
            {
              g_printerr ("ecoflow-decode: read error: %s\n", error->message);
              d->n_failed++;
            }
          return TRUE;
        }
      lineno++;
      g_strstrip (line);
      if (line[0] == '\0' || line[0] == '#')
        continue;
      where = g_strdup_printf ("line %u", lineno);
      frame = line_to_frame (line, format, &error);
      if (frame == NULL)
        {
          g_printerr ("ecoflow-decode: %s: %s\n", where, error->message);
          d->n_failed++;
          continue;
        }
      if (!feed_frame (d, where, frame, fatal))
        return FALSE;
    }
}

static gboolean
run_raw (Decode *d, GInputStream *in, GError **fatal)
{
  g_autoptr (GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) frame = NULL;

  if (g_output_stream_splice (mem, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error) < 0)
    {
      g_printerr ("ecoflow-decode: read error: %s\n", error->message);
      d->n_failed++;
      return TRUE;
    }
  frame = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
  return feed_frame (d, "frame", frame, fatal);
}

int
main (int argc, char **argv)
{
  g_autofree gchar *plugin_dir = NULL;
  g_autofree gchar *decoder = NULL;
  g_autofree gchar *serial = NULL;
  g_autofree gchar *grid_source = NULL;
  gboolean hex = FALSE, base64 = FALSE, json = FALSE, raw = FALSE, version = FALSE;
  g_auto (GStrv) files = NULL;
  GOptionEntry entries[] = {
    { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &plugin_dir,
      "Directory holding decoders/ (default " EFP_PLUGIN_DIR ")", "DIR" },
    { "decoder", 0, 0, G_OPTION_ARG_STRING, &decoder,
      "Decoder to use (default: by serial, else by probing)", "NAME" },
    { "serial", 0, 0, G_OPTION_ARG_STRING, &serial, "Serial number of the station", "SN" },
    { "grid-source", 0, 0, G_OPTION_ARG_STRING, &grid_source,
      "Grid signal (river3plus: auto, charger-flag, tag27)", "S" },
    { "hex", 0, 0, G_OPTION_ARG_NONE, &hex, "Every line is one frame in hex", NULL },
    { "base64", 0, 0, G_OPTION_ARG_NONE, &base64, "Every line is one frame in base64", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Every line is one JSON frame", NULL },
    { "raw", 0, 0, G_OPTION_ARG_NONE, &raw, "The input is one binary frame", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "[FILE|-]" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- decode captured EcoFlow frames");
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) in = NULL;
  g_auto (Decode) d = { 0 };
  InputFormat format = INPUT_AUTO;
  gboolean ok;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (
    ctx, "Without --hex, --base64, --json or --raw every line is one frame in whichever of\n"
         "those it looks like. After each decoded frame one line of state JSON is printed;\n"
         "an undecodable frame prints its reason on stderr. Exit status 65 if any failed.");
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("ecoflow-decode: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (version)
    {
      g_print ("ecoflow-decode %s\n", PACKAGE_VERSION);
      return 0;
    }
  if ((hex ? 1 : 0) + (base64 ? 1 : 0) + (json ? 1 : 0) + (raw ? 1 : 0) > 1)
    {
      g_printerr ("ecoflow-decode: --hex, --base64, --json and --raw exclude each other\n");
      return EXIT_USAGE;
    }
  format = hex      ? INPUT_HEX
           : base64 ? INPUT_BASE64
           : json   ? INPUT_JSON
           : raw    ? INPUT_RAW
                    : INPUT_AUTO;
  if (files != NULL && g_strv_length (files) > 1)
    {
      g_printerr ("ecoflow-decode: expected one FILE (or -), found %u\n", g_strv_length (files));
      return EXIT_USAGE;
    }

  d.registry = efp_plugin_registry_new ();
  efp_plugin_registry_load_dir (d.registry, plugin_dir != NULL ? plugin_dir : EFP_PLUGIN_DIR);
  if (efp_plugin_registry_get_decoders (d.registry)->len == 0)
    {
      g_printerr ("ecoflow-decode: %s/decoders: no decoder modules\n",
                  plugin_dir != NULL ? plugin_dir : EFP_PLUGIN_DIR);
      return EXIT_CONFIG;
    }
  d.models = efp_model_table_new_default (&error);
  if (d.models == NULL)
    {
      g_printerr ("ecoflow-decode: %s\n", error->message);
      return EXIT_CONFIG;
    }
  d.serial = serial;
  d.grid_source = grid_source;
  d.options = g_hash_table_new (g_str_hash, g_str_equal);
  if (grid_source != NULL)
    g_hash_table_insert (d.options, (gpointer) "grid-source", grid_source);
  if (serial != NULL)
    {
      const EfpModelEntry *e = efp_model_table_lookup_serial (d.models, serial);
      if (e != NULL)
        {
          d.model = e->model;
          d.vtable = efp_plugin_registry_get_decoder (d.registry, e->decoder);
        }
    }
  if (decoder != NULL)
    {
      d.vtable = efp_plugin_registry_get_decoder (d.registry, decoder);
      if (d.vtable == NULL)
        {
          g_autofree gchar *names = decoder_names (d.registry);
          g_printerr ("ecoflow-decode: --decoder: expected one of %s, found '%s'\n", names,
                      decoder);
          return EXIT_USAGE;
        }
    }
  /* a known decoder checks its options before any input is read */
  if (d.vtable != NULL && !ensure_session (&d, &error))
    {
      g_printerr ("ecoflow-decode: %s\n", error->message);
      return EXIT_USAGE;
    }

  in = open_input (files != NULL ? files[0] : NULL, &error);
  if (in == NULL)
    {
      g_printerr ("ecoflow-decode: %s: %s\n", files[0], error->message);
      return EXIT_USAGE;
    }
  ok = format == INPUT_RAW ? run_raw (&d, in, &error) : run_lines (&d, in, format, &error);
  if (!ok)
    {
      g_printerr ("ecoflow-decode: %s\n", error->message);
      return EXIT_USAGE;
    }
  return d.n_failed > 0 ? EXIT_DATAERR : 0;
}

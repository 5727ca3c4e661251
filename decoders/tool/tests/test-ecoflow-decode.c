/* test-ecoflow-decode.c: the ecoflow-decode program, run as a user runs it. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "efp-test-vectors.h"

static GPtrArray *vectors;
static gchar *tmpdir;

typedef struct
{
  gint status;
  gchar *out;
  gchar *err;
  gchar **lines; /* stdout lines, without the empty last one */
} Run;

static void
run_clear (Run *r)
{
  g_free (r->out);
  g_free (r->err);
  g_strfreev (r->lines);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* ecoflow-decode --plugin-dir $EFP_PLUGIN_DIR ARGS... < @stdin_text */
static void
run (Run *r, const gchar *stdin_text, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *arg;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) ECOFLOW_DECODE_PATH);
  g_ptr_array_add (argv, (gpointer) "--plugin-dir");
  g_ptr_array_add (argv, (gpointer) g_getenv ("EFP_PLUGIN_DIR"));
  va_start (ap, stdin_text);
  while ((arg = va_arg (ap, const gchar *)) != NULL)
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  p = g_subprocess_newv ((const gchar *const *) argv->pdata,
                         G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                           G_SUBPROCESS_FLAGS_STDERR_PIPE,
                         &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (p, stdin_text != NULL ? stdin_text : "", NULL,
                                                &r->out, &r->err, &error));
  g_assert_no_error (error);
  r->status = g_subprocess_get_exit_status (p);
  r->lines = g_strsplit (r->out, "\n", -1);
  if (g_strv_length (r->lines) > 0)
    {
      guint n = g_strv_length (r->lines);
      g_free (r->lines[n - 1]);
      r->lines[n - 1] = NULL;
    }
  g_test_message ("exit %d, stderr: %s", r->status, r->err);
}

static JsonObject *
parse_line (JsonParser *parser, const gchar *line)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, line, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* the vector's payload as the text a capture holds: hex, base64 or one JSON line */
static gchar *
vector_line (const gchar *name, const gchar *as)
{
  const EfpTestVector *v = efp_test_vectors_find (vectors, name);
  gsize len = 0, i;
  const guint8 *p;
  GString *s;

  g_assert_nonnull (v);
  p = g_bytes_get_data (v->payload, &len);
  if (g_str_equal (as, "base64"))
    return g_base64_encode (p, len);
  if (g_str_equal (as, "json"))
    {
      /* one line per frame */
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_assert_true (json_parser_load_from_data (parser, (const gchar *) p, (gssize) len, NULL));
      json_generator_set_root (gen, json_parser_get_root (parser));
      return json_generator_to_data (gen, NULL);
    }
  s = g_string_new (NULL);
  for (i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", p[i]);
  return g_string_free (s, FALSE);
}

/* RIVER 3 unplug/replug in hex: one state line per frame, merged like the daemon */
static void
test_hex_sequence (void)
{
  g_autofree gchar *a = vector_line ("river3_r655_get_reply_ac_unplugged", "hex");
  g_autofree gchar *b = vector_line ("river3_r655_display_incr_xor_ac_return", "hex");
  g_autofree gchar *c = vector_line ("river3_r655_display_incr_xor_charging", "hex");
  g_autofree gchar *d = vector_line ("river3_r655_display_incr_xor_soc", "hex");
  g_autofree gchar *input = g_strdup_printf ("# capture\n%s\n\n%s\r\n%s\n%s\n", a, b, c, d);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_auto (Run) r = { 0 };
  JsonObject *o;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  run (&r, input, "--hex", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpuint (g_strv_length (r.lines), ==, 4);
  o = parse_line (parser, r.lines[0]);
  g_assert_false (json_object_get_boolean_member (o, "grid_connected"));
  g_assert_true (json_object_get_boolean_member (o, "on_battery"));
  g_assert_cmpstr (json_object_get_string_member (o, "grid_source"), ==, "charger-flag");
  g_assert_cmpint (json_object_get_int_member (o, "remain_minutes"), ==, 500);
  o = parse_line (parser, r.lines[3]);
  g_assert_cmpstr (json_object_get_string_member (o, "decoder"), ==, "river3plus");
  g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, "RIVER 3");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "soc"), 99.0, 1e-3);
  g_assert_true (json_object_get_boolean_member (o, "grid_connected"));
  g_assert_cmpstr (json_object_get_string_member (o, "grid_source"), ==, "ac-in-watts");
  g_assert_true (json_object_get_null_member (o, "remain_minutes"));
  g_assert_false (json_object_get_boolean_member (o, "stale"));
  g_assert_cmpint (json_object_get_int_member (o, "ts"), >=, now - 5);
  g_assert_cmpint (json_object_get_int_member (o, "ts"), <=, now + 5);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "packs")), ==, 1);
}

/* base64 lines, decoder found by probing; a bad frame is reported and skipped */
static void
test_base64_bad_line (void)
{
  g_autofree gchar *a = vector_line ("deltapro3_cms_heartbeat_xor", "base64");
  g_autofree gchar *b = vector_line ("deltapro3_bms_heartbeat_a", "base64");
  g_autofree gchar *input = g_strdup_printf ("%s\nnot*base64\nAAAA\n%s\n", a, b);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_auto (Run) r = { 0 };
  g_auto (GStrv) err = NULL;
  JsonObject *o;

  run (&r, input, "--base64", NULL);
  g_assert_cmpint (r.status, ==, 65);
  g_assert_cmpuint (g_strv_length (r.lines), ==, 2);
  err = g_strsplit (r.err, "\n", -1);
  g_assert_cmpuint (g_strv_length (err), ==, 3); /* two lines and the empty tail */
  g_assert_cmpstr (err[0], ==, "ecoflow-decode: line 2: expected base64 text");
  g_assert_true (g_str_has_prefix (err[1], "ecoflow-decode: line 3: delta: "));
  o = parse_line (parser, r.lines[1]);
  g_assert_cmpstr (json_object_get_string_member (o, "decoder"), ==, "delta");
  g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, "DELTA Pro 3");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "soc"), 35.103, 1e-3);
}

/* JSON lines from a file; auto-detected format; --serial names the device */
static void
test_json_file (void)
{
  g_autofree gchar *a = vector_line ("delta2_app_update_bms", "json");
  g_autofree gchar *b = vector_line ("delta2max_latest_quotas_two_extra_batteries", "json");
  g_autofree gchar *path = g_build_filename (tmpdir, "d2.json", NULL);
  g_autofree gchar *text = g_strdup_printf ("%s\n%s\n", a, b);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_auto (Run) r = { 0 };
  JsonObject *o;

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  run (&r, NULL, "--serial", "R351ZEB4X", path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpuint (g_strv_length (r.lines), ==, 2);
  o = parse_line (parser, r.lines[1]);
  g_assert_cmpstr (json_object_get_string_member (o, "device"), ==, "R351ZEB4X");
  g_assert_cmpstr (json_object_get_string_member (o, "serial"), ==, "R351ZEB4X");
  g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, "DELTA 2 Max");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "soc"), 72.1, 1e-3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "packs")), ==, 3);
}

/* --raw: one binary frame; --grid-source tag27 gives the seed's answer */
static void
test_raw_tag27 (void)
{
  const EfpTestVector *v = efp_test_vectors_find (vectors, "river3plus_get_reply_two_batteries");
  g_autofree gchar *path = g_build_filename (tmpdir, "frame.bin", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_auto (Run) r = { 0 };
  g_auto (Run) bad = { 0 };
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (v->payload, &len);
  JsonObject *o;

  g_assert_true (g_file_set_contents (path, (const gchar *) p, (gssize) len, NULL));
  run (&r, NULL, "--raw", "--serial", "R631ZEB4X", "--grid-source", "tag27", path, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpuint (g_strv_length (r.lines), ==, 1);
  o = parse_line (parser, r.lines[0]);
  g_assert_cmpstr (json_object_get_string_member (o, "grid_source"), ==, "tag27");
  g_assert_true (json_object_get_boolean_member (o, "grid_connected"));
  g_assert_cmpstr (json_object_get_string_member (o, "model"), ==, "RIVER 3 Plus");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (o, "soc"), 64.0, 1e-3);

  /* half a frame: refused, exit 65 */
  g_assert_true (g_file_set_contents (path, (const gchar *) p, (gssize) len / 2, NULL));
  run (&bad, NULL, "--raw", path, NULL);
  g_assert_cmpint (bad.status, ==, 65);
  g_assert_cmpuint (g_strv_length (bad.lines), ==, 0);
  g_assert_true (g_str_has_prefix (bad.err, "ecoflow-decode: frame: "));
}

static void
test_usage_errors (void)
{
  struct
  {
    const gchar *args[4];
    gint status;
    const gchar *err;
  } cases[] = {
    { { "--decoder", "nope", NULL },
      64,
      "ecoflow-decode: --decoder: expected one of delta, river2, river3plus, simulated, found "
      "'nope'\n" },
    { { "--decoder", "delta", "--grid-source", "tag27" },
      64,
      "ecoflow-decode: --grid-source: decoder delta has no grid-source option\n" },
    { { "--decoder", "river3plus", "--grid-source", "field27" },
      64,
      "ecoflow-decode: river3plus: grid-source: expected auto, charger-flag or tag27, found "
      "'field27'\n" },
    { { "--hex", "--json", NULL },
      64,
      "ecoflow-decode: --hex, --base64, --json and --raw exclude each other\n" },
    { { "--bogus", NULL }, 64, "ecoflow-decode: Unknown option --bogus\n" },
    { { "/nonexistent/capture.hex", NULL }, 64, NULL },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (Run) r = { 0 };
      run (&r, "", cases[i].args[0], cases[i].args[1], cases[i].args[2], cases[i].args[3], NULL);
      g_assert_cmpint (r.status, ==, cases[i].status);
      if (cases[i].err != NULL)
        g_assert_cmpstr (r.err, ==, cases[i].err);
      g_assert_cmpstr (r.out, ==, "");
    }
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  vectors = efp_test_vectors_load (NULL, &error);
  g_assert_no_error (error);
  tmpdir = g_dir_make_tmp ("ecoflow-decode-XXXXXX", &error);
  g_assert_no_error (error);
  g_test_add_func ("/ecoflow-decode/hex-sequence", test_hex_sequence);
  g_test_add_func ("/ecoflow-decode/base64-bad-line", test_base64_bad_line);
  g_test_add_func ("/ecoflow-decode/json-file", test_json_file);
  g_test_add_func ("/ecoflow-decode/raw-tag27", test_raw_tag27);
  g_test_add_func ("/ecoflow-decode/usage-errors", test_usage_errors);
  rc = g_test_run ();
  {
    g_autofree gchar *a = g_build_filename (tmpdir, "d2.json", NULL);
    g_autofree gchar *b = g_build_filename (tmpdir, "frame.bin", NULL);
    g_unlink (a);
    g_unlink (b);
    g_rmdir (tmpdir);
  }
  return rc;
}

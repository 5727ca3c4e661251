/* efp-test-vectors.c: vectors.json loading and envelope building for tests. */
#include "efp-test-vectors.h"

#include <string.h>

#include "efp_envelope.pb-c.h"

void
efp_test_vector_free (EfpTestVector *v)
{
  if (v == NULL)
    return;
  g_free (v->name);
  g_free (v->device);
  g_free (v->payload_kind);
  g_clear_pointer (&v->payload, g_bytes_unref);
  g_clear_pointer (&v->raw, g_bytes_unref);
  g_clear_pointer (&v->node, json_node_unref);
  g_free (v);
}

static GBytes *
decode_text (const gchar *encoding, const gchar *text)
{
  if (g_str_equal (encoding, "base64"))
    {
      gsize len = 0;
      guchar *b = g_base64_decode (text, &len);
      return g_bytes_new_take (b, len);
    }
  if (g_str_equal (encoding, "hex"))
    {
      gsize n = strlen (text) / 2;
      guint8 *b = g_malloc (n);
      gsize i;
      for (i = 0; i < n; i++)
        b[i] = (guint8) (g_ascii_xdigit_value (text[2 * i]) << 4 |
                         g_ascii_xdigit_value (text[2 * i + 1]));
      return g_bytes_new_take (b, n);
    }
  return g_bytes_new (text, strlen (text));
}

static gint
member_int (JsonObject *o, const gchar *key, gint def)
{
  return json_object_has_member (o, key) ? (gint) json_object_get_int_member (o, key) : def;
}

GBytes *
efp_test_envelope_wrap (const guint8 *pdata, gsize len, gint src, gint cmd_func, gint cmd_id,
                        gboolean xor, guint32 seq, gint product_id)
{
  Efp__HeaderMessage msg = EFP__HEADER_MESSAGE__INIT;
  Efp__Header h = EFP__HEADER__INIT;
  Efp__Header *hp = &h;
  g_autofree guint8 *copy = g_memdup2 (pdata, len);
  guint8 *out;
  gsize n, i;

  if (xor)
    for (i = 0; i < len; i++)
      copy[i] ^= (guint8) (seq & 0xff);
  h.has_pdata = TRUE;
  h.pdata.data = copy;
  h.pdata.len = len;
  h.has_src = TRUE;
  h.src = src;
  h.has_dest = TRUE;
  h.dest = 32;
  h.has_cmd_func = TRUE;
  h.cmd_func = cmd_func;
  h.has_cmd_id = TRUE;
  h.cmd_id = cmd_id;
  h.has_data_len = TRUE;
  h.data_len = (gint) len;
  h.has_enc_type = xor;
  h.enc_type = 1;
  h.has_seq = TRUE;
  h.seq = seq;
  h.has_product_id = product_id > 0;
  h.product_id = product_id;
  h.has_version = TRUE;
  h.version = 3;
  msg.n_header = 1;
  msg.header = &hp;
  n = efp__header_message__get_packed_size (&msg);
  out = g_malloc (n);
  efp__header_message__pack (&msg, out);
  return g_bytes_new_take (out, n);
}

GBytes *
efp_test_envelope_pick (GBytes *bundle, guint index)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bundle, &len);
  Efp__HeaderMessage *msg = efp__header_message__unpack (NULL, len, data);
  Efp__HeaderMessage one = EFP__HEADER_MESSAGE__INIT;
  guint8 *out;
  gsize n;

  g_assert_nonnull (msg);
  g_assert_cmpuint (index, <, msg->n_header);
  one.n_header = 1;
  one.header = &msg->header[index];
  n = efp__header_message__get_packed_size (&one);
  out = g_malloc (n);
  efp__header_message__pack (&one, out);
  efp__header_message__free_unpacked (msg, NULL);
  return g_bytes_new_take (out, n);
}

static GBytes *
wrap_pdata (GBytes *pdata, JsonObject *logged)
{
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (pdata, &len);
  gboolean xor = member_int (logged, "encType", 0) == 1;

  return efp_test_envelope_wrap (p, len, member_int (logged, "src", 0),
                                 member_int (logged, "cmdFunc", 0), member_int (logged, "cmdId", 0),
                                 xor, (guint32) member_int (logged, "seq", 0),
                                 member_int (logged, "productId", 0));
}

GPtrArray *
efp_test_vectors_load (const gchar *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) efp_test_vector_free);
  g_autofree gchar *default_path = NULL;
  JsonArray *arr;
  guint i;

  if (path == NULL)
    {
      const gchar *shared = g_getenv ("EFP_SHARED_DIR");
      if (shared == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "EFP_SHARED_DIR is not set");
          return NULL;
        }
      path = default_path = g_build_filename (shared, "protocol", "vectors.json", NULL);
    }
  if (!json_parser_load_from_file (parser, path, error))
    return NULL;
  arr = json_node_get_array (json_parser_get_root (parser));
  for (i = 0; i < json_array_get_length (arr); i++)
    {
      JsonObject *o = json_array_get_object_element (arr, i);
      EfpTestVector *v = g_new0 (EfpTestVector, 1);

      v->name = g_strdup (json_object_get_string_member (o, "name"));
      v->device = g_strdup (json_object_get_string_member (o, "device"));
      v->payload_kind = g_strdup (json_object_get_string_member (o, "payload_kind"));
      v->raw = decode_text (json_object_get_string_member (o, "encoding"),
                            json_object_get_string_member (o, "payload"));
      v->node = json_node_copy (json_object_get_member (o, "expected"));
      v->expected = json_node_get_object (v->node);
      if (g_str_equal (v->payload_kind, "pdata"))
        v->payload =
          wrap_pdata (v->raw, json_object_get_object_member (v->expected, "header_as_logged"));
      else
        v->payload = g_bytes_ref (v->raw);
      g_ptr_array_add (out, v);
    }
  return g_steal_pointer (&out);
}

const EfpTestVector *
efp_test_vectors_find (GPtrArray *vectors, const gchar *name)
{
  guint i;

  for (i = 0; i < vectors->len; i++)
    {
      const EfpTestVector *v = vectors->pdata[i];
      if (g_str_equal (v->name, name))
        return v;
    }
  return NULL;
}

const gchar *
efp_test_vector_decoder (const EfpTestVector *v)
{
  if (g_str_has_prefix (v->device, "RIVER 3"))
    return "river3plus";
  if (g_str_has_prefix (v->device, "RIVER 2"))
    return "river2";
  return "delta";
}

gchar *
efp_test_vector_model (const EfpTestVector *v)
{
  const gchar *paren = strstr (v->device, " (");
  return paren != NULL ? g_strndup (v->device, (gsize) (paren - v->device)) : g_strdup (v->device);
}

/* test-envelope.c: every protobuf vector's headers and payload fields, as
 * vectors.json lists them, come out of efp_envelope_parse and the protoc-c
 * schemas (floats within 1e-3). Fields are looked up by name in the generated
 * descriptors, so a renamed or mistyped schema field fails here. */
#include <math.h>
#include <string.h>

#include "efp-decoder.h"
#include "efp-envelope.h"
#include "efp-test-vectors.h"

static GPtrArray *vectors;

/* report which field differs, then stop the test case */
#define fail(...)                                                                                  \
  do                                                                                               \
    {                                                                                              \
      g_printerr (__VA_ARGS__);                                                                    \
      g_printerr ("\n");                                                                           \
      g_assert_not_reached ();                                                                     \
    }                                                                                              \
  while (0)

static gdouble
node_double (JsonNode *n)
{
  return json_node_get_value_type (n) == G_TYPE_BOOLEAN ? (json_node_get_boolean (n) ? 1 : 0)
                                                        : json_node_get_double (n);
}

static void check_message (const gchar *where, const ProtobufCMessage *m, JsonObject *fields);

/* One scalar element of field @fd stored at @p against @want. */
static void
check_scalar (const gchar *where, const ProtobufCFieldDescriptor *fd, const void *p, JsonNode *want)
{
  switch (fd->type)
    {
      case PROTOBUF_C_TYPE_FLOAT:
        if (fabs (*(const float *) p - node_double (want)) > 1e-3)
          fail ("%s.%s: %g, expected %g", where, fd->name, *(const float *) p, node_double (want));
        break;
      case PROTOBUF_C_TYPE_INT32:
      case PROTOBUF_C_TYPE_ENUM:
        g_assert_cmpint (*(const gint32 *) p, ==, (gint64) node_double (want));
        break;
      case PROTOBUF_C_TYPE_UINT32:
        g_assert_cmpuint (*(const guint32 *) p, ==, (guint64) node_double (want));
        break;
      case PROTOBUF_C_TYPE_UINT64:
        g_assert_cmpuint (*(const guint64 *) p, ==, (guint64) node_double (want));
        break;
      case PROTOBUF_C_TYPE_BOOL:
        g_assert_cmpint (*(const protobuf_c_boolean *) p != 0, ==, node_double (want) != 0);
        break;
      case PROTOBUF_C_TYPE_STRING:
        g_assert_cmpstr (*(const char *const *) p, ==, json_node_get_string (want));
        break;
      case PROTOBUF_C_TYPE_MESSAGE:
        check_message (where, *(const ProtobufCMessage *const *) p, json_node_get_object (want));
        break;
      default:
        fail ("%s.%s: type %d not compared", where, fd->name, fd->type);
    }
}

static gsize
scalar_size (const ProtobufCFieldDescriptor *fd)
{
  switch (fd->type)
    {
      case PROTOBUF_C_TYPE_UINT64:
        return 8;
      case PROTOBUF_C_TYPE_STRING:
      case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof (void *);
      default:
        return 4;
    }
}

static void
check_message (const gchar *where, const ProtobufCMessage *m, JsonObject *fields)
{
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *want;

  g_assert_nonnull (m);
  json_object_iter_init (&iter, fields);
  while (json_object_iter_next (&iter, &name, &want))
    {
      const ProtobufCFieldDescriptor *fd;
      const guint8 *base = (const guint8 *) m;

      if (g_ascii_isdigit (name[0]))
        fd = protobuf_c_message_descriptor_get_field (m->descriptor, (unsigned) atoi (name));
      else
        fd = protobuf_c_message_descriptor_get_field_by_name (m->descriptor, name);
      if (fd == NULL)
        fail ("%s: schema %s has no field %s", where, m->descriptor->short_name, name);

      if (fd->label == PROTOBUF_C_LABEL_REPEATED)
        {
          JsonArray *a = json_node_get_array (want);
          gsize n = *(const size_t *) (base + fd->quantifier_offset);
          const guint8 *elems = *(const guint8 *const *) (base + fd->offset);
          guint i;
          g_assert_cmpuint (n, ==, json_array_get_length (a));
          for (i = 0; i < n; i++)
            check_scalar (where, fd, elems + i * scalar_size (fd), json_array_get_element (a, i));
          continue;
        }
      if (fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_MESSAGE)
        {
          if (*(const void *const *) (base + fd->offset) == NULL)
            fail ("%s: %s.%s absent", where, m->descriptor->short_name, fd->name);
        }
      else if (!*(const protobuf_c_boolean *) (base + fd->quantifier_offset))
        fail ("%s: %s.%s absent", where, m->descriptor->short_name, fd->name);
      check_scalar (where, fd, base + fd->offset, want);
    }
}

static void
check_header (const gchar *where, const EfpEnvelopeItem *it, JsonObject *want)
{
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *node;

  json_object_iter_init (&iter, want);
  while (json_object_iter_next (&iter, &name, &node))
    {
      if (g_str_equal (name, "pdata_len"))
        g_assert_cmpuint (it->pdata_len, ==, json_node_get_int (node));
      else if (g_str_equal (name, "xor_key"))
        {
          g_assert_true (it->xored);
          g_assert_cmpuint (it->xor_key, ==, json_node_get_int (node));
        }
      else
        {
          g_autoptr (JsonObject) one = json_object_new ();
          json_object_set_member (one, name, json_node_copy (node));
          check_message (where, &it->header->base, one);
        }
    }
  if (!json_object_has_member (want, "xor_key"))
    g_assert_false (it->xored);
}

static const gchar *
message_name (EfpPayloadKind kind)
{
  const ProtobufCMessageDescriptor *d = efp_payload_kind_get_descriptor (kind);
  if (d == NULL)
    return NULL;
  /* vectors.json spells the heartbeats the way the app does */
  if (kind == EFP_PAYLOAD_CMS_HEARTBEAT)
    return "CMSHeartBeatReport";
  if (kind == EFP_PAYLOAD_BMS_HEARTBEAT)
    return "BMSHeartBeatReport";
  return d->short_name;
}

static void
test_vector (gconstpointer data)
{
  const EfpTestVector *v = data;
  EfpArena arena;
  EfpEnvelope env;
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (v->payload, &len);
  JsonArray *headers;
  guint i;

  efp_arena_init (&arena, 1024);
  g_assert_true (efp_envelope_parse (&arena, p, len, &env, &error));
  g_assert_true (efp_envelope_unpack_all (&env, &error));
  g_assert_no_error (error);

  if (g_str_equal (v->payload_kind, "pdata"))
    {
      /* the rebuilt envelope carries the logged header; the payload is the vector */
      g_assert_cmpuint (env.n_items, ==, 1);
      g_assert_cmpstr (message_name (env.items[0].kind), ==,
                       json_object_get_string_member (v->expected, "message"));
      check_message (v->name, env.items[0].message,
                     json_object_get_object_member (v->expected, "fields"));
      efp_arena_clear (&arena);
      return;
    }

  headers = json_object_get_array_member (v->expected, "headers");
  g_assert_cmpuint (env.n_items, ==, json_array_get_length (headers));
  for (i = 0; i < env.n_items; i++)
    {
      JsonObject *h = json_array_get_object_element (headers, i);
      const EfpEnvelopeItem *it = &env.items[i];
      g_autofree gchar *where = g_strdup_printf ("%s header %u", v->name, i + 1);

      check_header (where, it, json_object_get_object_member (h, "header"));
      if (json_object_has_member (h, "message"))
        {
          g_assert_cmpstr (message_name (it->kind), ==,
                           json_object_get_string_member (h, "message"));
          check_message (where, it->message, json_object_get_object_member (h, "fields"));
        }
      if (json_object_has_member (h, "pdata_hex"))
        {
          g_autofree gchar *hex = NULL;
          GString *s = g_string_new (NULL);
          gsize k;
          for (k = 0; k < it->pdata_len; k++)
            g_string_append_printf (s, "%02x", it->pdata[k]);
          hex = g_string_free (s, FALSE);
          g_assert_cmpstr (hex, ==, json_object_get_string_member (h, "pdata_hex"));
          check_message (where, it->message, json_object_get_object_member (h, "pdata_fields"));
        }
    }
  efp_arena_clear (&arena);
}

static void
expect_error (const guint8 *data, gsize len, gint code)
{
  EfpArena arena;
  EfpEnvelope env;
  g_autoptr (GError) error = NULL;

  efp_arena_init (&arena, 64);
  g_assert_false (efp_envelope_parse (&arena, data, len, &env, &error) &&
                  efp_envelope_unpack_all (&env, &error));
  g_assert_error (error, EFP_DECODER_ERROR, code);
  g_assert_null (strchr (error->message, '\n'));
  g_test_message ("%s", error->message);
  efp_arena_clear (&arena);
}

static void
test_bad_envelopes (void)
{
  const EfpTestVector *v = efp_test_vectors_find (vectors, "river3plus_display_full_xor");
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (v->payload, &len);
  g_autofree guint8 *copy = g_memdup2 (p, len);
  static const guint8 no_header[] = { 0x10, 0x01 };
  gsize i;

  /* every truncation of a frame is refused, none crashes */
  for (i = 1; i < len; i++)
    expect_error (p, i, EFP_DECODER_ERROR_MALFORMED);
  expect_error (no_header, sizeof (no_header), EFP_DECODER_ERROR_MALFORMED);
  expect_error ((const guint8 *) "{\"soc\": 5}", 10, EFP_DECODER_ERROR_MALFORMED);

  /* a wrong XOR key turns the payload into garbage the schema refuses */
  for (i = 0; i + 1 < len; i++)
    if (copy[i] == 0x70 && copy[i + 1] == ((21747299 & 0x7f) | 0x80))
      break;
  g_assert_cmpuint (i + 1, <, len);
  copy[i + 1] ^= 0x01; /* seq's low byte: key 0x63 becomes 0x62 */
  expect_error (copy, len, EFP_DECODER_ERROR_MALFORMED);
}

static void
test_data_len_mismatch (void)
{
  static const guint8 pdata[] = { 0x1d, 0x00, 0x00, 0x80, 0x3f }; /* field 3 = 1.0f */
  g_autoptr (GBytes) good = efp_test_envelope_wrap (pdata, sizeof (pdata), 2, 254, 21, FALSE, 1, 0);
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (good, &len);
  g_autofree guint8 *bad = g_memdup2 (p, len);
  gsize i;

  for (i = 0; i + 1 < len; i++)
    if (bad[i] == 0x50 && bad[i + 1] == sizeof (pdata)) /* field 10 data_len */
      bad[i + 1] = sizeof (pdata) + 1;
  expect_error (bad, len, EFP_DECODER_ERROR_TRUNCATED);
}

static void
test_routing (void)
{
  g_assert_cmpint (efp_envelope_route (TRUE, 254, 21, TRUE), ==, EFP_PAYLOAD_DISPLAY);
  g_assert_cmpint (efp_envelope_route (TRUE, 254, 22, TRUE), ==, EFP_PAYLOAD_RUNTIME);
  g_assert_cmpint (efp_envelope_route (TRUE, 32, 2, TRUE), ==, EFP_PAYLOAD_CMS_HEARTBEAT);
  g_assert_cmpint (efp_envelope_route (TRUE, 32, 50, TRUE), ==, EFP_PAYLOAD_BMS_HEARTBEAT);
  /* unverified heartbeat variants are never guess-decoded */
  g_assert_cmpint (efp_envelope_route (TRUE, 32, 51, TRUE), ==, EFP_PAYLOAD_IGNORED);
  g_assert_cmpint (efp_envelope_route (TRUE, 254, 27, TRUE), ==, EFP_PAYLOAD_IGNORED);
  g_assert_cmpint (efp_envelope_route (TRUE, 99, 99, TRUE), ==, EFP_PAYLOAD_UNKNOWN);
  g_assert_cmpint (efp_envelope_route (FALSE, 0, 0, FALSE), ==, EFP_PAYLOAD_REQUEST);
}

static void
test_wake_request (void)
{
  /* SPEC 2.2: the get-all request, one header without pdata and cmd pair */
  static const guint8 req[] = { 0x0a, 0x10, 0x10, 0x20, 0x18, 0x20, 0x70, 0xe9, 0xd9,
                                0x85, 0xa0, 0x04, 0xba, 0x01, 0x03, 0x69, 0x6f, 0x73 };
  EfpArena arena;
  EfpEnvelope env;

  efp_arena_init (&arena, 64);
  g_assert_true (efp_envelope_parse (&arena, req, sizeof (req), &env, NULL));
  g_assert_cmpuint (env.n_items, ==, 1);
  g_assert_cmpint (env.items[0].kind, ==, EFP_PAYLOAD_REQUEST);
  g_assert_cmpuint (env.items[0].seq, ==, 1140944105);
  g_assert_cmpstr (env.items[0].header->from, ==, "ios");
  efp_arena_clear (&arena);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  guint i;

  g_test_init (&argc, &argv, NULL);
  vectors = efp_test_vectors_load (NULL, &error);
  g_assert_no_error (error);
  for (i = 0; i < vectors->len; i++)
    {
      const EfpTestVector *v = vectors->pdata[i];
      g_autofree gchar *path = NULL;
      if (g_str_equal (v->payload_kind, "json"))
        continue;
      path = g_strdup_printf ("/envelope/vector/%s", v->name);
      g_test_add_data_func (path, v, test_vector);
    }
  g_test_add_func ("/envelope/bad", test_bad_envelopes);
  g_test_add_func ("/envelope/data-len-mismatch", test_data_len_mismatch);
  g_test_add_func ("/envelope/routing", test_routing);
  g_test_add_func ("/envelope/wake-request", test_wake_request);
  return g_test_run ();
}

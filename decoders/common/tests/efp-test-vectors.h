/* efp-test-vectors.h: the captured frames of vectors.json, for tests and the benchmark. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *name;
  gchar *device;       /* "RIVER 3 Plus (R631) with extra battery" */
  gchar *payload_kind; /* envelope | pdata | json */
  GBytes *payload;     /* the bytes as published (pdata vectors: wrapped, see below) */
  GBytes *raw;         /* the bytes as stored in the file, decoded from hex/base64 */
  JsonObject *expected;
  JsonNode *node; /* keeps @expected alive */
} EfpTestVector;

void efp_test_vector_free (EfpTestVector *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpTestVector, efp_test_vector_free)

/* $EFP_SHARED_DIR/protocol/vectors.json, or @path when not NULL. pdata vectors
 * get an envelope rebuilt from expected.header_as_logged (XORed again when the
 * logged header says encType=1), so every payload is a publishable frame. */
GPtrArray *efp_test_vectors_load (const gchar *path, GError **error);
/* NULL when no vector has that name */
const EfpTestVector *efp_test_vectors_find (GPtrArray *vectors, const gchar *name);

/* The decoder a vector's device belongs to: river3plus, delta or river2. */
const gchar *efp_test_vector_decoder (const EfpTestVector *v);
/* The model name the device string starts with ("RIVER 3 Plus"). */
gchar *efp_test_vector_model (const EfpTestVector *v);

/* Envelope with one header around @pdata (tests build frames with it). */
GBytes *efp_test_envelope_wrap (const guint8 *pdata, gsize len, gint src, gint cmd_func,
                                gint cmd_id, gboolean xor, guint32 seq, gint product_id);
/* Envelope holding only header @index of a bundle (0-based). */
GBytes *efp_test_envelope_pick (GBytes *bundle, guint index);

G_END_DECLS

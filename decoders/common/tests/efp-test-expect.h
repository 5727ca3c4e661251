/* efp-test-expect.h: what a fresh device state must look like after one vector.
 *
 * The expectation comes from the vector's own expected fields (vectors.json),
 * read with the SPEC section 7 rules; the reading comes from the real plugin
 * .so through an EfpDecoderSession, exactly as the daemon merges frames.
 */
#pragma once

#include "efp-decoder-session.h"
#include "efp-plugin-loader.h"
#include "efp-test-vectors.h"

G_BEGIN_DECLS

/* The plugins of $EFP_PLUGIN_DIR, loaded once per test program. */
EfpPluginRegistry *efp_test_registry (void);
/* A session of decoder @name; @grid_source may be NULL. */
EfpDecoderSession *efp_test_session_new (const gchar *name, const gchar *grid_source,
                                         const gchar *model);
gboolean efp_test_feed (EfpDecoderSession *s, GBytes *frame, GError **error);
/* Was this vector sent by the app (src 32), so no decoder takes data from it? */
gboolean efp_test_vector_is_app_message (const EfpTestVector *v);
/* Assert @r is what a fresh session shows after @v alone. */
void efp_test_expect_vector (const EfpTestVector *v, const EfpReading *r);
/* Register /NAME/vector/<vector> for every vector of decoder @name: decode it
 * through the plugin, check the reading and that probing picks @name. */
void efp_test_add_vector_tests (GPtrArray *vectors, const gchar *name);
/* Every byte of @before equals @after (a refused frame changed nothing). */
void efp_test_assert_same_reading (const EfpReading *before, const EfpReading *after);

G_END_DECLS

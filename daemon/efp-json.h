/* efp-json.h: JSON text with numbers as people write them.
 *
 * json-glib prints doubles with 17 significant digits (65.471999999999994);
 * every JSON the project emits goes through this writer instead, which prints
 * at most 15 (65.472) and is otherwise plain compact or indented JSON.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Compact one-line JSON when @indent is 0, else pretty with @indent spaces. */
gchar *efp_json_to_string (JsonNode *node, guint indent);

G_END_DECLS

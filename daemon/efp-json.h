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

/* json_parser_load_from_data () for untrusted text, plus: every string and member name is
 * valid UTF-8 (json-glib turns escapes such as \224 into raw bytes that are not, and
 * GVariant, D-Bus and JSON writers refuse those later), and the message of an error is
 * one line. */
gboolean efp_json_load (JsonParser *parser, const gchar *data, gssize len, GError **error);

G_END_DECLS

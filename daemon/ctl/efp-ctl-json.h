/* efp-ctl-json.h: JSON helpers of ecoflow-powerctl. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* @value as JSON: a{sv}/a{s*} become objects, other containers arrays,
 * NaN or infinite doubles null (JSON has no NaN). */
JsonNode *efp_ctl_json_from_variant (GVariant *value);
/* Pretty JSON text of @root with a trailing newline. */
gchar *efp_ctl_json_to_string (JsonNode *root, gboolean pretty);

G_END_DECLS

/* efp-cloud-sign.h: the Open API request signature (SPEC 2.1), pure functions. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The string to sign: @params (a JSON object: the query parameters of a GET or
 * the body of a POST/PUT; NULL or empty for none) flattened with "." and "[i]",
 * sorted by key in byte order, joined with "&", then
 * "accessKey=<AK>&nonce=<N>&timestamp=<T>" appended in that order. */
gchar *efp_cloud_sign_message (JsonObject *params, const gchar *access_key, const gchar *nonce,
                               const gchar *timestamp);
/* lowercase hex HMAC-SHA256 of @message keyed with @secret_key */
gchar *efp_cloud_sign_hmac (const gchar *secret_key, const gchar *message);
/* Both steps: the "sign" header value. */
gchar *efp_cloud_sign (JsonObject *params, const gchar *access_key, const gchar *secret_key,
                       const gchar *nonce, const gchar *timestamp);

G_END_DECLS

/* efp-cloud-login.h: the EcoFlow REST API (SPEC 2.1, 2.2): hosts, requests, answers. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define EFP_CLOUD_ERROR (efp_cloud_error_quark ())
GQuark efp_cloud_error_quark (void);

typedef enum
{
  EFP_CLOUD_ERROR_HTTP,  /* HTTP status other than 2xx */
  EFP_CLOUD_ERROR_PARSE, /* not JSON, or a field missing or of the wrong type */
  EFP_CLOUD_ERROR_API,   /* "code" other than 0 */
} EfpCloudError;

/* MQTT credentials from a certification answer. */
typedef struct
{
  gchar *host;
  guint16 port;
  gchar *username; /* certificateAccount */
  gchar *password; /* certificatePassword: secret */
} EfpCloudCert;

void efp_cloud_cert_free (EfpCloudCert *cert);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpCloudCert, efp_cloud_cert_free)

/* Base URL without a trailing slash: @api_url when set (https, or http to a
 * loopback host only), else the host of @region ("eu", "us"; NULL: legacy).
 * Errors are EFP_CONFIG_ERROR with a "[cloud] key: ..." message. */
gchar *efp_cloud_resolve_api_url (const gchar *api_url, const gchar *region, GError **error);

/* POST /auth/login with the password base64-encoded. */
SoupMessage *efp_cloud_login_message (const gchar *base_url, const gchar *email,
                                      const gchar *password);
/* GET /iot-auth/app/certification?userId= with the bearer token. */
SoupMessage *efp_cloud_app_cert_message (const gchar *base_url, const gchar *token,
                                         const gchar *user_id);
/* Signed GET @path (e.g. "/iot-open/sign/certification"); @query: NULL or
 * string pairs "key", "value", ..., NULL. */
SoupMessage *efp_cloud_open_get_message (const gchar *base_url, const gchar *path,
                                         const gchar *access_key, const gchar *secret_key,
                                         const gchar *const *query);

/* Check @status and the {"code":..,"message":..,"data":..} envelope of @body;
 * returns "data" (a new node) or NULL with a one-line reason. */
JsonNode *efp_cloud_parse_response (guint status, const gchar *reason, GBytes *body,
                                    GError **error);
gboolean efp_cloud_parse_login (JsonNode *data, gchar **token, gchar **user_id, GError **error);
EfpCloudCert *efp_cloud_parse_cert (JsonNode *data, GError **error);

G_END_DECLS

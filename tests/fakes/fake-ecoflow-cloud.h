/* fake-ecoflow-cloud.h: the EcoFlow REST API on a loopback SoupServer, for tests.
 *
 * Answers POST /auth/login, GET /iot-auth/app/certification (bearer token and
 * userId checked), GET /iot-open/sign/certification and
 * GET /iot-open/sign/device/quota/all?sn= (signature checked with its own HMAC
 * code, independent of the daemon's signer). Faults can be queued per path;
 * the MQTT credentials it hands out can be changed (rotated) at any time.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _FakeEcoflowCloud FakeEcoflowCloud;

typedef enum
{
  FAKE_CLOUD_FAULT_HTTP_500, /* HTTP 500 with an HTML body */
  FAKE_CLOUD_FAULT_GARBAGE,  /* HTTP 200, body not JSON */
  FAKE_CLOUD_FAULT_BAD_CODE, /* HTTP 200, {"code":"8513",...} */
  FAKE_CLOUD_FAULT_NO_DATA,  /* HTTP 200, code 0 but "data" lacks the fields */
  FAKE_CLOUD_FAULT_DELAY,    /* answer correctly, but only after the delay */
} FakeCloudFault;

#define FAKE_CLOUD_LOGIN     "/auth/login"
#define FAKE_CLOUD_APP_CERT  "/iot-auth/app/certification"
#define FAKE_CLOUD_OPEN_CERT "/iot-open/sign/certification"
#define FAKE_CLOUD_QUOTA_ALL "/iot-open/sign/device/quota/all"

/* @tls_cert_file/@tls_key_file: serve https with that certificate; NULL: http. */
FakeEcoflowCloud *fake_ecoflow_cloud_new (const gchar *tls_cert_file, const gchar *tls_key_file,
                                          GError **error);
void fake_ecoflow_cloud_free (FakeEcoflowCloud *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeEcoflowCloud, fake_ecoflow_cloud_free)

/* "http://127.0.0.1:PORT" (or https) */
const gchar *fake_ecoflow_cloud_get_url (FakeEcoflowCloud *self);

/* App API account: the login must carry @email and base64(@password). */
void fake_ecoflow_cloud_set_account (FakeEcoflowCloud *self, const gchar *email,
                                     const gchar *password, const gchar *token,
                                     const gchar *user_id);
/* Open API keys the signature is checked with. */
void fake_ecoflow_cloud_set_keys (FakeEcoflowCloud *self, const gchar *access_key,
                                  const gchar *secret_key);
/* The MQTT credentials both certification endpoints hand out (call again to rotate). */
void fake_ecoflow_cloud_set_mqtt (FakeEcoflowCloud *self, const gchar *host, guint16 port,
                                  const gchar *account, const gchar *password);
/* The "data" object of quota/all for @serial (JSON text). */
void fake_ecoflow_cloud_set_quota (FakeEcoflowCloud *self, const gchar *serial,
                                   const gchar *data_json);
/* Queue a fault for the next request on @path. */
void fake_ecoflow_cloud_push_fault (FakeEcoflowCloud *self, const gchar *path,
                                    FakeCloudFault fault);
void fake_ecoflow_cloud_set_delay_ms (FakeEcoflowCloud *self, guint delay_ms);

/* Requests received on @path (every one, faulty or not). */
guint fake_ecoflow_cloud_get_count (FakeEcoflowCloud *self, const gchar *path);
/* Requests refused for a bad signature, token or password. */
guint fake_ecoflow_cloud_get_n_refused (FakeEcoflowCloud *self);

G_END_DECLS

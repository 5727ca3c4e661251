/* test-cloud-wire.c: wake requests, REST answers and API URLs of the cloud module. */
#include "efp-cloud-login.h"
#include "efp-cloud-sign.h"
#include "efp-cloud-wake.h"
#include "efp-plugin-util.h"

#include <string.h>

/* SPEC 2.2: the protobuf get-all request for seq=1140944105 */
static void
test_wake_protobuf (void)
{
  g_autoptr (GBytes) b = efp_cloud_wake_protobuf (1140944105);
  g_autofree gchar *hex = NULL;
  g_autofree gchar *b64 = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (b, &len);
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", data[i]);
  hex = g_string_free (s, FALSE);
  g_assert_cmpstr (hex, ==, "0a101020182070e9d985a004ba0103696f73");
  b64 = g_base64_encode (data, len);
  g_assert_cmpstr (b64, ==, "ChAQIBggcOnZhaAEugEDaW9z");
}

static void
test_wake_protobuf_small_seq (void)
{
  g_autoptr (GBytes) b = efp_cloud_wake_protobuf (1);
  static const guint8 expected[] = { 0x0a, 0x0c, 0x10, 0x20, 0x18, 0x20, 0x70,
                                     0x01, 0xba, 0x01, 0x03, 'i',  'o',  's' };
  gsize len;
  const guint8 *data = g_bytes_get_data (b, &len);

  g_assert_cmpmem (data, len, expected, sizeof expected);
}

static void
test_wake_json (void)
{
  g_autofree gchar *json = efp_cloud_wake_json (1700000000123);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;

  g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "from"), ==, "Android");
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, "1700000000123");
  g_assert_cmpstr (json_object_get_string_member (o, "version"), ==, "1.1");
  g_assert_cmpint (json_object_get_int_member (o, "moduleType"), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (o, "operateType"), ==, "latestQuotas");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "params")), ==, 0);
}

static void
test_detect_format (void)
{
  static const guint8 pb[] = { 0x0a, 0x02, 0x10, 0x20 };

  g_assert_cmpint (efp_cloud_detect_format ((const guint8 *) "{\"a\":1}", 7), ==,
                   EFP_CLOUD_FORMAT_JSON);
  g_assert_cmpint (efp_cloud_detect_format ((const guint8 *) " \n{}", 4), ==,
                   EFP_CLOUD_FORMAT_JSON);
  g_assert_cmpint (efp_cloud_detect_format (pb, sizeof pb), ==, EFP_CLOUD_FORMAT_PROTOBUF);
  g_assert_cmpint (efp_cloud_detect_format ((const guint8 *) "xyz", 3), ==,
                   EFP_CLOUD_FORMAT_UNKNOWN);
  g_assert_cmpint (efp_cloud_detect_format (NULL, 0), ==, EFP_CLOUD_FORMAT_UNKNOWN);
}

static JsonNode *
parse (guint status, const gchar *body, GError **error)
{
  g_autoptr (GBytes) b = g_bytes_new (body, strlen (body));
  return efp_cloud_parse_response (status, "Reason", b, error);
}

static void
test_parse_response (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) ok_str = NULL;
  g_autoptr (JsonNode) ok_int = NULL;
  JsonNode *bad;

  ok_str = parse (200, "{\"code\":\"0\",\"message\":\"Success\",\"data\":{\"x\":1}}", &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (ok_str));
  ok_int = parse (200, "{\"code\":0,\"data\":[]}", &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (ok_int));

  bad = parse (500, "{\"code\":\"0\",\"data\":{}}", &error);
  g_assert_null (bad);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_HTTP);
  g_assert_cmpstr (error->message, ==, "HTTP 500 Reason");
  g_clear_error (&error);

  bad = parse (200, "<html>oops", &error);
  g_assert_null (bad);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE);
  g_clear_error (&error);

  bad = parse (200, "", &error);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE);
  g_clear_error (&error);

  bad = parse (200, "[1,2]", &error);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE);
  g_clear_error (&error);

  bad = parse (200, "{\"code\":\"8513\",\"message\":\"accessKey is invalid\"}", &error);
  g_assert_null (bad);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_API);
  g_assert_cmpstr (error->message, ==, "code 8513: accessKey is invalid");
  g_clear_error (&error);

  bad = parse (200, "{\"code\":1006,\"message\":\"x\"}", &error);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_API);
  g_assert_cmpstr (error->message, ==, "code 1006: x");
  g_clear_error (&error);

  bad = parse (200, "{\"message\":\"no code\"}", &error);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_API);
  g_clear_error (&error);

  bad = parse (200, "{\"code\":\"0\"}", &error);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE);
  g_clear_error (&error);
}

static void
test_parse_login (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) d1 = parse (
    200, "{\"code\":\"0\",\"data\":{\"token\":\"T\",\"user\":{\"userId\":\"123\"}}}", &error);
  g_autoptr (JsonNode) d2 =
    parse (200, "{\"code\":\"0\",\"data\":{\"token\":\"T\",\"user\":{\"userId\":456}}}", &error);
  g_autoptr (JsonNode) d3 = parse (200, "{\"code\":\"0\",\"data\":{\"token\":\"T\"}}", &error);
  g_autofree gchar *token = NULL;
  g_autofree gchar *uid = NULL;

  g_assert_true (efp_cloud_parse_login (d1, &token, &uid, &error));
  g_assert_cmpstr (token, ==, "T");
  g_assert_cmpstr (uid, ==, "123");
  g_clear_pointer (&token, g_free);
  g_clear_pointer (&uid, g_free);
  g_assert_true (efp_cloud_parse_login (d2, &token, &uid, &error));
  g_assert_cmpstr (uid, ==, "456");
  g_assert_false (efp_cloud_parse_login (d3, &token, &uid, &error));
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "userId"));
}

static void
test_parse_cert (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) d =
    parse (200,
           "{\"code\":\"0\",\"data\":{\"url\":\"mqtt-e.ecoflow.com\","
           "\"port\":\"8883\",\"protocol\":\"mqtts\","
           "\"certificateAccount\":\"app-1\",\"certificatePassword\":\"pw\"}}",
           &error);
  g_autoptr (JsonNode) no_pw = parse (
    200, "{\"code\":\"0\",\"data\":{\"url\":\"h\",\"port\":8883,\"certificateAccount\":\"a\"}}",
    &error);
  g_autoptr (JsonNode) bad_port = parse (
    200,
    "{\"code\":\"0\",\"data\":{\"url\":\"h\",\"port\":\"99999\",\"certificateAccount\":\"a\","
    "\"certificatePassword\":\"p\"}}",
    &error);
  g_autoptr (JsonNode) bad_host = parse (200,
                                         "{\"code\":\"0\",\"data\":{\"url\":\"evil.example/x "
                                         "-o\",\"port\":1,\"certificateAccount\":\"a\","
                                         "\"certificatePassword\":\"p\"}}",
                                         &error);
  g_autoptr (EfpCloudCert) cert = efp_cloud_parse_cert (d, &error);
  EfpCloudCert *none;

  g_assert_no_error (error);
  g_assert_cmpstr (cert->host, ==, "mqtt-e.ecoflow.com");
  g_assert_cmpuint (cert->port, ==, 8883);
  g_assert_cmpstr (cert->username, ==, "app-1");
  g_assert_cmpstr (cert->password, ==, "pw");

  none = efp_cloud_parse_cert (no_pw, &error);
  g_assert_null (none);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "certificatePassword"));
  g_clear_error (&error);
  none = efp_cloud_parse_cert (bad_port, &error);
  g_assert_null (none);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE);
  g_clear_error (&error);
  none = efp_cloud_parse_cert (bad_host, &error);
  g_assert_null (none);
  g_assert_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE);
}

static void
test_api_url (void)
{
  g_autoptr (GError) error = NULL;
  gchar *u;

  u = efp_cloud_resolve_api_url (NULL, "eu", &error);
  g_assert_cmpstr (u, ==, "https://api-e.ecoflow.com");
  g_free (u);
  u = efp_cloud_resolve_api_url (NULL, "us", &error);
  g_assert_cmpstr (u, ==, "https://api-a.ecoflow.com");
  g_free (u);
  u = efp_cloud_resolve_api_url ("", NULL, &error);
  g_assert_cmpstr (u, ==, "https://api.ecoflow.com");
  g_free (u);
  u = efp_cloud_resolve_api_url ("https://example.test:8443/base/", "eu", &error);
  g_assert_cmpstr (u, ==, "https://example.test:8443/base");
  g_free (u);
  u = efp_cloud_resolve_api_url ("http://127.0.0.1:4567", NULL, &error);
  g_assert_cmpstr (u, ==, "http://127.0.0.1:4567");
  g_free (u);
  u = efp_cloud_resolve_api_url ("http://localhost:1/", NULL, &error);
  g_assert_cmpstr (u, ==, "http://localhost:1");
  g_free (u);
  u = efp_cloud_resolve_api_url ("http://[::1]:1", NULL, &error);
  g_assert_cmpstr (u, ==, "http://[::1]:1");
  g_free (u);
  g_assert_no_error (error);

  /* plain http to anything but loopback would send the password in the clear */
  u = efp_cloud_resolve_api_url ("http://api-e.ecoflow.com", NULL, &error);
  g_assert_null (u);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "[cloud] api-url"));
  g_clear_error (&error);
  u = efp_cloud_resolve_api_url ("http://10.0.0.1", NULL, &error);
  g_assert_null (u);
  g_clear_error (&error);
  u = efp_cloud_resolve_api_url ("ftp://127.0.0.1", NULL, &error);
  g_assert_null (u);
  g_clear_error (&error);
  u = efp_cloud_resolve_api_url ("not a url", NULL, &error);
  g_assert_null (u);
  g_clear_error (&error);
  u = efp_cloud_resolve_api_url (NULL, "mars", &error);
  g_assert_null (u);
  g_assert_nonnull (strstr (error->message, "[cloud] region"));
}

static void
test_login_message (void)
{
  g_autoptr (SoupMessage) msg =
    efp_cloud_login_message ("http://127.0.0.1:1", "a@example.test", "p\xc3\xa4ss");
  GUri *uri = soup_message_get_uri (msg);

  g_assert_cmpstr (soup_message_get_method (msg), ==, "POST");
  g_assert_cmpstr (g_uri_get_path (uri), ==, "/auth/login");
  g_assert_cmpstr (soup_message_headers_get_one (soup_message_get_request_headers (msg), "lang"),
                   ==, "en_US");
}

/* the signed GET carries the four headers and a signature over its query */
static void
test_open_message (void)
{
  const gchar *query[] = { "sn", "R631ZEB0000000", NULL };
  g_autoptr (SoupMessage) msg = efp_cloud_open_get_message (
    "https://api-e.ecoflow.com", "/iot-open/sign/device/quota/all", "AK", "SK", query);
  SoupMessageHeaders *h = soup_message_get_request_headers (msg);
  g_autoptr (JsonObject) params = json_object_new ();
  g_autofree gchar *expected = NULL;
  const gchar *nonce = soup_message_headers_get_one (h, "nonce");
  const gchar *ts = soup_message_headers_get_one (h, "timestamp");

  g_assert_cmpstr (g_uri_get_query (soup_message_get_uri (msg)), ==, "sn=R631ZEB0000000");
  g_assert_cmpstr (soup_message_headers_get_one (h, "accessKey"), ==, "AK");
  g_assert_cmpuint (strlen (nonce), ==, 6);
  g_assert_cmpuint (strlen (ts), ==, 13); /* milliseconds */
  json_object_set_string_member (params, "sn", "R631ZEB0000000");
  expected = efp_cloud_sign (params, "AK", "SK", nonce, ts);
  g_assert_cmpstr (soup_message_headers_get_one (h, "sign"), ==, expected);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cloud/wake/protobuf-spec-bytes", test_wake_protobuf);
  g_test_add_func ("/cloud/wake/protobuf-small-seq", test_wake_protobuf_small_seq);
  g_test_add_func ("/cloud/wake/json", test_wake_json);
  g_test_add_func ("/cloud/wake/detect-format", test_detect_format);
  g_test_add_func ("/cloud/api/parse-response", test_parse_response);
  g_test_add_func ("/cloud/api/parse-login", test_parse_login);
  g_test_add_func ("/cloud/api/parse-cert", test_parse_cert);
  g_test_add_func ("/cloud/api/url", test_api_url);
  g_test_add_func ("/cloud/api/login-message", test_login_message);
  g_test_add_func ("/cloud/api/open-message", test_open_message);
  return g_test_run ();
}

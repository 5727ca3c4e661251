/* efp-cloud-login.c: requests to and answers from the EcoFlow REST API. */
#include "efp-cloud-login.h"

#include <gio/gio.h>
#include <string.h>
#include "efp-cloud-sign.h"
#include "efp-plugin-util.h"
#include "efp-json.h"

G_DEFINE_QUARK (efp - cloud - error - quark, efp_cloud_error)

void
efp_cloud_cert_free (EfpCloudCert *cert)
{
  if (cert == NULL)
    return;
  g_free (cert->host);
  g_free (cert->username);
  if (cert->password != NULL)
    memset (cert->password, 0, strlen (cert->password));
  g_free (cert->password);
  g_free (cert);
}

static gboolean
host_is_loopback (const gchar *host)
{
  g_autoptr (GInetAddress) addr = NULL;

  if (host == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;
  addr = g_inet_address_new_from_string (host);
  return addr != NULL && g_inet_address_get_is_loopback (addr);
}

gchar *
efp_cloud_resolve_api_url (const gchar *api_url, const gchar *region, GError **error)
{
  g_autoptr (GUri) uri = NULL;
  const gchar *scheme;
  gsize n;

  if (api_url == NULL || *api_url == '\0')
    {
      if (region == NULL || *region == '\0')
        return g_strdup ("https://api.ecoflow.com");
      if (g_ascii_strcasecmp (region, "eu") == 0)
        return g_strdup ("https://api-e.ecoflow.com");
      if (g_ascii_strcasecmp (region, "us") == 0)
        return g_strdup ("https://api-a.ecoflow.com");
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[cloud] region: expected eu or us, found '%s'", region);
      return NULL;
    }
  uri = g_uri_parse (api_url, G_URI_FLAGS_NONE, NULL);
  scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0) ||
      g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[cloud] api-url: expected an http(s) URL like https://api-e.ecoflow.com, "
                   "found '%s'",
                   api_url);
      return NULL;
    }
  /* plain http would send the password in the clear: only for loopback test servers */
  if (g_ascii_strcasecmp (scheme, "http") == 0 && !host_is_loopback (g_uri_get_host (uri)))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[cloud] api-url: plain http is only allowed to a loopback host, found '%s'",
                   api_url);
      return NULL;
    }
  n = strlen (api_url);
  while (n > 0 && api_url[n - 1] == '/')
    n--;
  return g_strndup (api_url, n);
}

static SoupMessage *
new_message (const gchar *method, const gchar *base_url, const gchar *path, const gchar *query)
{
  g_autofree gchar *url = NULL;
  SoupMessage *msg;

  url = g_strconcat (base_url, path, query != NULL ? "?" : "", query, NULL);
  msg = soup_message_new (method, url);
  g_assert (msg != NULL); /* base_url was validated by efp_cloud_resolve_api_url */
  soup_message_headers_replace (soup_message_get_request_headers (msg), "lang", "en_US");
  return msg;
}

SoupMessage *
efp_cloud_login_message (const gchar *base_url, const gchar *email, const gchar *password)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *b64 = NULL;
  g_autoptr (GBytes) body = NULL;
  gchar *text;
  gsize len;
  SoupMessage *msg;

  b64 = g_base64_encode ((const guchar *) password, strlen (password));
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "email");
  json_builder_add_string_value (builder, email);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, b64);
  json_builder_set_member_name (builder, "scene");
  json_builder_add_string_value (builder, "IOT_APP");
  json_builder_set_member_name (builder, "userType");
  json_builder_add_string_value (builder, "ECOFLOW");
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, &len);
  body = g_bytes_new_with_free_func (text, len, g_free, text);
  memset (b64, 0, strlen (b64));

  msg = new_message ("POST", base_url, "/auth/login", NULL);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  return msg;
}

SoupMessage *
efp_cloud_app_cert_message (const gchar *base_url, const gchar *token, const gchar *user_id)
{
  g_autofree gchar *escaped = g_uri_escape_string (user_id, NULL, FALSE);
  g_autofree gchar *query = g_strconcat ("userId=", escaped, NULL);
  g_autofree gchar *auth = g_strconcat ("Bearer ", token, NULL);
  SoupMessage *msg = new_message ("GET", base_url, "/iot-auth/app/certification", query);

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  memset (auth, 0, strlen (auth));
  return msg;
}

SoupMessage *
efp_cloud_open_get_message (const gchar *base_url, const gchar *path, const gchar *access_key,
                            const gchar *secret_key, const gchar *const *query)
{
  g_autoptr (JsonObject) params = json_object_new ();
  g_autoptr (GString) qs = g_string_new (NULL);
  g_autofree gchar *nonce = NULL;
  g_autofree gchar *timestamp = NULL;
  g_autofree gchar *sign = NULL;
  SoupMessageHeaders *headers;
  SoupMessage *msg;

  for (guint i = 0; query != NULL && query[i] != NULL && query[i + 1] != NULL; i += 2)
    {
      g_autofree gchar *k = g_uri_escape_string (query[i], NULL, FALSE);
      g_autofree gchar *v = g_uri_escape_string (query[i + 1], NULL, FALSE);
      json_object_set_string_member (params, query[i], query[i + 1]);
      g_string_append_printf (qs, "%s%s=%s", qs->len > 0 ? "&" : "", k, v);
    }
  nonce = g_strdup_printf ("%06u", (guint) g_random_int_range (0, 1000000));
  timestamp = g_strdup_printf ("%" G_GINT64_FORMAT, g_get_real_time () / 1000);
  sign = efp_cloud_sign (params, access_key, secret_key, nonce, timestamp);

  msg = new_message ("GET", base_url, path, qs->len > 0 ? qs->str : NULL);
  headers = soup_message_get_request_headers (msg);
  soup_message_headers_replace (headers, "accessKey", access_key);
  soup_message_headers_replace (headers, "nonce", nonce);
  soup_message_headers_replace (headers, "timestamp", timestamp);
  soup_message_headers_replace (headers, "sign", sign);
  return msg;
}

/* "code" is "0" or 0 on success */
static gboolean
code_is_zero (JsonNode *code)
{
  GType type;

  if (code == NULL || !JSON_NODE_HOLDS_VALUE (code))
    return FALSE;
  type = json_node_get_value_type (code);
  if (type == G_TYPE_INT64)
    return json_node_get_int (code) == 0;
  if (type == G_TYPE_STRING)
    return g_strcmp0 (json_node_get_string (code), "0") == 0;
  return FALSE;
}

/* A short, printable excerpt of a server string for an error message. */
static gchar *
excerpt (const gchar *text)
{
  g_autofree gchar *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  glong n = g_utf8_strlen (valid, -1);
  gchar *out = g_utf8_substring (valid, 0, MIN (n, 80));

  for (gchar *p = out; *p != '\0'; p++)
    if ((guchar) *p < 0x20)
      *p = ' ';
  return out;
}

JsonNode *
efp_cloud_parse_response (guint status, const gchar *reason, GBytes *body, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  const gchar *data;
  gsize len = 0;
  JsonNode *root;
  JsonObject *obj;
  JsonNode *code;

  if (status < 200 || status >= 300)
    {
      g_set_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_HTTP, "HTTP %u %s", status,
                   reason != NULL ? reason : "");
      return NULL;
    }
  data = body != NULL ? g_bytes_get_data (body, &len) : NULL;
  if (data == NULL || len == 0 || !efp_json_load (parser, data, len, &local))
    {
      g_set_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE,
                   "expected a JSON answer, found %s", len == 0 ? "an empty body" : "garbage");
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE,
                   "expected a JSON object answer, found another JSON value");
      return NULL;
    }
  obj = json_node_get_object (root);
  code = json_object_get_member (obj, "code");
  if (!code_is_zero (code))
    {
      g_autofree gchar *code_text = NULL;
      g_autofree gchar *message = NULL;
      if (code != NULL && JSON_NODE_HOLDS_VALUE (code) &&
          json_node_get_value_type (code) == G_TYPE_INT64)
        code_text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (code));
      else if (code != NULL && JSON_NODE_HOLDS_VALUE (code) &&
               json_node_get_value_type (code) == G_TYPE_STRING)
        code_text = excerpt (json_node_get_string (code));
      else
        code_text = g_strdup ("(none)");
      {
        /* a "message" of another type must not reach json-glib's string getter */
        JsonNode *m = json_object_get_member (obj, "message");
        message = excerpt (m != NULL && JSON_NODE_HOLDS_VALUE (m) &&
                               json_node_get_value_type (m) == G_TYPE_STRING
                             ? json_node_get_string (m)
                             : "");
      }
      g_set_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_API, "code %s: %s", code_text, message);
      return NULL;
    }
  if (!json_object_has_member (obj, "data"))
    {
      g_set_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE, "answer has no \"data\"");
      return NULL;
    }
  return json_node_copy (json_object_get_member (obj, "data"));
}

/* A member holding a non-empty string or an integer, as a string. */
static gchar *
get_string_or_int (JsonObject *obj, const gchar *name)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, name) : NULL;
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING && *json_node_get_string (node) != '\0')
    return g_strdup (json_node_get_string (node));
  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  return NULL;
}

gboolean
efp_cloud_parse_login (JsonNode *data, gchar **token, gchar **user_id, GError **error)
{
  JsonObject *obj =
    data != NULL && JSON_NODE_HOLDS_OBJECT (data) ? json_node_get_object (data) : NULL;
  JsonNode *user = obj != NULL ? json_object_get_member (obj, "user") : NULL;
  g_autofree gchar *t = NULL;
  g_autofree gchar *u = NULL;

  t = get_string_or_int (obj, "token");
  if (user != NULL && JSON_NODE_HOLDS_OBJECT (user))
    u = get_string_or_int (json_node_get_object (user), "userId");
  if (t == NULL || u == NULL)
    {
      g_set_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE, "login answer lacks %s",
                   t == NULL ? "data.token" : "data.user.userId");
      if (t != NULL)
        memset (t, 0, strlen (t));
      return FALSE;
    }
  *token = g_steal_pointer (&t);
  *user_id = g_steal_pointer (&u);
  return TRUE;
}

EfpCloudCert *
efp_cloud_parse_cert (JsonNode *data, GError **error)
{
  JsonObject *obj =
    data != NULL && JSON_NODE_HOLDS_OBJECT (data) ? json_node_get_object (data) : NULL;
  g_autoptr (EfpCloudCert) cert = g_new0 (EfpCloudCert, 1);
  g_autofree gchar *port = NULL;
  const gchar *missing = NULL;
  gchar *end = NULL;
  guint64 p = 0;

  cert->host = get_string_or_int (obj, "url");
  port = get_string_or_int (obj, "port");
  cert->username = get_string_or_int (obj, "certificateAccount");
  cert->password = get_string_or_int (obj, "certificatePassword");
  if (cert->host == NULL)
    missing = "data.url";
  else if (port == NULL)
    missing = "data.port";
  else if (cert->username == NULL)
    missing = "data.certificateAccount";
  else if (cert->password == NULL)
    missing = "data.certificatePassword";
  if (missing != NULL)
    {
      g_set_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE, "certification answer lacks %s",
                   missing);
      return NULL;
    }
  p = g_ascii_strtoull (port, &end, 10);
  if (*end != '\0' || p == 0 || p > 65535)
    {
      g_set_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE,
                   "certification answer: expected a port 1-65535, found '%s'", port);
      return NULL;
    }
  /* a broker host is a plain name: refuse anything that could smuggle a URL or option */
  if (strpbrk (cert->host, "/ :@?#") != NULL && !g_hostname_is_ip_address (cert->host))
    {
      g_autofree gchar *shown = excerpt (cert->host);
      g_set_error (error, EFP_CLOUD_ERROR, EFP_CLOUD_ERROR_PARSE,
                   "certification answer: expected a broker host name, found '%s'", shown);
      return NULL;
    }
  cert->port = (guint16) p;
  return g_steal_pointer (&cert);
}

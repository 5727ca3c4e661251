/* fake-ecoflow-cloud.c: a loopback SoupServer playing the EcoFlow REST API. */
#include "fake-ecoflow-cloud.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

struct _FakeEcoflowCloud
{
  SoupServer *server;
  gchar *url;
  gchar *email;
  gchar *password;
  gchar *token;
  gchar *user_id;
  gchar *access_key;
  gchar *secret_key;
  gchar *mqtt_host;
  guint16 mqtt_port;
  gchar *mqtt_account;
  gchar *mqtt_password;
  GHashTable *quotas; /* serial -> data JSON */
  GHashTable *faults; /* path -> GQueue of FakeCloudFault */
  GHashTable *counts; /* path -> count */
  guint n_refused;
  guint delay_ms;
  GPtrArray *delayed; /* Delayed* */
};

typedef struct
{
  FakeEcoflowCloud *fake;
  SoupServerMessage *msg;
  guint status;
  gchar *body;
  guint timeout_id;
  gboolean finished;
} Delayed;

static void
delayed_free (Delayed *d)
{
  g_clear_handle_id (&d->timeout_id, g_source_remove);
  g_signal_handlers_disconnect_by_data (d->msg, d);
  g_object_unref (d->msg);
  g_free (d->body);
  g_free (d);
}

static void
respond (SoupServerMessage *msg, guint status, const gchar *content_type, const gchar *body)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, content_type, SOUP_MEMORY_COPY, body, strlen (body));
}

static gboolean
on_delay_done (gpointer user_data)
{
  Delayed *d = user_data;

  d->timeout_id = 0;
  /* the client may have given up and closed the connection meanwhile */
  if (!d->finished)
    {
      respond (d->msg, d->status, "application/json", d->body);
      soup_server_message_unpause (d->msg);
    }
  g_ptr_array_remove (d->fake->delayed, d);
  return G_SOURCE_REMOVE;
}

static void
on_delayed_finished (SoupServerMessage *msg, Delayed *d)
{
  d->finished = TRUE;
}

static gchar *
ok_json (const gchar *data_json)
{
  return g_strdup_printf ("{\"code\":\"0\",\"message\":\"Success\",\"data\":%s,\"eagleEyeTraceId\":"
                          "\"x\",\"tid\":\"y\"}",
                          data_json);
}

static gchar *
cert_data (FakeEcoflowCloud *self)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *port = g_strdup_printf ("%u", self->mqtt_port);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, self->mqtt_host);
  json_builder_set_member_name (b, "port");
  json_builder_add_string_value (b, port); /* a string, as EcoFlow sends it */
  json_builder_set_member_name (b, "protocol");
  json_builder_add_string_value (b, "mqtts");
  json_builder_set_member_name (b, "certificateAccount");
  json_builder_add_string_value (b, self->mqtt_account);
  json_builder_set_member_name (b, "certificatePassword");
  json_builder_add_string_value (b, self->mqtt_password);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static gboolean
check_login (FakeEcoflowCloud *self, SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree guchar *pw = NULL;
  gsize pw_len = 0;
  JsonObject *o;
  const gchar *b64;

  if (g_strcmp0 (soup_server_message_get_method (msg), "POST") != 0 ||
      !json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                   NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return FALSE;
  o = json_node_get_object (json_parser_get_root (parser));
  b64 = json_object_get_string_member_with_default (o, "password", "");
  pw = g_base64_decode (b64, &pw_len);
  return g_strcmp0 (json_object_get_string_member_with_default (o, "email", ""), self->email) ==
           0 &&
         pw_len == strlen (self->password) && memcmp (pw, self->password, pw_len) == 0 &&
         g_strcmp0 (json_object_get_string_member_with_default (o, "scene", ""), "IOT_APP") == 0;
}

static int
compare_strptr (const void *a, const void *b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/* SPEC 2.1, written out again here so the daemon's signer is not its own judge */
static gboolean
check_signature (FakeEcoflowCloud *self, SoupServerMessage *msg, GHashTable *query)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const gchar *ak = soup_message_headers_get_one (h, "accessKey");
  const gchar *nonce = soup_message_headers_get_one (h, "nonce");
  const gchar *ts = soup_message_headers_get_one (h, "timestamp");
  const gchar *sign = soup_message_headers_get_one (h, "sign");
  g_autoptr (GString) text = g_string_new (NULL);
  g_autoptr (GHmac) hmac = NULL;
  g_autofree gchar **keys = NULL;
  gint64 ts_ms;

  if (ak == NULL || nonce == NULL || ts == NULL || sign == NULL || self->secret_key == NULL ||
      g_strcmp0 (ak, self->access_key) != 0)
    return FALSE;
  ts_ms = g_ascii_strtoll (ts, NULL, 10);
  if (ABS (ts_ms - g_get_real_time () / 1000) > 5 * 60 * 1000)
    return FALSE;
  if (query != NULL)
    {
      keys = (gchar **) g_hash_table_get_keys_as_array (query, NULL);
      qsort (keys, g_strv_length (keys), sizeof (gchar *), compare_strptr);
      for (guint i = 0; keys[i] != NULL; i++)
        g_string_append_printf (text, "%s=%s&", keys[i],
                                (const gchar *) g_hash_table_lookup (query, keys[i]));
    }
  g_string_append_printf (text, "accessKey=%s&nonce=%s&timestamp=%s", ak, nonce, ts);
  hmac =
    g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) self->secret_key, strlen (self->secret_key));
  g_hmac_update (hmac, (const guchar *) text->str, text->len);
  return g_strcmp0 (g_hmac_get_string (hmac), sign) == 0;
}

/* The correct answer to @path: *status and a body. */
static gchar *
answer (FakeEcoflowCloud *self, SoupServerMessage *msg, const gchar *path, GHashTable *query,
        guint *status)
{
  *status = 200;
  if (g_str_equal (path, FAKE_CLOUD_LOGIN))
    {
      g_autofree gchar *data = NULL;
      if (self->email == NULL || !check_login (self, msg))
        {
          self->n_refused++;
          return g_strdup ("{\"code\":\"1006\",\"message\":\"wrong account or password\"}");
        }
      data = g_strdup_printf ("{\"token\":\"%s\",\"user\":{\"userId\":\"%s\",\"email\":\"%s\"}}",
                              self->token, self->user_id, self->email);
      return ok_json (data);
    }
  if (g_str_equal (path, FAKE_CLOUD_APP_CERT))
    {
      SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
      g_autofree gchar *bearer = g_strconcat ("Bearer ", self->token, NULL);
      g_autofree gchar *data = NULL;
      const gchar *uid = query != NULL ? g_hash_table_lookup (query, "userId") : NULL;

      if (self->token == NULL ||
          g_strcmp0 (soup_message_headers_get_one (h, "Authorization"), bearer) != 0 ||
          g_strcmp0 (uid, self->user_id) != 0)
        {
          self->n_refused++;
          *status = 401;
          return g_strdup ("{\"code\":\"401\",\"message\":\"unauthorized\"}");
        }
      data = cert_data (self);
      return ok_json (data);
    }
  if (g_str_equal (path, FAKE_CLOUD_OPEN_CERT) || g_str_equal (path, FAKE_CLOUD_QUOTA_ALL))
    {
      g_autofree gchar *data = NULL;
      const gchar *sn = query != NULL ? g_hash_table_lookup (query, "sn") : NULL;
      const gchar *quota = sn != NULL ? g_hash_table_lookup (self->quotas, sn) : NULL;

      if (!check_signature (self, msg, query))
        {
          self->n_refused++;
          return g_strdup ("{\"code\":\"8513\",\"message\":\"accessKey is invalid\"}");
        }
      if (g_str_equal (path, FAKE_CLOUD_OPEN_CERT))
        {
          data = cert_data (self);
          return ok_json (data);
        }
      if (quota == NULL)
        return g_strdup ("{\"code\":\"1006\",\"message\":\"device not allowed\"}");
      return ok_json (quota);
    }
  *status = 404;
  return g_strdup ("{\"code\":\"404\",\"message\":\"not found\"}");
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  FakeEcoflowCloud *self = user_data;
  GQueue *faults = g_hash_table_lookup (self->faults, path);
  gpointer count = g_hash_table_lookup (self->counts, path);
  gint fault = -1;
  g_autofree gchar *body = NULL;
  guint status;

  g_hash_table_insert (self->counts, g_strdup (path),
                       GUINT_TO_POINTER (GPOINTER_TO_UINT (count) + 1));
  if (faults != NULL && !g_queue_is_empty (faults))
    fault = GPOINTER_TO_INT (g_queue_pop_head (faults));

  switch (fault)
    {
      case FAKE_CLOUD_FAULT_HTTP_500:
        respond (msg, 500, "text/html", "<html><body>Internal Server Error</body></html>");
        return;
      case FAKE_CLOUD_FAULT_GARBAGE:
        respond (msg, 200, "application/json", "{\"code\":\"0\",\"data\":{\"tok");
        return;
      case FAKE_CLOUD_FAULT_BAD_CODE:
        respond (msg, 200, "application/json",
                 "{\"code\":\"8513\",\"message\":\"accessKey is invalid\"}");
        return;
      case FAKE_CLOUD_FAULT_NO_DATA:
        respond (msg, 200, "application/json",
                 "{\"code\":\"0\",\"message\":\"Success\",\"data\":{}}");
        return;
      default:
        break;
    }

  body = answer (self, msg, path, query, &status);
  if (fault == FAKE_CLOUD_FAULT_DELAY)
    {
      Delayed *d = g_new0 (Delayed, 1);
      d->fake = self;
      d->msg = g_object_ref (msg);
      d->status = status;
      d->body = g_steal_pointer (&body);
      g_signal_connect (msg, "finished", G_CALLBACK (on_delayed_finished), d);
      g_signal_connect (msg, "disconnected", G_CALLBACK (on_delayed_finished), d);
      soup_server_message_pause (msg);
      d->timeout_id = g_timeout_add (self->delay_ms, on_delay_done, d);
      g_ptr_array_add (self->delayed, d);
      return;
    }
  respond (msg, status, "application/json", body);
}

FakeEcoflowCloud *
fake_ecoflow_cloud_new (const gchar *tls_cert_file, const gchar *tls_key_file, GError **error)
{
  FakeEcoflowCloud *self = g_new0 (FakeEcoflowCloud, 1);
  g_autoptr (GTlsCertificate) cert = NULL;
  SoupServerListenOptions opts = SOUP_SERVER_LISTEN_IPV4_ONLY;
  GSList *uris;

  self->quotas = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->faults =
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_queue_free);
  self->counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->delayed = g_ptr_array_new_with_free_func ((GDestroyNotify) delayed_free);
  self->delay_ms = 3000;
  if (tls_cert_file != NULL)
    {
      cert = g_tls_certificate_new_from_files (tls_cert_file, tls_key_file, error);
      if (cert == NULL)
        {
          fake_ecoflow_cloud_free (self);
          return NULL;
        }
      opts |= SOUP_SERVER_LISTEN_HTTPS;
      self->server = soup_server_new ("tls-certificate", cert, NULL);
    }
  else
    self->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (self->server, NULL, handler, self, NULL);
  if (!soup_server_listen_local (self->server, 0, opts, error))
    {
      fake_ecoflow_cloud_free (self);
      return NULL;
    }
  uris = soup_server_get_uris (self->server);
  self->url = g_strdup_printf ("%s://127.0.0.1:%d", tls_cert_file != NULL ? "https" : "http",
                               g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return self;
}

void
fake_ecoflow_cloud_free (FakeEcoflowCloud *self)
{
  if (self == NULL)
    return;
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_ptr_array_unref (self->delayed);
  g_clear_object (&self->server);
  g_hash_table_unref (self->quotas);
  g_hash_table_unref (self->faults);
  g_hash_table_unref (self->counts);
  g_free (self->url);
  g_free (self->email);
  g_free (self->password);
  g_free (self->token);
  g_free (self->user_id);
  g_free (self->access_key);
  g_free (self->secret_key);
  g_free (self->mqtt_host);
  g_free (self->mqtt_account);
  g_free (self->mqtt_password);
  g_free (self);
}

const gchar *
fake_ecoflow_cloud_get_url (FakeEcoflowCloud *self)
{
  return self->url;
}

static void
replace (gchar **field, const gchar *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

void
fake_ecoflow_cloud_set_account (FakeEcoflowCloud *self, const gchar *email, const gchar *password,
                                const gchar *token, const gchar *user_id)
{
  replace (&self->email, email);
  replace (&self->password, password);
  replace (&self->token, token);
  replace (&self->user_id, user_id);
}

void
fake_ecoflow_cloud_set_keys (FakeEcoflowCloud *self, const gchar *access_key,
                             const gchar *secret_key)
{
  replace (&self->access_key, access_key);
  replace (&self->secret_key, secret_key);
}

void
fake_ecoflow_cloud_set_mqtt (FakeEcoflowCloud *self, const gchar *host, guint16 port,
                             const gchar *account, const gchar *password)
{
  replace (&self->mqtt_host, host);
  self->mqtt_port = port;
  replace (&self->mqtt_account, account);
  replace (&self->mqtt_password, password);
}

void
fake_ecoflow_cloud_set_quota (FakeEcoflowCloud *self, const gchar *serial, const gchar *data_json)
{
  g_hash_table_insert (self->quotas, g_strdup (serial), g_strdup (data_json));
}

void
fake_ecoflow_cloud_push_fault (FakeEcoflowCloud *self, const gchar *path, FakeCloudFault fault)
{
  GQueue *q = g_hash_table_lookup (self->faults, path);

  if (q == NULL)
    {
      q = g_queue_new ();
      g_hash_table_insert (self->faults, g_strdup (path), q);
    }
  g_queue_push_tail (q, GINT_TO_POINTER (fault));
}

void
fake_ecoflow_cloud_set_delay_ms (FakeEcoflowCloud *self, guint delay_ms)
{
  self->delay_ms = delay_ms;
}

guint
fake_ecoflow_cloud_get_count (FakeEcoflowCloud *self, const gchar *path)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->counts, path));
}

guint
fake_ecoflow_cloud_get_n_refused (FakeEcoflowCloud *self)
{
  return self->n_refused;
}

/* test-notifier.c: notifications against a loopback SoupServer.
 *
 * One SoupServer on 127.0.0.1 stands in for Pushover (/1/messages.json),
 * Telegram (/bot<token>/sendMessage), an ntfy topic and a webhook, reached
 * through pushover-api-url, telegram-api-url, ntfy-url and webhook-url.
 * Nothing here contacts the real services.
 */
#include "efp-notifier.h"
#include "efp-plugin-util.h"
#include "efp-test-log.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PUSHOVER_TOKEN "azGDORePK8gMaC0QOYAMyEEuzJnyUi"
#define PUSHOVER_USER  "uQiRzpo4DXghDmr9QzzfQu27cmVRsG"
#define TELEGRAM_TOKEN "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
#define TELEGRAM_CHAT  "-1001234567890"
#define TS             1767225600

typedef struct
{
  gchar *method;
  gchar *path;
  gchar *content_type;
  gchar *title;    /* ntfy Title header */
  gchar *priority; /* ntfy Priority header */
  gchar *body;
} Hit;

typedef struct
{
  SoupServer *server;
  gchar *base;     /* http(s)://127.0.0.1:PORT */
  GPtrArray *hits; /* Hit* */
  GPtrArray *hung; /* SoupServerMessage* held unanswered */
  guint status;    /* what every non-hanging path answers */
  gchar *dir;      /* token files */
  gchar *pushover_file;
  gchar *telegram_file;
  EfpNotifier *n;
} Fixture;

/* ---- helpers ----------------------------------------------------------------- */

static void
hit_free (Hit *h)
{
  g_free (h->method);
  g_free (h->path);
  g_free (h->content_type);
  g_free (h->title);
  g_free (h->priority);
  g_free (h->body);
  g_free (h);
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
         gpointer user_data)
{
  Fixture *f = user_data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  Hit *hit = g_new0 (Hit, 1);

  hit->method = g_strdup (soup_server_message_get_method (msg));
  hit->path = g_strdup (path);
  hit->content_type = g_strdup (soup_message_headers_get_one (h, "Content-Type"));
  hit->title = g_strdup (soup_message_headers_get_one (h, "Title"));
  hit->priority = g_strdup (soup_message_headers_get_one (h, "Priority"));
  hit->body = g_strndup (body->data, body->length);
  g_ptr_array_add (f->hits, hit);

  if (g_str_has_prefix (path, "/hang"))
    {
      soup_server_message_pause (msg);
      g_ptr_array_add (f->hung, g_object_ref (msg));
      return;
    }
  soup_server_message_set_status (msg, f->status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, "{\"ok\":true}", 11);
}

static void
start_server (Fixture *f, gboolean tls)
{
  g_autoptr (GError) error = NULL;
  GSList *uris;

  if (tls)
    {
      g_autofree gchar *dir = g_dir_make_tmp ("efp-pki-XXXXXX", &error);
      g_autofree gchar *script = g_build_filename (g_getenv ("EFP_SOURCE_ROOT"), "tests", "data",
                                                   "tls", "make-test-pki.sh", NULL);
      g_autofree gchar *crt = g_build_filename (dir, "server.crt", NULL);
      g_autofree gchar *key = g_build_filename (dir, "server.key", NULL);
      g_autofree gchar *rm_out = NULL;
      const gchar *argv[] = { "sh", script, dir, NULL };
      const gchar *rm[] = { "rm", "-rf", dir, NULL };
      g_autoptr (GTlsCertificate) cert = NULL;
      gint status = 0;

      g_assert_no_error (error);
      g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                    &status, &error);
      g_assert_no_error (error);
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      cert = g_tls_certificate_new_from_files (crt, key, &error);
      g_assert_no_error (error);
      g_spawn_sync (NULL, (gchar **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &rm_out, NULL, NULL,
                    NULL);
      f->server = soup_server_new ("tls-certificate", cert, NULL);
      soup_server_listen_local (f->server, 0,
                                SOUP_SERVER_LISTEN_IPV4_ONLY | SOUP_SERVER_LISTEN_HTTPS, &error);
    }
  else
    {
      f->server = soup_server_new (NULL, NULL);
      soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
    }
  g_assert_no_error (error);
  soup_server_add_handler (f->server, NULL, handler, f, NULL);
  uris = soup_server_get_uris (f->server);
  g_assert_nonnull (uris);
  f->base =
    g_strdup_printf ("%s://127.0.0.1:%d", tls ? "https" : "http", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
write_file (const gchar *path, const gchar *text)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->hits = g_ptr_array_new_with_free_func ((GDestroyNotify) hit_free);
  f->hung = g_ptr_array_new_with_free_func (g_object_unref);
  f->status = 200;
  f->dir = g_dir_make_tmp ("efp-notify-XXXXXX", &error);
  g_assert_no_error (error);
  f->pushover_file = g_build_filename (f->dir, "pushover-token", NULL);
  f->telegram_file = g_build_filename (f->dir, "telegram-token", NULL);
  /* the way people write them: with a trailing newline */
  write_file (f->pushover_file, PUSHOVER_TOKEN "\n");
  write_file (f->telegram_file, TELEGRAM_TOKEN "\r\n");
  log_clear ();
  if (data == NULL || !g_str_equal (data, "tls"))
    start_server (f, FALSE);
  else
    start_server (f, TRUE);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->n, efp_notifier_free);
  spin (50); /* cancelled requests complete here and must find nothing freed */
  if (f->server != NULL)
    soup_server_disconnect (f->server);
  g_ptr_array_set_size (f->hung, 0);
  g_clear_object (&f->server);
  spin (20);
  /* whatever happened, no token reached any log line, debug included */
  g_assert_null (strstr (logged (), PUSHOVER_TOKEN));
  g_assert_null (strstr (logged (), TELEGRAM_TOKEN));
  g_assert_null (strstr (logged (), "ABC-DEF1234ghIkl"));
  g_unlink (f->pushover_file);
  g_unlink (f->telegram_file);
  g_rmdir (f->dir);
  g_free (f->pushover_file);
  g_free (f->telegram_file);
  g_free (f->dir);
  g_free (f->base);
  g_ptr_array_unref (f->hits);
  g_ptr_array_unref (f->hung);
}

static EfpNotifier *
notifier_from (const gchar *text, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, &local);
  g_assert_no_error (local);
  return efp_notifier_new (kf, error);
}

/* Every target at the loopback server; @ntfy_path and @hook_path pick the behaviour. */
static void
make_all (Fixture *f, const gchar *ntfy_path, const gchar *hook_path)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = g_strdup_printf ("[notify]\n"
                                            "pushover-token-file=%s\n"
                                            "pushover-user=" PUSHOVER_USER "\n"
                                            "pushover-api-url=%s\n"
                                            "telegram-token-file=%s\n"
                                            "telegram-chat=" TELEGRAM_CHAT "\n"
                                            "telegram-api-url=%s/\n"
                                            "ntfy-url=%s%s\n"
                                            "webhook-url=%s%s\n",
                                            f->pushover_file, f->base, f->telegram_file, f->base,
                                            f->base, ntfy_path, f->base, hook_path);

  f->n = notifier_from (text, &error);
  g_assert_no_error (error);
  g_assert_true (efp_notifier_is_enabled (f->n));
}

static void
make_one (Fixture *f, const gchar *key, const gchar *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = g_strdup_printf ("[notify]\n%s=%s%s\n", key, f->base, path);

  f->n = notifier_from (text, &error);
  g_assert_no_error (error);
  efp_notifier_set_timeout (f->n, 1);
}

/* The @nth request to @path; an empty one (failing every check) when there is none. */
static Hit *
find_hit (Fixture *f, const gchar *path, guint nth)
{
  static Hit none = { "", "", "", "", "", "" };

  for (guint i = 0; i < f->hits->len; i++)
    {
      Hit *h = f->hits->pdata[i];
      if (g_str_equal (h->path, path) && nth-- == 0)
        return h;
    }
  g_test_message ("no request %u to %s", nth, path);
  return &none;
}

static guint
count_hits (Fixture *f, const gchar *path)
{
  guint n = 0;
  for (guint i = 0; i < f->hits->len; i++)
    if (g_str_equal (((Hit *) f->hits->pdata[i])->path, path))
      n++;
  return n;
}

/* Requests whose body contains @needle. */
static guint
count_bodies (Fixture *f, const gchar *needle)
{
  guint n = 0;
  for (guint i = 0; i < f->hits->len; i++)
    if (strstr (((Hit *) f->hits->pdata[i])->body, needle) != NULL)
      n++;
  return n;
}

static JsonObject *
parse_object (const gchar *text, JsonParser **parser_out)
{
  g_autoptr (GError) error = NULL;
  JsonParser *parser = json_parser_new ();

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  *parser_out = parser;
  return json_node_get_object (json_parser_get_root (parser));
}

static void
wait_idle (Fixture *f, guint ms)
{
  WAIT_UNTIL (efp_notifier_get_n_pending (f->n) == 0, ms);
}

/* ---- tests ------------------------------------------------------------------- */

/* Each target gets the right method, path and fields. */
static void
test_targets (Fixture *f, gconstpointer data)
{
  const gchar *agents[] = { "pc-study", NULL };
  g_autofree gchar *tg_path = g_strdup_printf ("/bot%s/sendMessage", TELEGRAM_TOKEN);
  g_autoptr (JsonParser) tg_parser = NULL;
  g_autoptr (JsonParser) tg_parser2 = NULL;
  g_autoptr (GHashTable) form = NULL;
  g_autoptr (GHashTable) form2 = NULL;
  g_autoptr (GHashTable) form3 = NULL;
  JsonObject *tg;
  Hit *h;

  make_all (f, "/efp-test", "/hook");
  /* one event at a time, so the order of the requests to each path is known */
  efp_notifier_event_full (f->n, TS, "Study", NULL, "grid-lost", "soc 60.0, from charger flag",
                           60.2, NULL);
  /* asynchronous: the call returned before any answer */
  g_assert_cmpuint (efp_notifier_get_n_pending (f->n), ==, 4);
  WAIT_UNTIL (f->hits->len == 4, 5000);
  efp_notifier_event_full (f->n, TS + 200, "Study", "critical", "shutdown-triggered",
                           "grid lost and soc 8 <= 10 for 180 s", 8, agents);
  WAIT_UNTIL (f->hits->len == 8, 5000);
  efp_notifier_event (f->n, TS + 300, "Study", "critical", "timer-start",
                      "grid lost and soc 9 <= 10");
  WAIT_UNTIL (f->hits->len == 12, 5000);
  wait_idle (f, 5000);
  g_assert_cmpuint (count_hits (f, "/1/messages.json"), ==, 3);
  g_assert_cmpuint (count_hits (f, tg_path), ==, 3);
  g_assert_cmpuint (count_hits (f, "/efp-test"), ==, 3);
  g_assert_cmpuint (count_hits (f, "/hook"), ==, 3);

  /* Pushover: a form with token, user, title, message, priority */
  h = find_hit (f, "/1/messages.json", 0);
  g_assert_cmpstr (h->method, ==, "POST");
  g_assert_cmpstr (h->content_type, ==, "application/x-www-form-urlencoded");
  form = soup_form_decode (h->body);
  g_assert_cmpstr (g_hash_table_lookup (form, "token"), ==, PUSHOVER_TOKEN);
  g_assert_cmpstr (g_hash_table_lookup (form, "user"), ==, PUSHOVER_USER);
  g_assert_cmpstr (g_hash_table_lookup (form, "title"), ==, "Study: grid lost");
  g_assert_cmpstr (g_hash_table_lookup (form, "message"), ==, "Study: grid lost (SoC 60 %)");
  g_assert_cmpstr (g_hash_table_lookup (form, "priority"), ==, "1");
  form2 = soup_form_decode (find_hit (f, "/1/messages.json", 1)->body);
  g_assert_cmpstr (g_hash_table_lookup (form2, "message"), ==,
                   "Study: SHUTDOWN sent to pc-study (policy critical): grid lost and soc 8 <= "
                   "10 for 180 s");
  g_assert_cmpstr (g_hash_table_lookup (form2, "priority"), ==, "1");
  form3 = soup_form_decode (find_hit (f, "/1/messages.json", 2)->body);
  g_assert_cmpstr (g_hash_table_lookup (form3, "message"), ==,
                   "Study: shutdown timer started (policy critical): grid lost and soc 9 <= 10");
  g_assert_cmpstr (g_hash_table_lookup (form3, "priority"), ==, "0");

  /* Telegram: JSON {chat_id, text} to /bot<token>/sendMessage */
  h = find_hit (f, tg_path, 0);
  g_assert_cmpstr (h->method, ==, "POST");
  g_assert_cmpstr (h->content_type, ==, "application/json");
  tg = parse_object (h->body, &tg_parser);
  g_assert_cmpint (json_object_get_int_member (tg, "chat_id"), ==,
                   G_GINT64_CONSTANT (-1001234567890));
  g_assert_cmpstr (json_object_get_string_member (tg, "text"), ==, "Study: grid lost (SoC 60 %)");
  g_assert_cmpuint (json_object_get_size (tg), ==, 2);
  tg = parse_object (find_hit (f, tg_path, 1)->body, &tg_parser2);
  g_assert_cmpstr (json_object_get_string_member (tg, "text"), ==,
                   "Study: SHUTDOWN sent to pc-study (policy critical): grid lost and soc 8 <= "
                   "10 for 180 s");

  /* ntfy: the text as the body, Title and Priority headers */
  h = find_hit (f, "/efp-test", 0);
  g_assert_cmpstr (h->method, ==, "POST");
  g_assert_true (g_str_has_prefix (h->content_type, "text/plain"));
  g_assert_cmpstr (h->body, ==, "Study: grid lost (SoC 60 %)");
  g_assert_cmpstr (h->title, ==, "Study: grid lost");
  g_assert_cmpstr (h->priority, ==, "high");
  h = find_hit (f, "/efp-test", 2);
  g_assert_cmpstr (h->title, ==, "Study: shutdown timer started");
  g_assert_cmpstr (h->priority, ==, "default");

  /* webhook: the event exactly as on <command-prefix>/events */
  h = find_hit (f, "/hook", 0);
  g_assert_cmpstr (h->method, ==, "POST");
  g_assert_cmpstr (h->content_type, ==, "application/json");
  g_assert_cmpstr (
    h->body, ==,
    "{\"ts\":1767225600,\"device\":\"Study\",\"policy\":null,\"event\":\"grid-lost\","
    "\"detail\":\"soc 60.0, from charger flag\"}");
  g_assert_cmpstr (find_hit (f, "/hook", 1)->body, ==,
                   "{\"ts\":1767225800,\"device\":\"Study\",\"policy\":\"critical\",\"event\":"
                   "\"shutdown-triggered\",\"detail\":\"grid lost and soc 8 <= 10 for 180 s\"}");
  /* success is quiet */
  g_assert_cmpuint (count_log ("WARNING"), ==, 0);
  g_assert_cmpuint (count_log ("EfpNotify-DEBUG: notify telegram: delivered"), ==, 3);
}

/* Text without SoC or agents; a non-ASCII title reaches ntfy as an RFC 2047 word. */
static void
test_text_fallbacks (Fixture *f, gconstpointer data)
{
  g_autofree gchar *want = NULL;
  Hit *h;

  make_one (f, "ntfy-url", "/topic");
  efp_notifier_event (f->n, TS, "Büro", NULL, "grid-restored", "soc 80.0, from ac input");
  WAIT_UNTIL (f->hits->len == 1, 5000);
  efp_notifier_event (f->n, TS, "Büro", "crit", "abort-sent", "grid back");
  WAIT_UNTIL (f->hits->len == 2, 5000);
  efp_notifier_event (f->n, TS, "nas", NULL, "wol-sent", "00:11:22:33:44:55 via 10.0.0.255:9");
  WAIT_UNTIL (f->hits->len == 3, 5000);
  h = find_hit (f, "/topic", 0);
  g_assert_cmpstr (h->body, ==, "Büro: grid restored: soc 80.0, from ac input");
  want = g_strdup_printf ("=?UTF-8?B?%s?=", "QsO8cm86IGdyaWQgcmVzdG9yZWQ=");
  g_assert_cmpstr (h->title, ==, want);
  g_assert_cmpstr (find_hit (f, "/topic", 1)->body, ==,
                   "Büro: shutdown ABORTED (policy crit): grid back");
  g_assert_cmpstr (find_hit (f, "/topic", 2)->body, ==,
                   "nas: Wake-on-LAN sent: 00:11:22:33:44:55 via 10.0.0.255:9");
}

/* One message per (device, event) a minute, except shutdowns and aborts; 20 a minute per target. */
static void
test_rate_limits (Fixture *f, gconstpointer data)
{
  guint i;

  make_one (f, "webhook-url", "/hook");
  efp_notifier_event (f->n, TS, "Study", NULL, "grid-lost", "a");
  efp_notifier_event (f->n, TS, "Study", NULL, "grid-lost", "b");
  efp_notifier_event (f->n, TS, "Study", NULL, "grid-restored", "c");
  efp_notifier_event (f->n, TS, "Study", NULL, "grid-lost", "d");
  efp_notifier_event (f->n, TS, "Office", NULL, "grid-lost", "e");
  for (i = 0; i < 3; i++)
    efp_notifier_event (f->n, TS, "Study", "critical", "shutdown-triggered", "s");
  for (i = 0; i < 2; i++)
    efp_notifier_event (f->n, TS, "Study", "critical", "abort-sent", "a");
  wait_idle (f, 5000);
  /* grid-lost Study once, grid-restored Study, grid-lost Office, 3 shutdowns, 2 aborts */
  g_assert_cmpuint (f->hits->len, ==, 8);
  /* the first grid-lost of Study went, the second and third did not */
  g_assert_cmpuint (count_bodies (f, "\"device\":\"Study\",\"policy\":null,\"event\":\"grid-lost\","
                                     "\"detail\":\"a\"}"),
                    ==, 1);
  g_assert_cmpuint (count_bodies (f, "\"event\":\"grid-lost\""), ==, 2);

  /* 30 distinct devices going stale: the target takes 12 more, then holds back */
  for (i = 0; i < 30; i++)
    {
      g_autofree gchar *dev = g_strdup_printf ("dev%u", i);
      efp_notifier_event (f->n, TS, dev, NULL, "stale", "no frame for 300 s");
    }
  wait_idle (f, 5000);
  g_assert_cmpuint (f->hits->len, ==, 20);
  g_assert_cmpuint (count_log ("EfpNotify-WARNING: notify webhook: 20 messages in the last minute"),
                    ==, 1);
  /* a shutdown still goes out */
  efp_notifier_event (f->n, TS, "Study", "critical", "shutdown-triggered", "s");
  efp_notifier_event (f->n, TS, "dev99", NULL, "stale", "x");
  wait_idle (f, 5000);
  g_assert_cmpuint (f->hits->len, ==, 21);
  g_assert_cmpuint (count_bodies (f, "\"event\":\"shutdown-triggered\""), ==, 4);
  g_assert_cmpuint (count_bodies (f, "\"device\":\"dev99\""), ==, 0);
  g_assert_cmpuint (count_log ("messages in the last minute"), ==, 1);
}

/* HTTP 500: logged once per change of state, not per message; recovery logged once. */
static void
test_http_error (Fixture *f, gconstpointer data)
{
  make_one (f, "webhook-url", "/hook");
  f->status = 500;
  efp_notifier_event (f->n, TS, "A", NULL, "grid-lost", "x");
  efp_notifier_event (f->n, TS, "B", NULL, "grid-lost", "x");
  efp_notifier_event (f->n, TS, "C", NULL, "grid-lost", "x");
  wait_idle (f, 5000);
  g_assert_cmpuint (f->hits->len, ==, 3); /* each sent once, none retried */
  g_assert_cmpuint (count_log ("EfpNotify-WARNING: notify webhook: delivery failed: HTTP 500"), ==,
                    1);
  spin (300);
  g_assert_cmpuint (f->hits->len, ==, 3);

  f->status = 200;
  efp_notifier_event (f->n, TS, "D", NULL, "grid-lost", "x");
  efp_notifier_event (f->n, TS, "E", NULL, "grid-lost", "x");
  wait_idle (f, 5000);
  g_assert_cmpuint (count_log ("notify webhook: messages are delivered again"), ==, 1);

  f->status = 503;
  efp_notifier_event (f->n, TS, "F", NULL, "grid-lost", "x");
  wait_idle (f, 5000);
  g_assert_cmpuint (count_log ("WARNING"), ==, 2);
  g_assert_cmpuint (count_log ("delivery failed: HTTP 503"), ==, 1);
}

/* A server that never answers: each request gives up after the timeout, logged once. */
static void
test_timeout (Fixture *f, gconstpointer data)
{
  gint64 t0;

  make_one (f, "ntfy-url", "/hang");
  t0 = g_get_monotonic_time ();
  efp_notifier_event (f->n, TS, "A", NULL, "grid-lost", "x");
  efp_notifier_event (f->n, TS, "B", NULL, "grid-lost", "x");
  g_assert_cmpuint (efp_notifier_get_n_pending (f->n), ==, 2);
  WAIT_UNTIL (f->hits->len == 2, 3000);
  wait_idle (f, 5000);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, G_USEC_PER_SEC);
  g_assert_cmpuint (count_log ("EfpNotify-WARNING: notify ntfy: delivery failed"), ==, 1);
  g_assert_cmpuint (count_log ("no answer within 1 s"), ==, 1);
  efp_notifier_event (f->n, TS, "C", NULL, "grid-lost", "x");
  wait_idle (f, 5000);
  g_assert_cmpuint (f->hits->len, ==, 3);
  g_assert_cmpuint (count_log ("WARNING"), ==, 1);
}

/* Freeing the notifier with requests in flight: they are dropped, nothing is touched later. */
static void
test_free_in_flight (Fixture *f, gconstpointer data)
{
  make_one (f, "webhook-url", "/hang");
  efp_notifier_event (f->n, TS, "A", NULL, "grid-lost", "x");
  efp_notifier_event (f->n, TS, "A", "p", "shutdown-triggered", "x");
  WAIT_UNTIL (f->hits->len == 2, 3000);
  g_clear_pointer (&f->n, efp_notifier_free);
  spin (1500);
  g_assert_cmpuint (count_log ("WARNING"), ==, 0);
}

/* Telegram failures (HTTP 401, connection refused) never show the bot token. */
static void
test_telegram_token_hidden (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GSocketAddress) any = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autofree gchar *text = NULL;
  guint16 closed_port;

  /* from $CREDENTIALS_DIRECTORY, by relative name */
  g_setenv ("CREDENTIALS_DIRECTORY", f->dir, TRUE);
  text =
    g_strdup_printf ("[notify]\ntelegram-token-file=telegram-token\ntelegram-chat=@power_alerts"
                     "\ntelegram-api-url=%s\n",
                     f->base);
  f->n = notifier_from (text, &error);
  g_unsetenv ("CREDENTIALS_DIRECTORY");
  g_assert_no_error (error);
  f->status = 401;
  efp_notifier_event (f->n, TS, "Study", NULL, "grid-lost", "x");
  wait_idle (f, 5000);
  g_assert_cmpuint (f->hits->len, ==, 1);
  g_assert_cmpstr (((Hit *) f->hits->pdata[0])->path, ==, "/bot" TELEGRAM_TOKEN "/sendMessage");
  g_assert_true (g_str_has_prefix (((Hit *) f->hits->pdata[0])->body,
                                   "{\"chat_id\":\"@power_alerts\",\"text\":"));
  g_assert_cmpuint (count_log ("notify telegram: delivery failed: HTTP 401"), ==, 1);
  g_clear_pointer (&f->n, efp_notifier_free);

  /* a port nobody listens on */
  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  any = g_inet_socket_address_new (lo, 0);
  g_socket_bind (sock, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (sock, &error);
  g_assert_no_error (error);
  closed_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_free (text);
  text = g_strdup_printf ("[notify]\ntelegram-token-file=%s\ntelegram-chat=" TELEGRAM_CHAT
                          "\ntelegram-api-url=http://127.0.0.1:%u\n",
                          f->telegram_file, closed_port);
  f->n = notifier_from (text, &error);
  g_assert_no_error (error);
  efp_notifier_event (f->n, TS, "Study", NULL, "grid-lost", "x");
  wait_idle (f, 5000);
  g_assert_cmpuint (count_log ("notify telegram: delivery failed"), ==, 2);
  /* the teardown checks no token appears anywhere in the log */
}

/* TLS is verified: a server whose certificate no trusted CA signed gets nothing. */
static void
test_tls_verified (Fixture *f, gconstpointer data)
{
  g_assert_true (g_str_has_prefix (f->base, "https://"));
  make_one (f, "webhook-url", "/hook");
  efp_notifier_event (f->n, TS, "Study", NULL, "grid-lost", "x");
  wait_idle (f, 5000);
  g_assert_cmpuint (f->hits->len, ==, 0);
  g_assert_cmpuint (count_log ("EfpNotify-WARNING: notify webhook: delivery failed"), ==, 1);
}

/* No [notify]: disabled, and events are accepted silently. */
static void
test_disabled (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->n = notifier_from ("[mqtt]\nhost=localhost\n", &error);
  g_assert_no_error (error);
  g_assert_false (efp_notifier_is_enabled (f->n));
  efp_notifier_event (f->n, TS, "Study", NULL, "grid-lost", "x");
  g_assert_cmpuint (efp_notifier_get_n_pending (f->n), ==, 0);
  g_clear_pointer (&f->n, efp_notifier_free);
  f->n = notifier_from ("[notify]\nntfy-url=\nwebhook-url=\n", &error);
  g_assert_no_error (error);
  g_assert_false (efp_notifier_is_enabled (f->n));
}

typedef struct
{
  const gchar *config; /* @P@: the Pushover token file, @T@: the Telegram token file, @D@: dir */
  const gchar *message;
} BadCase;

static gchar *
fill (const gchar *text, Fixture *f)
{
  GString *s = g_string_new (text);
  g_string_replace (s, "@P@", f->pushover_file, 0);
  g_string_replace (s, "@T@", f->telegram_file, 0);
  g_string_replace (s, "@D@", f->dir, 0);
  return g_string_free (s, FALSE);
}

static void
test_config_errors (Fixture *f, gconstpointer data)
{
  static const BadCase cases[] = {
    { "[notify]\npushover-token-file=@P@\n",
      "[notify] pushover-user: expected a Pushover user key because pushover-token-file is set, "
      "found nothing" },
    { "[notify]\npushover-user=" PUSHOVER_USER "\n",
      "[notify] pushover-token-file: expected a file holding the Pushover application token "
      "because pushover-user is set, found nothing" },
    { "[notify]\ntelegram-token-file=@T@\n",
      "[notify] telegram-chat: expected a chat id like -1001234567890 or @channel because "
      "telegram-token-file is set, found nothing" },
    { "[notify]\ntelegram-chat=" TELEGRAM_CHAT "\n",
      "[notify] telegram-token-file: expected a file holding the Telegram bot token because "
      "telegram-chat is set, found nothing" },
    { "[notify]\ntelegram-token-file=@T@\ntelegram-chat=my chat\n",
      "[notify] telegram-chat: expected a chat id like -1001234567890 or @channel, found 'my "
      "chat'" },
    { "[notify]\npushover-token-file=@P@\npushover-user=user-1\n",
      "[notify] pushover-user: expected a Pushover user or group key (letters and digits), found "
      "'user-1'" },
    { "[notify]\nntfy-url=http://ntfy.sh/efp-secret-topic\n",
      "[notify] ntfy-url: expected an https:// URL (http:// only to a loopback host), found "
      "'http://ntfy.sh/...'" },
    { "[notify]\nwebhook-url=ftp://example.org/hook\n",
      "[notify] webhook-url: expected an https:// URL, found 'ftp://example.org/...'" },
    { "[notify]\nwebhook-url=http://user:efp-secret-part@example.org\n",
      "[notify] webhook-url: expected an https:// URL (http:// only to a loopback host), found "
      "'http://example.org/...'" },
    { "[notify]\nwebhook-url=not a url\n",
      "[notify] webhook-url: expected an https:// URL, found 'not a url'" },
    { "[notify]\npushover-token-file=@P@\npushover-user=" PUSHOVER_USER
      "\npushover-api-url=https://api.example.org?x=1\n",
      "[notify] pushover-api-url: expected an https:// URL without query, found "
      "'https://api.example.org/...'" },
    { "[notify]\ntelegram-token-file=@T@\ntelegram-chat=1\ntelegram-api-url=http://10.1.2.3\n",
      "[notify] telegram-api-url: expected an https:// URL (http:// only to a loopback host), "
      "found 'http://10.1.2.3'" },
    { "[notify]\ncolour=red\n",
      "[notify] colour: expected one of pushover-token-file pushover-user telegram-token-file "
      "telegram-chat ntfy-url webhook-url pushover-api-url telegram-api-url, found an unknown "
      "key" },
    { "[notify]\ntelegram-token-file=@D@/empty\ntelegram-chat=1\n",
      "[notify] telegram-token-file: expected one token of printable characters without spaces "
      "or '/' in @D@/empty, found an empty file" },
    { "[notify]\ntelegram-token-file=@D@/spaced\ntelegram-chat=1\n",
      "[notify] telegram-token-file: expected one token of printable characters without spaces "
      "or '/' in @D@/spaced, found other text" },
  };
  g_autofree gchar *empty = g_build_filename (f->dir, "empty", NULL);
  g_autofree gchar *spaced = g_build_filename (f->dir, "spaced", NULL);
  guint i;

  write_file (empty, "\n");
  write_file (spaced, "123:AB secret-part\n");
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (EfpNotifier) n = NULL;
      g_autofree gchar *text = NULL;
      g_autofree gchar *want = NULL;

      text = fill (cases[i].config, f);
      want = fill (cases[i].message, f);
      g_test_message ("case %u: %s", i, text);
      n = notifier_from (text, &error);
      g_assert_null (n);
      g_assert_nonnull (error);
      g_assert_true (error->domain == EFP_CONFIG_ERROR);
      g_assert_cmpstr (error->message, ==, want);
      g_assert_null (strchr (error->message, '\n'));
      g_assert_null (strstr (error->message, "secret-part"));
    }

  /* an unreadable token file names the file, not a token */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (EfpNotifier) n =
      notifier_from ("[notify]\npushover-token-file=/nonexistent/efp-token"
                     "\npushover-user=" PUSHOVER_USER "\n",
                     &error);
    g_assert_null (n);
    g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO);
    g_assert_true (g_str_has_prefix (error->message,
                                     "[notify] pushover-token-file: expected a readable token "
                                     "file, found cannot read secret file /nonexistent/efp-token"));
    g_assert_null (strchr (error->message, '\n'));
  }
  g_unlink (empty);
  g_unlink (spaced);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* the loopback servers are reached directly, whatever proxy the environment names */
  g_unsetenv ("http_proxy");
  g_unsetenv ("https_proxy");
  g_unsetenv ("HTTP_PROXY");
  g_unsetenv ("HTTPS_PROXY");
  g_unsetenv ("all_proxy");
  g_unsetenv ("ALL_PROXY");
  log_capture (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/notifier/targets", test_targets);
  ADD ("/notifier/text-fallbacks", test_text_fallbacks);
  ADD ("/notifier/rate-limits", test_rate_limits);
  ADD ("/notifier/http-error", test_http_error);
  ADD ("/notifier/timeout", test_timeout);
  ADD ("/notifier/free-in-flight", test_free_in_flight);
  ADD ("/notifier/telegram-token-hidden", test_telegram_token_hidden);
  g_test_add ("/notifier/tls-verified", Fixture, "tls", fixture_setup, test_tls_verified,
              fixture_teardown);
  ADD ("/notifier/disabled", test_disabled);
  ADD ("/notifier/config-errors", test_config_errors);
  return g_test_run ();
}

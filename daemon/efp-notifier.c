/* efp-notifier.c: Pushover, Telegram, ntfy and webhook notifications.
 *
 * Every message is one asynchronous libsoup POST with a deadline; nothing here
 * waits, retries or loops. A target that fails is logged once when it starts
 * failing and once when it works again. Tokens live only in memory (and, for
 * Telegram, in the request URL, which is why no URL is ever logged).
 */
#include "efp-notifier.h"
#include "efp-event.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <math.h>
#include <string.h>
#include "config.h"
#include "efp-json.h"
#include "efp-plugin-util.h"
#include "efp-secret.h"

#define GROUP                    "notify"
#define DEFAULT_TIMEOUT_SEC      10
#define EVENT_INTERVAL_US        (60 * G_USEC_PER_SEC)
#define TARGET_WINDOW_US         (60 * G_USEC_PER_SEC)
#define TARGET_MAX_PER_WINDOW    20
#define MAX_TEXT_BYTES           1000 /* Pushover allows 1024, Telegram 4096 */
#define PUSHOVER_DEFAULT_API_URL "https://api.pushover.net"
#define TELEGRAM_DEFAULT_API_URL "https://api.telegram.org"

typedef enum
{
  TARGET_PUSHOVER,
  TARGET_TELEGRAM,
  TARGET_NTFY,
  TARGET_WEBHOOK,
} TargetKind;

typedef struct
{
  TargetKind kind;
  const gchar *name; /* for logs; the URL never is */
  gchar *url;
  gchar *token;     /* Pushover application token or Telegram bot token */
  gchar *recipient; /* Pushover user key or Telegram chat */
  GQueue sent_us;   /* monotonic times of the sends of the last minute */
  gboolean failing; /* the last request failed (logged once per change) */
  gboolean capped;  /* dropping for the per-minute cap (logged once per change) */
} Target;

typedef struct _Request Request;

struct _EfpNotifier
{
  SoupSession *session;
  GPtrArray *targets;    /* Target* */
  GHashTable *last_sent; /* "device\x1fevent" -> gint64* monotonic us */
  GPtrArray *pending;    /* Request* in flight */
  guint timeout_sec;
};

struct _Request
{
  EfpNotifier *owner; /* NULL once the notifier is freed: the callback only cleans up */
  Target *target;
  GCancellable *cancellable;
  guint deadline_id;
  gboolean timed_out;
};

static const gchar *const known_keys[] = {
  "pushover-token-file", "pushover-user",    "telegram-token-file",
  "telegram-chat",       "ntfy-url",         "webhook-url",
  "pushover-api-url",    "telegram-api-url", NULL
};

/* ---- targets ------------------------------------------------------------- */

static void
wipe_free (gchar *s)
{
  if (s != NULL)
    memset (s, 0, strlen (s));
  g_free (s);
}

static void
target_free (Target *t)
{
  if (t == NULL)
    return;
  g_free (t->url);
  wipe_free (t->token);
  g_free (t->recipient);
  g_queue_clear_full (&t->sent_us, g_free);
  g_free (t);
}

static Target *
target_new (TargetKind kind, const gchar *name)
{
  Target *t = g_new0 (Target, 1);
  t->kind = kind;
  t->name = name;
  g_queue_init (&t->sent_us);
  return t;
}

/* ---- configuration ------------------------------------------------------- */

/* A key's value, stripped; NULL when absent or empty (empty means "not configured"). */
static gchar *
get_value (GKeyFile *kf, const gchar *key)
{
  g_autofree gchar *raw = g_key_file_get_value (kf, GROUP, key, NULL);
  if (raw == NULL)
    return NULL;
  g_strstrip (raw);
  if (*raw == '\0')
    return NULL;
  return g_steal_pointer (&raw);
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

/* What a config error shows of a URL: scheme and host only, since the path of a
 * webhook or ntfy topic (or a user:password@) is often the only secret protecting it. */
static gchar *
url_for_error (const gchar *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const gchar *path;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return g_strdup (url);
  path = g_uri_get_path (uri);
  if ((path == NULL || *path == '\0' || g_str_equal (path, "/")) && g_uri_get_query (uri) == NULL &&
      g_uri_get_userinfo (uri) == NULL)
    return g_strdup (url);
  return g_strdup_printf ("%s://%s/...", g_uri_get_scheme (uri), g_uri_get_host (uri));
}

/* An http(s) URL; plain http only to a loopback host (test servers), as for [cloud] api-url.
 * @base: an API base that paths get appended to (no query, trailing '/' dropped). */
static gchar *
check_url (const gchar *key, const gchar *url, gboolean base, GError **error)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const gchar *scheme = uri != NULL ? g_uri_get_scheme (uri) : NULL;
  g_autofree gchar *shown = url_for_error (url);
  gsize n;

  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0) ||
      (base && (g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[" GROUP "] %s: expected an https:// URL%s, found '%s'", key,
                   base ? " without query" : "", shown);
      return NULL;
    }
  /* plain http would carry tokens and messages in the clear: loopback test servers only */
  if (g_ascii_strcasecmp (scheme, "http") == 0 && !host_is_loopback (g_uri_get_host (uri)))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[" GROUP "] %s: expected an https:// URL (http:// only to a loopback host), "
                   "found '%s'",
                   key, shown);
      return NULL;
    }
  n = strlen (url);
  while (base && n > 0 && url[n - 1] == '/')
    n--;
  return g_strndup (url, n);
}

/* A token from its file; never shown in an error, only where it came from. */
static gchar *
read_token (const gchar *key, const gchar *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  gchar *token = efp_secret_read_file (path, NULL, &local);
  const gchar *p;

  if (token == NULL)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO,
                   "[" GROUP "] %s: expected a readable token file, found %s", key, local->message);
      return NULL;
    }
  for (p = token; *p != '\0'; p++)
    if (g_ascii_isspace (*p) || *p == '/' || *p == '?' || *p == '#' || *p == '%' ||
        !g_ascii_isprint (*p))
      break;
  if (*token == '\0' || *p != '\0')
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[" GROUP "] %s: expected one token of printable characters without spaces "
                   "or '/' in %s, found %s",
                   key, path, *token == '\0' ? "an empty file" : "other text");
      wipe_free (token);
      return NULL;
    }
  return token;
}

static gboolean
missing_pair (const gchar *set_key, const gchar *missing_key, const gchar *what, GError **error)
{
  g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_MISSING,
               "[" GROUP "] %s: expected %s because %s is set, found nothing", missing_key, what,
               set_key);
  return FALSE;
}

static gboolean
valid_chat (const gchar *chat)
{
  const gchar *p = chat;

  if (*p == '@')
    {
      for (p++; *p != '\0'; p++)
        if (!g_ascii_isalnum (*p) && *p != '_')
          return FALSE;
      return strlen (chat) > 1;
    }
  if (*p == '-')
    p++;
  if (*p == '\0')
    return FALSE;
  for (; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

static gboolean
add_pushover (EfpNotifier *self, GKeyFile *kf, GError **error)
{
  g_autofree gchar *file = get_value (kf, "pushover-token-file");
  g_autofree gchar *user = get_value (kf, "pushover-user");
  g_autofree gchar *api = get_value (kf, "pushover-api-url");
  g_autofree gchar *base = NULL;
  gchar *token;
  Target *t;
  const gchar *p;

  if (file == NULL && user == NULL)
    return TRUE;
  if (user == NULL)
    return missing_pair ("pushover-token-file", "pushover-user", "a Pushover user key", error);
  if (file == NULL)
    return missing_pair ("pushover-user", "pushover-token-file",
                         "a file holding the Pushover application token", error);
  for (p = user; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p))
      {
        g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                     "[" GROUP "] pushover-user: expected a Pushover user or group key "
                     "(letters and digits), found '%s'",
                     user);
        return FALSE;
      }
  base = check_url ("pushover-api-url", api != NULL ? api : PUSHOVER_DEFAULT_API_URL, TRUE, error);
  if (base == NULL)
    return FALSE;
  token = read_token ("pushover-token-file", file, error);
  if (token == NULL)
    return FALSE;
  t = target_new (TARGET_PUSHOVER, "pushover");
  t->url = g_strconcat (base, "/1/messages.json", NULL);
  t->token = token;
  t->recipient = g_steal_pointer (&user);
  g_ptr_array_add (self->targets, t);
  return TRUE;
}

static gboolean
add_telegram (EfpNotifier *self, GKeyFile *kf, GError **error)
{
  g_autofree gchar *file = get_value (kf, "telegram-token-file");
  g_autofree gchar *chat = get_value (kf, "telegram-chat");
  g_autofree gchar *api = get_value (kf, "telegram-api-url");
  g_autofree gchar *base = NULL;
  gchar *token;
  Target *t;

  if (file == NULL && chat == NULL)
    return TRUE;
  if (chat == NULL)
    return missing_pair ("telegram-token-file", "telegram-chat",
                         "a chat id like -1001234567890 or @channel", error);
  if (file == NULL)
    return missing_pair ("telegram-chat", "telegram-token-file",
                         "a file holding the Telegram bot token", error);
  if (!valid_chat (chat))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[" GROUP "] telegram-chat: expected a chat id like -1001234567890 or "
                   "@channel, found '%s'",
                   chat);
      return FALSE;
    }
  base = check_url ("telegram-api-url", api != NULL ? api : TELEGRAM_DEFAULT_API_URL, TRUE, error);
  if (base == NULL)
    return FALSE;
  token = read_token ("telegram-token-file", file, error);
  if (token == NULL)
    return FALSE;
  t = target_new (TARGET_TELEGRAM, "telegram");
  /* the token is part of the URL: this URL must never reach a log */
  t->url = g_strconcat (base, "/bot", token, "/sendMessage", NULL);
  t->token = token;
  t->recipient = g_steal_pointer (&chat);
  g_ptr_array_add (self->targets, t);
  return TRUE;
}

static gboolean
add_url_target (EfpNotifier *self, GKeyFile *kf, const gchar *key, TargetKind kind,
                const gchar *name, GError **error)
{
  g_autofree gchar *value = get_value (kf, key);
  gchar *url;
  Target *t;

  if (value == NULL)
    return TRUE;
  url = check_url (key, value, FALSE, error);
  if (url == NULL)
    return FALSE;
  t = target_new (kind, name);
  t->url = url;
  g_ptr_array_add (self->targets, t);
  return TRUE;
}

/* ---- life cycle ---------------------------------------------------------- */

EfpNotifier *
efp_notifier_new (GKeyFile *keyfile, GError **error)
{
  g_autoptr (EfpNotifier) self = g_new0 (EfpNotifier, 1);
  g_auto (GStrv) keys = NULL;
  guint i;

  self->targets = g_ptr_array_new_with_free_func ((GDestroyNotify) target_free);
  self->last_sent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->pending = g_ptr_array_new ();
  self->timeout_sec = DEFAULT_TIMEOUT_SEC;

  keys = keyfile != NULL ? g_key_file_get_keys (keyfile, GROUP, NULL, NULL) : NULL;
  for (i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (known_keys, keys[i]))
      {
        g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_UNKNOWN_KEY,
                     "[" GROUP "] %s: expected one of pushover-token-file pushover-user "
                     "telegram-token-file telegram-chat ntfy-url webhook-url pushover-api-url "
                     "telegram-api-url, found an unknown key",
                     keys[i]);
        return NULL;
      }
  if (keys != NULL &&
      (!add_pushover (self, keyfile, error) || !add_telegram (self, keyfile, error) ||
       !add_url_target (self, keyfile, "ntfy-url", TARGET_NTFY, "ntfy", error) ||
       !add_url_target (self, keyfile, "webhook-url", TARGET_WEBHOOK, "webhook", error)))
    return NULL;

  /* default TLS database and verification; nothing here ever turns it off */
  self->session = soup_session_new_with_options ("timeout", self->timeout_sec, "user-agent",
                                                 "ecoflow-powerd/" PACKAGE_VERSION, NULL);
  return g_steal_pointer (&self);
}

static void
request_detach (Request *req)
{
  req->owner = NULL;
  req->target = NULL;
  g_clear_handle_id (&req->deadline_id, g_source_remove);
  g_cancellable_cancel (req->cancellable);
}

void
efp_notifier_free (EfpNotifier *self)
{
  if (self == NULL)
    return;
  /* callbacks still come (cancelled) and must find nothing of ours */
  for (guint i = 0; self->pending != NULL && i < self->pending->len; i++)
    request_detach (self->pending->pdata[i]);
  g_clear_pointer (&self->pending, g_ptr_array_unref);
  g_clear_object (&self->session);
  g_clear_pointer (&self->targets, g_ptr_array_unref);
  g_clear_pointer (&self->last_sent, g_hash_table_unref);
  g_free (self);
}

gboolean
efp_notifier_is_enabled (EfpNotifier *self)
{
  return self != NULL && self->targets->len > 0;
}

guint
efp_notifier_get_n_pending (EfpNotifier *self)
{
  return self != NULL ? self->pending->len : 0;
}

void
efp_notifier_set_timeout (EfpNotifier *self, guint seconds)
{
  g_return_if_fail (self != NULL && seconds > 0);
  self->timeout_sec = seconds;
  soup_session_set_timeout (self->session, seconds);
}

/* ---- message text -------------------------------------------------------- */

typedef struct
{
  const gchar *event;
  const gchar *phrase;
  gboolean high;   /* Pushover priority 1, ntfy "high" */
  gboolean always; /* never held back by a rate limit */
} EventInfo;

static const EventInfo event_infos[] = {
  { "timer-start", "shutdown timer started", FALSE, FALSE },
  { "timer-abort", "shutdown timer cancelled", FALSE, FALSE },
  { "shutdown-triggered", "SHUTDOWN", TRUE, TRUE },
  { "abort-sent", "shutdown ABORTED", FALSE, TRUE },
  { "stale", "no data", FALSE, FALSE },
  { "grid-lost", "grid lost", TRUE, FALSE },
  { "grid-restored", "grid restored", FALSE, FALSE },
  { "wol-sent", "Wake-on-LAN sent", FALSE, FALSE },
};

static EventInfo
event_info (const gchar *event)
{
  EventInfo unknown = { event, event, FALSE, FALSE };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (event_infos); i++)
    if (g_str_equal (event_infos[i].event, event))
      return event_infos[i];
  return unknown;
}

/* "Study: grid lost (SoC 60 %)",
 * "Study: SHUTDOWN sent to pc-study (policy critical): grid lost and soc 8 <= 10 for 180 s". */
static gchar *
message_text (const EventInfo *info, const gchar *device, const gchar *policy, const gchar *detail,
              gdouble soc, const gchar *const *agents)
{
  GString *s = g_string_new (NULL);
  gboolean grid =
    g_str_equal (info->event, "grid-lost") || g_str_equal (info->event, "grid-restored");
  gboolean command =
    g_str_equal (info->event, "shutdown-triggered") || g_str_equal (info->event, "abort-sent");

  g_string_append_printf (s, "%s: %s", device, info->phrase);
  if (command && agents != NULL && agents[0] != NULL)
    {
      g_autofree gchar *list = g_strjoinv (", ", (gchar **) agents);
      g_string_append_printf (
        s, "%s to %s", g_str_equal (info->event, "abort-sent") ? ", abort sent" : " sent", list);
    }
  if (policy != NULL && *policy != '\0')
    g_string_append_printf (s, " (policy %s)", policy);
  if (grid && !isnan (soc))
    g_string_append_printf (s, " (SoC %.0f %%)", soc);
  else if (detail != NULL && *detail != '\0')
    g_string_append_printf (s, ": %s", detail);
  if (s->len > MAX_TEXT_BYTES)
    {
      const gchar *end = s->str + MAX_TEXT_BYTES - 4;
      /* cut on a character boundary */
      while (end > s->str && (*end & 0xC0) == 0x80)
        end--;
      g_string_truncate (s, end - s->str);
      g_string_append (s, " ...");
    }
  return g_string_free (s, FALSE);
}

/* HTTP header values are ASCII: anything else goes as an RFC 2047 word, which ntfy decodes. */
static gchar *
header_value (const gchar *text)
{
  const gchar *p;
  g_autofree gchar *b64 = NULL;

  for (p = text; *p != '\0'; p++)
    if ((guchar) *p >= 0x80 || (guchar) *p < 0x20)
      break;
  if (*p == '\0')
    return g_strdup (text);
  b64 = g_base64_encode ((const guchar *) text, strlen (text));
  return g_strdup_printf ("=?UTF-8?B?%s?=", b64);
}

/* ---- sending ------------------------------------------------------------- */

/* Error text with every token masked: libsoup or GIO messages could quote a URL. */
static gchar *
scrub (EfpNotifier *self, const gchar *text)
{
  g_autoptr (GString) s = g_string_new (text);
  guint i;

  for (i = 0; i < self->targets->len; i++)
    {
      Target *t = self->targets->pdata[i];
      if (t->token != NULL && *t->token != '\0')
        g_string_replace (s, t->token, "(token)", 0);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
request_free (Request *req)
{
  g_clear_handle_id (&req->deadline_id, g_source_remove);
  g_clear_object (&req->cancellable);
  g_free (req);
}

static void
note_result (Request *req, const gchar *failure)
{
  EfpNotifier *self = req->owner;
  Target *t = req->target;

  if (failure == NULL)
    {
      if (t->failing)
        g_message ("notify %s: messages are delivered again", t->name);
      else
        g_debug ("notify %s: delivered", t->name);
      t->failing = FALSE;
      return;
    }
  if (!t->failing)
    {
      g_autofree gchar *clean = scrub (self, failure);
      g_warning ("notify %s: delivery failed: %s (further failures are not logged until one "
                 "gets through)",
                 t->name, clean);
    }
  t->failing = TRUE;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Request *req = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = NULL;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autofree gchar *failure = NULL;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (req->owner == NULL)
    {
      request_free (req);
      return;
    }
  g_ptr_array_remove_fast (req->owner->pending, req);
  if (body == NULL)
    {
      if (req->timed_out || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        failure = g_strdup_printf ("no answer within %u s", req->owner->timeout_sec);
      else
        failure = g_strdup (error->message);
    }
  else
    {
      status = soup_message_get_status (msg);
      if (status < 200 || status > 299)
        failure = g_strdup_printf (
          "HTTP %u %s", status,
          soup_message_get_reason_phrase (msg) != NULL ? soup_message_get_reason_phrase (msg) : "");
    }
  note_result (req, failure);
  request_free (req);
}

static gboolean
on_deadline (gpointer user_data)
{
  Request *req = user_data;

  req->deadline_id = 0;
  req->timed_out = TRUE;
  g_cancellable_cancel (req->cancellable);
  return G_SOURCE_REMOVE;
}

/* Room in this target's last minute? The cap is logged when it starts and when it ends. */
static gboolean
target_admit (Target *t, gint64 now, gboolean always)
{
  while (!g_queue_is_empty (&t->sent_us) &&
         *(gint64 *) g_queue_peek_head (&t->sent_us) <= now - TARGET_WINDOW_US)
    g_free (g_queue_pop_head (&t->sent_us));
  if (g_queue_get_length (&t->sent_us) >= TARGET_MAX_PER_WINDOW)
    {
      if (always)
        {
          /* shutdowns and aborts always go; they do not end the holding back of the rest */
          g_queue_push_tail (&t->sent_us, g_memdup2 (&now, sizeof now));
          return TRUE;
        }
      if (!t->capped)
        g_warning ("notify %s: %u messages in the last minute, holding back the rest until "
                   "the minute is over",
                   t->name, (guint) TARGET_MAX_PER_WINDOW);
      t->capped = TRUE;
      return FALSE;
    }
  if (t->capped)
    g_message ("notify %s: sending again after the per-minute limit", t->name);
  t->capped = FALSE;
  g_queue_push_tail (&t->sent_us, g_memdup2 (&now, sizeof now));
  return TRUE;
}

static void
set_body (SoupMessage *msg, const gchar *content_type, const gchar *text)
{
  g_autoptr (GBytes) bytes = g_bytes_new (text, strlen (text));
  soup_message_set_request_body_from_bytes (msg, content_type, bytes);
}

static SoupMessage *
build_message (Target *t, const EventInfo *info, const gchar *title, const gchar *text,
               const gchar *json)
{
  SoupMessage *msg = NULL;

  switch (t->kind)
    {
      case TARGET_PUSHOVER:
        {
          GHashTable *form = g_hash_table_new (g_str_hash, g_str_equal);
          g_hash_table_insert (form, "token", t->token);
          g_hash_table_insert (form, "user", t->recipient);
          g_hash_table_insert (form, "title", (gpointer) title);
          g_hash_table_insert (form, "message", (gpointer) text);
          g_hash_table_insert (form, "priority", info->high ? "1" : "0");
          msg = soup_message_new_from_encoded_form ("POST", t->url, soup_form_encode_hash (form));
          g_hash_table_unref (form);
          break;
        }
      case TARGET_TELEGRAM:
        {
          g_autoptr (JsonBuilder) b = json_builder_new ();
          g_autoptr (JsonNode) root = NULL;
          g_autofree gchar *body = NULL;
          gint64 id;

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "chat_id");
          if (t->recipient[0] != '@' &&
              g_ascii_string_to_signed (t->recipient, 10, G_MININT64, G_MAXINT64, &id, NULL))
            json_builder_add_int_value (b, id);
          else
            json_builder_add_string_value (b, t->recipient);
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, text);
          json_builder_end_object (b);
          root = json_builder_get_root (b);
          body = efp_json_to_string (root, 0);
          msg = soup_message_new ("POST", t->url);
          set_body (msg, "application/json", body);
          break;
        }
      case TARGET_NTFY:
        {
          g_autofree gchar *title_value = header_value (title);
          SoupMessageHeaders *h;

          msg = soup_message_new ("POST", t->url);
          h = soup_message_get_request_headers (msg);
          soup_message_headers_replace (h, "Title", title_value);
          soup_message_headers_replace (h, "Priority", info->high ? "high" : "default");
          set_body (msg, "text/plain; charset=utf-8", text);
          break;
        }
      case TARGET_WEBHOOK:
        msg = soup_message_new ("POST", t->url);
        set_body (msg, "application/json", json);
        break;
    }
  return msg;
}

static void
send_to (EfpNotifier *self, Target *t, SoupMessage *msg)
{
  Request *req = g_new0 (Request, 1);

  req->owner = self;
  req->target = t;
  req->cancellable = g_cancellable_new ();
  /* an overall deadline: the session timeout alone lets a trickling server hold a request */
  req->deadline_id = g_timeout_add (self->timeout_sec * 1000, on_deadline, req);
  g_ptr_array_add (self->pending, req);
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, req->cancellable,
                                    on_sent, req);
}

void
efp_notifier_event_full (EfpNotifier *self, gint64 ts, const gchar *device, const gchar *policy,
                         const gchar *event, const gchar *detail, gdouble soc,
                         const gchar *const *agents)
{
  EventInfo info;
  g_autofree gchar *key = NULL;
  g_autofree gchar *title = NULL;
  g_autofree gchar *text = NULL;
  g_autofree gchar *json = NULL;
  gint64 now = g_get_monotonic_time ();
  gint64 *last;
  guint i;

  g_return_if_fail (device != NULL && event != NULL);
  if (!efp_notifier_is_enabled (self))
    return;
  info = event_info (event);

  /* one message per (device, event) a minute: a flapping grid must not flood phones */
  key = g_strdup_printf ("%s\x1f%s", device, event);
  last = g_hash_table_lookup (self->last_sent, key);
  if (!info.always && last != NULL && now - *last < EVENT_INTERVAL_US)
    {
      g_debug ("notify: %s of %s within a minute of the last one, not sent", event, device);
      return;
    }
  if (last == NULL)
    {
      last = g_new (gint64, 1);
      g_hash_table_insert (self->last_sent, g_steal_pointer (&key), last);
    }
  *last = now;

  title = g_strdup_printf ("%s: %s", device, info.phrase);
  text = message_text (&info, device, policy, detail, soc, agents);
  json = efp_event_to_json (ts, device, policy, event, detail);
  for (i = 0; i < self->targets->len; i++)
    {
      Target *t = self->targets->pdata[i];
      g_autoptr (SoupMessage) msg = NULL;

      if (!target_admit (t, now, info.always))
        continue;
      msg = build_message (t, &info, title, text, json);
      send_to (self, t, msg);
    }
}

void
efp_notifier_event (EfpNotifier *self, gint64 ts, const gchar *device, const gchar *policy,
                    const gchar *event, const gchar *detail)
{
  efp_notifier_event_full (self, ts, device, policy, event, detail, NAN, NULL);
}

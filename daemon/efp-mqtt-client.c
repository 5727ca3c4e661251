/* efp-mqtt-client.c: libmosquitto driven by the GLib main loop (STYLE.md 5 and 8.4).
 *
 * One fd watch (G_IO_IN, plus G_IO_OUT only while mosquitto_want_write()), a 1 s
 * loop_misc tick while a socket exists, and a backoff timer while waiting to
 * reconnect. libmosquitto callbacks only queue events; the events are handled
 * after the libmosquitto call returns, so signal handlers never run inside a
 * libmosquitto callback and may publish, subscribe, stop or reconnect.
 *
 * libmosquitto looks the broker's name up synchronously inside its connect
 * call. With the network down (an outage often takes it along) that would block
 * the main loop, and every decision, for the resolver's timeouts on each retry,
 * so a name is first looked up with GResolver, off the loop; libmosquitto only
 * gets a name that just resolved.
 */
#include "efp-mqtt-client.h"

#include <errno.h>
#include <mosquitto.h>
#include <poll.h>
#include <string.h>
#include <glib-unix.h>

#define EFP_MQTT_STOP_FLUSH_MS  100
#define EFP_MQTT_SYSTEM_CA_PATH "/etc/ssl/certs"

typedef enum
{
  STATE_IDLE,       /* created, not started */
  STATE_RESOLVING,  /* looking the broker's name up, off the main loop */
  STATE_CONNECTING, /* socket open, waiting for CONNACK */
  STATE_CONNECTED,  /* CONNACK accepted */
  STATE_WAITING,    /* lost; the backoff timer will reconnect */
  STATE_STOPPED,
} EfpMqttState;

typedef enum
{
  EVENT_CONNACK,
  EVENT_DISCONNECT,
  EVENT_MESSAGE,
} EfpMqttEventType;

typedef struct
{
  EfpMqttEventType type;
  gint rc;
  gchar *topic;
  GBytes *payload;
  gboolean retained;
} EfpMqttEvent;

struct _EfpMqttClient
{
  GObject parent_instance;

  struct mosquitto *mosq;
  gchar *host;
  guint16 port;
  gchar *client_id;
  gchar *username;
  gchar *password;
  guint keepalive_sec;
  guint backoff_initial_ms;
  guint backoff_max_ms;

  EfpMqttState state;
  gboolean connect_inited; /* mosquitto knows host/port: reconnect_async is usable */
  guint backoff_ms;        /* delay before the next retry, before jitter */
  gint last_failure_rc;    /* reported failure, so repeats are not logged again */
  gboolean failure_reported;
  gboolean failure_signalled; /* "disconnected" emitted since the last CONNACK */

  guint watch_id;
  gint watch_fd;
  GIOCondition watch_cond;
  guint tick_id;
  guint retry_id;
  guint reconnect_idle_id;
  GCancellable *resolving; /* the name lookup in flight */

  GQueue events;         /* EfpMqttEvent*, filled by libmosquitto callbacks */
  GPtrArray *sub_topics; /* remembered patterns */
  GArray *sub_qos;

  guint64 wakeups;
};

G_DEFINE_TYPE (EfpMqttClient, efp_mqtt_client, G_TYPE_OBJECT)

enum
{
  SIGNAL_CONNECTED,
  SIGNAL_DISCONNECTED,
  SIGNAL_MESSAGE,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void update_io (EfpMqttClient *self);
static void connection_lost (EfpMqttClient *self, gint rc, gint saved_errno, gboolean refused);

static gpointer
lib_init_once (gpointer data)
{
  mosquitto_lib_init ();
  return NULL;
}

static void
efp_mqtt_event_free (EfpMqttEvent *ev)
{
  g_free (ev->topic);
  g_clear_pointer (&ev->payload, g_bytes_unref);
  g_free (ev);
}

/* VOID:STRING,BOXED,BOOLEAN, written out as glib-genmarshal would. */
static void
efp_marshal_VOID__STRING_BOXED_BOOLEAN (GClosure *closure, GValue *return_value,
                                        guint n_param_values, const GValue *param_values,
                                        gpointer invocation_hint, gpointer marshal_data)
{
  typedef void (*MarshalFunc) (gpointer data1, gpointer arg1, gpointer arg2, gboolean arg3,
                               gpointer data2);
  GCClosure *cc = (GCClosure *) closure;
  gpointer data1, data2;
  MarshalFunc callback;

  g_return_if_fail (n_param_values == 4);
  if (G_CCLOSURE_SWAP_DATA (closure))
    {
      data1 = closure->data;
      data2 = g_value_peek_pointer (param_values + 0);
    }
  else
    {
      data1 = g_value_peek_pointer (param_values + 0);
      data2 = closure->data;
    }
  callback = (MarshalFunc) (marshal_data != NULL ? marshal_data : cc->callback);
  callback (data1, (gpointer) g_value_get_string (param_values + 1),
            g_value_get_boxed (param_values + 2), g_value_get_boolean (param_values + 3), data2);
}

/* ---- libmosquitto callbacks: queue only ---- */

static void
on_connect_cb (struct mosquitto *mosq, void *userdata, int rc)
{
  EfpMqttClient *self = userdata;
  EfpMqttEvent *ev = g_new0 (EfpMqttEvent, 1);
  ev->type = EVENT_CONNACK;
  ev->rc = rc;
  g_queue_push_tail (&self->events, ev);
}

static void
on_disconnect_cb (struct mosquitto *mosq, void *userdata, int rc)
{
  EfpMqttClient *self = userdata;
  EfpMqttEvent *ev = g_new0 (EfpMqttEvent, 1);
  ev->type = EVENT_DISCONNECT;
  ev->rc = rc;
  g_queue_push_tail (&self->events, ev);
}

static void
on_message_cb (struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
  EfpMqttClient *self = userdata;
  EfpMqttEvent *ev = g_new0 (EfpMqttEvent, 1);
  ev->type = EVENT_MESSAGE;
  ev->topic = g_strdup (msg->topic);
  ev->payload = g_bytes_new (msg->payload, msg->payloadlen > 0 ? (gsize) msg->payloadlen : 0);
  ev->retained = msg->retain;
  g_queue_push_tail (&self->events, ev);
}

/* ---- state machine ---- */

static void
remove_watch (EfpMqttClient *self)
{
  g_clear_handle_id (&self->watch_id, g_source_remove);
  self->watch_fd = -1;
  self->watch_cond = 0;
}

static void
remove_sources (EfpMqttClient *self)
{
  remove_watch (self);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_clear_handle_id (&self->reconnect_idle_id, g_source_remove);
  if (self->resolving != NULL)
    g_cancellable_cancel (self->resolving);
  g_clear_object (&self->resolving);
}

static void
resubscribe_all (EfpMqttClient *self)
{
  guint i;
  for (i = 0; i < self->sub_topics->len; i++)
    {
      const gchar *pattern = g_ptr_array_index (self->sub_topics, i);
      gint qos = g_array_index (self->sub_qos, gint, i);
      gint rc = mosquitto_subscribe (self->mosq, NULL, pattern, qos);
      if (rc != MOSQ_ERR_SUCCESS)
        g_message ("subscribe to %s failed: %s", pattern, mosquitto_strerror (rc));
    }
}

static void
handle_connack (EfpMqttClient *self, gint rc)
{
  if (self->state != STATE_CONNECTING)
    return;
  if (rc != 0)
    {
      connection_lost (self, rc, 0, TRUE);
      return;
    }
  self->state = STATE_CONNECTED;
  self->backoff_ms = self->backoff_initial_ms;
  self->failure_reported = FALSE;
  self->failure_signalled = FALSE;
  self->last_failure_rc = 0;
  g_message ("connected to %s:%u", self->host, self->port);
  resubscribe_all (self);
  update_io (self);
  g_signal_emit (self, signals[SIGNAL_CONNECTED], 0);
}

/* Emit what the callbacks queued, in order. Handlers may call anything on
 * @self, including stop(), which empties the queue. */
static void
process_events (EfpMqttClient *self)
{
  EfpMqttEvent *ev;

  g_object_ref (self);
  while ((ev = g_queue_pop_head (&self->events)) != NULL)
    {
      switch (ev->type)
        {
          case EVENT_CONNACK:
            handle_connack (self, ev->rc);
            break;
          case EVENT_DISCONNECT:
            if (self->state == STATE_CONNECTING || self->state == STATE_CONNECTED)
              connection_lost (self, ev->rc != 0 ? ev->rc : MOSQ_ERR_CONN_LOST, 0, FALSE);
            break;
          case EVENT_MESSAGE:
            if (self->state != STATE_STOPPED)
              g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, ev->topic, ev->payload,
                             ev->retained);
            break;
        }
      efp_mqtt_event_free (ev);
    }
  g_object_unref (self);
}

static gboolean
is_active (EfpMqttClient *self)
{
  return self->state == STATE_CONNECTING || self->state == STATE_CONNECTED;
}

/* After a libmosquitto call: deliver events, then treat an error as a loss. */
static void
after_call (EfpMqttClient *self, gint rc, gint saved_errno)
{
  process_events (self);
  if (rc != MOSQ_ERR_SUCCESS && is_active (self))
    connection_lost (self, rc, saved_errno, FALSE);
  update_io (self);
}

static gboolean
on_socket (gint fd, GIOCondition cond, gpointer user_data)
{
  EfpMqttClient *self = user_data;
  guint this_id = g_source_get_id (g_main_current_source ());
  gint rc = MOSQ_ERR_SUCCESS;
  gint saved_errno = 0;

  self->wakeups++;
  g_object_ref (self);
  if ((cond & G_IO_IN) != 0 && is_active (self))
    {
      errno = 0;
      rc = mosquitto_loop_read (self->mosq, 1);
      saved_errno = errno;
      process_events (self);
      if (rc != MOSQ_ERR_SUCCESS && is_active (self))
        connection_lost (self, rc, saved_errno, FALSE);
    }
  if ((cond & G_IO_OUT) != 0 && is_active (self) && mosquitto_want_write (self->mosq))
    {
      errno = 0;
      rc = mosquitto_loop_write (self->mosq, 1);
      saved_errno = errno;
      process_events (self);
      if (rc != MOSQ_ERR_SUCCESS && is_active (self))
        connection_lost (self, rc, saved_errno, FALSE);
    }
  /* A hang-up the reads did not notice (e.g. TLS to a refused port) must not
   * spin: drop the socket and wait for the retry (STYLE.md 5, item 4). */
  if ((cond & (G_IO_HUP | G_IO_ERR)) != 0 && is_active (self))
    connection_lost (self, MOSQ_ERR_CONN_LOST, 0, FALSE);

  if (self->watch_id == this_id)
    {
      gint want_fd = is_active (self) ? mosquitto_socket (self->mosq) : -1;
      GIOCondition want_cond =
        G_IO_IN | G_IO_HUP | G_IO_ERR | (mosquitto_want_write (self->mosq) ? G_IO_OUT : 0);
      if (want_fd == self->watch_fd && want_cond == self->watch_cond)
        {
          g_object_unref (self);
          return G_SOURCE_CONTINUE;
        }
      /* returning REMOVE destroys this watch; update_io adds the right one */
      self->watch_id = 0;
      self->watch_fd = -1;
      update_io (self);
    }
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

/* Idempotent: make the fd watch match mosquitto_socket() and want_write(). */
static void
update_io (EfpMqttClient *self)
{
  gint fd;
  GIOCondition cond;

  if (!is_active (self))
    {
      remove_watch (self);
      return;
    }
  fd = mosquitto_socket (self->mosq);
  if (fd < 0)
    {
      remove_watch (self);
      return;
    }
  cond = G_IO_IN | G_IO_HUP | G_IO_ERR | (mosquitto_want_write (self->mosq) ? G_IO_OUT : 0);
  if (self->watch_id != 0 && self->watch_fd == fd && self->watch_cond == cond)
    return;
  remove_watch (self);
  self->watch_id = g_unix_fd_add (fd, cond, on_socket, self);
  self->watch_fd = fd;
  self->watch_cond = cond;
}

static gboolean
on_tick (gpointer user_data)
{
  EfpMqttClient *self = user_data;
  guint this_id = g_source_get_id (g_main_current_source ());
  gboolean keep;
  gint rc;
  gint saved_errno;

  self->wakeups++;
  g_object_ref (self);
  if (is_active (self))
    {
      errno = 0;
      rc = mosquitto_loop_misc (self->mosq);
      saved_errno = errno;
      after_call (self, rc, saved_errno);
    }
  keep = is_active (self) && self->tick_id == this_id;
  if (!keep && self->tick_id == this_id)
    self->tick_id = 0;
  g_object_unref (self);
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* A one-line reason, without libmosquitto's trailing period. */
static gchar *
describe_rc (gint rc, gint saved_errno, gboolean refused)
{
  const gchar *text;
  gchar *s;
  gsize n;

  if (refused)
    text = mosquitto_connack_string (rc);
  else if (rc == MOSQ_ERR_ERRNO && saved_errno != 0)
    text = g_strerror (saved_errno);
  else
    text = mosquitto_strerror (rc);
  s = g_strdup (text);
  n = strlen (s);
  if (n > 0 && s[n - 1] == '.')
    s[n - 1] = '\0';
  return s;
}

static gboolean on_retry (gpointer user_data);

static void
schedule_retry (EfpMqttClient *self, guint *delay_ms_out)
{
  gdouble jitter = g_random_double_range (0.8, 1.2);
  guint delay = (guint) (self->backoff_ms * jitter);

  if (delay == 0)
    delay = 1;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->retry_id = g_timeout_add (delay, on_retry, self);
  /* the next wait doubles, up to the cap */
  self->backoff_ms = MIN ((guint64) self->backoff_ms * 2, (guint64) self->backoff_max_ms);
  if (delay_ms_out != NULL)
    *delay_ms_out = delay;
}

/* Any loss or refusal: drop the watch, tell listeners once, wait, retry. */
static void
connection_lost (EfpMqttClient *self, gint rc, gint saved_errno, gboolean refused)
{
  gboolean was_connected = (self->state == STATE_CONNECTED);
  gboolean changed;
  gboolean notify = FALSE;
  g_autofree gchar *reason = NULL;
  guint delay = 0;

  if (!is_active (self))
    return;
  self->state = STATE_WAITING;
  remove_watch (self);
  g_clear_handle_id (&self->tick_id, g_source_remove);
  schedule_retry (self, &delay);

  /* signal when the link goes down, or a refusal changes its reason; log once
   * per change of reason, never once per failed retry */
  if (was_connected || !self->failure_signalled || (refused && self->last_failure_rc != rc))
    {
      self->failure_signalled = TRUE;
      notify = TRUE;
    }
  changed = was_connected || !self->failure_reported || self->last_failure_rc != rc;
  self->failure_reported = TRUE;
  self->last_failure_rc = rc;
  if (!changed)
    return;
  reason = describe_rc (rc, saved_errno, refused);
  if (was_connected)
    g_message ("connection to %s:%u lost: %s; retrying in %.1f s", self->host, self->port, reason,
               delay / 1000.0);
  else if (refused)
    g_message ("connection to %s:%u refused: %s; retrying in %.1f s", self->host, self->port,
               reason, delay / 1000.0);
  else
    g_message ("cannot connect to %s:%u: %s; retrying in %.1f s", self->host, self->port, reason,
               delay / 1000.0);
  if (notify)
    g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0, rc);
}

static void
connect_now (EfpMqttClient *self)
{
  gint rc;
  gint saved_errno;

  self->state = STATE_CONNECTING;
  /* the fd number may be reused by the new socket: never keep the old watch */
  remove_watch (self);
  errno = 0;
  if (self->connect_inited)
    rc = mosquitto_reconnect_async (self->mosq);
  else
    rc = mosquitto_connect_async (self->mosq, self->host, self->port, (int) self->keepalive_sec);
  saved_errno = errno;
  if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM)
    self->connect_inited = FALSE;
  else
    self->connect_inited = TRUE;
  if (self->tick_id == 0)
    self->tick_id = g_timeout_add_seconds (1, on_tick, self);
  after_call (self, rc, saved_errno);
}

typedef struct
{
  EfpMqttClient *self;       /* a reference */
  GCancellable *cancellable; /* which lookup this is: a newer one replaces it */
} Lookup;

static void
on_resolved (GObject *source, GAsyncResult *res, gpointer user_data)
{
  Lookup *lookup = user_data;
  EfpMqttClient *self = lookup->self;
  g_autoptr (GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), res, &error);
  gboolean current = self->resolving == lookup->cancellable && self->state == STATE_RESOLVING &&
                     !g_cancellable_is_cancelled (lookup->cancellable);

  g_resolver_free_addresses (addresses);
  g_object_unref (lookup->cancellable);
  g_free (lookup);
  if (current)
    {
      g_clear_object (&self->resolving);
      if (addresses == NULL)
        {
          /* a failed connect attempt: reported once per change, retried with backoff */
          g_debug ("MQTT broker %s: %s", self->host, error->message);
          self->state = STATE_CONNECTING;
          connection_lost (self, MOSQ_ERR_EAI, 0, FALSE);
        }
      else
        connect_now (self);
    }
  g_object_unref (self);
}

static void
try_connect (EfpMqttClient *self)
{
  g_autoptr (GResolver) resolver = NULL;
  Lookup *lookup;

  if (self->resolving != NULL)
    g_cancellable_cancel (self->resolving);
  g_clear_object (&self->resolving);
  if (g_hostname_is_ip_address (self->host))
    {
      connect_now (self);
      return;
    }
  self->state = STATE_RESOLVING;
  self->resolving = g_cancellable_new ();
  lookup = g_new0 (Lookup, 1);
  lookup->self = g_object_ref (self);
  lookup->cancellable = g_object_ref (self->resolving);
  resolver = g_resolver_get_default ();
  g_resolver_lookup_by_name_async (resolver, self->host, self->resolving, on_resolved, lookup);
}

static gboolean
on_retry (gpointer user_data)
{
  EfpMqttClient *self = user_data;

  self->wakeups++;
  self->retry_id = 0;
  if (self->state == STATE_WAITING)
    {
      g_object_ref (self);
      try_connect (self);
      g_object_unref (self);
    }
  return G_SOURCE_REMOVE;
}

/* ---- public API ---- */

EfpMqttClient *
efp_mqtt_client_new (const EfpMqttOptions *options, GError **error)
{
  static GOnce once = G_ONCE_INIT;
  g_autoptr (EfpMqttClient) self = NULL;
  gint rc;

  g_return_val_if_fail (options != NULL, NULL);
  g_once (&once, lib_init_once, NULL);

  if (options->client_id == NULL || options->client_id[0] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "MQTT client id is required");
      return NULL;
    }
  self = g_object_new (EFP_TYPE_MQTT_CLIENT, NULL);
  self->host =
    g_strdup (options->host != NULL && options->host[0] != '\0' ? options->host : "localhost");
  self->port = options->port != 0 ? options->port : 1883;
  self->client_id = g_strdup (options->client_id);
  self->keepalive_sec = options->keepalive_sec != 0 ? options->keepalive_sec : 30;
  self->backoff_initial_ms = options->backoff_initial_ms != 0 ? options->backoff_initial_ms : 1000;
  self->backoff_max_ms = options->backoff_max_ms != 0 ? options->backoff_max_ms : 30000;
  if (self->backoff_max_ms < self->backoff_initial_ms)
    self->backoff_max_ms = self->backoff_initial_ms;
  self->backoff_ms = self->backoff_initial_ms;

  self->mosq = mosquitto_new (self->client_id, options->clean_session, self);
  if (self->mosq == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create MQTT client: %s",
                   g_strerror (errno));
      return NULL;
    }
  mosquitto_connect_callback_set (self->mosq, on_connect_cb);
  mosquitto_disconnect_callback_set (self->mosq, on_disconnect_cb);
  mosquitto_message_callback_set (self->mosq, on_message_cb);

  if (options->will_topic != NULL)
    {
      const gchar *payload = options->will_payload != NULL ? options->will_payload : "";
      rc = mosquitto_will_set (self->mosq, options->will_topic, (int) strlen (payload), payload, 1,
                               true);
      if (rc != MOSQ_ERR_SUCCESS)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "MQTT will topic '%s': %s",
                       options->will_topic, mosquitto_strerror (rc));
          return NULL;
        }
    }
  if (options->tls)
    {
      const gchar *ca_path = options->ca_file != NULL ? NULL : EFP_MQTT_SYSTEM_CA_PATH;
      rc = mosquitto_tls_set (self->mosq, options->ca_file, ca_path, NULL, NULL, NULL);
      if (rc != MOSQ_ERR_SUCCESS)
        {
          g_set_error (
            error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "MQTT TLS: cannot use CA %s: %s",
            options->ca_file != NULL ? options->ca_file : ca_path, mosquitto_strerror (rc));
          return NULL;
        }
      /* verification is always on: 1 = SSL_VERIFY_PEER */
      rc = mosquitto_tls_opts_set (self->mosq, 1, NULL, NULL);
      if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_tls_insecure_set (self->mosq, false);
      if (rc != MOSQ_ERR_SUCCESS)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "MQTT TLS options: %s",
                       mosquitto_strerror (rc));
          return NULL;
        }
    }
  efp_mqtt_client_set_credentials (self, options->username, options->password);
  return g_steal_pointer (&self);
}

void
efp_mqtt_client_start (EfpMqttClient *self)
{
  g_return_if_fail (EFP_IS_MQTT_CLIENT (self));
  if (self->state != STATE_IDLE && self->state != STATE_STOPPED)
    return;
  self->backoff_ms = self->backoff_initial_ms;
  self->failure_reported = FALSE;
  self->failure_signalled = FALSE;
  try_connect (self);
}

void
efp_mqtt_client_stop (EfpMqttClient *self)
{
  gint64 deadline;

  g_return_if_fail (EFP_IS_MQTT_CLIENT (self));
  if (self->state == STATE_STOPPED || self->state == STATE_IDLE)
    {
      self->state = STATE_STOPPED;
      remove_sources (self);
      return;
    }
  if (self->state == STATE_CONNECTED)
    {
      mosquitto_disconnect (self->mosq);
      /* flush DISCONNECT, bounded, so the broker does not publish our will */
      deadline = g_get_monotonic_time () + EFP_MQTT_STOP_FLUSH_MS * 1000;
      while (mosquitto_socket (self->mosq) >= 0 && mosquitto_want_write (self->mosq))
        {
          struct pollfd pfd = { mosquitto_socket (self->mosq), POLLOUT, 0 };
          gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
          if (left_ms <= 0 || poll (&pfd, 1, (int) left_ms) <= 0)
            break;
          if (mosquitto_loop_write (self->mosq, 1) != MOSQ_ERR_SUCCESS)
            break;
        }
    }
  self->state = STATE_STOPPED;
  remove_sources (self);
  g_queue_clear_full (&self->events, (GDestroyNotify) efp_mqtt_event_free);
}

gboolean
efp_mqtt_client_is_connected (EfpMqttClient *self)
{
  g_return_val_if_fail (EFP_IS_MQTT_CLIENT (self), FALSE);
  return self->state == STATE_CONNECTED;
}

void
efp_mqtt_client_subscribe (EfpMqttClient *self, const gchar *pattern, gint qos)
{
  guint i;
  gint rc;

  g_return_if_fail (EFP_IS_MQTT_CLIENT (self));
  g_return_if_fail (pattern != NULL);
  for (i = 0; i < self->sub_topics->len; i++)
    if (g_strcmp0 (g_ptr_array_index (self->sub_topics, i), pattern) == 0)
      break;
  if (i < self->sub_topics->len)
    g_array_index (self->sub_qos, gint, i) = qos;
  else
    {
      g_ptr_array_add (self->sub_topics, g_strdup (pattern));
      g_array_append_val (self->sub_qos, qos);
    }
  if (self->state != STATE_CONNECTED)
    return; /* sent on CONNACK */
  rc = mosquitto_subscribe (self->mosq, NULL, pattern, qos);
  if (rc != MOSQ_ERR_SUCCESS)
    g_message ("subscribe to %s failed: %s", pattern, mosquitto_strerror (rc));
  after_call (self, MOSQ_ERR_SUCCESS, 0);
}

gboolean
efp_mqtt_client_publish (EfpMqttClient *self, const gchar *topic, gconstpointer payload, gsize len,
                         gint qos, gboolean retain, GError **error)
{
  gint rc;
  gint saved_errno;

  g_return_val_if_fail (EFP_IS_MQTT_CLIENT (self), FALSE);
  g_return_val_if_fail (topic != NULL, FALSE);
  if (self->state != STATE_CONNECTED)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                   "not connected to MQTT broker %s:%u", self->host, self->port);
      return FALSE;
    }
  if (len > G_MAXINT)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "MQTT payload too large");
      return FALSE;
    }
  errno = 0;
  rc = mosquitto_publish (self->mosq, NULL, topic, (int) len, payload, qos, retain);
  saved_errno = errno;
  if (rc != MOSQ_ERR_SUCCESS)
    {
      g_autofree gchar *reason = describe_rc (rc, saved_errno, FALSE);
      g_set_error (error, G_IO_ERROR,
                   rc == MOSQ_ERR_NO_CONN ? G_IO_ERROR_NOT_CONNECTED : G_IO_ERROR_FAILED,
                   "MQTT publish to %s failed: %s", topic, reason);
      /* a write error is a lost connection; invalid arguments are not */
      if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)
        after_call (self, rc, saved_errno);
      return FALSE;
    }
  after_call (self, MOSQ_ERR_SUCCESS, 0);
  return TRUE;
}

void
efp_mqtt_client_set_credentials (EfpMqttClient *self, const gchar *username, const gchar *password)
{
  g_return_if_fail (EFP_IS_MQTT_CLIENT (self));
  g_free (self->username);
  self->username = g_strdup (username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  self->password = g_strdup (password);
  mosquitto_username_pw_set (self->mosq, self->username,
                             self->username != NULL ? self->password : NULL);
}

static gboolean
on_reconnect_idle (gpointer user_data)
{
  EfpMqttClient *self = user_data;

  self->wakeups++;
  self->reconnect_idle_id = 0;
  if (self->state == STATE_IDLE || self->state == STATE_STOPPED)
    return G_SOURCE_REMOVE;
  g_object_ref (self);
  if (self->state == STATE_CONNECTED)
    {
      /* a clean DISCONNECT, so the broker does not publish our will */
      mosquitto_disconnect (self->mosq);
      g_queue_clear_full (&self->events, (GDestroyNotify) efp_mqtt_event_free);
      self->failure_signalled = TRUE;
      g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0, (gint) MOSQ_ERR_SUCCESS);
    }
  g_clear_handle_id (&self->retry_id, g_source_remove);
  self->backoff_ms = self->backoff_initial_ms;
  self->failure_reported = FALSE;
  if (self->state != STATE_IDLE && self->state != STATE_STOPPED)
    try_connect (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

void
efp_mqtt_client_reconnect (EfpMqttClient *self)
{
  g_return_if_fail (EFP_IS_MQTT_CLIENT (self));
  /* deferred: the caller may be inside a signal handler of this client */
  if (self->reconnect_idle_id == 0)
    self->reconnect_idle_id = g_idle_add (on_reconnect_idle, self);
}

guint64
efp_mqtt_client_get_wakeups (EfpMqttClient *self)
{
  g_return_val_if_fail (EFP_IS_MQTT_CLIENT (self), 0);
  return self->wakeups;
}

/* ---- GObject ---- */

static void
efp_mqtt_client_finalize (GObject *object)
{
  EfpMqttClient *self = EFP_MQTT_CLIENT (object);

  if (self->mosq != NULL)
    {
      efp_mqtt_client_stop (self);
      mosquitto_destroy (self->mosq);
    }
  remove_sources (self);
  g_queue_clear_full (&self->events, (GDestroyNotify) efp_mqtt_event_free);
  g_ptr_array_unref (self->sub_topics);
  g_array_unref (self->sub_qos);
  g_free (self->host);
  g_free (self->client_id);
  g_free (self->username);
  if (self->password != NULL)
    memset (self->password, 0, strlen (self->password));
  g_free (self->password);
  G_OBJECT_CLASS (efp_mqtt_client_parent_class)->finalize (object);
}

static void
efp_mqtt_client_class_init (EfpMqttClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = efp_mqtt_client_finalize;

  signals[SIGNAL_CONNECTED] =
    g_signal_new ("connected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  g_cclosure_marshal_VOID__VOID, G_TYPE_NONE, 0);
  signals[SIGNAL_DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  g_cclosure_marshal_VOID__INT, G_TYPE_NONE, 1, G_TYPE_INT);
  signals[SIGNAL_MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                  efp_marshal_VOID__STRING_BOXED_BOOLEAN, G_TYPE_NONE, 3,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE, G_TYPE_BYTES, G_TYPE_BOOLEAN);
}

static void
efp_mqtt_client_init (EfpMqttClient *self)
{
  self->state = STATE_IDLE;
  self->watch_fd = -1;
  g_queue_init (&self->events);
  self->sub_topics = g_ptr_array_new_with_free_func (g_free);
  self->sub_qos = g_array_new (FALSE, FALSE, sizeof (gint));
}

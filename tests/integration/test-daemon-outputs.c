/* test-daemon-outputs.c: what the daemon tells the world besides MQTT: a webhook
 * notification and a Wake-on-LAN packet, received on loopback. */
#include <gio/gio.h>
#include <string.h>

#include "efp-test-broker.h"
#include "efp-test-daemon.h"

typedef struct
{
  GSocket *sock;
  GString *bodies; /* every request body, one per line */
  GMutex lock;
  gboolean stop;
} Webhook;

/* A tiny HTTP server thread: reads requests, keeps their bodies, answers 200. */
static gpointer
webhook_thread (gpointer data)
{
  Webhook *w = data;
  while (!w->stop)
    {
      g_autoptr (GSocket) c = NULL;
      g_autoptr (GString) req = g_string_new (NULL);
      gchar buf[4096];
      gssize n;
      const gchar *hdr_end, *cl;
      gsize want = 0;

      if (!g_socket_condition_timed_wait (w->sock, G_IO_IN, 100000, NULL, NULL))
        continue;
      c = g_socket_accept (w->sock, NULL, NULL);
      if (c == NULL)
        continue;
      g_socket_set_timeout (c, 5);
      while ((n = g_socket_receive (c, buf, sizeof (buf), NULL, NULL)) > 0)
        {
          g_string_append_len (req, buf, n);
          hdr_end = strstr (req->str, "\r\n\r\n");
          if (hdr_end == NULL)
            continue;
          cl = g_strstr_len (req->str, hdr_end - req->str, "Content-Length:");
          if (cl == NULL)
            cl = g_strstr_len (req->str, hdr_end - req->str, "content-length:");
          want = cl != NULL ? g_ascii_strtoull (cl + 15, NULL, 10) : 0;
          if (req->len >= (gsize) (hdr_end + 4 - req->str) + want)
            break;
        }
      hdr_end = strstr (req->str, "\r\n\r\n");
      if (hdr_end != NULL)
        {
          g_mutex_lock (&w->lock);
          g_string_append_len (w->bodies, hdr_end + 4, want);
          g_string_append_c (w->bodies, '\n');
          g_mutex_unlock (&w->lock);
        }
      g_socket_send (c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 58,
                     NULL, NULL);
    }
  return NULL;
}

static GSocket *
bind_loopback (GSocketType type, guint16 *port)
{
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, type, 0, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) a = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_assert_true (g_socket_bind (s, a, TRUE, NULL));
  if (type == G_SOCKET_TYPE_STREAM)
    g_assert_true (g_socket_listen (s, NULL));
  bound = g_socket_get_local_address (s, NULL);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return s;
}

static gboolean
wait_body (Webhook *w, const gchar *needle, guint timeout_ms)
{
  for (guint i = 0; i < timeout_ms / 50; i++)
    {
      gboolean found;
      g_mutex_lock (&w->lock);
      found = strstr (w->bodies->str, needle) != NULL;
      g_mutex_unlock (&w->lock);
      if (found)
        return TRUE;
      g_usleep (50 * 1000);
    }
  return FALSE;
}

static void
test_webhook_and_wake_on_lan (void)
{
  g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpTestDaemon) d = NULL;
  g_autoptr (GSocket) udp = NULL;
  g_autofree gchar *conf = NULL;
  Webhook w = { 0 };
  GThread *thread;
  guint16 port, hook_port, wol_port;
  guint8 packet[256];
  gssize n;
  guint i;

  g_assert_true (efp_test_broker_start (broker, &error));
  port = efp_test_broker_get_port (broker);
  w.sock = bind_loopback (G_SOCKET_TYPE_STREAM, &hook_port);
  w.bodies = g_string_new (NULL);
  g_mutex_init (&w.lock);
  thread = g_thread_new ("webhook", webhook_thread, &w);
  udp = bind_loopback (G_SOCKET_TYPE_DATAGRAM, &wol_port);
  g_socket_set_timeout (udp, 10);

  conf = g_strdup_printf ("[mqtt]\nhost=127.0.0.1\nport=%u\n"
                          "[notify]\nwebhook-url=http://127.0.0.1:%u/hook\n"
                          "[wol:nas]\nmac=00:11:22:33:44:55\naddress=127.0.0.1\nport=%u\n"
                          "after-grid-sec=1\n"
                          "[device:Study]\nagents=pc\n[agent:pc]\n"
                          "[policy:critical]\nmodule=critical-soc\ndebounce-sec=0\n",
                          port, hook_port, wol_port);
  d = efp_test_daemon_new (conf);
  g_assert_true (efp_test_daemon_start (d, NULL, &error));
  g_assert_true (efp_test_daemon_wait_log (d, "connected to 127.0.0.1", 5000));
  g_assert_true (
    efp_test_publish (port, "bridge-ecoflow/Study/data", "{\"soc\":5,\"grid_connected\":false}"));
  /* the webhook gets the same event JSON as MQTT */
  g_assert_true (wait_body (&w, "\"event\":\"shutdown-triggered\"", 5000));
  g_assert_true (wait_body (&w, "\"device\":\"Study\"", 100));
  /* power returns and stays: the NAS is woken once */
  for (i = 0; i < 6; i++)
    {
      g_assert_true (efp_test_publish (port, "bridge-ecoflow/Study/data",
                                       "{\"soc\":6,\"grid_connected\":true}"));
      g_usleep (300 * 1000);
    }
  n = g_socket_receive (udp, (gchar *) packet, sizeof (packet), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 102);
  for (i = 0; i < 6; i++)
    g_assert_cmpuint (packet[i], ==, 0xff);
  g_assert_cmpuint (packet[6], ==, 0x00);
  g_assert_cmpuint (packet[11], ==, 0x55);
  g_assert_true (efp_test_daemon_wait_log (d, "WAKE host nas", 2000));
  g_assert_true (wait_body (&w, "\"event\":\"wol-sent\"", 5000));

  w.stop = TRUE;
  g_thread_join (thread);
  g_object_unref (w.sock);
  g_string_free (w.bodies, TRUE);
  g_mutex_clear (&w.lock);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/daemon-outputs/webhook-and-wake-on-lan", test_webhook_and_wake_on_lan);
  return g_test_run ();
}

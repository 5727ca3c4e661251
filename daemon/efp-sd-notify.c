/* efp-sd-notify.c: the sd_notify datagram protocol, with GSocket. */
#include "efp-sd-notify.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>
#include <unistd.h>

gboolean
efp_sd_notify (const gchar *state)
{
  const gchar *path = g_getenv ("NOTIFY_SOCKET");
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GSocketAddress) addr = NULL;
  g_autoptr (GError) error = NULL;

  if (path == NULL || *path == '\0')
    return FALSE;
  sock =
    g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  if (sock == NULL)
    return FALSE;
  /* a leading '@' names an abstract socket */
  if (path[0] == '@')
    addr = g_unix_socket_address_new_with_type (path + 1, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  else
    addr = g_unix_socket_address_new (path);
  if (g_socket_send_to (sock, addr, state, strlen (state), NULL, &error) < 0)
    {
      g_debug ("sd_notify: %s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* The WatchdogSec= systemd asks of this process, in µs ($WATCHDOG_USEC, for us when
 * $WATCHDOG_PID says so); 0 without a watchdog. */
static guint64
watchdog_usec (void)
{
  const gchar *usec = g_getenv ("WATCHDOG_USEC");
  const gchar *pid = g_getenv ("WATCHDOG_PID");
  guint64 v = 0, p = 0;

  if (usec == NULL || !g_ascii_string_to_unsigned (usec, 10, 1, G_MAXUINT64, &v, NULL))
    return 0;
  /* set for another process (a parent that forked us): not ours to answer */
  if (pid != NULL && *pid != '\0' &&
      (!g_ascii_string_to_unsigned (pid, 10, 1, G_MAXUINT32, &p, NULL) || p != (guint64) getpid ()))
    return 0;
  return v;
}

static gboolean
on_watchdog (gpointer user_data)
{
  efp_sd_notify ("WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

guint
efp_sd_watchdog_start (void)
{
  guint64 usec = watchdog_usec ();

  if (usec == 0)
    return 0;
  /* twice per period, as sd_watchdog_enabled(3) advises */
  g_info ("systemd watchdog: pinging every %" G_GUINT64_FORMAT " ms", usec / 2000);
  return g_timeout_add ((guint) MAX (usec / 2000, 1), on_watchdog, NULL);
}

/* efp-sd-notify.c: the sd_notify datagram protocol, with GSocket. */
#include "efp-sd-notify.h"

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>

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

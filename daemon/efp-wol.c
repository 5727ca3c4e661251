/* efp-wol.c: wake the hosts the policies shut down once the power is back.
 *
 * An outage starts when a device reports the grid gone or a shutdown is issued
 * for it ("armed"). A host is woken once every armed device has had the grid
 * continuously back (grid_connected true in every update) for the host's
 * after-grid-sec and a SoC of at least its min-soc; each host once per outage.
 * The outage is over when every host was woken; the grid going again starts a
 * new one, also for hosts already woken (they may be going down again).
 */
#include "efp-wol.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>
#include "efp-plugin-util.h"

typedef struct
{
  gchar *name; /* NAME of [wol:NAME] */
  guint8 mac[6];
  gchar *mac_text;
  GInetAddress *address;
  guint16 port;
  gint64 after_grid_sec;
  gint64 min_soc;
  gboolean sent; /* woken in the current outage */
} Host;

typedef struct
{
  gchar *name;
  gboolean armed;      /* on battery (or shut down) in the current outage */
  gint64 grid_back_us; /* monotonic time the grid came back; 0 while it is not back */
  gdouble soc;
} Device;

struct _EfpWol
{
  GPtrArray *hosts;    /* Host* */
  GHashTable *devices; /* name -> Device* */
  EfpWolSentFunc sent;
  gpointer user_data;
  guint timer_id;
};

static const gchar *const known_keys[] = { "mac",     "address", "port", "after-grid-sec",
                                           "min-soc", NULL };

static void
host_free (Host *h)
{
  g_free (h->name);
  g_free (h->mac_text);
  g_clear_object (&h->address);
  g_free (h);
}

static void
device_free (Device *d)
{
  g_free (d->name);
  g_free (d);
}

gboolean
efp_wol_parse_mac (const gchar *text, guint8 mac[6])
{
  guint i;

  if (text == NULL || strlen (text) != 17)
    return FALSE;
  for (i = 0; i < 6; i++)
    {
      const gchar *p = text + i * 3;
      if (!g_ascii_isxdigit (p[0]) || !g_ascii_isxdigit (p[1]) || (i < 5 && p[2] != ':'))
        return FALSE;
      mac[i] = (guint8) (g_ascii_xdigit_value (p[0]) << 4 | g_ascii_xdigit_value (p[1]));
    }
  return TRUE;
}

void
efp_wol_magic_packet (const guint8 mac[6], guint8 out[EFP_WOL_PACKET_LEN])
{
  guint i;

  memset (out, 0xFF, 6);
  for (i = 0; i < 16; i++)
    memcpy (out + 6 + i * 6, mac, 6);
}

static Host *
parse_host (GKeyFile *kf, const gchar *group, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  g_autofree gchar *mac = g_key_file_get_value (kf, group, "mac", NULL);
  g_autofree gchar *address = g_key_file_get_value (kf, group, "address", NULL);
  Host *h;
  gint64 port;
  guint i;

  for (i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (known_keys, keys[i]))
      {
        g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_UNKNOWN_KEY,
                     "[%s] %s: expected one of mac address port after-grid-sec min-soc, found "
                     "an unknown key",
                     group, keys[i]);
        return NULL;
      }
  if (mac != NULL)
    g_strstrip (mac);
  h = g_new0 (Host, 1);
  h->name = g_strdup (group + strlen ("wol:"));
  if (mac == NULL || !efp_wol_parse_mac (mac, h->mac))
    {
      g_set_error (error, EFP_CONFIG_ERROR,
                   mac == NULL ? EFP_CONFIG_ERROR_MISSING : EFP_CONFIG_ERROR_INVALID,
                   "[%s] mac: expected a MAC address like 00:11:22:33:44:55, found '%s'", group,
                   mac != NULL ? mac : "");
      host_free (h);
      return NULL;
    }
  h->mac_text = g_ascii_strdown (mac, -1);
  if (address != NULL)
    g_strstrip (address);
  h->address = g_inet_address_new_from_string (
    address != NULL && *address != '\0' ? address : "255.255.255.255");
  if (h->address == NULL)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[%s] address: expected an IP address like 255.255.255.255 or "
                   "192.168.1.255, found '%s'",
                   group, address);
      host_free (h);
      return NULL;
    }
  if (!efp_keyfile_get_int (kf, group, "port", 9, 1, 65535, &port, error) ||
      !efp_keyfile_get_seconds (kf, group, "after-grid-sec", 60, FALSE, &h->after_grid_sec,
                                error) ||
      !efp_keyfile_get_int (kf, group, "min-soc", 0, 0, 100, &h->min_soc, error))
    {
      host_free (h);
      return NULL;
    }
  h->port = (guint16) port;
  return h;
}

EfpWol *
efp_wol_new (GKeyFile *keyfile, EfpWolSentFunc sent, gpointer user_data, GError **error)
{
  g_autoptr (EfpWol) self = g_new0 (EfpWol, 1);
  g_auto (GStrv) groups = NULL;
  guint i;

  self->hosts = g_ptr_array_new_with_free_func ((GDestroyNotify) host_free);
  self->devices =
    g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) device_free);
  self->sent = sent;
  self->user_data = user_data;
  groups = keyfile != NULL ? g_key_file_get_groups (keyfile, NULL) : NULL;
  for (i = 0; groups != NULL && groups[i] != NULL; i++)
    {
      Host *h;

      if (!g_str_has_prefix (groups[i], "wol:"))
        continue;
      if (groups[i][4] == '\0')
        {
          g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                       "[%s]: expected a host name after 'wol:', found nothing", groups[i]);
          return NULL;
        }
      h = parse_host (keyfile, groups[i], error);
      if (h == NULL)
        return NULL;
      g_ptr_array_add (self->hosts, h);
    }
  return g_steal_pointer (&self);
}

void
efp_wol_free (EfpWol *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->timer_id, g_source_remove);
  g_clear_pointer (&self->hosts, g_ptr_array_unref);
  g_clear_pointer (&self->devices, g_hash_table_unref);
  g_free (self);
}

gchar *
efp_wol_describe (EfpWol *self)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; self != NULL && i < self->hosts->len; i++)
    {
      Host *h = self->hosts->pdata[i];
      g_autofree gchar *addr = g_inet_address_to_string (h->address);
      g_string_append_printf (
        s, "%s %s via %s:%u after-grid-sec=%" G_GINT64_FORMAT " min-soc=%" G_GINT64_FORMAT "\n",
        h->name, h->mac_text, addr, h->port, h->after_grid_sec, h->min_soc);
    }
  return g_string_free (s, FALSE);
}

/* ---- sending ------------------------------------------------------------- */

static void
send_magic (EfpWol *self, Host *h)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GSocketAddress) to = NULL;
  g_autofree gchar *addr = g_inet_address_to_string (h->address);
  g_autofree gchar *detail = NULL;
  guint8 packet[EFP_WOL_PACKET_LEN];
  gssize n = -1;

  efp_wol_magic_packet (h->mac, packet);
  detail = g_strdup_printf ("%s via %s:%u", h->mac_text, addr, h->port);
  sock = g_socket_new (g_inet_address_get_family (h->address), G_SOCKET_TYPE_DATAGRAM,
                       G_SOCKET_PROTOCOL_UDP, &error);
  if (sock != NULL)
    {
      g_socket_set_blocking (sock, FALSE);
      /* a directed broadcast (192.168.1.255) cannot be told from a unicast address without
       * the netmask, so IPv4 always may broadcast; it changes nothing for unicast */
      if (g_inet_address_get_family (h->address) == G_SOCKET_FAMILY_IPV4)
        g_socket_set_broadcast (sock, TRUE);
      to = g_inet_socket_address_new (h->address, h->port);
      n = g_socket_send_to (sock, to, (const gchar *) packet, sizeof packet, NULL, &error);
    }
  if (n != (gssize) sizeof packet)
    {
      /* not retried: the next outage tries again; a loop here would only flood the LAN */
      g_warning ("Wake-on-LAN for %s (%s) failed: %s", h->name, detail,
                 error != NULL ? error->message : "short write");
      return;
    }
  g_message ("Wake-on-LAN sent to %s: %s", h->name, detail);
  if (self->sent != NULL)
    self->sent (self->user_data, h->name, detail);
}

/* ---- decisions ----------------------------------------------------------- */

static gboolean on_timer (gpointer user_data);

static gboolean
soc_ok (const Device *d, const Host *h)
{
  return h->min_soc == 0 || (!isnan (d->soc) && d->soc >= (gdouble) h->min_soc);
}

/* When @h may be woken as far as the grid goes (monotonic us), or -1 when some armed
 * device still has no grid. */
static gint64
host_due_us (EfpWol *self, const Host *h)
{
  GHashTableIter it;
  gpointer value;
  gint64 due = 0;

  g_hash_table_iter_init (&it, self->devices);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      const Device *d = value;
      if (!d->armed)
        continue;
      if (d->grid_back_us == 0)
        return -1;
      due = MAX (due, d->grid_back_us + h->after_grid_sec * G_USEC_PER_SEC);
    }
  return due;
}

static gboolean
host_soc_ok (EfpWol *self, const Host *h)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, self->devices);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      const Device *d = value;
      if (d->armed && !soc_ok (d, h))
        return FALSE;
    }
  return TRUE;
}

static gboolean
outage_active (EfpWol *self)
{
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, self->devices);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (((Device *) value)->armed)
      return TRUE;
  return FALSE;
}

static void
evaluate (EfpWol *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 next = G_MAXINT64;
  gboolean all_sent = TRUE;
  GHashTableIter it;
  gpointer value;
  guint i;

  g_clear_handle_id (&self->timer_id, g_source_remove);
  if (!outage_active (self))
    return;
  for (i = 0; i < self->hosts->len; i++)
    {
      Host *h = self->hosts->pdata[i];
      gint64 due;

      if (h->sent)
        continue;
      due = host_due_us (self, h);
      if (due >= 0 && due <= now && host_soc_ok (self, h))
        {
          h->sent = TRUE;
          send_magic (self, h);
          continue;
        }
      all_sent = FALSE;
      /* a SoC still too low is looked at again with the next update, not on a timer */
      if (due > now)
        next = MIN (next, due);
    }
  if (all_sent)
    {
      g_hash_table_iter_init (&it, self->devices);
      while (g_hash_table_iter_next (&it, NULL, &value))
        ((Device *) value)->armed = FALSE;
      return;
    }
  if (next != G_MAXINT64)
    self->timer_id = g_timeout_add ((guint) ((next - now + 999) / 1000), on_timer, self);
}

static gboolean
on_timer (gpointer user_data)
{
  EfpWol *self = user_data;

  self->timer_id = 0;
  evaluate (self);
  return G_SOURCE_REMOVE;
}

static Device *
ensure_device (EfpWol *self, const gchar *name)
{
  Device *d = g_hash_table_lookup (self->devices, name);

  if (d == NULL)
    {
      d = g_new0 (Device, 1);
      d->name = g_strdup (name);
      d->soc = NAN;
      g_hash_table_insert (self->devices, d->name, d);
    }
  return d;
}

/* The grid is gone (or the hosts are being shut down): whatever was woken may go down
 * again, so every host is due once more when the power is back. */
static void
arm (EfpWol *self, Device *d)
{
  guint i;

  for (i = 0; i < self->hosts->len; i++)
    ((Host *) self->hosts->pdata[i])->sent = FALSE;
  d->armed = TRUE;
}

void
efp_wol_device_update (EfpWol *self, const gchar *device, const EfpReading *reading)
{
  Device *d;

  g_return_if_fail (device != NULL && reading != NULL);
  if (self == NULL || self->hosts->len == 0)
    return;
  d = ensure_device (self, device);
  d->soc = reading->soc;
  if (reading->grid_connected == EFP_TRISTATE_TRUE)
    {
      if (d->grid_back_us == 0)
        d->grid_back_us = g_get_monotonic_time ();
    }
  else
    {
      /* anything but "connected" restarts the countdown; only "not connected" is an outage */
      d->grid_back_us = 0;
      if (reading->grid_connected == EFP_TRISTATE_FALSE)
        arm (self, d);
    }
  evaluate (self);
}

void
efp_wol_shutdown_issued (EfpWol *self, const gchar *device)
{
  Device *d;

  g_return_if_fail (device != NULL);
  if (self == NULL || self->hosts->len == 0)
    return;
  d = ensure_device (self, device);
  arm (self, d);
  /* the hosts go down from now: the grid must be back for after-grid-sec after this */
  d->grid_back_us = 0;
  evaluate (self);
}

/* test-wol.c: Wake-on-LAN after the grid returns, received on a loopback UDP socket.
 *
 * Every [wol:] host here points at 127.0.0.1 and a port the test bound itself:
 * no packet ever goes to a broadcast address or off the machine.
 */
#include "efp-wol.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#define MAC_A   "00:11:22:33:44:55"
#define MAC_B   "66:77:88:99:aa:bb"
#define TICK_MS 100

typedef struct
{
  GSocket *sock[2];
  guint16 port[2];
  GPtrArray *packets[2]; /* GBytes*: what each socket received */
  GPtrArray *calls;      /* "host|detail" of the sent callback */
  EfpWol *wol;
} Fixture;

static void
on_sent (gpointer user_data, const gchar *host, const gchar *detail)
{
  Fixture *f = user_data;
  g_ptr_array_add (f->calls, g_strdup_printf ("%s|%s", host, detail));
}

static void
drain (Fixture *f)
{
  guint i;

  for (i = 0; i < 2; i++)
    for (;;)
      {
        gchar buf[512];
        gssize n = g_socket_receive (f->sock[i], buf, sizeof buf, NULL, NULL);
        if (n < 0)
          break;
        g_ptr_array_add (f->packets[i], g_bytes_new (buf, (gsize) n));
      }
}

static void
spin (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
}

static void
spin_collect (Fixture *f, guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      spin (5);
      drain (f);
    }
}

/* Feed @device a reading every TICK_MS for @ms, collecting packets meanwhile. */
static void
feed_for (Fixture *f, const gchar *device, gboolean grid, gdouble soc, guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  do
    {
      EfpReading r;
      efp_reading_init (&r);
      r.grid_connected = grid ? EFP_TRISTATE_TRUE : EFP_TRISTATE_FALSE;
      r.soc = soc;
      efp_wol_device_update (f->wol, device, &r);
      spin_collect (f, TICK_MS);
    }
  while (g_get_monotonic_time () < deadline);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  guint i;

  for (i = 0; i < 2; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
      g_autoptr (GSocketAddress) bound = NULL;

      f->sock[i] =
        g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
      g_assert_no_error (error);
      g_socket_bind (f->sock[i], any, FALSE, &error);
      g_assert_no_error (error);
      g_socket_set_blocking (f->sock[i], FALSE);
      bound = g_socket_get_local_address (f->sock[i], &error);
      g_assert_no_error (error);
      f->port[i] = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
      f->packets[i] = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
    }
  f->calls = g_ptr_array_new_with_free_func (g_free);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  guint i;

  g_clear_pointer (&f->wol, efp_wol_free);
  spin (20); /* a timer left behind by the module would fire here on freed memory */
  for (i = 0; i < 2; i++)
    {
      g_clear_object (&f->sock[i]);
      g_clear_pointer (&f->packets[i], g_ptr_array_unref);
    }
  g_clear_pointer (&f->calls, g_ptr_array_unref);
}

/* [wol:nas] on socket 0 (and [wol:pc] on socket 1 when @two); @extra goes into each group. */
static void
make_wol (Fixture *f, gboolean two, const gchar *extra)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new (NULL);

  g_string_append_printf (text,
                          "[wol:nas]\nmac=" MAC_A "\naddress=127.0.0.1\nport=%u\n"
                          "after-grid-sec=1\n%s\n",
                          f->port[0], extra);
  if (two)
    g_string_append_printf (text,
                            "[wol:pc]\nmac=" MAC_B "\naddress=127.0.0.1\nport=%u\n"
                            "after-grid-sec=1\n%s\n",
                            f->port[1], extra);
  g_key_file_load_from_data (kf, text->str, -1, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  f->wol = efp_wol_new (kf, on_sent, f, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->wol);
}

static void
assert_magic (GBytes *packet, const gchar *mac_text)
{
  guint8 mac[6];
  guint8 want[EFP_WOL_PACKET_LEN];
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (packet, &len);
  guint i;

  g_assert_true (efp_wol_parse_mac (mac_text, mac));
  g_assert_cmpuint (len, ==, EFP_WOL_PACKET_LEN);
  for (i = 0; i < 6; i++)
    g_assert_cmpuint (data[i], ==, 0xFF);
  for (i = 0; i < 16; i++)
    g_assert_cmpmem (data + 6 + i * 6, 6, mac, 6);
  efp_wol_magic_packet (mac, want);
  g_assert_cmpmem (data, len, want, sizeof want);
}

static gchar *
expected_call (const gchar *host, const gchar *mac, guint16 port)
{
  return g_strdup_printf ("%s|%s via 127.0.0.1:%u", host, mac, port);
}

/* On battery for longer than after-grid-sec: nothing is sent. */
static void
test_not_on_battery (Fixture *f, gconstpointer data)
{
  make_wol (f, FALSE, "");
  feed_for (f, "Study", FALSE, 60, 1300);
  g_assert_cmpuint (f->packets[0]->len, ==, 0);
  g_assert_cmpuint (f->calls->len, ==, 0);
}

/* A grid that never went away arms nothing: no packet however long it stays. */
static void
test_never_on_battery (Fixture *f, gconstpointer data)
{
  make_wol (f, FALSE, "");
  feed_for (f, "Study", TRUE, 90, 1300);
  g_assert_cmpuint (f->packets[0]->len, ==, 0);
  g_assert_cmpuint (f->calls->len, ==, 0);
}

/* The grid flickers back for less than after-grid-sec several times: the countdown
 * restarts each time; once it stays, exactly one packet, not before 1 s. */
static void
test_flicker_then_once (Fixture *f, gconstpointer data)
{
  g_autofree gchar *want = NULL;
  gint64 back;
  guint i;

  make_wol (f, FALSE, "");
  feed_for (f, "Study", FALSE, 60, 300);
  for (i = 0; i < 3; i++)
    {
      feed_for (f, "Study", TRUE, 60, 700);
      feed_for (f, "Study", FALSE, 60, 100);
    }
  g_assert_cmpuint (f->packets[0]->len, ==, 0);
  g_assert_cmpuint (f->calls->len, ==, 0);

  back = g_get_monotonic_time ();
  while (f->packets[0]->len == 0 && g_get_monotonic_time () < back + 5 * G_USEC_PER_SEC)
    feed_for (f, "Study", TRUE, 60, TICK_MS);
  g_assert_cmpuint (f->packets[0]->len, ==, 1);
  /* a timer cannot fire early: the grid had to be back for the whole second */
  g_assert_cmpint (g_get_monotonic_time () - back, >=, 1 * G_USEC_PER_SEC);
  assert_magic (f->packets[0]->pdata[0], MAC_A);
  g_assert_cmpuint (f->calls->len, ==, 1);
  want = expected_call ("nas", MAC_A, f->port[0]);
  g_assert_cmpstr (f->calls->pdata[0], ==, want);

  /* once per outage: more time on grid sends nothing more */
  feed_for (f, "Study", TRUE, 70, 1200);
  g_assert_cmpuint (f->packets[0]->len, ==, 1);
  g_assert_cmpuint (f->calls->len, ==, 1);
}

/* The countdown runs on the module's own timer: one update at the return suffices. */
static void
test_timer_without_updates (Fixture *f, gconstpointer data)
{
  make_wol (f, FALSE, "");
  feed_for (f, "Study", FALSE, 60, TICK_MS);
  feed_for (f, "Study", TRUE, 60, TICK_MS);
  spin_collect (f, 600);
  g_assert_cmpuint (f->packets[0]->len, ==, 0);
  spin_collect (f, 1200);
  g_assert_cmpuint (f->packets[0]->len, ==, 1);
  assert_magic (f->packets[0]->pdata[0], MAC_A);
}

/* SoC below min-soc holds the packet back until a reading reaches it. */
static void
test_min_soc (Fixture *f, gconstpointer data)
{
  make_wol (f, FALSE, "min-soc=50");
  feed_for (f, "Study", FALSE, 40, 300);
  feed_for (f, "Study", TRUE, 30, 1600);
  g_assert_cmpuint (f->packets[0]->len, ==, 0);
  g_assert_cmpuint (f->calls->len, ==, 0);
  /* an unknown SoC is not "enough" either */
  feed_for (f, "Study", TRUE, NAN, 300);
  g_assert_cmpuint (f->packets[0]->len, ==, 0);
  feed_for (f, "Study", TRUE, 50, TICK_MS);
  g_assert_cmpuint (f->packets[0]->len, ==, 1);
  assert_magic (f->packets[0]->pdata[0], MAC_A);
  g_assert_cmpuint (f->calls->len, ==, 1);
}

/* A shutdown issued while the grid reads as present arms the wake-up too. */
static void
test_shutdown_issued (Fixture *f, gconstpointer data)
{
  gint64 t0;

  make_wol (f, FALSE, "");
  feed_for (f, "Study", TRUE, 80, 300);
  efp_wol_shutdown_issued (f->wol, "Study");
  t0 = g_get_monotonic_time ();
  while (f->packets[0]->len == 0 && g_get_monotonic_time () < t0 + 5 * G_USEC_PER_SEC)
    feed_for (f, "Study", TRUE, 80, TICK_MS);
  g_assert_cmpuint (f->packets[0]->len, ==, 1);
  g_assert_cmpint (g_get_monotonic_time () - t0, >=, 1 * G_USEC_PER_SEC);
  g_assert_cmpuint (f->calls->len, ==, 1);
}

/* Every host is woken, each once per outage; the next outage wakes them again. */
static void
test_two_hosts_two_outages (Fixture *f, gconstpointer data)
{
  g_autofree gchar *want_nas = NULL;
  g_autofree gchar *want_pc = NULL;
  guint outage;

  make_wol (f, TRUE, "");
  for (outage = 1; outage <= 2; outage++)
    {
      feed_for (f, "Study", FALSE, 50, 300);
      feed_for (f, "Study", TRUE, 50, 1700);
      g_assert_cmpuint (f->packets[0]->len, ==, outage);
      g_assert_cmpuint (f->packets[1]->len, ==, outage);
      assert_magic (f->packets[0]->pdata[outage - 1], MAC_A);
      assert_magic (f->packets[1]->pdata[outage - 1], MAC_B);
    }
  g_assert_cmpuint (f->calls->len, ==, 4);
  want_nas = expected_call ("nas", MAC_A, f->port[0]);
  want_pc = expected_call ("pc", MAC_B, f->port[1]);
  g_assert_true (g_ptr_array_find_with_equal_func (f->calls, want_nas, g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (f->calls, want_pc, g_str_equal, NULL));
}

/* Two stations on battery: the hosts wait until both have had the grid back. */
static void
test_two_devices (Fixture *f, gconstpointer data)
{
  gint64 t0;

  make_wol (f, FALSE, "");
  feed_for (f, "Study", FALSE, 50, TICK_MS);
  feed_for (f, "Office", FALSE, 50, TICK_MS);
  feed_for (f, "Study", TRUE, 50, TICK_MS);
  feed_for (f, "Office", FALSE, 50, 1500);
  g_assert_cmpuint (f->packets[0]->len, ==, 0);
  feed_for (f, "Office", TRUE, 50, TICK_MS);
  t0 = g_get_monotonic_time ();
  spin_collect (f, 400);
  g_assert_cmpuint (f->packets[0]->len, ==, 0);
  while (f->packets[0]->len == 0 && g_get_monotonic_time () < t0 + 5 * G_USEC_PER_SEC)
    spin_collect (f, TICK_MS);
  g_assert_cmpuint (f->packets[0]->len, ==, 1);
  spin_collect (f, 500);
  g_assert_cmpuint (f->packets[0]->len, ==, 1);
}

/* Hosts with different delays: the grid going again after the quick one was woken
 * starts a new outage, so it is woken again; the slow one waits for a whole stretch. */
static void
test_outage_between_hosts (Fixture *f, gconstpointer data)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = g_strdup_printf ("[wol:nas]\nmac=" MAC_A "\naddress=127.0.0.1\nport=%u\n"
                                            "after-grid-sec=1\n"
                                            "[wol:pc]\nmac=" MAC_B "\naddress=127.0.0.1\nport=%u\n"
                                            "after-grid-sec=3\n",
                                            f->port[0], f->port[1]);

  g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  f->wol = efp_wol_new (kf, on_sent, f, &error);
  g_assert_no_error (error);

  feed_for (f, "Study", FALSE, 50, TICK_MS);
  feed_for (f, "Study", TRUE, 50, 1500);
  g_assert_cmpuint (f->packets[0]->len, ==, 1);
  g_assert_cmpuint (f->packets[1]->len, ==, 0);
  feed_for (f, "Study", FALSE, 50, TICK_MS);
  feed_for (f, "Study", TRUE, 50, 1500);
  g_assert_cmpuint (f->packets[0]->len, ==, 2);
  g_assert_cmpuint (f->packets[1]->len, ==, 0);
  feed_for (f, "Study", TRUE, 50, 2000);
  g_assert_cmpuint (f->packets[0]->len, ==, 2);
  g_assert_cmpuint (f->packets[1]->len, ==, 1);
  assert_magic (f->packets[1]->pdata[0], MAC_B);
  g_assert_cmpuint (f->calls->len, ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/wol/not-on-battery", test_not_on_battery);
  ADD ("/wol/never-on-battery", test_never_on_battery);
  ADD ("/wol/flicker-then-once", test_flicker_then_once);
  ADD ("/wol/timer-without-updates", test_timer_without_updates);
  ADD ("/wol/min-soc", test_min_soc);
  ADD ("/wol/shutdown-issued", test_shutdown_issued);
  ADD ("/wol/two-hosts-two-outages", test_two_hosts_two_outages);
  ADD ("/wol/two-devices", test_two_devices);
  ADD ("/wol/outage-between-hosts", test_outage_between_hosts);
  return g_test_run ();
}

/* test-wol.c: [wol:NAME] parsing and the magic packet bytes (nothing is sent). */
#include "efp-plugin-util.h"
#include "efp-wol.h"

#include <string.h>

static EfpWol *
wol_from (const gchar *text, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) local = NULL;

  g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, &local);
  g_assert_no_error (local);
  return efp_wol_new (kf, NULL, NULL, error);
}

static void
test_defaults (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpWol) wol = wol_from ("[wol:nas]\nmac=00:11:22:AA:bb:cc\n"
                                     "[wol:pc]\nmac=66:77:88:99:aa:bb\naddress=192.168.1.255\n"
                                     "port=7\nafter-grid-sec=300\nmin-soc=40\n"
                                     "[device:Study]\nserial=R631\n",
                                     &error);
  g_autofree gchar *text = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (wol);
  text = efp_wol_describe (wol);
  g_assert_cmpstr (text, ==,
                   "nas 00:11:22:aa:bb:cc via 255.255.255.255:9 after-grid-sec=60 min-soc=0\n"
                   "pc 66:77:88:99:aa:bb via 192.168.1.255:7 after-grid-sec=300 min-soc=40\n");
}

static void
test_no_hosts (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpWol) wol = wol_from ("[notify]\nntfy-url=https://ntfy.sh/x\n", &error);
  g_autofree gchar *text = NULL;
  EfpReading r;

  g_assert_no_error (error);
  text = efp_wol_describe (wol);
  g_assert_cmpstr (text, ==, "");
  /* without hosts, updates and shutdowns are accepted and do nothing */
  efp_reading_init (&r);
  r.grid_connected = EFP_TRISTATE_FALSE;
  efp_wol_device_update (wol, "Study", &r);
  efp_wol_shutdown_issued (wol, "Study");
}

typedef struct
{
  const gchar *config;
  const gchar *message;
} BadCase;

static void
test_errors (void)
{
  static const BadCase cases[] = {
    { "[wol:nas]\naddress=10.0.0.255\n",
      "[wol:nas] mac: expected a MAC address like 00:11:22:33:44:55, found ''" },
    { "[wol:nas]\nmac=00:11:22:33:44\n",
      "[wol:nas] mac: expected a MAC address like 00:11:22:33:44:55, found '00:11:22:33:44'" },
    { "[wol:nas]\nmac=00-11-22-33-44-55\n",
      "[wol:nas] mac: expected a MAC address like 00:11:22:33:44:55, found '00-11-22-33-44-55'" },
    { "[wol:nas]\nmac=0g:11:22:33:44:55\n",
      "[wol:nas] mac: expected a MAC address like 00:11:22:33:44:55, found '0g:11:22:33:44:55'" },
    { "[wol:nas]\nmac=00:11:22:33:44:55\naddress=nas.local\n",
      "[wol:nas] address: expected an IP address like 255.255.255.255 or 192.168.1.255, found "
      "'nas.local'" },
    { "[wol:nas]\nmac=00:11:22:33:44:55\nport=0\n",
      "[wol:nas] port: expected an integer 1-65535, found '0'" },
    { "[wol:nas]\nmac=00:11:22:33:44:55\nport=70000\n",
      "[wol:nas] port: expected an integer 1-65535, found '70000'" },
    { "[wol:nas]\nmac=00:11:22:33:44:55\nafter-grid-sec=0\n",
      "[wol:nas] after-grid-sec: expected an integer 1-604800, found '0'" },
    { "[wol:nas]\nmac=00:11:22:33:44:55\nmin-soc=101\n",
      "[wol:nas] min-soc: expected an integer 0-100, found '101'" },
    { "[wol:nas]\nmac=00:11:22:33:44:55\nmin-soc=half\n",
      "[wol:nas] min-soc: expected an integer 0-100, found 'half'" },
    { "[wol:nas]\nmac=00:11:22:33:44:55\nbroadcast=yes\n",
      "[wol:nas] broadcast: expected one of mac address port after-grid-sec min-soc, found an "
      "unknown key" },
    { "[wol:]\nmac=00:11:22:33:44:55\n",
      "[wol:]: expected a host name after 'wol:', found nothing" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (EfpWol) wol = wol_from (cases[i].config, &error);

      g_test_message ("case %u: %s", i, cases[i].config);
      g_assert_null (wol);
      g_assert_error (error, EFP_CONFIG_ERROR, error->code);
      g_assert_cmpstr (error->message, ==, cases[i].message);
      g_assert_null (strchr (error->message, '\n'));
    }
}

static void
test_parse_mac (void)
{
  guint8 mac[6] = { 0 };
  static const guint8 want[6] = { 0x00, 0x1a, 0x2B, 0xc3, 0xd4, 0xFF };

  g_assert_true (efp_wol_parse_mac ("00:1a:2B:c3:D4:ff", mac));
  g_assert_cmpmem (mac, 6, want, 6);
  g_assert_false (efp_wol_parse_mac (NULL, mac));
  g_assert_false (efp_wol_parse_mac ("", mac));
  g_assert_false (efp_wol_parse_mac ("00:1a:2b:c3:d4:ff:", mac));
  g_assert_false (efp_wol_parse_mac ("00:1a:2b:c3:d4", mac));
  g_assert_false (efp_wol_parse_mac ("00.1a.2b.c3.d4.ff", mac));
  g_assert_false (efp_wol_parse_mac (" 0:1a:2b:c3:d4:ff", mac));
  g_assert_false (efp_wol_parse_mac ("001a2bc3d4ff00000", mac));
}

static void
test_magic_packet (void)
{
  static const guint8 mac[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };
  guint8 packet[EFP_WOL_PACKET_LEN];
  g_autoptr (GString) hex = g_string_new (NULL);
  g_autoptr (GString) want = g_string_new ("ffffffffffff");
  guint i;

  memset (packet, 0xAB, sizeof packet);
  efp_wol_magic_packet (mac, packet);
  g_assert_cmpuint (EFP_WOL_PACKET_LEN, ==, 6 + 16 * 6);
  for (i = 0; i < 16; i++)
    g_string_append (want, "001122334455");
  for (i = 0; i < sizeof packet; i++)
    g_string_append_printf (hex, "%02x", packet[i]);
  g_assert_cmpstr (hex->str, ==, want->str);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wol/defaults", test_defaults);
  g_test_add_func ("/wol/no-hosts", test_no_hosts);
  g_test_add_func ("/wol/errors", test_errors);
  g_test_add_func ("/wol/parse-mac", test_parse_mac);
  g_test_add_func ("/wol/magic-packet", test_magic_packet);
  return g_test_run ();
}

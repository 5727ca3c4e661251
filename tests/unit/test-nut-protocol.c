/* test-nut-protocol.c: NUT word splitting and quoting, UPS names, ups.status, the
 * variables of a UPS, the FSD latch and upsd.users(5) files. */
#include <glib/gstdio.h>
#include <math.h>

#include "efp-nut-protocol.h"
#include "efp-nut-ups.h"
#include "efp-nut-users.h"
#include "efp-plugin-util.h"

static gchar **
split (const gchar *line)
{
  g_autoptr (GError) error = NULL;
  gchar **words = efp_nut_split (line, strlen (line), EFP_NUT_SPLIT_NONE, &error);
  g_assert_no_error (error);
  return words;
}

static void
assert_words (const gchar *line, const gchar *const *expected)
{
  g_auto (GStrv) words = split (line);
  g_assert_cmpstrv (words, expected);
}

static void
test_split_plain (void)
{
  assert_words ("GET VAR ups ups.status",
                (const gchar *[]){ "GET", "VAR", "ups", "ups.status", NULL });
  assert_words ("  LIST\tUPS  \r", (const gchar *[]){ "LIST", "UPS", NULL });
  assert_words ("", (const gchar *[]){ NULL });
  assert_words (" \t ", (const gchar *[]){ NULL });
}

static void
test_split_quotes (void)
{
  assert_words ("SET VAR ups ups.id \"My UPS\"",
                (const gchar *[]){ "SET", "VAR", "ups", "ups.id", "My UPS", NULL });
  /* embedded quotes and backslashes, escaped as NUT escapes them */
  assert_words ("PASSWORD \"a \\\"b\\\" c\\\\d\"",
                (const gchar *[]){ "PASSWORD", "a \"b\" c\\d", NULL });
  /* a backslash outside quotes takes the next byte too */
  assert_words ("USERNAME a\\ b", (const gchar *[]){ "USERNAME", "a b", NULL });
  /* "" is an empty word; quotes inside a word join its parts */
  assert_words ("PASSWORD \"\"", (const gchar *[]){ "PASSWORD", "", NULL });
  assert_words ("x ab\"c d\"e", (const gchar *[]){ "x", "abc de", NULL });
}

static void
test_split_errors (void)
{
  const gchar *bad[] = { "GET \"VAR", "PASSWORD abc\\", "\"", NULL };
  const gchar nul[] = "GET\0VAR";
  g_autoptr (GString) many = g_string_new (NULL);
  guint i;

  for (i = 0; bad[i] != NULL; i++)
    {
      g_autoptr (GError) error = NULL;
      gchar **words = efp_nut_split (bad[i], strlen (bad[i]), EFP_NUT_SPLIT_NONE, &error);
      g_assert_null (words);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      /* messages never repeat the input (it may be a password) */
      g_assert_null (strstr (error->message, "abc"));
    }
  {
    g_autoptr (GError) error = NULL;
    g_assert_null (efp_nut_split (nul, sizeof (nul) - 1, EFP_NUT_SPLIT_NONE, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }
  for (i = 0; i < EFP_NUT_MAX_WORDS + 1; i++)
    g_string_append (many, "w ");
  {
    g_autoptr (GError) error = NULL;
    g_assert_null (efp_nut_split (many->str, many->len, EFP_NUT_SPLIT_NONE, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  }
}

static void
test_split_comments (void)
{
  g_autoptr (GError) error = NULL;
  const gchar *line = "password = \"x#y\" pass#1 # a comment \"unterminated";
  g_auto (GStrv) words = efp_nut_split (line, strlen (line), EFP_NUT_SPLIT_COMMENTS, &error);

  g_assert_no_error (error);
  g_assert_cmpstrv (words, ((const gchar *[]){ "password", "=", "x#y", "pass#1", NULL }));
}

/* random bytes never crash the splitter, and what it accepts is NUL-free words */
static void
test_split_random (void)
{
  guint8 buf[64];
  guint n, i;

  for (n = 0; n < 20000; n++)
    {
      g_autoptr (GError) error = NULL;
      g_auto (GStrv) words = NULL;
      gsize len = g_test_rand_int_range (0, sizeof (buf));

      for (i = 0; i < len; i++)
        buf[i] = (guint8) g_test_rand_int_range (0, 256);
      if (n % 2 == 0)
        for (i = 0; i < len; i++)
          if (buf[i] % 5 == 0)
            buf[i] = (guint8) "\"\\ #"[buf[i] % 4];
      words =
        efp_nut_split ((const gchar *) buf, len, n % 3 == 0 ? EFP_NUT_SPLIT_COMMENTS : 0, &error);
      g_assert_true ((words == NULL) == (error != NULL));
      if (words != NULL)
        g_assert_cmpuint (g_strv_length (words), <=, EFP_NUT_MAX_WORDS);
    }
}

static void
test_quote (void)
{
  const gchar *values[] = { "OL", "", "My \"big\" UPS", "C:\\path\\", "a\tb", "# not a comment",
                            NULL };
  guint i;

  for (i = 0; values[i] != NULL; i++)
    {
      g_autofree gchar *quoted = efp_nut_quote (values[i]);
      g_autofree gchar *line = g_strdup_printf ("VAR ups x %s", quoted);
      g_auto (GStrv) words = split (line);
      g_assert_cmpuint (g_strv_length (words), ==, 4);
      /* a control character would break the line: it becomes a blank */
      if (strchr (values[i], '\t') != NULL)
        g_assert_cmpstr (words[3], ==, "a b");
      else
        g_assert_cmpstr (words[3], ==, values[i]);
    }
  {
    g_autofree gchar *q = efp_nut_quote ("a\nb\"c\\");
    g_assert_cmpstr (q, ==, "\"a b\\\"c\\\\\"");
  }
}

static void
test_ups_name (void)
{
  const struct
  {
    const gchar *device, *name;
  } cases[] = {
    { "Study", "study" },       { "ups", "ups" },
    { "Rack 1.A", "rack_1_a" }, { "Büro", "b_ro" },
    { "my-ups_2", "my-ups_2" }, { "R631ZEB4WH000001", "r631zeb4wh000001" },
    { "a/b\\c\"d", "a_b_c_d" }, { "\xff\xfe", "__" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *name = efp_nut_ups_name (cases[i].device);
      g_assert_cmpstr (name, ==, cases[i].name);
    }
}

static gchar *
status (EfpTristate grid, gdouble soc, gint chg, gdouble low, gboolean fsd)
{
  EfpReading r;

  efp_reading_init (&r);
  r.grid_connected = grid;
  r.soc = soc;
  r.chg_dsg_state = chg;
  return efp_nut_ups_status (&r, low, fsd);
}

static void
test_status (void)
{
  const struct
  {
    EfpTristate grid;
    gdouble soc;
    gint chg;
    gdouble low;
    gboolean fsd;
    const gchar *expected;
  } cases[] = {
    { EFP_TRISTATE_TRUE, 80, 0, 10, FALSE, "OL" },
    { EFP_TRISTATE_TRUE, 80, 2, 10, FALSE, "OL CHRG" },
    { EFP_TRISTATE_FALSE, 80, 1, 10, FALSE, "OB" },
    { EFP_TRISTATE_FALSE, 10, 1, 10, FALSE, "OB LB" },
    { EFP_TRISTATE_FALSE, 9.5, 1, 10, FALSE, "OB LB" },
    { EFP_TRISTATE_FALSE, 10.5, 1, 10, FALSE, "OB" },
    /* unknown threshold or charge: never LB of our own */
    { EFP_TRISTATE_FALSE, 5, 1, NAN, FALSE, "OB" },
    { EFP_TRISTATE_FALSE, NAN, 1, 10, FALSE, "OB" },
    /* low charge on the grid is not LB */
    { EFP_TRISTATE_TRUE, 5, 2, 10, FALSE, "OL CHRG" },
    /* unknown grid is not on battery */
    { EFP_TRISTATE_UNKNOWN, 50, -1, 10, FALSE, "OL" },
    /* FSD comes first and brings LB (clients that act on LB only) */
    { EFP_TRISTATE_FALSE, 50, 1, 10, TRUE, "FSD OB LB" },
    { EFP_TRISTATE_FALSE, 5, 1, 10, TRUE, "FSD OB LB" },
    { EFP_TRISTATE_TRUE, 50, 2, 10, TRUE, "FSD OL CHRG LB" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *s =
        status (cases[i].grid, cases[i].soc, cases[i].chg, cases[i].low, cases[i].fsd);
      g_assert_cmpstr (s, ==, cases[i].expected);
    }
}

static void
test_format_number (void)
{
  const struct
  {
    gdouble v;
    const gchar *s;
  } cases[] = { { 80, "80" },   { 12.5, "12.5" },   { 12.54, "12.5" }, { 0.04, "0" },
                { -0.01, "0" }, { 1234.0, "1234" }, { 99.96, "100" } };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree gchar *s = efp_nut_format_number (cases[i].v);
      g_assert_cmpstr (s, ==, cases[i].s);
    }
}

/* ---- a UPS and its variables ----------------------------------------------------------- */

static void
device_reading (EfpReading *r)
{
  efp_reading_init (r);
  r->soc = 79.6;
  r->grid_connected = EFP_TRISTATE_TRUE;
  r->temp_celsius = 25.0;
  r->output_watts = 120.4;
  r->remain_minutes = 14;
  r->chg_dsg_state = 0;
  g_strlcpy (r->model, "RIVER 3 Plus", sizeof (r->model));
}

static void
assert_var (const EfpNutUps *u, const gchar *name, const gchar *expected)
{
  g_autofree gchar *value = efp_nut_ups_var (u, name);
  g_assert_cmpstr (value, ==, expected);
}

static void
test_ups_vars (void)
{
  g_autoptr (EfpNutUps) u = efp_nut_ups_new ("Study");
  EfpReadingMeta meta = { "Study", "R631ZEB4WH000001", "river3plus", FALSE, 1767225600 };
  EfpReading r;
  const gchar *const *names = efp_nut_var_names ();
  g_autofree gchar *desc = NULL;
  guint i;

  g_assert_cmpstr (u->name, ==, "study");
  /* no data yet: stale, nothing claimed */
  g_assert_true (u->stale);

  device_reading (&r);
  efp_nut_ups_update (u, &r, &meta, FALSE, 10, 0, 0);
  g_assert_false (u->stale);
  assert_var (u, "ups.status", "OL");
  assert_var (u, "battery.charge", "80");
  assert_var (u, "battery.charge.low", "10");
  assert_var (u, "battery.runtime", "840");
  assert_var (u, "battery.temperature", "25");
  assert_var (u, "input.voltage", "230");
  assert_var (u, "output.power", "120.4");
  assert_var (u, "ups.realpower", "120.4");
  assert_var (u, "device.mfr", "EcoFlow");
  assert_var (u, "ups.mfr", "EcoFlow");
  assert_var (u, "device.model", "RIVER 3 Plus");
  assert_var (u, "ups.model", "RIVER 3 Plus");
  assert_var (u, "device.serial", "R631ZEB4WH000001");
  assert_var (u, "ups.serial", "R631ZEB4WH000001");
  assert_var (u, "device.type", "ups");
  /* names in any case, like upsd */
  assert_var (u, "UPS.STATUS", "OL");
  assert_var (u, "ups.nonsense", NULL);
  desc = efp_nut_ups_description (u);
  g_assert_cmpstr (desc, ==, "Study (EcoFlow RIVER 3 Plus)");

  /* every listed name is known, the list is sorted */
  for (i = 0; names[i] != NULL; i++)
    {
      const gchar *canonical = NULL, *d = NULL;
      g_assert_true (efp_nut_var_info (names[i], &canonical, &d, NULL));
      g_assert_cmpstr (canonical, ==, names[i]);
      g_assert_nonnull (d);
      if (names[i + 1] != NULL)
        g_assert_cmpint (strcmp (names[i], names[i + 1]), <, 0);
    }

  /* on battery, low: OB LB, input.voltage 0, unknowns are not served */
  r.grid_connected = EFP_TRISTATE_FALSE;
  r.soc = 9;
  r.remain_minutes = -1;
  r.output_watts = NAN;
  efp_nut_ups_update (u, &r, &meta, FALSE, 10, 0, 0);
  assert_var (u, "ups.status", "OB LB");
  assert_var (u, "input.voltage", "0");
  assert_var (u, "battery.runtime", NULL);
  assert_var (u, "output.power", NULL);
  efp_nut_ups_update (u, &r, &meta, FALSE, NAN, 0, 0);
  assert_var (u, "battery.charge.low", NULL);
  assert_var (u, "ups.status", "OB");

  meta.stale = TRUE;
  efp_nut_ups_update (u, &r, &meta, FALSE, 10, 0, 0);
  g_assert_true (u->stale);
}

static void
test_ups_group (void)
{
  g_autoptr (EfpNutUps) u = efp_nut_ups_new ("Rack");
  EfpReadingMeta meta = { "Rack", NULL, NULL, FALSE, 1767225600 };
  EfpReading r;
  g_autofree gchar *desc = NULL;

  efp_reading_init (&r);
  r.soc = 50;
  efp_nut_ups_update (u, &r, &meta, FALSE, NAN, 0, 0);
  g_assert_true (u->is_group);
  assert_var (u, "device.model", "Virtual battery");
  assert_var (u, "device.serial", NULL);
  assert_var (u, "input.voltage", NULL);
  desc = efp_nut_ups_description (u);
  g_assert_cmpstr (desc, ==, "Rack (group of EcoFlow power stations)");
}

static void
test_ups_fsd_latch (void)
{
  g_autoptr (EfpNutUps) u = efp_nut_ups_new ("ups");
  EfpReadingMeta meta = { "ups", "SN", "simulated", FALSE, 1 };
  const gint64 hold = 120 * G_USEC_PER_SEC;
  EfpReading r;

  device_reading (&r);
  r.grid_connected = EFP_TRISTATE_FALSE;
  g_assert_cmpint (efp_nut_ups_update (u, &r, &meta, FALSE, 10, 0, hold), ==,
                   EFP_NUT_UPS_FSD_UNCHANGED);
  /* a policy triggers: FSD, once */
  g_assert_cmpint (efp_nut_ups_update (u, &r, &meta, TRUE, 10, 1, hold), ==, EFP_NUT_UPS_FSD_SET);
  g_assert_cmpint (efp_nut_ups_update (u, &r, &meta, TRUE, 10, 2, hold), ==,
                   EFP_NUT_UPS_FSD_UNCHANGED);
  assert_var (u, "ups.status", "FSD OB LB");
  /* the policy lets go while still on battery: FSD stays */
  efp_nut_ups_update (u, &r, &meta, FALSE, 10, hold * 2, hold);
  assert_var (u, "ups.status", "FSD OB LB");
  /* grid back, but too soon after FSD was set: stays */
  r.grid_connected = EFP_TRISTATE_TRUE;
  efp_nut_ups_set_fsd (u, hold * 3);
  g_assert_cmpint (efp_nut_ups_update (u, &r, &meta, FALSE, 10, hold * 3 + 1, hold), ==,
                   EFP_NUT_UPS_FSD_UNCHANGED);
  g_assert_true (u->fsd);
  /* stale data never clears it */
  meta.stale = TRUE;
  efp_nut_ups_update (u, &r, &meta, FALSE, 10, hold * 5, hold);
  g_assert_true (u->fsd);
  /* fresh, on line, hold passed: cleared */
  meta.stale = FALSE;
  g_assert_cmpint (efp_nut_ups_update (u, &r, &meta, FALSE, 10, hold * 5, hold), ==,
                   EFP_NUT_UPS_FSD_CLEARED);
  assert_var (u, "ups.status", "OL");
  /* while the policy still says FSD it is never cleared */
  efp_nut_ups_update (u, &r, &meta, TRUE, 10, hold * 6, hold);
  efp_nut_ups_update (u, &r, &meta, TRUE, 10, hold * 9, hold);
  g_assert_true (u->fsd);
}

/* ---- upsd.users ------------------------------------------------------------------------ */

static const gchar good_users[] = "# NUT upsd.users, as shipped examples write it\n"
                                  "[admin]\n"
                                  "\tpassword = mypass\n"
                                  "\tactions = set\n"
                                  "\tactions = fsd\n"
                                  "\tinstcmds = all\n"
                                  "\n"
                                  "[monmaster]\n"
                                  "  password = \"pa ss \\\"word\\\"\"   # quoted\n"
                                  "  upsmon master\n"
                                  "[monuser]\n"
                                  "  password=secret\n"
                                  "  upsmon secondary\n"
                                  "[monprimary]\r\n"
                                  "  password = pass#1\r\n"
                                  "  upsmon = primary\r\n"
                                  "[old]\n"
                                  "  password = x\n"
                                  "  upsmon slave\n"
                                  "[fsdonly]\n"
                                  "  password = f\n"
                                  "  actions = SET FSD\n";

static void
test_users_good (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpNutUsers) users =
    efp_nut_users_parse (good_users, strlen (good_users), "upsd.users", &error);

  g_assert_no_error (error);
  g_assert_nonnull (users);
  g_assert_cmpuint (efp_nut_users_count (users), ==, 6);

  /* admin: no upsmon role, SET and FSD actions */
  g_assert_false (efp_nut_users_check (users, "admin", "mypass", EFP_NUT_ACTION_LOGIN));
  g_assert_true (efp_nut_users_check (users, "admin", "mypass", EFP_NUT_ACTION_FSD));
  g_assert_true (efp_nut_users_check (users, "admin", "mypass", EFP_NUT_ACTION_SET));
  g_assert_true (efp_nut_users_check (users, "admin", "mypass", EFP_NUT_ACTION_INSTCMD));
  g_assert_false (efp_nut_users_check (users, "admin", "mypass", EFP_NUT_ACTION_PRIMARY));

  /* master = primary: login, primary, FSD */
  g_assert_true (
    efp_nut_users_check (users, "monmaster", "pa ss \"word\"", EFP_NUT_ACTION_PRIMARY));
  g_assert_true (efp_nut_users_check (users, "monmaster", "pa ss \"word\"", EFP_NUT_ACTION_FSD));
  g_assert_true (efp_nut_users_check (users, "monmaster", "pa ss \"word\"", EFP_NUT_ACTION_LOGIN));
  g_assert_false (efp_nut_users_check (users, "monmaster", "pa ss", EFP_NUT_ACTION_LOGIN));

  /* secondary: login only */
  g_assert_true (efp_nut_users_check (users, "monuser", "secret", EFP_NUT_ACTION_LOGIN));
  g_assert_false (efp_nut_users_check (users, "monuser", "secret", EFP_NUT_ACTION_PRIMARY));
  g_assert_false (efp_nut_users_check (users, "monuser", "secret", EFP_NUT_ACTION_FSD));
  g_assert_false (efp_nut_users_check (users, "monuser", "secret", EFP_NUT_ACTION_SET));
  g_assert_false (efp_nut_users_check (users, "monuser", "Secret", EFP_NUT_ACTION_LOGIN));
  g_assert_false (efp_nut_users_check (users, "monuser", "secre", EFP_NUT_ACTION_LOGIN));
  g_assert_false (efp_nut_users_check (users, "monuser", "secrets", EFP_NUT_ACTION_LOGIN));
  g_assert_false (efp_nut_users_check (users, "monuser", "", EFP_NUT_ACTION_LOGIN));
  g_assert_false (efp_nut_users_check (users, "MONUSER", "secret", EFP_NUT_ACTION_LOGIN));
  g_assert_false (efp_nut_users_check (users, "nobody", "secret", EFP_NUT_ACTION_LOGIN));

  g_assert_true (efp_nut_users_check (users, "monprimary", "pass#1", EFP_NUT_ACTION_PRIMARY));
  g_assert_true (efp_nut_users_check (users, "old", "x", EFP_NUT_ACTION_LOGIN));
  g_assert_false (efp_nut_users_check (users, "old", "x", EFP_NUT_ACTION_PRIMARY));
  g_assert_true (efp_nut_users_check (users, "fsdonly", "f", EFP_NUT_ACTION_FSD));
  g_assert_false (efp_nut_users_check (users, "fsdonly", "f", EFP_NUT_ACTION_LOGIN));

  /* no users file: everything refused */
  g_assert_false (efp_nut_users_check (NULL, "monuser", "secret", EFP_NUT_ACTION_LOGIN));
}

static void
test_users_bad (void)
{
  const struct
  {
    const gchar *text;
    const gchar *message;
  } cases[] = {
    { "password = hunter2\n", "users:1: expected a [username] section before any setting" },
    { "[a]\n password = hunter2\n upsmon boss\n",
      "users:3: [a] upsmon: expected primary, secondary, master or slave, found 'boss'" },
    { "[a]\n password = hunter2\n actions = SET REBOOT\n",
      "users:3: [a] actions: expected SET or FSD, found 'REBOOT'" },
    { "[a]\n password = hunter2\n allowfrom = localhost\n",
      "users:3: [a]: unknown setting 'allowfrom' (expected password, upsmon, actions or "
      "instcmds)" },
    { "[a]\n hunter2\n",
      "users:2: [a]: expected a setting (password, upsmon, actions or instcmds), found a single "
      "word" },
    { "[a\n password = hunter2\n", "users:1: expected a section header [username]" },
    { "[a] b\n", "users:1: expected a section header [username]" },
    { "[a]\n upsmon primary\n\n[b]\n password = x\n",
      "users:1: [a]: expected a 'password = ...' line, found none" },
    { "[a]\n password = x\n[b]\n password = y\n[a]\n password = hunter2\n",
      "users:5: [a]: user defined twice (first at line 1)" },
    { "[a]\n password = \"hunter2\n", "users:2: unterminated quote" },
    { "[a]\n password = hunter2 hunter3\n",
      "users:2: [a] password: expected 'password = VALUE' with one value" },
    { "[a]\n password = hunter2\n password = hunter2\n", "users:3: [a] password: set twice" },
    { "[a]\n password\n", "users:2: [a] password: expected 'password = VALUE' with one value" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (EfpNutUsers) users =
        efp_nut_users_parse (cases[i].text, strlen (cases[i].text), "users", &error);
      g_assert_null (users);
      g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID);
      g_assert_cmpstr (error->message, ==, cases[i].message);
      g_assert_null (strstr (error->message, "hunter2"));
      g_assert_null (strchr (error->message, '\n'));
    }
}

static void
test_users_file (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("efp-nut-users-XXXXXX", &error);
  g_autofree gchar *path = g_build_filename (dir, "upsd.users", NULL);
  g_autofree gchar *missing = g_build_filename (dir, "missing", NULL);
  g_autoptr (EfpNutUsers) users = NULL;
  g_autoptr (EfpNutUsers) none = NULL;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, good_users, -1, &error));
  users = efp_nut_users_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (efp_nut_users_count (users), ==, 6);

  none = efp_nut_users_load (missing, &error);
  g_assert_null (none);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, missing));
  g_clear_error (&error);

  /* an empty file is valid and lets nobody in */
  g_assert_true (g_file_set_contents (path, "# nobody\n", -1, &error));
  g_clear_pointer (&users, efp_nut_users_free);
  users = efp_nut_users_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (efp_nut_users_count (users), ==, 0);
  g_assert_false (efp_nut_users_check (users, "monuser", "secret", EFP_NUT_ACTION_LOGIN));

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nut/split/plain", test_split_plain);
  g_test_add_func ("/nut/split/quotes", test_split_quotes);
  g_test_add_func ("/nut/split/errors", test_split_errors);
  g_test_add_func ("/nut/split/comments", test_split_comments);
  g_test_add_func ("/nut/split/random", test_split_random);
  g_test_add_func ("/nut/quote", test_quote);
  g_test_add_func ("/nut/ups-name", test_ups_name);
  g_test_add_func ("/nut/status", test_status);
  g_test_add_func ("/nut/format-number", test_format_number);
  g_test_add_func ("/nut/ups/vars", test_ups_vars);
  g_test_add_func ("/nut/ups/group", test_ups_group);
  g_test_add_func ("/nut/ups/fsd-latch", test_ups_fsd_latch);
  g_test_add_func ("/nut/users/good", test_users_good);
  g_test_add_func ("/nut/users/bad", test_users_bad);
  g_test_add_func ("/nut/users/file", test_users_file);
  return g_test_run ();
}

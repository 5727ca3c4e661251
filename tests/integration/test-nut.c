/* test-nut.c: the NUT server in-process on a free 127.0.0.1 port, spoken to by the
 * real NUT clients (upsc, upsmon from Debian's nut-client) and by raw protocol
 * conversations (logins, FSD, errors, garbage, limits, stale data).
 *
 * upsmon runs with a private config directory whose SHUTDOWNCMD is a stand-in script in
 * the test's temporary directory that only writes a marker file: nothing here can
 * shut the machine down.
 */
#include <glib/gstdio.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <unistd.h>

#include "efp-nut-server.h"
#include "efp-test-broker.h"

#define UPSC     "/usr/bin/upsc"
#define UPSMON   "/lib/nut/upsmon" /* /usr/sbin/upsmon is a wrapper that reads /etc/nut/nut.conf */
#define WAIT_SEC 20

static const gchar users_text[] = "# upsd.users for the test\n"
                                  "[monuser]\n"
                                  "  password = secret\n"
                                  "  upsmon secondary\n"
                                  "[admin]\n"
                                  "  password = \"adm in\"\n"
                                  "  upsmon primary\n"
                                  "[monprimary]\n"
                                  "  password = pw-primary\n"
                                  "  upsmon master\n"
                                  "[fsdonly]\n"
                                  "  password = f\n"
                                  "  actions = FSD\n";

typedef struct
{
  gchar *dir;
  gchar *users_file;
  EfpNutServer *server;
  guint16 port;
  gchar *hostport; /* 127.0.0.1:PORT */
} Fixture;

/* ---- main loop helpers ----------------------------------------------------------------- */

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Run the main loop until *@done or @sec seconds; FALSE on timeout. */
static gboolean
iterate_until (gboolean *done, guint sec)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (sec, set_flag, &timed_out);

  while (!*done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return *done;
}

static void
spin_ms (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, set_flag, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

/* ---- fixture --------------------------------------------------------------------------- */

static void
feed (Fixture *f, const gchar *device, EfpTristate grid, gdouble soc, gboolean fsd,
      gdouble charge_low, gboolean stale)
{
  EfpReading r;
  gboolean group = g_strcmp0 (device, "ups") == 0;
  EfpReadingMeta meta = { device, group ? NULL : "R631ZEB4WH000001", group ? NULL : "river3plus",
                          stale, 1767225600 };

  efp_reading_init (&r);
  r.soc = soc;
  r.grid_connected = grid;
  r.temp_celsius = 31.5;
  r.output_watts = 120;
  r.input_watts = grid == EFP_TRISTATE_TRUE ? 300 : 0;
  r.remain_minutes = 14;
  r.chg_dsg_state = grid == EFP_TRISTATE_TRUE ? 2 : 1;
  if (!group)
    g_strlcpy (r.model, "RIVER 3 Plus", sizeof (r.model));
  efp_nut_server_update_ups (f->server, &r, &meta, fsd, charge_low);
}

static EfpNutServer *
start_server (const gchar *users_file, GError **error)
{
  EfpNutConfig cfg = { TRUE, (gchar *) "127.0.0.1", 0, (gchar *) users_file };
  g_autoptr (EfpNutServer) server = efp_nut_server_new (&cfg, error);

  if (server == NULL || !efp_nut_server_start (server, error))
    return NULL;
  return g_steal_pointer (&server);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gboolean with_users = GPOINTER_TO_INT (data) == 0;

  f->dir = g_dir_make_tmp ("efp-test-nut-XXXXXX", &error);
  g_assert_no_error (error);
  f->users_file = g_build_filename (f->dir, "upsd.users", NULL);
  g_assert_true (g_file_set_contents (f->users_file, users_text, -1, &error));
  f->server = start_server (with_users ? f->users_file : NULL, &error);
  g_assert_no_error (error);
  efp_nut_server_set_limits (f->server, 64, 30, 1);
  f->port = efp_nut_server_get_port (f->server);
  g_assert_cmpuint (f->port, >, 0);
  f->hostport = g_strdup_printf ("127.0.0.1:%u", f->port);
  feed (f, "Study", EFP_TRISTATE_TRUE, 80, FALSE, 10, FALSE);
  feed (f, "ups", EFP_TRISTATE_TRUE, 60, FALSE, NAN, FALSE);
}

static void
remove_tree (const gchar *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->server, efp_nut_server_free);
  /* let cancelled client operations finish */
  spin_ms (20);
  remove_tree (f->dir);
  g_free (f->dir);
  g_free (f->users_file);
  g_free (f->hostport);
}

/* ---- real NUT clients ------------------------------------------------------------------ */

typedef struct
{
  gboolean done;
  gchar *out;
  gchar *err;
} Communicate;

static void
on_communicated (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Communicate *c = user_data;
  g_autoptr (GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (src), res, &c->out, &c->err, &error);
  g_assert_no_error (error);
  c->done = TRUE;
}

/* Run a client to its end while the server keeps serving; its exit status in @status. */
static gchar *
run_client (const gchar *const *argv, gint *status, gchar **err)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (
    argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  Communicate c = { FALSE, NULL, NULL };

  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (p, NULL, NULL, on_communicated, &c);
  if (!iterate_until (&c.done, WAIT_SEC))
    {
      g_subprocess_force_exit (p);
      g_assert_true (iterate_until (&c.done, WAIT_SEC));
      g_test_message ("%s timed out", argv[0]);
      g_assert_not_reached ();
    }
  *status = g_subprocess_get_exit_status (p);
  if (err != NULL)
    *err = g_steal_pointer (&c.err);
  g_free (c.err);
  return c.out;
}

static gchar *
upsc (const gchar *a, const gchar *b, const gchar *c, gint *status, gchar **err)
{
  const gchar *argv[] = { UPSC, a, b, c, NULL };
  return run_client (argv, status, err);
}

/* upsc @target [@var] fails with @needle on stderr; returns its stdout. */
static gchar *
upsc_fails (const gchar *target, const gchar *var, const gchar *needle)
{
  gint status = -1;
  g_autofree gchar *err = NULL;
  gchar *out = upsc (target, var, NULL, &status, &err);

  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (err, needle));
  return out;
}

static GHashTable *
upsc_vars (Fixture *f, const gchar *ups)
{
  g_autofree gchar *target = g_strdup_printf ("%s@%s", ups, f->hostport);
  gint status = -1;
  g_autofree gchar *err = NULL;
  g_autofree gchar *out = upsc (target, NULL, NULL, &status, &err);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  GHashTable *vars = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint i;

  g_test_message ("upsc %s: %s%s", target, out, err);
  g_assert_cmpint (status, ==, 0);
  for (i = 0; lines[i] != NULL; i++)
    {
      gchar *colon = strstr (lines[i], ": ");
      if (colon == NULL)
        continue;
      *colon = '\0';
      g_hash_table_insert (vars, g_strdup (lines[i]), g_strdup (colon + 2));
    }
  return vars;
}

static void
test_upsc_list (Fixture *f, gconstpointer data)
{
  gint status = -1;
  g_autofree gchar *out = upsc ("-l", f->hostport, NULL, &status, NULL);
  g_autofree gchar *out_long = NULL;

  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "study\nups\n");
  out_long = upsc ("-L", f->hostport, NULL, &status, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out_long, ==,
                   "study: Study (EcoFlow RIVER 3 Plus)\n"
                   "ups: ups (group of EcoFlow power stations)\n");
}

static void
test_upsc_vars (Fixture *f, gconstpointer data)
{
  g_autoptr (GHashTable) vars = upsc_vars (f, "study");
  g_autoptr (GHashTable) group = NULL;
  g_autofree gchar *target = g_strdup_printf ("study@%s", f->hostport);
  gint status = -1;
  g_autofree gchar *status_ob = NULL;
  g_autofree gchar *status_fsd = NULL;

  g_assert_cmpstr (g_hash_table_lookup (vars, "ups.status"), ==, "OL CHRG");
  g_assert_cmpstr (g_hash_table_lookup (vars, "battery.charge"), ==, "80");
  g_assert_cmpstr (g_hash_table_lookup (vars, "battery.charge.low"), ==, "10");
  g_assert_cmpstr (g_hash_table_lookup (vars, "battery.runtime"), ==, "840");
  g_assert_cmpstr (g_hash_table_lookup (vars, "battery.temperature"), ==, "31.5");
  g_assert_cmpstr (g_hash_table_lookup (vars, "input.voltage"), ==, "230");
  g_assert_cmpstr (g_hash_table_lookup (vars, "output.power"), ==, "120");
  g_assert_cmpstr (g_hash_table_lookup (vars, "device.mfr"), ==, "EcoFlow");
  g_assert_cmpstr (g_hash_table_lookup (vars, "device.model"), ==, "RIVER 3 Plus");
  g_assert_cmpstr (g_hash_table_lookup (vars, "device.serial"), ==, "R631ZEB4WH000001");
  g_assert_cmpstr (g_hash_table_lookup (vars, "device.type"), ==, "ups");
  g_assert_cmpstr (g_hash_table_lookup (vars, "ups.mfr"), ==, "EcoFlow");
  g_assert_cmpstr (g_hash_table_lookup (vars, "ups.model"), ==, "RIVER 3 Plus");

  group = upsc_vars (f, "ups");
  g_assert_cmpstr (g_hash_table_lookup (group, "battery.charge"), ==, "60");
  g_assert_false (g_hash_table_contains (group, "battery.charge.low"));
  g_assert_false (g_hash_table_contains (group, "device.serial"));

  /* the grid goes, the charge falls to the policy's soc-min: OB LB; then a policy triggers */
  feed (f, "Study", EFP_TRISTATE_FALSE, 9, FALSE, 10, FALSE);
  status_ob = upsc (target, "ups.status", NULL, &status, NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (status_ob, ==, "OB LB\n");
  g_clear_pointer (&vars, g_hash_table_unref);
  vars = upsc_vars (f, "study");
  g_assert_cmpstr (g_hash_table_lookup (vars, "input.voltage"), ==, "0");
  feed (f, "Study", EFP_TRISTATE_FALSE, 9, TRUE, 10, FALSE);
  status_fsd = upsc (target, "ups.status", NULL, &status, NULL);
  g_assert_cmpstr (status_fsd, ==, "FSD OB LB\n");
}

static void
test_upsc_stale (Fixture *f, gconstpointer data)
{
  g_autofree gchar *target = g_strdup_printf ("study@%s", f->hostport);
  g_autofree gchar *nope = g_strdup_printf ("nope@%s", f->hostport);
  g_autofree gchar *out = NULL;

  feed (f, "Study", EFP_TRISTATE_FALSE, 50, FALSE, 10, TRUE);
  out = upsc_fails (target, NULL, "Data stale");
  g_assert_cmpstr (out, ==, "");
  g_free (upsc_fails (target, "ups.status", "Data stale"));
  g_free (upsc_fails (nope, NULL, "Unknown UPS"));
}

/* ---- raw protocol ---------------------------------------------------------------------- */

typedef struct
{
  GSocketConnection *conn;
  GString *buf;
  gboolean eof;
} Raw;

static Raw *
raw_connect (Fixture *f)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  Raw *r = g_new0 (Raw, 1);

  /* loopback only: no proxy from the environment */
  g_socket_client_set_enable_proxy (client, FALSE);
  r->conn = g_socket_client_connect_to_host (client, f->hostport, 0, NULL, &error);
  g_assert_no_error (error);
  r->buf = g_string_new (NULL);
  return r;
}

static void
raw_free (Raw *r)
{
  g_io_stream_close (G_IO_STREAM (r->conn), NULL, NULL);
  g_object_unref (r->conn);
  g_string_free (r->buf, TRUE);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Raw, raw_free)

static void
raw_write (Raw *r, const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (r->conn));

  g_output_stream_write_all (out, data, len, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
raw_send (Raw *r, const gchar *line)
{
  g_autofree gchar *l = g_strconcat (line, "\n", NULL);
  raw_write (r, l, strlen (l));
}

typedef struct
{
  gboolean done;
  gssize n;
} ReadState;

static void
on_raw_read (GObject *src, GAsyncResult *res, gpointer user_data)
{
  ReadState *s = user_data;

  s->n = g_input_stream_read_finish (G_INPUT_STREAM (src), res, NULL);
  s->done = TRUE;
}

/* The next line from the server, NULL at end of stream (or after WAIT_SEC). */
static gchar *
raw_line (Raw *r)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (r->conn));
  gchar chunk[4096];

  for (;;)
    {
      gchar *nl = memchr (r->buf->str, '\n', r->buf->len);
      ReadState s = { FALSE, 0 };

      if (nl != NULL)
        {
          gchar *line = g_strndup (r->buf->str, nl - r->buf->str);
          g_string_erase (r->buf, 0, nl - r->buf->str + 1);
          return line;
        }
      if (r->eof)
        return NULL;
      g_input_stream_read_async (in, chunk, sizeof (chunk), G_PRIORITY_DEFAULT, NULL, on_raw_read,
                                 &s);
      if (!iterate_until (&s.done, WAIT_SEC))
        {
          g_test_message ("no answer from the server within %d s", WAIT_SEC);
          g_assert_not_reached ();
        }
      if (s.n <= 0)
        r->eof = TRUE;
      else
        g_string_append_len (r->buf, chunk, s.n);
    }
}

static void
expect_line (Raw *r, const gchar *expected)
{
  g_autofree gchar *answer = raw_line (r);
  g_assert_cmpstr (answer, ==, expected);
}

static void
ask_expect (Raw *r, const gchar *request, const gchar *expected)
{
  raw_send (r, request);
  expect_line (r, expected);
}

/* A LIST request: every line from BEGIN to END, joined with '\n'. */
static gchar *
ask_list (Raw *r, const gchar *request)
{
  g_autoptr (GString) all = g_string_new (NULL);

  raw_send (r, request);
  for (;;)
    {
      g_autofree gchar *line = raw_line (r);
      g_assert_nonnull (line);
      g_string_append_printf (all, "%s%s", all->len > 0 ? "\n" : "", line);
      if (g_str_has_prefix (line, "END LIST") || g_str_has_prefix (line, "ERR "))
        break;
    }
  return g_string_free (g_steal_pointer (&all), FALSE);
}

static Raw *
raw_login (Fixture *f, const gchar *user, const gchar *quoted_password)
{
  Raw *r = raw_connect (f);
  g_autofree gchar *u = g_strdup_printf ("USERNAME %s", user);
  g_autofree gchar *p = g_strdup_printf ("PASSWORD %s", quoted_password);

  ask_expect (r, u, "OK");
  ask_expect (r, p, "OK");
  return r;
}

static void
wait_numlogins (Fixture *f, const gchar *ups, guint n)
{
  g_autoptr (Raw) r = raw_connect (f);
  g_autofree gchar *req = g_strdup_printf ("GET NUMLOGINS %s", ups);
  g_autofree gchar *want = g_strdup_printf ("NUMLOGINS %s %u", ups, n);
  gint64 end = g_get_monotonic_time () + WAIT_SEC * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < end)
    {
      g_autofree gchar *answer = NULL;
      raw_send (r, req);
      answer = raw_line (r);
      if (g_strcmp0 (answer, want) == 0)
        return;
      spin_ms (50);
    }
  g_test_message ("never saw '%s'", want);
  g_assert_not_reached ();
}

static void
test_raw_basics (Fixture *f, gconstpointer data)
{
  g_autoptr (Raw) r = raw_connect (f);
  g_autofree gchar *ver = NULL;
  g_autofree gchar *help = NULL;
  g_autofree gchar *list_ups = NULL;
  g_autofree gchar *list_var = NULL;
  g_autofree gchar *list_rw = NULL;
  g_autofree gchar *list_cmd = NULL;
  g_autofree gchar *list_client = NULL;

  raw_send (r, "VER");
  ver = raw_line (r);
  g_assert_true (g_str_has_prefix (ver, "ecoflow-powerd "));
  ask_expect (r, "NETVER", "1.3");
  ask_expect (r, "PROTVER", "1.3");
  raw_send (r, "HELP");
  help = raw_line (r);
  g_assert_true (g_str_has_prefix (help, "Commands: "));
  g_assert_nonnull (strstr (help, " LOGIN "));
  ask_expect (r, "STARTTLS", "ERR FEATURE-NOT-CONFIGURED");
  ask_expect (r, "FOO", "ERR UNKNOWN-COMMAND");
  ask_expect (r, "GET", "ERR INVALID-ARGUMENT");
  ask_expect (r, "GET FOO study", "ERR INVALID-ARGUMENT");
  ask_expect (r, "GET VAR study", "ERR INVALID-ARGUMENT");
  ask_expect (r, "LIST", "ERR INVALID-ARGUMENT");
  ask_expect (r, "LIST VAR", "ERR INVALID-ARGUMENT");
  ask_expect (r, "GET VAR nope ups.status", "ERR UNKNOWN-UPS");
  ask_expect (r, "LIST VAR nope", "ERR UNKNOWN-UPS");
  ask_expect (r, "GET VAR study ups.nonsense", "ERR VAR-NOT-SUPPORTED");
  ask_expect (r, "GET VAR study ups.status", "VAR study ups.status \"OL CHRG\"");
  /* quoted arguments, any case; the answer repeats the question */
  ask_expect (r, "GET VAR \"study\" \"battery.charge\"", "VAR study battery.charge \"80\"");
  ask_expect (r, "get var STUDY battery.runtime", "VAR STUDY battery.runtime \"840\"");
  ask_expect (r, "GET UPSDESC study", "UPSDESC study \"Study (EcoFlow RIVER 3 Plus)\"");
  ask_expect (r, "GET NUMLOGINS study", "NUMLOGINS study 0");
  ask_expect (r, "GET TYPE study ups.status", "TYPE study ups.status STRING:64");
  ask_expect (r, "GET TYPE study battery.charge", "TYPE study battery.charge NUMBER");
  ask_expect (r, "GET TYPE study ups.nonsense", "ERR VAR-NOT-SUPPORTED");
  ask_expect (r, "GET DESC study ups.status", "DESC study ups.status \"UPS status\"");
  ask_expect (r, "GET DESC study x.y", "DESC study x.y \"Description unavailable\"");
  ask_expect (r, "GET CMDDESC study load.off", "ERR CMD-NOT-SUPPORTED");

  list_ups = ask_list (r, "LIST UPS");
  g_assert_cmpstr (list_ups, ==,
                   "BEGIN LIST UPS\n"
                   "UPS study \"Study (EcoFlow RIVER 3 Plus)\"\n"
                   "UPS ups \"ups (group of EcoFlow power stations)\"\n"
                   "END LIST UPS");
  list_var = ask_list (r, "LIST VAR ups");
  g_assert_cmpstr (list_var, ==,
                   "BEGIN LIST VAR ups\n"
                   "VAR ups battery.charge \"60\"\n"
                   "VAR ups battery.runtime \"840\"\n"
                   "VAR ups battery.temperature \"31.5\"\n"
                   "VAR ups device.mfr \"EcoFlow\"\n"
                   "VAR ups device.model \"Virtual battery\"\n"
                   "VAR ups device.type \"ups\"\n"
                   "VAR ups input.voltage \"230\"\n"
                   "VAR ups output.power \"120\"\n"
                   "VAR ups ups.mfr \"EcoFlow\"\n"
                   "VAR ups ups.model \"Virtual battery\"\n"
                   "VAR ups ups.realpower \"120\"\n"
                   "VAR ups ups.status \"OL CHRG\"\n"
                   "END LIST VAR ups");
  list_rw = ask_list (r, "LIST RW study");
  g_assert_cmpstr (list_rw, ==, "BEGIN LIST RW study\nEND LIST RW study");
  list_cmd = ask_list (r, "LIST CMD study");
  g_assert_cmpstr (list_cmd, ==, "BEGIN LIST CMD study\nEND LIST CMD study");
  list_client = ask_list (r, "LIST CLIENT study");
  g_assert_cmpstr (list_client, ==, "BEGIN LIST CLIENT study\nEND LIST CLIENT study");
  ask_expect (r, "LIST RW nope", "ERR UNKNOWN-UPS");

  /* empty lines get no answer; the next command still does */
  raw_send (r, "");
  raw_send (r, "  \r");
  ask_expect (r, "NETVER", "1.3");
  ask_expect (r, "LOGOUT", "OK Goodbye");
  g_assert_null (raw_line (r));
}

static void
test_raw_auth (Fixture *f, gconstpointer data)
{
  g_autoptr (Raw) anon = raw_connect (f);
  g_autoptr (Raw) mon = NULL;
  g_autoptr (Raw) admin = NULL;
  g_autoptr (Raw) fsd = NULL;
  g_autoptr (Raw) wrong = NULL;
  g_autofree gchar *clients = NULL;

  /* the order upsd checks in */
  ask_expect (anon, "LOGIN study", "ERR USERNAME-REQUIRED");
  ask_expect (anon, "FSD study", "ERR USERNAME-REQUIRED");
  ask_expect (anon, "USERNAME monuser", "OK");
  ask_expect (anon, "USERNAME other", "ERR ALREADY-SET-USERNAME");
  ask_expect (anon, "LOGIN study", "ERR PASSWORD-REQUIRED");
  ask_expect (anon, "PASSWORD wrong", "OK");
  ask_expect (anon, "PASSWORD secret", "ERR ALREADY-SET-PASSWORD");
  ask_expect (anon, "LOGIN study", "ERR ACCESS-DENIED");
  ask_expect (anon, "LOGIN", "ERR INVALID-ARGUMENT");

  /* a secondary logs in, once, and may do nothing a primary does */
  mon = raw_login (f, "monuser", "secret");
  ask_expect (mon, "LOGIN nope", "ERR UNKNOWN-UPS");
  ask_expect (mon, "LOGIN study", "OK");
  ask_expect (mon, "LOGIN study", "ERR ALREADY-LOGGED-IN");
  ask_expect (mon, "GET NUMLOGINS study", "NUMLOGINS study 1");
  ask_expect (mon, "PRIMARY study", "ERR ACCESS-DENIED");
  ask_expect (mon, "MASTER study", "ERR ACCESS-DENIED");
  ask_expect (mon, "FSD study", "ERR ACCESS-DENIED");
  ask_expect (mon, "SET VAR study ups.status OB", "ERR ACCESS-DENIED");
  ask_expect (mon, "INSTCMD study load.off", "ERR ACCESS-DENIED");
  ask_expect (mon, "GET VAR study ups.status", "VAR study ups.status \"OL CHRG\"");

  /* a primary (quoted password with a blank) */
  admin = raw_login (f, "admin", "\"adm in\"");
  ask_expect (admin, "PRIMARY study", "OK PRIMARY-GRANTED");
  ask_expect (admin, "MASTER study", "OK MASTER-GRANTED");
  ask_expect (admin, "PRIMARY nope", "ERR UNKNOWN-UPS");
  ask_expect (admin, "LOGIN study", "OK");
  ask_expect (admin, "GET NUMLOGINS study", "NUMLOGINS study 2");
  ask_expect (admin, "GET NUMLOGINS ups", "NUMLOGINS ups 0");
  clients = ask_list (admin, "LIST CLIENT study");
  g_assert_cmpstr (clients, ==,
                   "BEGIN LIST CLIENT study\n"
                   "CLIENT study 127.0.0.1\n"
                   "CLIENT study 127.0.0.1\n"
                   "END LIST CLIENT study");
  ask_expect (admin, "FSD study", "OK FSD-SET");
  ask_expect (mon, "GET VAR study ups.status", "VAR study ups.status \"FSD OL CHRG LB\"");
  /* the other UPS is untouched */
  ask_expect (mon, "GET VAR ups ups.status", "VAR ups ups.status \"OL CHRG\"");

  /* LOGOUT says goodbye, closes, and the login count drops */
  ask_expect (admin, "LOGOUT", "OK Goodbye");
  g_assert_null (raw_line (admin));
  wait_numlogins (f, "study", 1);
  /* a dropped connection counts as a logout too */
  g_clear_pointer (&mon, raw_free);
  wait_numlogins (f, "study", 0);

  /* actions = FSD without an upsmon role: FSD yes, LOGIN no */
  fsd = raw_login (f, "fsdonly", "f");
  ask_expect (fsd, "LOGIN ups", "ERR ACCESS-DENIED");
  ask_expect (fsd, "FSD ups", "OK FSD-SET");
  ask_expect (fsd, "GET VAR ups ups.status", "VAR ups ups.status \"FSD OL CHRG LB\"");

  /* FSD is latched until the UPS is on line and fresh at least fsd-hold (1 s here) later */
  feed (f, "ups", EFP_TRISTATE_TRUE, 60, FALSE, NAN, FALSE);
  ask_expect (fsd, "GET VAR ups ups.status", "VAR ups ups.status \"FSD OL CHRG LB\"");
  spin_ms (1100);
  feed (f, "ups", EFP_TRISTATE_TRUE, 60, FALSE, NAN, FALSE);
  ask_expect (fsd, "GET VAR ups ups.status", "VAR ups ups.status \"OL CHRG\"");

  /* wrong password for a real user */
  wrong = raw_login (f, "admin", "admin");
  ask_expect (wrong, "PRIMARY study", "ERR ACCESS-DENIED");
}

static void
test_raw_no_users (Fixture *f, gconstpointer data)
{
  g_autoptr (Raw) r = raw_login (f, "monuser", "secret");

  ask_expect (r, "LOGIN study", "ERR ACCESS-DENIED");
  ask_expect (r, "PRIMARY study", "ERR ACCESS-DENIED");
  ask_expect (r, "FSD study", "ERR ACCESS-DENIED");
  /* reads stay open */
  ask_expect (r, "GET VAR study ups.status", "VAR study ups.status \"OL CHRG\"");
  ask_expect (r, "GET NUMLOGINS study", "NUMLOGINS study 0");
}

static void
test_raw_stale (Fixture *f, gconstpointer data)
{
  g_autoptr (Raw) r = raw_connect (f);

  feed (f, "Study", EFP_TRISTATE_FALSE, 5, FALSE, 10, TRUE);
  ask_expect (r, "GET VAR study ups.status", "ERR DATA-STALE");
  ask_expect (r, "GET VAR study battery.charge", "ERR DATA-STALE");
  ask_expect (r, "GET VAR study ups.nonsense", "ERR DATA-STALE");
  ask_expect (r, "LIST VAR study", "ERR DATA-STALE");
  ask_expect (r, "GET NUMLOGINS study", "NUMLOGINS study 0");
  ask_expect (r, "GET UPSDESC study", "UPSDESC study \"Study (EcoFlow RIVER 3 Plus)\"");
  /* fresh again */
  feed (f, "Study", EFP_TRISTATE_FALSE, 5, FALSE, 10, FALSE);
  ask_expect (r, "GET VAR study ups.status", "VAR study ups.status \"OB LB\"");

  /* a device that never reported is stale, not "OL" */
  {
    EfpReading empty;
    EfpReadingMeta meta = { "Garage", "R631X", "river3plus", FALSE, 0 };
    efp_reading_init (&empty);
    efp_nut_server_update_ups (f->server, &empty, &meta, FALSE, 10);
    ask_expect (r, "GET VAR garage ups.status", "ERR DATA-STALE");
  }
}

static void
test_raw_garbage (Fixture *f, gconstpointer data)
{
  g_autoptr (Raw) r = raw_connect (f);
  g_autoptr (Raw) other = raw_connect (f);
  g_autoptr (GByteArray) junk = g_byte_array_new ();
  guint i;
  const gchar nul_line[] = "GET VAR\0 study ups.status\n";
  g_autoptr (GString) many = g_string_new ("GET");

  /* 5000 random bytes without a newline: one ERR INVALID-ARGUMENT, the rest dropped */
  for (i = 0; i < 5000; i++)
    {
      guint8 b = (guint8) g_test_rand_int_range (0, 256);
      if (b == '\n')
        b = 'x';
      g_byte_array_append (junk, &b, 1);
    }
  raw_write (r, junk->data, junk->len);
  raw_write (r, "\n", 1);
  ask_expect (r, "NETVER", "ERR INVALID-ARGUMENT");
  expect_line (r, "1.3");

  /* a line of exactly the limit is still a line */
  {
    g_autoptr (GString) edge = g_string_new ("NETVER");
    while (edge->len < 1024)
      g_string_append_c (edge, ' ');
    ask_expect (r, edge->str, "1.3");
    g_string_append_c (edge, ' ');
    ask_expect (r, edge->str, "ERR INVALID-ARGUMENT");
  }

  raw_write (r, nul_line, sizeof (nul_line) - 1);
  expect_line (r, "ERR INVALID-ARGUMENT");
  ask_expect (r, "GET VAR \"study ups.status", "ERR INVALID-ARGUMENT");
  ask_expect (r, "GET VAR study ups.status\\", "ERR INVALID-ARGUMENT");
  for (i = 0; i < 20; i++)
    g_string_append (many, " x");
  ask_expect (r, many->str, "ERR INVALID-ARGUMENT");
  ask_expect (r, "\xff\xfe\x01 \x80", "ERR UNKNOWN-COMMAND");
  ask_expect (r, "GET VAR \xff ups.status", "ERR UNKNOWN-UPS");

  /* 300 lines of random printable junk: the server answers each and stays up */
  for (i = 0; i < 300; i++)
    {
      gchar line[40];
      guint j, len = g_test_rand_int_range (1, sizeof (line) - 1);
      g_autofree gchar *answer = NULL;
      for (j = 0; j < len; j++)
        line[j] = (gchar) g_test_rand_int_range (0x21, 0x7f);
      line[len] = '\0';
      /* no empty and no LOGOUT lines: every line gets exactly one answer here */
      if (g_ascii_strncasecmp (line, "LOGOUT", 6) == 0)
        line[0] = 'x';
      raw_send (r, line);
      answer = raw_line (r);
      g_assert_nonnull (answer);
    }
  ask_expect (r, "NETVER", "1.3");
  ask_expect (other, "GET VAR study ups.status", "VAR study ups.status \"OL CHRG\"");
}

/* Many requests in one write: every answer, in order. */
static void
test_raw_pipelined (Fixture *f, gconstpointer data)
{
  g_autoptr (Raw) r = raw_connect (f);
  g_autoptr (GString) batch = g_string_new (NULL);
  guint i;

  for (i = 0; i < 200; i++)
    g_string_append (batch, "GET VAR study battery.charge\nLIST UPS\n");
  raw_write (r, batch->str, batch->len);
  for (i = 0; i < 200; i++)
    {
      g_autofree gchar *a = raw_line (r);
      g_autofree gchar *b = raw_line (r);
      g_autofree gchar *c = raw_line (r);
      g_autofree gchar *d = raw_line (r);
      g_autofree gchar *e = raw_line (r);
      g_assert_cmpstr (a, ==, "VAR study battery.charge \"80\"");
      g_assert_cmpstr (b, ==, "BEGIN LIST UPS");
      g_assert_true (g_str_has_prefix (c, "UPS study "));
      g_assert_true (g_str_has_prefix (d, "UPS ups "));
      g_assert_cmpstr (e, ==, "END LIST UPS");
    }
}

static void
test_raw_limits (Fixture *f, gconstpointer data)
{
  Raw *r[3];
  g_autoptr (Raw) extra = NULL;
  g_autoptr (Raw) again = NULL;
  g_autoptr (Raw) idle = NULL;
  guint i;

  efp_nut_server_set_limits (f->server, 3, 2, 1);
  for (i = 0; i < 3; i++)
    {
      r[i] = raw_connect (f);
      ask_expect (r[i], "NETVER", "1.3");
    }
  /* the fourth connection is closed at once; the others keep working */
  extra = raw_connect (f);
  raw_send (extra, "NETVER");
  g_assert_null (raw_line (extra));
  ask_expect (r[0], "NETVER", "1.3");
  /* a slot frees up when a client leaves */
  raw_free (r[2]);
  spin_ms (100);
  again = raw_connect (f);
  ask_expect (again, "NETVER", "1.3");
  raw_free (r[1]);
  raw_free (r[0]);

  /* a silent client is dropped after the idle timeout (2 s here) */
  idle = raw_connect (f);
  g_assert_null (raw_line (idle));
}

static void
test_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("efp-test-nut-XXXXXX", &error);
  g_autofree gchar *bad = g_build_filename (dir, "upsd.users", NULL);
  g_autofree gchar *expected = NULL;
  g_autoptr (EfpNutServer) first = NULL;
  g_autoptr (EfpNutServer) second = NULL;
  EfpNutConfig cfg = { TRUE, (gchar *) "127.0.0.1", 0, bad };
  EfpNutServer *none;

  g_assert_no_error (error);
  /* a bad users file: one line naming file and line, no password in it */
  g_assert_true (
    g_file_set_contents (bad, "[monuser]\n  password = hunter2\n  upsmon boss\n", -1, &error));
  none = efp_nut_server_new (&cfg, &error);
  g_assert_null (none);
  g_assert_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID);
  expected = g_strdup_printf (
    "%s:3: [monuser] upsmon: expected primary, secondary, master or slave, found 'boss'", bad);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_null (strstr (error->message, "hunter2"));
  g_clear_error (&error);

  /* the port is taken: start fails with a message naming [nut] */
  first = start_server (NULL, &error);
  g_assert_no_error (error);
  cfg.users_file = NULL;
  cfg.port = efp_nut_server_get_port (first);
  second = efp_nut_server_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_false (efp_nut_server_start (second, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "[nut] listen=127.0.0.1 port="));
  g_test_message ("%s", error->message);

  g_unlink (bad);
  g_rmdir (dir);
}

/* ---- upsmon ---------------------------------------------------------------------------- */

typedef struct
{
  GSubprocess *proc;
  gchar *conf_dir;
  gchar *log;
  gchar *marker;
  gchar *notify_log;
  gboolean drop; /* run as @uid/@gid: the test runs as root */
  uid_t uid;
  gid_t gid;
} Upsmon;

/* In the child, between fork and exec: async-signal-safe calls only. */
static void
upsmon_child_setup (gpointer data)
{
  Upsmon *m = data;

  if (m->drop && (setgroups (0, NULL) != 0 || setgid (m->gid) != 0 || setuid (m->uid) != 0))
    _exit (127);
  /* after setuid: a credential change clears the parent-death signal */
  efp_test_child_setup_die_with_parent (NULL);
}

static void
write_script (const gchar *path, const gchar *body)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text = g_strdup_printf ("#!/bin/sh\n%s\n", body);

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
}

static gchar *
read_or_empty (const gchar *path)
{
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

/* upsmon with a private config: MONITOR @ups on our server, SHUTDOWNCMD a stand-in
 * that writes @marker. Never a real shutdown command. */
static Upsmon *
upsmon_start (Fixture *f, const gchar *ups, const gchar *user, const gchar *password,
              const gchar *role)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GString) conf = g_string_new (NULL);
  g_autofree gchar *conf_path = NULL;
  g_autofree gchar *standin = NULL;
  g_autofree gchar *notify = NULL;
  g_autofree gchar *written = NULL;
  g_auto (GStrv) lines = NULL;
  const gchar *types[] = { "ONLINE",  "ONBATT",   "LOWBATT",  "FSD",    "COMMOK",
                           "COMMBAD", "SHUTDOWN", "REPLBATT", "NOCOMM", "NOPARENT" };
  Upsmon *m = g_new0 (Upsmon, 1);
  guint i, shutdown_lines = 0;

  m->conf_dir = g_build_filename (f->dir, role, NULL);
  g_assert_cmpint (g_mkdir (m->conf_dir, 0700), ==, 0);
  /* upsmon 2.8.0 keeps its PID file in the system's /run/nut whatever the environment
   * says, and as root it could run anything: run it as nobody, who can write neither
   * there (upsmon goes on without a PID file) nor anywhere that matters */
  if (geteuid () == 0)
    {
      struct passwd *pw = getpwnam ("nobody");
      g_assert_nonnull (pw);
      m->drop = TRUE;
      m->uid = pw != NULL ? pw->pw_uid : 65534;
      m->gid = pw != NULL ? pw->pw_gid : 65534;
      g_assert_cmpint (g_chmod (f->dir, 0711), ==, 0);
      g_assert_cmpint (chown (m->conf_dir, m->uid, m->gid), ==, 0);
    }
  m->log = g_build_filename (m->conf_dir, "upsmon.log", NULL);
  m->marker = g_build_filename (m->conf_dir, "shutdown-marker", NULL);
  m->notify_log = g_build_filename (m->conf_dir, "notify.log", NULL);
  standin = g_build_filename (m->conf_dir, "shutdown-standin", NULL);
  notify = g_build_filename (m->conf_dir, "notify-standin", NULL);
  {
    g_autofree gchar *body = g_strdup_printf ("echo \"shutdown $*\" >> '%s'", m->marker);
    g_autofree gchar *nbody =
      g_strdup_printf ("echo \"$NOTIFYTYPE $UPSNAME\" >> '%s'", m->notify_log);
    write_script (standin, body);
    write_script (notify, nbody);
  }

  g_string_append_printf (conf, "MONITOR %s@%s 1 %s \"%s\" %s\n", ups, f->hostport, user, password,
                          role);
  g_string_append (conf, "MINSUPPLIES 1\n");
  g_string_append_printf (conf, "SHUTDOWNCMD \"%s\"\n", standin);
  g_string_append_printf (conf, "NOTIFYCMD \"%s\"\n", notify);
  for (i = 0; i < G_N_ELEMENTS (types); i++)
    g_string_append_printf (conf, "NOTIFYFLAG %s EXEC\n", types[i]);
  g_string_append (conf, "POLLFREQ 1\nPOLLFREQALERT 1\nHOSTSYNC 2\nDEADTIME 5\nFINALDELAY 0\n");
  g_string_append_printf (conf, "POWERDOWNFLAG %s/killpower\n", m->conf_dir);
  conf_path = g_build_filename (m->conf_dir, "upsmon.conf", NULL);
  g_assert_true (g_file_set_contents (conf_path, conf->str, -1, &error));
  g_assert_cmpint (g_chmod (conf_path, 0600), ==, 0);
  if (m->drop)
    g_assert_cmpint (chown (conf_path, m->uid, m->gid), ==, 0);

  /* belt and braces: the only SHUTDOWNCMD is our standin inside the test's own directory */
  written = read_or_empty (conf_path);
  lines = g_strsplit (written, "\n", -1);
  for (i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (g_strstrip (lines[i]), "SHUTDOWNCMD"))
      {
        g_autofree gchar *want = g_strdup_printf ("SHUTDOWNCMD \"%s\"", standin);
        g_assert_cmpstr (lines[i], ==, want);
        g_assert_true (g_str_has_prefix (standin, f->dir));
        shutdown_lines++;
      }
  g_assert_cmpuint (shutdown_lines, ==, 1);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, m->log);
  g_subprocess_launcher_setenv (launcher, "NUT_CONFPATH", m->conf_dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "NUT_STATEPATH", m->conf_dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "NUT_ALTPIDPATH", m->conf_dir, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, upsmon_child_setup, m, NULL);
  /* -D: foreground with debug output; -p: no privilege separation, one process */
  m->proc = g_subprocess_launcher_spawn (launcher, &error, UPSMON, "-D", "-p", NULL);
  g_assert_no_error (error);
  return m;
}

static void
upsmon_free (Upsmon *m)
{
  g_autofree gchar *log = read_or_empty (m->log);

  if (g_test_failed ())
    g_printerr ("---- upsmon log ----\n%s\n---- end ----\n", log);
  if (m->proc != NULL)
    {
      g_subprocess_force_exit (m->proc);
      g_subprocess_wait (m->proc, NULL, NULL);
      g_object_unref (m->proc);
    }
  g_free (m->conf_dir);
  g_free (m->log);
  g_free (m->marker);
  g_free (m->notify_log);
  g_free (m);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Upsmon, upsmon_free)

static gboolean
wait_file_contains (const gchar *path, const gchar *needle)
{
  gint64 end = g_get_monotonic_time () + WAIT_SEC * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < end)
    {
      g_autofree gchar *text = read_or_empty (path);
      if (strstr (text, needle) != NULL)
        return TRUE;
      spin_ms (100);
    }
  return FALSE;
}

static gboolean
wait_exit (GSubprocess *proc)
{
  gint64 end = g_get_monotonic_time () + WAIT_SEC * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < end)
    {
      if (g_subprocess_get_identifier (proc) == NULL)
        return TRUE;
      spin_ms (100);
    }
  return FALSE;
}

/* A primary upsmon logs in, sees OB, then OB LB: it sets FSD itself, waits for the
 * secondaries (none) and runs its SHUTDOWNCMD (the standin), then exits. */
static void
test_upsmon_primary (Fixture *f, gconstpointer data)
{
  g_autoptr (Upsmon) m = upsmon_start (f, "study", "monprimary", "pw-primary", "primary");
  g_autoptr (Raw) r = raw_connect (f);
  g_autofree gchar *marker = NULL;

  wait_numlogins (f, "study", 1);
  ask_expect (r, "GET VAR study ups.status", "VAR study ups.status \"OL CHRG\"");
  g_assert_false (g_file_test (m->marker, G_FILE_TEST_EXISTS));

  feed (f, "Study", EFP_TRISTATE_FALSE, 50, FALSE, 10, FALSE);
  g_assert_true (wait_file_contains (m->notify_log, "ONBATT study@"));
  /* on battery, not low: no shutdown */
  spin_ms (1500);
  g_assert_false (g_file_test (m->marker, G_FILE_TEST_EXISTS));

  feed (f, "Study", EFP_TRISTATE_FALSE, 9, FALSE, 10, FALSE);
  g_assert_true (wait_file_contains (m->marker, "shutdown"));
  /* upsmon, as the primary, raised FSD on the UPS for the secondaries */
  ask_expect (r, "GET VAR study ups.status", "VAR study ups.status \"FSD OB LB\"");
  marker = read_or_empty (m->notify_log);
  g_assert_nonnull (strstr (marker, "LOWBATT study@"));
  g_assert_nonnull (strstr (marker, "\nSHUTDOWN"));
  g_assert_true (g_file_test (m->conf_dir, G_FILE_TEST_IS_DIR));
  g_assert_true (wait_exit (m->proc));
  wait_numlogins (f, "study", 0);
}

/* A secondary upsmon (a NAS) shuts down as soon as a policy sets FSD, with the
 * grid still there and the charge fine. */
static void
test_upsmon_secondary_fsd (Fixture *f, gconstpointer data)
{
  g_autoptr (Upsmon) m = upsmon_start (f, "ups", "monuser", "secret", "secondary");
  g_autofree gchar *notify = NULL;

  wait_numlogins (f, "ups", 1);
  spin_ms (1500);
  g_assert_false (g_file_test (m->marker, G_FILE_TEST_EXISTS));
  feed (f, "ups", EFP_TRISTATE_TRUE, 60, TRUE, NAN, FALSE);
  g_assert_true (wait_file_contains (m->marker, "shutdown"));
  notify = read_or_empty (m->notify_log);
  g_assert_nonnull (strstr (notify, "FSD ups@"));
  g_assert_true (wait_exit (m->proc));
  wait_numlogins (f, "ups", 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/nut/upsc/list", test_upsc_list);
  ADD ("/nut/upsc/vars", test_upsc_vars);
  ADD ("/nut/upsc/stale", test_upsc_stale);
  ADD ("/nut/raw/basics", test_raw_basics);
  ADD ("/nut/raw/auth", test_raw_auth);
  g_test_add ("/nut/raw/no-users-file", Fixture, GINT_TO_POINTER (1), fixture_setup,
              test_raw_no_users, fixture_teardown);
  ADD ("/nut/raw/stale", test_raw_stale);
  ADD ("/nut/raw/garbage", test_raw_garbage);
  ADD ("/nut/raw/pipelined", test_raw_pipelined);
  ADD ("/nut/raw/limits", test_raw_limits);
  g_test_add_func ("/nut/errors", test_errors);
  ADD ("/nut/upsmon/primary", test_upsmon_primary);
  ADD ("/nut/upsmon/secondary-fsd", test_upsmon_secondary_fsd);
#undef ADD
  return g_test_run ();
}

/* test-state-file.c: what survives a restart, and how the file is read and written. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "efp-state-file.h"

typedef struct
{
  gchar *dir;
  gchar *path;
} Fixture;

static void
rm_rf (const gchar *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const gchar *n;
  while (d != NULL && (n = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *p = g_build_filename (path, n, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        rm_rf (p);
      else
        g_unlink (p);
    }
  g_rmdir (path);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("efp-state-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "state.json", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

static EfpStateFile *
save_and_load (EfpStateFile *s, const gchar *path)
{
  g_autoptr (GError) error = NULL;
  EfpStateFile *back;
  g_assert_true (efp_state_file_save (s, path, &error));
  g_assert_no_error (error);
  back = efp_state_file_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  return back;
}

/* ---- policies ---- */

static void
assert_policy_equal (const EfpPolicyState *got, const EfpPolicyState *want)
{
  guint i;
  g_assert_nonnull (got);
  g_assert_cmpint (got->phase, ==, want->phase);
  g_assert_cmpint (got->armed_since_us, ==, want->armed_since_us);
  g_assert_cmpint (got->triggered_at_us, ==, want->triggered_at_us);
  g_assert_cmpint (got->stale_since_us, ==, want->stale_since_us);
  for (i = 0; i < G_N_ELEMENTS (want->aux); i++)
    if (isnan (want->aux[i]))
      g_assert_true (isnan (got->aux[i]));
    else
      g_assert_cmpfloat (got->aux[i], ==, want->aux[i]);
  for (i = 0; i < G_N_ELEMENTS (want->aux_us); i++)
    g_assert_cmpint (got->aux_us[i], ==, want->aux_us[i]);
}

static void
test_policies_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpStateFile) s = efp_state_file_new ();
  g_autoptr (EfpStateFile) back = NULL;
  EfpPolicyState a = { 0 }, b = { 0 };
  guint i;

  a.phase = EFP_POLICY_PHASE_TRIGGERED;
  a.armed_since_us = 1767225600123456;
  a.triggered_at_us = 1767225780654321;
  a.stale_since_us = 0;
  for (i = 0; i < G_N_ELEMENTS (a.aux); i++)
    a.aux[i] = 0.1 * (gdouble) i - 3;
  /* a wall-clock deadline in µs held in a double (comm-lost) is exact */
  a.aux[7] = 1767225999000001.0;
  for (i = 0; i < G_N_ELEMENTS (a.aux_us); i++)
    a.aux_us[i] = G_GINT64_CONSTANT (1767225600000000) + (gint64) i * 1000003;
  b.phase = EFP_POLICY_PHASE_COOLDOWN;
  b.stale_since_us = 42;
  b.aux[0] = 99.5;
  /* a module's "unknown" survives a restart as unknown, not as 0 */
  b.aux[1] = NAN;
  b.aux_us[3] = -1;

  efp_state_file_set_policy (s, "critical", "Study", &a);
  efp_state_file_set_policy (s, "runtime", "Both", &b);
  /* the same policy for another target is another entry */
  efp_state_file_set_policy (s, "critical", "Office", &b);
  back = save_and_load (s, f->path);

  g_assert_cmpuint (g_hash_table_size (back->policies), ==, 3);
  assert_policy_equal (efp_state_file_get_policy (back, "critical", "Study"), &a);
  assert_policy_equal (efp_state_file_get_policy (back, "runtime", "Both"), &b);
  assert_policy_equal (efp_state_file_get_policy (back, "critical", "Office"), &b);
  g_assert_null (efp_state_file_get_policy (back, "runtime", "Study"));

  /* a second save replaces, never merges */
  efp_state_file_set_policy (s, "critical", "Study", &b);
  g_clear_pointer (&back, efp_state_file_free);
  back = save_and_load (s, f->path);
  g_assert_cmpuint (g_hash_table_size (back->policies), ==, 3);
  assert_policy_equal (efp_state_file_get_policy (back, "critical", "Study"), &b);
}

/* ---- commands ---- */

static void
test_commands_bounded (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpStateFile) s = efp_state_file_new ();
  g_autoptr (EfpStateFile) back = NULL;
  guint i;

  for (i = 0; i < 250; i++)
    {
      g_autofree gchar *id = g_strdup_printf ("cmd-%03u", i);
      g_autofree gchar *agent = g_strdup_printf ("agent-%u", i % 3);
      EfpSentCommand c = { id,
                           agent,
                           (gchar *) (i % 2 ? "abort" : "shutdown"),
                           (gchar *) (i % 5 ? "critical" : NULL),
                           (gchar *) (i % 7 ? "Study" : NULL),
                           1767225600 + i };
      efp_state_file_add_command (s, &c);
    }
  /* the newest 200, oldest first */
  g_assert_cmpuint (s->commands->len, ==, 200);
  g_assert_cmpstr (((EfpSentCommand *) s->commands->pdata[0])->id, ==, "cmd-050");
  g_assert_cmpstr (((EfpSentCommand *) s->commands->pdata[199])->id, ==, "cmd-249");

  back = save_and_load (s, f->path);
  g_assert_cmpuint (back->commands->len, ==, 200);
  for (i = 0; i < 200; i++)
    {
      const EfpSentCommand *c = back->commands->pdata[i];
      guint n = i + 50;
      g_autofree gchar *id = g_strdup_printf ("cmd-%03u", n);
      g_autofree gchar *agent = g_strdup_printf ("agent-%u", n % 3);
      g_assert_cmpstr (c->id, ==, id);
      g_assert_cmpstr (c->agent, ==, agent);
      g_assert_cmpstr (c->action, ==, n % 2 ? "abort" : "shutdown");
      /* a test command has neither policy nor device */
      g_assert_cmpstr (c->policy, ==, n % 5 ? "critical" : NULL);
      g_assert_cmpstr (c->device, ==, n % 7 ? "Study" : NULL);
      g_assert_cmpint (c->issued_at, ==, 1767225600 + n);
    }

  /* adding after a load still keeps 200, dropping the oldest */
  {
    EfpSentCommand c = { (gchar *) "cmd-new", (gchar *) "pc", (gchar *) "test", NULL, NULL, 1 };
    efp_state_file_add_command (back, &c);
    g_assert_cmpuint (back->commands->len, ==, 200);
    g_assert_cmpstr (((EfpSentCommand *) back->commands->pdata[0])->id, ==, "cmd-051");
    g_assert_cmpstr (((EfpSentCommand *) back->commands->pdata[199])->id, ==, "cmd-new");
  }
}

/* ---- device snapshots ---- */

static void
test_devices_roundtrip (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpStateFile) s = efp_state_file_new ();
  g_autoptr (EfpStateFile) back = NULL;
  EfpReading known, unknown, off;
  const EfpDeviceSnapshot *d;

  efp_reading_init (&known);
  known.soc = 42.5;
  known.grid_connected = EFP_TRISTATE_TRUE;
  known.grid_source = "ac-in-watts";
  known.input_watts = 310.25;
  known.output_watts = 0;
  known.temp_celsius = -4.5;
  known.remain_minutes = 0;
  g_strlcpy (known.model, "River 3 Plus", sizeof (known.model));

  efp_reading_init (&unknown); /* every field unknown: NAN, -1, UNKNOWN */

  efp_reading_init (&off);
  off.soc = 0;
  off.grid_connected = EFP_TRISTATE_FALSE;
  off.remain_minutes = 14;

  efp_state_file_set_device (s, "Study", &known, 1767225600123456);
  efp_state_file_set_device (s, "Attic", &unknown, 0);
  efp_state_file_set_device (s, "R631ZEB4WH000001", &off, 1);
  back = save_and_load (s, f->path);
  g_assert_cmpuint (g_hash_table_size (back->devices), ==, 3);

  d = efp_state_file_get_device (back, "Study");
  g_assert_nonnull (d);
  g_assert_cmpint (d->last_frame_us, ==, 1767225600123456);
  g_assert_cmpfloat (d->reading.soc, ==, 42.5);
  g_assert_cmpint (d->reading.grid_connected, ==, EFP_TRISTATE_TRUE);
  g_assert_cmpfloat (d->reading.input_watts, ==, 310.25);
  g_assert_cmpfloat (d->reading.output_watts, ==, 0);
  g_assert_cmpfloat (d->reading.temp_celsius, ==, -4.5);
  g_assert_cmpint (d->reading.remain_minutes, ==, 0);
  g_assert_cmpstr (d->reading.model, ==, "River 3 Plus");
  /* points into a module: never persisted, never dangling */
  g_assert_null (d->reading.grid_source);

  d = efp_state_file_get_device (back, "Attic");
  g_assert_nonnull (d);
  g_assert_cmpint (d->last_frame_us, ==, 0);
  g_assert_true (isnan (d->reading.soc));
  g_assert_true (isnan (d->reading.input_watts));
  g_assert_true (isnan (d->reading.output_watts));
  g_assert_true (isnan (d->reading.temp_celsius));
  g_assert_cmpint (d->reading.grid_connected, ==, EFP_TRISTATE_UNKNOWN);
  g_assert_cmpint (d->reading.remain_minutes, ==, -1);
  g_assert_cmpstr (d->reading.model, ==, "");

  d = efp_state_file_get_device (back, "R631ZEB4WH000001");
  g_assert_nonnull (d);
  g_assert_cmpfloat (d->reading.soc, ==, 0);
  g_assert_false (isnan (d->reading.soc));
  g_assert_cmpint (d->reading.grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpint (d->reading.remain_minutes, ==, 14);

  g_assert_null (efp_state_file_get_device (back, "Office"));
}

/* ---- missing, corrupt ---- */

static void
test_missing (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *deep = g_build_filename (f->dir, "no", "such", "dir", "state.json", NULL);
  g_autoptr (EfpStateFile) s = efp_state_file_load (f->path, &error);
  g_autoptr (EfpStateFile) s2 = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (s);
  g_assert_cmpuint (g_hash_table_size (s->policies), ==, 0);
  g_assert_cmpuint (s->commands->len, ==, 0);
  g_assert_cmpuint (g_hash_table_size (s->devices), ==, 0);

  s2 = efp_state_file_load (deep, &error);
  g_assert_no_error (error);
  g_assert_nonnull (s2);
  g_assert_cmpuint (g_hash_table_size (s2->policies), ==, 0);
}

static void
expect_corrupt (Fixture *f, const gchar *text, gssize len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpStateFile) s = NULL;

  g_assert_true (g_file_set_contents (f->path, text, len, NULL));
  s = efp_state_file_load (f->path, &error);
  if (s != NULL)
    g_error ("corrupt state file accepted: %s", text);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, f->path));
}

static void
test_corrupt (Fixture *f, gconstpointer data)
{
  static const gchar *const texts[] = {
    /* not JSON or not an object */
    "",
    "garbage",
    "{\"policies\": [",
    "[1, 2, 3]",
    "42",
    "null",
    /* wrong JSON types for what is there */
    "{\"policies\": \"critical\"}",
    "{\"policies\": [1]}",
    "{\"policies\": [{\"policy\": 1, \"target\": \"Study\"}]}",
    "{\"policies\": [{\"policy\": \"p\"}]}",
    "{\"policies\": [{\"policy\": \"p\", \"target\": \"t\", \"phase\": \"armed\"}]}",
    "{\"policies\": [{\"policy\": \"p\", \"target\": \"t\", \"phase\": 9}]}",
    "{\"policies\": [{\"policy\": \"p\", \"target\": \"t\", \"armed_since_us\": [1]}]}",
    "{\"policies\": [{\"policy\": \"p\", \"target\": \"t\", \"aux\": 5}]}",
    "{\"policies\": [{\"policy\": \"p\", \"target\": \"t\", \"aux\": [{}]}]}",
    "{\"policies\": [{\"policy\": \"p\", \"target\": \"t\", \"aux\": [\"1\"]}]}",
    "{\"policies\": [{\"policy\": \"p\", \"target\": \"t\", \"aux_us\": [[1]]}]}",
    "{\"policies\": [{\"policy\": \"p\", \"target\": \"t\", \"aux_us\": [true]}]}",
    "{\"commands\": {}}",
    "{\"commands\": [\"cmd\"]}",
    "{\"commands\": [{\"id\": 1, \"agent\": \"a\", \"action\": \"shutdown\"}]}",
    "{\"commands\": [{\"id\": \"x\", \"agent\": \"a\", \"action\": \"shutdown\", \"policy\": 3}]}",
    "{\"commands\": [{\"id\": \"x\", \"agent\": \"a\", \"action\": \"shutdown\", "
    "\"issued_at\": \"now\"}]}",
    "{\"devices\": 1}",
    "{\"devices\": [{\"soc\": 5}]}",
    "{\"devices\": [{\"name\": \"d\", \"soc\": \"50\"}]}",
    "{\"devices\": [{\"name\": \"d\", \"soc\": {}}]}",
    "{\"devices\": [{\"name\": \"d\", \"grid\": \"yes\"}]}",
    "{\"devices\": [{\"name\": \"d\", \"grid\": 7}]}",
    "{\"devices\": [{\"name\": \"d\", \"grid\": true}]}",
    "{\"devices\": [{\"name\": \"d\", \"remain_minutes\": 1.5e300}]}",
    "{\"devices\": [{\"name\": \"d\", \"last_frame_us\": \"1\"}]}",
    "{\"devices\": [{\"name\": \"d\", \"model\": 5}]}",
  };
  static const gchar binary[] = { 0x00, (gchar) 0xff, 0x7b, 0x01, (gchar) 0x80 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (texts); i++)
    expect_corrupt (f, texts[i], -1);
  expect_corrupt (f, binary, sizeof (binary));

  /* a path that cannot be read as a file */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (EfpStateFile) s = NULL;
    g_unlink (f->path);
    g_assert_cmpint (g_mkdir (f->path, 0700), ==, 0);
    s = efp_state_file_load (f->path, &error);
    g_assert_null (s);
    g_assert_nonnull (error);
    g_assert_null (strchr (error->message, '\n'));
    g_assert_nonnull (strstr (error->message, f->path));
  }
}

/* What the loader accepts: null for unknown numbers, members it does not know. */
static void
test_lenient (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpStateFile) s = NULL;
  const EfpDeviceSnapshot *d;
  const EfpPolicyState *p;

  g_assert_true (g_file_set_contents (
    f->path,
    "{\"version\":1,\"future\":{\"x\":1},"
    "\"policies\":[{\"policy\":\"p\",\"target\":\"t\",\"phase\":1,\"armed_since_us\":5}],"
    "\"commands\":[{\"id\":\"i\",\"agent\":\"a\",\"action\":\"abort\",\"policy\":null}],"
    "\"devices\":[{\"name\":\"d\",\"soc\":null,\"grid\":0,\"output_watts\":12},"
    "{\"name\":\"bare\"}]}",
    -1, NULL));
  s = efp_state_file_load (f->path, &error);
  g_assert_no_error (error);
  p = efp_state_file_get_policy (s, "p", "t");
  g_assert_nonnull (p);
  g_assert_cmpint (p->phase, ==, EFP_POLICY_PHASE_ARMED);
  g_assert_cmpint (p->armed_since_us, ==, 5);
  g_assert_cmpuint (s->commands->len, ==, 1);
  g_assert_null (((EfpSentCommand *) s->commands->pdata[0])->policy);
  d = efp_state_file_get_device (s, "d");
  g_assert_nonnull (d);
  g_assert_true (isnan (d->reading.soc));
  g_assert_true (isnan (d->reading.input_watts));
  g_assert_cmpfloat (d->reading.output_watts, ==, 12);
  g_assert_cmpint (d->reading.grid_connected, ==, EFP_TRISTATE_FALSE);
  g_assert_cmpint (d->reading.remain_minutes, ==, -1);
  /* members left out are unknown, never 0: a missing grid is not a lost grid */
  d = efp_state_file_get_device (s, "bare");
  g_assert_nonnull (d);
  g_assert_true (isnan (d->reading.soc));
  g_assert_cmpint (d->reading.grid_connected, ==, EFP_TRISTATE_UNKNOWN);
  g_assert_cmpint (d->reading.remain_minutes, ==, -1);
  g_assert_cmpint (d->last_frame_us, ==, 0);
}

/* ---- how the file is written ---- */

static guint
count_entries (const gchar *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_written_atomically_0600 (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpStateFile) s = efp_state_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *old_text = NULL;
  g_autofree gchar *nested = g_build_filename (f->dir, "var", "lib", "state.json", NULL);
  g_autofree gchar *nested_dir = g_path_get_dirname (nested);
  EfpPolicyState st = { 0 };
  struct stat before, after;
  gsize len;
  int fd;

  st.phase = EFP_POLICY_PHASE_ARMED;
  efp_state_file_set_policy (s, "critical", "Study", &st);
  g_assert_true (efp_state_file_save (s, f->path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (f->path, &before), ==, 0);
  g_assert_cmpint (before.st_mode & 07777, ==, 0600);
  g_assert_true (S_ISREG (before.st_mode));
  /* nothing but the state file: no temp file left behind */
  g_assert_cmpuint (count_entries (f->dir), ==, 1);

  /* a reader holding the old file keeps seeing complete old contents: the new file replaces
   * it by rename, it is never rewritten in place */
  fd = g_open (f->path, O_RDONLY, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (g_file_get_contents (f->path, &old_text, &len, NULL));
  st.phase = EFP_POLICY_PHASE_COOLDOWN;
  efp_state_file_set_policy (s, "runtime", "Both", &st);
  g_assert_true (efp_state_file_save (s, f->path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (f->path, &after), ==, 0);
  g_assert_cmpuint (after.st_ino, !=, before.st_ino);
  {
    g_autofree gchar *buf = g_malloc0 (len + 16);
    gssize got = read (fd, buf, len + 16);
    g_assert_cmpint (got, ==, (gssize) len);
    g_assert_cmpmem (buf, got, old_text, len);
  }
  g_close (fd, NULL);
  g_assert_cmpuint (count_entries (f->dir), ==, 1);

  /* an existing world-readable file becomes 0600 */
  g_assert_cmpint (g_chmod (f->path, 0644), ==, 0);
  g_assert_true (efp_state_file_save (s, f->path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (f->path, &after), ==, 0);
  g_assert_cmpint (after.st_mode & 07777, ==, 0600);
  g_assert_cmpuint (count_entries (f->dir), ==, 1);

  /* missing parent directories are created */
  g_assert_true (efp_state_file_save (s, nested, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (nested, &after), ==, 0);
  g_assert_cmpint (after.st_mode & 07777, ==, 0600);
  g_assert_cmpuint (count_entries (nested_dir), ==, 1);

  /* the file is one line of JSON the loader reads back */
  {
    g_autoptr (EfpStateFile) back = efp_state_file_load (f->path, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (g_hash_table_size (back->policies), ==, 2);
  }
}

/* A save that cannot happen reports the path, and leaves the old file as it was. */
static void
test_save_fails_cleanly (Fixture *f, gconstpointer data)
{
  g_autoptr (EfpStateFile) s = efp_state_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *blocker = g_build_filename (f->dir, "file", NULL);
  g_autofree gchar *under_file = g_build_filename (blocker, "state.json", NULL);

  g_assert_true (g_file_set_contents (blocker, "x", -1, NULL));
  g_assert_false (efp_state_file_save (s, under_file, &error));
  g_assert_nonnull (error);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_nonnull (strstr (error->message, blocker));
  g_clear_error (&error);

  /* the target is a directory: rename fails, the temp file is removed again */
  g_assert_cmpint (g_mkdir (f->path, 0700), ==, 0);
  g_assert_false (efp_state_file_save (s, f->path, &error));
  g_assert_nonnull (error);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_true (g_file_test (f->path, G_FILE_TEST_IS_DIR));
  g_assert_cmpuint (count_entries (f->dir), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/state-file/policies-roundtrip", test_policies_roundtrip);
  ADD ("/state-file/commands-bounded", test_commands_bounded);
  ADD ("/state-file/devices-roundtrip", test_devices_roundtrip);
  ADD ("/state-file/missing", test_missing);
  ADD ("/state-file/corrupt", test_corrupt);
  ADD ("/state-file/lenient", test_lenient);
  ADD ("/state-file/written-atomically-0600", test_written_atomically_0600);
  ADD ("/state-file/save-fails-cleanly", test_save_fails_cleanly);
#undef ADD
  return g_test_run ();
}

/* fuzz-state-file.c: libFuzzer harness for the state file loader (CONTRACT 7).
 *
 * A state file can be truncated by a full disk or edited by hand. A refusal
 * is one line; an accepted file, saved and loaded again, holds the same
 * policy states, commands and device snapshots.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "efp-state-file.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static gchar *tmp_dir;
static gchar *tmp_path;

static void
remove_tmp (void)
{
  g_unlink (tmp_path);
  g_rmdir (tmp_dir);
}

static gboolean
same_double (gdouble a, gdouble b)
{
  return (isnan (a) && isnan (b)) || a == b;
}

static gboolean
same_policy (const EfpPolicyState *a, const EfpPolicyState *b)
{
  guint i;
  if (a->phase != b->phase || a->armed_since_us != b->armed_since_us ||
      a->triggered_at_us != b->triggered_at_us || a->stale_since_us != b->stale_since_us)
    return FALSE;
  for (i = 0; i < G_N_ELEMENTS (a->aux); i++)
    if (!same_double (a->aux[i], b->aux[i]))
      return FALSE;
  for (i = 0; i < G_N_ELEMENTS (a->aux_us); i++)
    if (a->aux_us[i] != b->aux_us[i])
      return FALSE;
  return TRUE;
}

static gboolean
same_command (const EfpSentCommand *a, const EfpSentCommand *b)
{
  if (g_strcmp0 (a->id, b->id) != 0 || g_strcmp0 (a->agent, b->agent) != 0 ||
      g_strcmp0 (a->action, b->action) != 0 || g_strcmp0 (a->policy, b->policy) != 0 ||
      g_strcmp0 (a->device, b->device) != 0 || a->issued_at != b->issued_at ||
      a->pending != b->pending)
    return FALSE;
  /* only a pending command keeps its payload (see efp_state_file_mark_published) */
  return !a->pending || g_strcmp0 (a->payload != NULL ? a->payload : "", b->payload) == 0;
}

static gboolean
same_device (const EfpDeviceSnapshot *a, const EfpDeviceSnapshot *b)
{
  return a->last_frame_us == b->last_frame_us && same_double (a->reading.soc, b->reading.soc) &&
         a->reading.grid_connected == b->reading.grid_connected &&
         same_double (a->reading.input_watts, b->reading.input_watts) &&
         same_double (a->reading.output_watts, b->reading.output_watts) &&
         same_double (a->reading.temp_celsius, b->reading.temp_celsius) &&
         a->reading.remain_minutes == b->reading.remain_minutes &&
         strcmp (a->reading.model, b->reading.model) == 0;
}

static void
check_same (EfpStateFile *a, EfpStateFile *b)
{
  GHashTableIter it;
  gpointer k, v;
  guint i;

  if (g_hash_table_size (a->policies) != g_hash_table_size (b->policies) ||
      a->commands->len != b->commands->len ||
      g_hash_table_size (a->devices) != g_hash_table_size (b->devices))
    __builtin_trap ();
  g_hash_table_iter_init (&it, a->policies);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const EfpPolicyState *other = g_hash_table_lookup (b->policies, k);
      if (other == NULL || !same_policy (v, other))
        __builtin_trap ();
    }
  for (i = 0; i < a->commands->len; i++)
    if (!same_command (a->commands->pdata[i], b->commands->pdata[i]))
      __builtin_trap ();
  g_hash_table_iter_init (&it, a->devices);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const EfpDeviceSnapshot *other = g_hash_table_lookup (b->devices, k);
      if (other == NULL || !same_device (v, other))
        __builtin_trap ();
    }
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpStateFile) state = NULL;
  g_autoptr (EfpStateFile) again = NULL;

  state = efp_state_file_load_data ((const gchar *) data, size, "fuzz.json", &error);
  if (state == NULL)
    {
      if (error == NULL || strchr (error->message, '\n') != NULL)
        __builtin_trap ();
      return 0;
    }
  if (tmp_dir == NULL)
    {
      tmp_dir = g_dir_make_tmp ("efp-fuzz-state-XXXXXX", NULL);
      if (tmp_dir == NULL)
        __builtin_trap ();
      tmp_path = g_build_filename (tmp_dir, "state.json", NULL);
      atexit (remove_tmp);
    }
  if (!efp_state_file_save (state, tmp_path, &error))
    __builtin_trap ();
  again = efp_state_file_load (tmp_path, &error);
  if (again == NULL)
    __builtin_trap ();
  check_same (state, again);
  return 0;
}

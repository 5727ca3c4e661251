/* fuzz-command.c: libFuzzer harness for the agent command parser (CONTRACT 4.3).
 *
 * Every agent parses what the broker delivers with efp_command_from_json. An
 * accepted command must survive efp_command_to_json and parse back to the same
 * fields; verifying it with a fixed key must give an answer, never a crash, and
 * the same command signed with that key must verify at its own issue time.
 */
#include <string.h>

#include "efp-command.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const guint8 key[] = "correct horse battery staple";
#define AGENT "pc-study"

static void
check_error (GError *error)
{
  if (error == NULL || error->message == NULL || strchr (error->message, '\n') != NULL)
    __builtin_trap ();
}

static gboolean
same_str (const gchar *a, const gchar *b)
{
  return g_strcmp0 (a, b) == 0;
}

static void
check_same (const EfpCommand *a, const EfpCommand *b)
{
  /* to_json writes a missing reason as "" */
  if (!same_str (a->id, b->id) || !same_str (a->action, b->action) ||
      !same_str (a->reason != NULL ? a->reason : "", b->reason) ||
      !same_str (a->device, b->device) || !same_str (a->policy, b->policy) ||
      !same_str (a->sig, b->sig) || a->delay_sec != b->delay_sec || a->ttl_sec != b->ttl_sec ||
      a->issued_at != b->issued_at || a->stage != b->stage || a->dry_run != b->dry_run)
    __builtin_trap ();
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  g_autoptr (EfpCommand) cmd = NULL;
  g_autoptr (EfpCommand) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *json = NULL;

  cmd = efp_command_from_json ((const gchar *) data, (gssize) size, &error);
  if (cmd == NULL)
    {
      check_error (error);
      return 0;
    }
  json = efp_command_to_json (cmd);
  if (json == NULL || strchr (json, '\n') != NULL)
    __builtin_trap ();
  back = efp_command_from_json (json, -1, &error);
  if (back == NULL)
    __builtin_trap ();
  check_same (cmd, back);

  /* as received: any answer will do, as long as a refusal says why */
  if (!efp_command_verify (cmd, AGENT, key, sizeof key - 1, 1767225600, &error))
    {
      check_error (error);
      g_clear_error (&error);
    }
  /* signed with the right key, a command is valid at the moment it was issued */
  efp_command_sign (back, AGENT, key, sizeof key - 1);
  if (!efp_command_verify (back, AGENT, key, sizeof key - 1, back->issued_at, &error))
    __builtin_trap ();
  return 0;
}

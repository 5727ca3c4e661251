/* test-command.c: command JSON and the HMAC signature vectors of CONTRACT 4.3. */
#include "efp-command.h"

#include <string.h>

/* Fixed vectors: agents in other languages check themselves against these
 * (tests/data/signature-vectors.json holds the same values). */
static void
test_signature_vector (void)
{
  g_autoptr (EfpCommand) cmd = efp_command_new ("shutdown", 60, "test", 300, 1767225600);
  g_autofree gchar *text = NULL;
  g_autofree gchar *sig = NULL;
  const gchar *key = "correct horse battery staple";

  g_free (cmd->id);
  cmd->id = g_strdup ("6f1c1f57-3f0e-4a36-9a59-3b8f0f7f6a10");
  text = efp_command_signing_text (cmd, "pc-study");
  g_assert_cmpstr (text, ==,
                   "v1\npc-study\n6f1c1f57-3f0e-4a36-9a59-3b8f0f7f6a10\nshutdown\n1767225600\n60\n300");
  sig = efp_command_compute_sig (cmd, "pc-study", (const guint8 *) key, strlen (key));
  g_assert_cmpuint (strlen (sig), ==, 64);
  /* recomputed independently with: printf '%s' TEXT | openssl dgst -sha256 -hmac KEY */
  g_assert_cmpstr (sig, ==, "d09ee5026a0ecc731463e1fe893e8a08ad35e094ede675e1eb5ce888aeda3091");
}

static void
test_roundtrip_and_verify (void)
{
  g_autoptr (EfpCommand) cmd = efp_command_new ("shutdown", 60, "soc low", 300, 1000);
  g_autoptr (EfpCommand) back = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *json = NULL;
  const gchar *key = "k";

  cmd->device = g_strdup ("Study");
  cmd->policy = g_strdup ("critical");
  efp_command_sign (cmd, "a1", (const guint8 *) key, 1);
  json = efp_command_to_json (cmd);
  g_assert_nonnull (strstr (json, "\"sig\":\""));
  g_assert_null (strchr (json, '\n'));
  back = efp_command_from_json (json, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->id, ==, cmd->id);
  g_assert_true (efp_command_verify (back, "a1", (const guint8 *) key, 1, 1010, &error));
  g_assert_no_error (error);
  /* wrong agent name: the signature covers it */
  g_assert_false (efp_command_verify (back, "a2", (const guint8 *) key, 1, 1010, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_clear_error (&error);
  /* expired: issued_at + ttl + 30 s skew */
  g_assert_true (efp_command_verify (back, "a1", (const guint8 *) key, 1, 1330, NULL));
  g_assert_false (efp_command_verify (back, "a1", (const guint8 *) key, 1, 1331, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  /* tampered delay */
  back->delay_sec = 0;
  g_assert_false (efp_command_verify (back, "a1", (const guint8 *) key, 1, 1010, &error));
  g_clear_error (&error);
}

static void
test_bad_json (void)
{
  const gchar *bad[] = { "", "{", "[]", "{\"id\":1,\"action\":\"x\"}", "{\"action\":\"x\"}",
                         "{\"id\":\"a\",\"action\":\"shutdown\",\"delay_sec\":\"60\"}",
                         "{\"id\":\"a\",\"action\":\"shutdown\",\"delay_sec\":-1}" };
  guint i;
  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (EfpCommand) c = efp_command_from_json (bad[i], -1, &error);
      g_assert_null (c);
      g_assert_nonnull (error);
      g_assert_null (strchr (error->message, '\n'));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/command/signature-vector", test_signature_vector);
  g_test_add_func ("/command/roundtrip-verify", test_roundtrip_and_verify);
  g_test_add_func ("/command/bad-json", test_bad_json);
  return g_test_run ();
}

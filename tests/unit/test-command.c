/* test-command.c: command JSON and the HMAC signature vectors of CONTRACT 4.3. */
#include "efp-command.h"
#include "efp-secret.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
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
  g_assert_cmpstr (
    text, ==, "v1\npc-study\n6f1c1f57-3f0e-4a36-9a59-3b8f0f7f6a10\nshutdown\n1767225600\n60\n300");
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
                         "{\"id\":\"a\",\"action\":\"shutdown\",\"delay_sec\":-1}",
                         /* json-glib decodes \224 to a lone byte: not UTF-8 (fuzz find) */
                         "{\"id\":\"a\",\"action\":\"test\",\"sig\":\"\\224\"}" };
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

/* Every vector of tests/data/signature-vectors.json (the file the shell and
 * PowerShell agents are checked against), with the key read from a key file
 * the way agents read it: the bytes minus one trailing LF or CRLF. */
static void
test_vector_file (void)
{
  g_autofree gchar *path = g_build_filename (g_getenv ("EFP_SOURCE_ROOT"), "tests", "data",
                                             "signature-vectors.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *tmp = g_dir_make_tmp ("efp-vectors-XXXXXX", &error);
  g_autofree gchar *key_path = g_build_filename (tmp, "key", NULL);
  JsonArray *vectors;
  guint i, n;

  g_assert_no_error (error);
  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  vectors = json_node_get_array (json_parser_get_root (parser));
  n = json_array_get_length (vectors);
  g_assert_cmpuint (n, >=, 5);
  for (i = 0; i < n; i++)
    {
      JsonObject *v = json_array_get_object_element (vectors, i);
      JsonObject *c = json_object_get_object_member (v, "command");
      const gchar *key = json_object_get_string_member (v, "key");
      const gchar *agent = json_object_get_string_member (v, "agent");
      const gchar *endings[] = { "", "\n", "\r\n" };
      g_autoptr (EfpCommand) cmd = efp_command_new (
        json_object_get_string_member (c, "action"), json_object_get_int_member (c, "delay_sec"),
        json_object_get_string_member (c, "reason"), json_object_get_int_member (c, "ttl_sec"),
        json_object_get_int_member (c, "issued_at"));
      g_autofree gchar *text = NULL;
      guint e;

      g_free (cmd->id);
      cmd->id = g_strdup (json_object_get_string_member (c, "id"));
      text = efp_command_signing_text (cmd, agent);
      g_assert_cmpstr (text, ==, json_object_get_string_member (v, "signing_text"));
      for (e = 0; e < G_N_ELEMENTS (endings); e++)
        {
          g_autofree gchar *contents = g_strconcat (key, endings[e], NULL);
          g_autofree gchar *read_key = NULL;
          g_autofree gchar *sig = NULL;
          gsize len = 0;

          g_assert_true (g_file_set_contents (key_path, contents, -1, NULL));
          read_key = efp_secret_read_file (key_path, &len, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (len, ==, strlen (key));
          sig = efp_command_compute_sig (cmd, agent, (const guint8 *) read_key, len);
          g_assert_cmpstr (sig, ==, json_object_get_string_member (v, "sig"));
          cmd->sig = g_strdup (sig);
          g_assert_true (
            efp_command_verify (cmd, agent, (const guint8 *) read_key, len, cmd->issued_at, NULL));
          g_clear_pointer (&cmd->sig, g_free);
        }
    }
  g_unlink (key_path);
  g_rmdir (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/command/signature-vector", test_signature_vector);
  g_test_add_func ("/command/roundtrip-verify", test_roundtrip_and_verify);
  g_test_add_func ("/command/bad-json", test_bad_json);
  g_test_add_func ("/command/vector-file", test_vector_file);
  return g_test_run ();
}

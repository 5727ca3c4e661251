/* test-dispatcher.c: staged, signed commands to agents, acks, one resend, abort. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "efp-command.h"
#include "efp-config.h"
#include "efp-dispatcher.h"

#define ACK_TIMEOUT_MS 200
#define KEY_A1         "key of a1"
#define KEY_A2         "00112233445566778899aabbccddeeff"

/* ---- warnings: the project logs structured, so capture them in a writer ---- */

static GPtrArray *warnings; /* gchar*: MESSAGE of every warning */

static GLogWriterOutput
capture_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const gchar *message = "";
  gsize i;

  for (i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0)
      message = fields[i].value;
  if (level & G_LOG_LEVEL_WARNING)
    {
      g_ptr_array_add (warnings, g_strdup (message));
      fprintf (stderr, "# captured warning: %s\n", message);
      return G_LOG_WRITER_HANDLED;
    }
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    {
      /* a critical is a bug in the code under test: fail loudly */
      fprintf (stderr, "critical: %s\n", message);
      abort ();
    }
  if (level & G_LOG_LEVEL_MESSAGE)
    fprintf (stderr, "# %s\n", message);
  return G_LOG_WRITER_HANDLED;
}

/* ---- fixture ---- */

typedef struct
{
  gint64 t_us; /* monotonic */
  gchar *topic;
  gchar *payload;
} Sent;

typedef struct
{
  gchar *dir;
  EfpConfig *config;
  EfpDispatcher *disp;
  GPtrArray *sent; /* Sent*, in publish order */
  guint agent_changed;
  GString *returned; /* "agent:command-id;" per agent_returned call */
} Fixture;

static void
sent_free (gpointer p)
{
  Sent *s = p;
  g_free (s->topic);
  g_free (s->payload);
  g_free (s);
}

static gboolean
on_publish (gpointer user_data, const gchar *topic, const gchar *payload)
{
  Fixture *f = user_data;
  Sent *s = g_new0 (Sent, 1);
  s->t_us = g_get_monotonic_time ();
  s->topic = g_strdup (topic);
  s->payload = g_strdup (payload);
  g_ptr_array_add (f->sent, s);
  return TRUE;
}

static void
on_agent_changed (gpointer user_data, const EfpAgentInfo *agent)
{
  Fixture *f = user_data;
  f->agent_changed++;
}

static void
on_agent_returned (gpointer user_data, const gchar *agent, const EfpCommand *told)
{
  Fixture *f = user_data;
  g_string_append_printf (f->returned, "%s:%s;", agent, told->id);
}

static gchar *
write_file (Fixture *f, const gchar *name, const gchar *text)
{
  gchar *p = g_build_filename (f->dir, name, NULL);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
  return p;
}

/* Agents: a1, a2 in stage 1 (keys), b1 in stage 2 (no key), c1 in stage 3.
 * @stage1_timeout is stage-timeout-sec of a1 and a2. */
static void
fixture_setup_with (Fixture *f, gint stage1_timeout)
{
  EfpConfigLoadOptions o = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree gchar *k1 = NULL, *k2 = NULL, *conf = NULL, *text = NULL;
  EfpDispatcherCallbacks cb = { on_publish, on_agent_changed, NULL, NULL, on_agent_returned };

  g_ptr_array_set_size (warnings, 0);
  f->dir = g_dir_make_tmp ("efp-dispatcher-XXXXXX", NULL);
  /* the HMAC key is the file's bytes minus one trailing newline */
  k1 = write_file (f, "a1.key", KEY_A1 "\n");
  k2 = write_file (f, "a2.key", KEY_A2 "\n");
  text = g_strdup_printf ("[mqtt]\ncommand-prefix=pm\n"
                          "[agent:a1]\nkey-file=%s\nstage=1\nstage-timeout-sec=%d\n"
                          "[agent:a2]\nkey-file=%s\nstage=1\nstage-timeout-sec=%d\n"
                          "[agent:b1]\nstage=2\nstage-timeout-sec=1\n"
                          "[agent:c1]\nstage=3\nstage-timeout-sec=1\n",
                          k1, stage1_timeout, k2, stage1_timeout);
  conf = write_file (f, "ecoflow-powerd.conf", text);
  o.config_file = conf;
  o.config_explicit = TRUE;
  f->config = efp_config_load (&o, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->config);

  f->sent = g_ptr_array_new_with_free_func (sent_free);
  f->returned = g_string_new (NULL);
  f->disp = efp_dispatcher_new (&cb, f);
  efp_dispatcher_set_config (f->disp, f->config);
  efp_dispatcher_set_ack_timeout (f->disp, ACK_TIMEOUT_MS);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  /* long enough that no test reaches it unless it waits for it */
  fixture_setup_with (f, 30);
}

static void
fixture_setup_short (Fixture *f, gconstpointer data)
{
  fixture_setup_with (f, 1);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
  const gchar *n;

  efp_dispatcher_free (f->disp);
  efp_config_free (f->config);
  g_ptr_array_unref (f->sent);
  g_string_free (f->returned, TRUE);
  while (d != NULL && (n = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *p = g_build_filename (f->dir, n, NULL);
      g_unlink (p);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
  /* nothing of the dispatcher may be left in the main context */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* ---- helpers ---- */

static gboolean
on_quit (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Run the main loop for @ms. */
static void
run_for (guint ms)
{
  gboolean done = FALSE;
  g_timeout_add (ms, on_quit, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static guint
count_to (Fixture *f, const gchar *agent, const gchar *action)
{
  g_autofree gchar *topic = g_strdup_printf ("pm/%s/cmd", agent);
  guint i, n = 0;
  for (i = 0; i < f->sent->len; i++)
    {
      Sent *s = f->sent->pdata[i];
      g_autoptr (EfpCommand) cmd = NULL;
      if (!g_str_equal (s->topic, topic))
        continue;
      cmd = efp_command_from_json (s->payload, -1, NULL);
      g_assert_nonnull (cmd);
      if (action == NULL || g_str_equal (cmd->action, action))
        n++;
    }
  return n;
}

/* The @nth (0-based) message to @agent, or NULL. */
static Sent *
nth_to (Fixture *f, const gchar *agent, guint nth)
{
  g_autofree gchar *topic = g_strdup_printf ("pm/%s/cmd", agent);
  guint i;
  for (i = 0; i < f->sent->len; i++)
    {
      Sent *s = f->sent->pdata[i];
      if (g_str_equal (s->topic, topic) && nth-- == 0)
        return s;
    }
  return NULL;
}

/* Run the loop until @agent got @n messages or @max_ms passed; the time it took. */
static gint64
wait_for (Fixture *f, const gchar *agent, guint n, guint max_ms)
{
  gint64 start = g_get_monotonic_time ();
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (max_ms, on_quit, &timed_out);
  while (!timed_out && count_to (f, agent, NULL) < n)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return g_get_monotonic_time () - start;
}

static void
ack (Fixture *f, const gchar *agent, const gchar *id, const gchar *action, const gchar *result)
{
  g_autofree gchar *json =
    g_strdup_printf ("{\"id\":\"%s\",\"action\":\"%s\",\"result\":\"%s\"}", id, action, result);
  efp_dispatcher_handle_ack (f->disp, agent, json, strlen (json));
}

static void
ack_detail (Fixture *f, const gchar *agent, const gchar *id, const gchar *result,
            const gchar *detail)
{
  g_autofree gchar *json =
    g_strdup_printf ("{\"id\":\"%s\",\"action\":\"shutdown\",\"result\":\"%s\",\"detail\":\"%s\"}",
                     id, result, detail);
  efp_dispatcher_handle_ack (f->disp, agent, json, strlen (json));
}

static void
status (Fixture *f, const gchar *agent, const gchar *json)
{
  efp_dispatcher_handle_status (f->disp, agent, json, strlen (json));
}

static EfpCommand *
parse_sent (Sent *s)
{
  g_autoptr (GError) error = NULL;
  EfpCommand *cmd;
  g_assert_nonnull (s);
  cmd = efp_command_from_json (s->payload, -1, &error);
  g_assert_no_error (error);
  return cmd;
}

static const gchar *const all_agents[] = { "a1", "a2", "b1", "c1", NULL };

/* ---- (a) stage order ---- */

static void
test_stage_order (Fixture *f, gconstpointer data)
{
  g_autofree gchar *id = efp_dispatcher_send (f->disp, "shutdown", all_agents, 60, "soc low",
                                              "critical", "Study", FALSE);
  g_autoptr (EfpCommand) b1 = NULL;
  g_autoptr (EfpCommand) c1 = NULL;
  guint before;

  g_assert_nonnull (id);
  /* stage 1 is told at once, inside send */
  g_assert_cmpuint (f->sent->len, ==, 2);
  g_assert_cmpuint (count_to (f, "a1", "shutdown"), ==, 1);
  g_assert_cmpuint (count_to (f, "a2", "shutdown"), ==, 1);
  run_for (50);
  g_assert_cmpuint (count_to (f, "b1", NULL), ==, 0);

  /* one of two stage-1 acks is not enough */
  ack (f, "a1", id, "shutdown", "scheduled");
  run_for (50);
  g_assert_cmpuint (count_to (f, "b1", NULL), ==, 0);
  g_assert_cmpuint (count_to (f, "c1", NULL), ==, 0);

  /* an ack for another command id does not count */
  ack (f, "a2", "00000000-0000-0000-0000-000000000000", "shutdown", "scheduled");
  g_assert_cmpuint (count_to (f, "b1", NULL), ==, 0);

  /* the last stage-1 ack tells stage 2 right away, and only stage 2 */
  before = f->sent->len;
  ack (f, "a2", id, "shutdown", "scheduled");
  g_assert_cmpuint (f->sent->len, ==, before + 1);
  g_assert_cmpuint (count_to (f, "b1", "shutdown"), ==, 1);
  g_assert_cmpuint (count_to (f, "c1", NULL), ==, 0);
  b1 = parse_sent (nth_to (f, "b1", 0));
  g_assert_cmpstr (b1->id, ==, id);
  g_assert_cmpint (b1->stage, ==, 2);
  g_assert_true (efp_dispatcher_get_agent (f->disp, "b1")->last_command_id != NULL);

  /* stage 3 after stage 2 acked */
  ack (f, "b1", id, "shutdown", "scheduled");
  g_assert_cmpuint (count_to (f, "c1", "shutdown"), ==, 1);
  c1 = parse_sent (nth_to (f, "c1", 0));
  g_assert_cmpint (c1->stage, ==, 3);
  g_assert_cmpstr (efp_dispatcher_get_agent (f->disp, "b1")->last_result, ==, "scheduled");
  g_assert_cmpuint (f->agent_changed, >, 0);
}

/* ---- (b) a silent stage-1 agent: the next stage after stage-timeout-sec ---- */

static void
test_stage_timeout (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", "b1", NULL };
  g_autofree gchar *id = NULL;
  gint64 start = g_get_monotonic_time (), took;

  id = efp_dispatcher_send (f->disp, "shutdown", agents, 60, "soc low", "critical", "Study", FALSE);
  g_assert_cmpuint (count_to (f, "a1", NULL), ==, 1);
  run_for (600);
  g_assert_cmpuint (count_to (f, "b1", NULL), ==, 0);
  /* told well before any default (60 s) or the other agents' timeout (30 s) */
  wait_for (f, "b1", 1, 5000);
  g_assert_cmpuint (count_to (f, "b1", "shutdown"), ==, 1);
  took = nth_to (f, "b1", 0)->t_us - start;
  /* stage-timeout-sec=1; GLib's second timers may fire up to 1/4 s early by design */
  g_assert_cmpint (took, >=, 750 * 1000);
}

/* ---- (c) an offline stage-1 agent counts as done ---- */

static void
test_offline_counts_as_done (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", "a2", "b1", NULL };
  g_autofree gchar *id = NULL;
  guint before;

  status (f, "a1", "{\"state\":\"online\",\"host\":\"h1\",\"version\":\"1\"}");
  status (f, "a2", "{\"state\":\"online\"}");
  id = efp_dispatcher_send (f->disp, "shutdown", agents, 60, "soc low", "critical", "Study", FALSE);
  ack (f, "a1", id, "shutdown", "scheduled");
  /* an online status is not an ack */
  status (f, "a2", "{\"state\":\"online\"}");
  g_assert_cmpuint (count_to (f, "b1", NULL), ==, 0);
  /* a2's will: offline */
  before = f->sent->len;
  status (f, "a2", "{\"state\":\"offline\"}");
  g_assert_false (efp_dispatcher_get_agent (f->disp, "a2")->online);
  g_assert_cmpuint (f->sent->len, ==, before + 1);
  g_assert_cmpuint (count_to (f, "b1", "shutdown"), ==, 1);
}

/* An agent already known offline when the command is issued does not hold up the next stage
 * until stage-timeout-sec either. */
static void
test_offline_before_send (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", "b1", NULL };
  g_autofree gchar *id = NULL;

  status (f, "a1", "{\"state\":\"offline\"}");
  id = efp_dispatcher_send (f->disp, "shutdown", agents, 60, "soc low", "critical", "Study", FALSE);
  /* still sent: the broker queues it for a persistent session; and stage 2 right after */
  g_assert_cmpuint (f->sent->len, ==, 2);
  g_assert_cmpuint (count_to (f, "a1", "shutdown"), ==, 1);
  g_assert_cmpuint (count_to (f, "b1", "shutdown"), ==, 1);
  /* a later status of the stage done already tells nobody twice */
  status (f, "a1", "{\"state\":\"offline\"}");
  run_for (50);
  g_assert_cmpuint (count_to (f, "b1", NULL), ==, 1);
}

/* ---- (d) one resend, byte-identical; none after an ack ---- */

static void
test_resend_once (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", "a2", NULL };
  g_autofree gchar *id = NULL;
  Sent *first, *second;
  gint64 start;
  gboolean reported = FALSE;
  guint i;

  start = g_get_monotonic_time ();
  id = efp_dispatcher_send (f->disp, "test", agents, 0, "test requested", NULL, NULL, FALSE);
  ack (f, "a2", id, "test", "tested");
  run_for (ACK_TIMEOUT_MS / 2);
  g_assert_cmpuint (count_to (f, "a1", NULL), ==, 1);
  wait_for (f, "a1", 2, 3000);
  g_assert_cmpuint (count_to (f, "a1", NULL), ==, 2);
  first = nth_to (f, "a1", 0);
  second = nth_to (f, "a1", 1);
  g_assert_cmpstr (second->payload, ==, first->payload);
  g_assert_cmpint (second->t_us - start, >=, (ACK_TIMEOUT_MS - 1) * 1000);

  /* never a third time, and never a resend of the acked one */
  run_for (ACK_TIMEOUT_MS * 4);
  g_assert_cmpuint (count_to (f, "a1", NULL), ==, 2);
  g_assert_cmpuint (count_to (f, "a2", NULL), ==, 1);
  /* and the silence is reported */
  for (i = 0; i < warnings->len; i++)
    if (strstr (warnings->pdata[i], "a1") != NULL && strstr (warnings->pdata[i], id) != NULL &&
        strstr (warnings->pdata[i], "never") != NULL)
      reported = TRUE;
  g_assert_true (reported);
}

/* An ack that arrives between the send and the resend prevents the resend. */
static void
test_ack_stops_resend (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", NULL };
  g_autofree gchar *id = NULL;

  id = efp_dispatcher_send (f->disp, "shutdown", agents, 30, "x", "p", "d", FALSE);
  run_for (ACK_TIMEOUT_MS / 2);
  ack (f, "a1", id, "shutdown", "scheduled");
  run_for (ACK_TIMEOUT_MS * 3);
  g_assert_cmpuint (count_to (f, "a1", NULL), ==, 1);
  g_assert_cmpuint (warnings->len, ==, 0);
}

/* ---- (e) per-agent keys ---- */

static void
test_signatures (Fixture *f, gconstpointer data)
{
  g_autofree gchar *id = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr (EfpCommand) a1 = NULL;
  g_autoptr (EfpCommand) a2 = NULL;
  g_autoptr (EfpCommand) b1 = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  /* test goes to every agent at once */
  id = efp_dispatcher_send (f->disp, "test", all_agents, 0, "test requested", NULL, NULL, FALSE);
  g_assert_cmpuint (f->sent->len, ==, 4);
  a1 = parse_sent (nth_to (f, "a1", 0));
  a2 = parse_sent (nth_to (f, "a2", 0));
  b1 = parse_sent (nth_to (f, "b1", 0));

  g_assert_true (
    efp_command_verify (a1, "a1", (const guint8 *) KEY_A1, strlen (KEY_A1), now, &error));
  g_assert_no_error (error);
  g_assert_true (
    efp_command_verify (a2, "a2", (const guint8 *) KEY_A2, strlen (KEY_A2), now, &error));
  g_assert_no_error (error);
  /* not valid with another agent's key, nor for another agent's name */
  g_assert_false (
    efp_command_verify (a1, "a1", (const guint8 *) KEY_A2, strlen (KEY_A2), now, NULL));
  g_assert_false (
    efp_command_verify (a1, "a2", (const guint8 *) KEY_A1, strlen (KEY_A1), now, NULL));
  g_assert_cmpstr (a1->sig, !=, a2->sig);
  /* the key is the file's bytes, never hex-decoded */
  {
    guint8 raw[16];
    guint i;
    for (i = 0; i < 16; i++)
      raw[i] = (guint8) (i * 0x11);
    g_assert_false (efp_command_verify (a2, "a2", raw, sizeof (raw), now, NULL));
  }

  /* b1 has no key: no "sig" member at all */
  g_assert_null (b1->sig);
  g_assert_true (json_parser_load_from_data (parser, nth_to (f, "b1", 0)->payload, -1, NULL));
  g_assert_false (
    json_object_has_member (json_node_get_object (json_parser_get_root (parser)), "sig"));
  g_assert_null (strstr (nth_to (f, "b1", 0)->payload, "sig"));
}

/* ---- (f) abort ---- */

static void
test_abort (Fixture *f, gconstpointer data)
{
  g_autofree gchar *shut = NULL;
  g_autofree gchar *abort_id = NULL;
  guint i;

  shut = efp_dispatcher_send (f->disp, "shutdown", all_agents, 60, "soc low", "critical", "Study",
                              FALSE);
  g_assert_cmpuint (f->sent->len, ==, 2);
  /* abort: every agent at once, whatever its stage */
  abort_id =
    efp_dispatcher_send (f->disp, "abort", all_agents, 0, "grid back", "critical", "Study", FALSE);
  g_assert_cmpstr (abort_id, !=, shut);
  g_assert_cmpuint (f->sent->len, ==, 6);
  for (i = 0; all_agents[i] != NULL; i++)
    {
      g_autoptr (EfpCommand) cmd = NULL;
      g_assert_cmpuint (count_to (f, all_agents[i], "abort"), ==, 1);
      cmd = parse_sent (nth_to (f, all_agents[i], count_to (f, all_agents[i], NULL) - 1));
      g_assert_cmpstr (cmd->id, ==, abort_id);
      g_assert_cmpint (cmd->stage, ==, 1);
    }

  /* stage 1 of the shutdown completes, yet stage 2 and 3 are never told of it */
  ack (f, "a1", shut, "shutdown", "scheduled");
  ack (f, "a2", shut, "shutdown", "scheduled");
  for (i = 0; all_agents[i] != NULL; i++)
    ack (f, all_agents[i], abort_id, "abort", "aborted");
  run_for (ACK_TIMEOUT_MS * 3);
  g_assert_cmpuint (count_to (f, "b1", "shutdown"), ==, 0);
  g_assert_cmpuint (count_to (f, "c1", "shutdown"), ==, 0);
  g_assert_cmpuint (f->sent->len, ==, 6);
}

/* The stage timeout of an aborted shutdown does not tell the next stage either. */
static void
test_abort_before_stage_timeout (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", "b1", NULL };
  g_autofree gchar *shut = NULL;
  g_autofree gchar *abort_id = NULL;

  shut =
    efp_dispatcher_send (f->disp, "shutdown", agents, 60, "soc low", "critical", "Study", FALSE);
  ack (f, "a1", shut, "shutdown", "scheduled");
  /* acked: b1 is told at once; now a second shutdown whose stage 1 stays silent */
  ack (f, "b1", shut, "shutdown", "scheduled");
  g_free (shut);
  shut =
    efp_dispatcher_send (f->disp, "shutdown", agents, 60, "soc low", "critical", "Study", FALSE);
  g_assert_cmpuint (count_to (f, "b1", "shutdown"), ==, 1);
  abort_id =
    efp_dispatcher_send (f->disp, "abort", agents, 0, "grid back", "critical", "Study", FALSE);
  ack (f, "a1", abort_id, "abort", "aborted");
  ack (f, "b1", abort_id, "abort", "aborted");
  run_for (2200); /* past stage-timeout-sec=1 of a1 */
  g_assert_cmpuint (count_to (f, "b1", "shutdown"), ==, 1);
}

/* A shutdown the agent never acknowledged is not resent after an abort reached that agent:
 * the resend would arrive after the abort and schedule the shutdown again. */
static void
test_abort_stops_resend (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", NULL };
  g_autofree gchar *shut = NULL;
  g_autofree gchar *abort_id = NULL;

  shut =
    efp_dispatcher_send (f->disp, "shutdown", agents, 60, "soc low", "critical", "Study", FALSE);
  abort_id =
    efp_dispatcher_send (f->disp, "abort", agents, 0, "grid back", "critical", "Study", FALSE);
  run_for (ACK_TIMEOUT_MS * 3);
  g_assert_cmpuint (count_to (f, "a1", "shutdown"), ==, 1);
  /* the abort itself is resent once, like any command */
  g_assert_cmpuint (count_to (f, "a1", "abort"), ==, 2);
}

/* ---- (g) JSON shape ---- */

static void
test_json_keys (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", NULL };
  const gchar *const expected[] = { "id",      "action",    "delay_sec", "reason",
                                    "ttl_sec", "issued_at", "device",    "policy",
                                    "stage",   "dry_run",   "sig",       NULL };
  g_autofree gchar *id = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GList) members = NULL;
  JsonObject *o;
  Sent *s;
  GList *l;
  guint i = 0;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  id = efp_dispatcher_send (f->disp, "shutdown", agents, 45, "soc 4% < 10%", "critical", "Study",
                            TRUE);
  s = nth_to (f, "a1", 0);
  g_assert_nonnull (s);
  g_assert_null (strchr (s->payload, '\n'));
  g_assert_true (json_parser_load_from_data (parser, s->payload, -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  members = json_object_get_members (o);
  for (l = members; l != NULL; l = l->next, i++)
    {
      g_assert_nonnull (expected[i]);
      g_assert_cmpstr (l->data, ==, expected[i]);
    }
  g_assert_null (expected[i]);
  g_assert_cmpstr (json_object_get_string_member (o, "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (o, "action"), ==, "shutdown");
  g_assert_cmpint (json_object_get_int_member (o, "delay_sec"), ==, 45);
  g_assert_cmpstr (json_object_get_string_member (o, "reason"), ==, "soc 4% < 10%");
  g_assert_cmpint (json_object_get_int_member (o, "ttl_sec"), ==, 300);
  g_assert_cmpint (json_object_get_int_member (o, "issued_at"), >=, now - 1);
  g_assert_cmpint (json_object_get_int_member (o, "issued_at"), <=, now + 1);
  g_assert_cmpstr (json_object_get_string_member (o, "device"), ==, "Study");
  g_assert_cmpstr (json_object_get_string_member (o, "policy"), ==, "critical");
  g_assert_cmpint (json_object_get_int_member (o, "stage"), ==, 1);
  g_assert_true (json_object_get_boolean_member (o, "dry_run"));
  g_assert_cmpuint (strlen (json_object_get_string_member (o, "sig")), ==, 64);
  g_assert_true (g_uuid_string_is_valid (id));
}

static void
test_dry_run_false (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", NULL };
  g_autofree gchar *id =
    efp_dispatcher_send (f->disp, "shutdown", agents, 45, "x", "critical", "Study", FALSE);
  g_autoptr (EfpCommand) cmd = parse_sent (nth_to (f, "a1", 0));
  g_assert_false (cmd->dry_run);
  g_assert_nonnull (strstr (nth_to (f, "a1", 0)->payload, "\"dry_run\":false"));
}

/* ---- (h) malformed acks and statuses ---- */

static void
assert_unchanged (Fixture *f, const gchar *id, guint n_warnings)
{
  EfpAgentInfo *a1 = efp_dispatcher_get_agent (f->disp, "a1");
  g_assert_cmpuint (warnings->len, ==, n_warnings);
  g_assert_cmpstr (a1->last_command_id, ==, id);
  g_assert_cmpstr (a1->last_result, ==, "sent");
  g_assert_false (a1->seen);
  g_assert_false (a1->online);
  g_assert_cmpuint (count_to (f, "b1", NULL), ==, 0);
}

static void
test_malformed (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", "b1", NULL };
  g_autofree gchar *id = NULL;
  g_autofree gchar *no_result = NULL;
  g_autofree gchar *int_result = NULL;
  g_autofree gchar *truncated = NULL;
  g_autofree gchar *array_result = NULL;
  g_autofree gchar *not_utf8 = NULL;
  const gchar *bad_acks[] = { "{",
                              "[]",
                              "null",
                              "42",
                              "\"x\"",
                              "{\"id\":5,\"result\":\"x\"}",
                              "{\"result\":\"scheduled\"}",
                              "\xff\xfe{}",
                              "{\"id\":null}",
                              "{\"id\":{\"x\":1},\"result\":\"scheduled\"}",
                              NULL,
                              NULL,
                              NULL,
                              NULL,
                              NULL,
                              NULL };
  const gchar *bad_statuses[] = { "{", "[]", "{\"state\":5}", "{\"state\":null}",
                                  "{\"host\":\"h\"}", "{\"state\":{\"online\":true}}", "offline",
                                  "\xc3\x28",
                                  /* json-glib decodes \224 to a lone byte: not UTF-8 */
                                  "{\"state\":\"online\",\"host\":\"h\\224\"}" };
  guint i, n = 0;

  id = efp_dispatcher_send (f->disp, "shutdown", agents, 60, "soc low", "critical", "Study", FALSE);
  no_result = g_strdup_printf ("{\"id\":\"%s\",\"action\":\"shutdown\"}", id);
  int_result = g_strdup_printf ("{\"id\":\"%s\",\"result\":1}", id);
  array_result = g_strdup_printf ("{\"id\":\"%s\",\"result\":[\"scheduled\"]}", id);
  truncated = g_strdup_printf ("{\"id\":\"%s\",\"result\":\"scheduled\"}", id);
  bad_acks[10] = no_result;
  bad_acks[11] = int_result;
  bad_acks[12] = array_result;
  not_utf8 = g_strdup_printf ("{\"id\":\"%s\",\"result\":\"scheduled\",\"detail\":\"\\224\"}", id);
  bad_acks[13] = not_utf8;
  g_assert_cmpuint (warnings->len, ==, 0);

  for (i = 0; bad_acks[i] != NULL; i++)
    {
      efp_dispatcher_handle_ack (f->disp, "a1", bad_acks[i], strlen (bad_acks[i]));
      assert_unchanged (f, id, ++n);
      g_assert_nonnull (strstr (warnings->pdata[n - 1], "a1"));
    }
  /* a valid ack cut short by @len is not valid */
  efp_dispatcher_handle_ack (f->disp, "a1", truncated, strlen (truncated) - 2);
  assert_unchanged (f, id, ++n);

  for (i = 0; i < G_N_ELEMENTS (bad_statuses); i++)
    {
      efp_dispatcher_handle_status (f->disp, "a1", bad_statuses[i], strlen (bad_statuses[i]));
      assert_unchanged (f, id, ++n);
      g_assert_nonnull (strstr (warnings->pdata[n - 1], "a1"));
    }
  /* an empty payload is a cleared retained status: silently nothing */
  efp_dispatcher_handle_status (f->disp, "a1", "", 0);
  assert_unchanged (f, id, n);

  /* the ack was never counted: the command is still resent once */
  wait_for (f, "a1", 2, 3000);
  g_assert_cmpuint (count_to (f, "a1", NULL), ==, 2);
  g_assert_cmpuint (count_to (f, "b1", NULL), ==, 0);

  /* and a good ack still works afterwards */
  ack (f, "a1", id, "shutdown", "scheduled");
  g_assert_cmpuint (count_to (f, "b1", "shutdown"), ==, 1);

  /* odd optional members are left out, not a reason to drop a good status or ack */
  n = warnings->len;
  status (f, "a1", "{\"state\":\"online\",\"host\":[\"h\"],\"version\":{}}");
  g_assert_true (efp_dispatcher_get_agent (f->disp, "a1")->seen);
  g_assert_true (efp_dispatcher_get_agent (f->disp, "a1")->online);
  g_assert_null (efp_dispatcher_get_agent (f->disp, "a1")->host);
  {
    g_autofree gchar *odd = g_strdup_printf (
      "{\"id\":\"%s\",\"action\":\"shutdown\",\"result\":\"scheduled\",\"detail\":{}}", id);
    efp_dispatcher_handle_ack (f->disp, "b1", odd, strlen (odd));
  }
  g_assert_cmpstr (efp_dispatcher_get_agent (f->disp, "b1")->last_result, ==, "scheduled");
  g_assert_cmpuint (warnings->len, ==, n);
}

/* ---- a repeat of a carried-out command is refused by the agent: its first answer stands ---- */

static void
test_repeat_refused (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", NULL };
  g_autofree gchar *id =
    efp_dispatcher_send (f->disp, "shutdown", agents, 60, "soc low", "critical", "Study", FALSE);
  g_autofree gchar *other = NULL;

  ack (f, "a1", id, "shutdown", "scheduled");
  /* the resend (or a QoS 1 duplicate) arrives too */
  ack_detail (f, "a1", id, "rejected", EFP_COMMAND_REPLAYED_DETAIL);
  g_assert_cmpstr (efp_dispatcher_get_agent (f->disp, "a1")->last_result, ==, "scheduled");
  g_assert_cmpstr (efp_dispatcher_get_agent (f->disp, "a1")->last_command_id, ==, id);
  /* but a power-off that failed after the hooks is reported */
  ack_detail (f, "a1", id, "rejected", "power-off failed: logind unreachable");
  g_assert_cmpstr (efp_dispatcher_get_agent (f->disp, "a1")->last_result, ==, "rejected");

  /* a refusal of a command the agent never carried out is reported as such */
  other =
    efp_dispatcher_send (f->disp, "abort", agents, 60, "grid back", "critical", "Study", FALSE);
  ack (f, "a1", other, "abort", "rejected");
  g_assert_cmpstr (efp_dispatcher_get_agent (f->disp, "a1")->last_result, ==, "rejected");
  g_assert_cmpstr (efp_dispatcher_get_agent (f->disp, "a1")->last_command_id, ==, other);
}

/* ---- an agent that returns is reported with the shutdown it was told while away ---- */

static void
test_returned_agent (Fixture *f, gconstpointer data)
{
  const gchar *const agents[] = { "a1", "b1", NULL };
  g_autofree gchar *id = NULL;
  g_autofree gchar *ab = NULL;
  g_autofree gchar *want = NULL;

  status (f, "a1", "{\"state\":\"online\"}");
  status (f, "b1", "{\"state\":\"online\"}");
  /* the first status of an agent is no return (after a daemon restart, every agent's) */
  g_assert_cmpstr (f->returned->str, ==, "");
  /* b1 (stage 2) returns before its stage was told: nothing to report */
  status (f, "b1", "{\"state\":\"offline\"}");
  id = efp_dispatcher_send (f->disp, "shutdown", agents, 60, "soc low", "critical", "Study", FALSE);
  status (f, "b1", "{\"state\":\"online\"}");
  g_assert_cmpstr (f->returned->str, ==, "");

  /* a1 was told; it goes away and comes back: reported with that command */
  status (f, "a1", "{\"state\":\"offline\"}");
  status (f, "a1", "{\"state\":\"online\"}");
  want = g_strdup_printf ("a1:%s;", id);
  g_assert_cmpstr (f->returned->str, ==, want);
  /* an online status repeated (retained, a reconnect without the will) is no return */
  status (f, "a1", "{\"state\":\"online\"}");
  g_assert_cmpstr (f->returned->str, ==, want);
  /* a test command in between hides nothing */
  g_free (efp_dispatcher_send (f->disp, "test", agents, 0, "test", NULL, NULL, FALSE));
  status (f, "a1", "{\"state\":\"offline\"}");
  status (f, "a1", "{\"state\":\"online\"}");
  g_free (want);
  want = g_strdup_printf ("a1:%s;a1:%s;", id, id);
  g_assert_cmpstr (f->returned->str, ==, want);

  /* after an abort: nothing */
  ab = efp_dispatcher_send (f->disp, "abort", agents, 0, "grid back", "critical", "Study", FALSE);
  status (f, "a1", "{\"state\":\"offline\"}");
  status (f, "a1", "{\"state\":\"online\"}");
  g_assert_cmpstr (f->returned->str, ==, want);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* agent keys come from the test's files only, never from a credentials directory */
  g_unsetenv ("CREDENTIALS_DIRECTORY");
  warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (capture_writer, NULL, NULL);

#define ADD(path, fn, setup) g_test_add (path, Fixture, NULL, setup, fn, fixture_teardown)
  ADD ("/dispatcher/stage-order", test_stage_order, fixture_setup);
  ADD ("/dispatcher/stage-timeout", test_stage_timeout, fixture_setup_short);
  ADD ("/dispatcher/offline-counts-as-done", test_offline_counts_as_done, fixture_setup);
  ADD ("/dispatcher/offline-before-send", test_offline_before_send, fixture_setup);
  ADD ("/dispatcher/resend-once", test_resend_once, fixture_setup);
  ADD ("/dispatcher/ack-stops-resend", test_ack_stops_resend, fixture_setup);
  ADD ("/dispatcher/signatures", test_signatures, fixture_setup);
  ADD ("/dispatcher/abort", test_abort, fixture_setup);
  ADD ("/dispatcher/abort-before-stage-timeout", test_abort_before_stage_timeout,
       fixture_setup_short);
  ADD ("/dispatcher/abort-stops-resend", test_abort_stops_resend, fixture_setup);
  ADD ("/dispatcher/json-keys", test_json_keys, fixture_setup);
  ADD ("/dispatcher/dry-run-false", test_dry_run_false, fixture_setup);
  ADD ("/dispatcher/malformed", test_malformed, fixture_setup);
  ADD ("/dispatcher/repeat-refused", test_repeat_refused, fixture_setup);
  ADD ("/dispatcher/returned-agent", test_returned_agent, fixture_setup);
#undef ADD
  return g_test_run ();
}

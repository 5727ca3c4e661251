/* agent-harness.h: what the agent tests share: a real broker, a listening
 * MQTT client that records every message under the command prefix, the
 * agent process, and helpers to send signed commands and wait for acks. */
#pragma once

#include <gio/gio.h>

#include "efp-command.h"
#include "efp-mqtt-client.h"
#include "efp-test-broker.h"

G_BEGIN_DECLS

#define AGENT_ID     "pc1"
#define AGENT_KEY    "agent key 1"
#define PREFIX       "power-manager"
#define STATUS_TOPIC PREFIX "/" AGENT_ID "/status"
#define ACK_TOPIC    PREFIX "/" AGENT_ID "/ack"

typedef struct
{
  EfpTestBroker *broker;
  gchar *dir;          /* private temporary directory, removed at teardown */
  gchar *config_path;  /* <dir>/agent.conf */
  gchar *state_path;   /* <dir>/state/seen.* */
  gchar *key_path;     /* <dir>/agent.key, holding AGENT_KEY and a newline */
  gchar *record_path;  /* <dir>/calls: what the stand-in power-off recorded */
  GSubprocess *helper; /* e.g. the fake logind */
  GSubprocess *agent;
  guint n_starts; /* agent-N.log per start */
  EfpMqttClient *client;
  GPtrArray *topics;
  GPtrArray *payloads;
} Fixture;

typedef struct
{
  const gchar *topic;
  const gchar *needle;
  gint want;
} CountWant;

void harness_setup (Fixture *f, const gchar *state_name);
void harness_teardown (Fixture *f);
/* Spawn @argv (the agent), with @env ("NAME", "VALUE", ..., NULL) added, its
 * output in <dir>/agent-N.log; wait for a new retained online status. */
void start_process (Fixture *f, const gchar *const *argv, const gchar *const *env);

gchar *build_path (const gchar *rel);
gchar *source_path (const gchar *rel);
void spin_until (gboolean (*done) (Fixture *, gconstpointer), Fixture *f, gconstpointer data,
                 guint timeout_ms);
void spin_for (guint ms);
void remove_tree (const gchar *path);
void stop_agent (Fixture *f, gint signum);
gint count_messages (Fixture *f, const gchar *topic, const gchar *needle);
gboolean count_reached (Fixture *f, gconstpointer data);
gchar *agent_log (Fixture *f);
EfpCommand *make_command (const gchar *action, gint64 delay, gint64 issued_at);
gint64 now_sec (void);
void send_raw (Fixture *f, const gchar *json);
void send_command (Fixture *f, const EfpCommand *c);
gchar *find_ack (Fixture *f, const gchar *id);
gchar *wait_ack (Fixture *f, const gchar *id);
void forget_messages (Fixture *f);
gchar *read_file (const gchar *path);
void wait_file_contains (Fixture *f, const gchar *path, const gchar *needle, guint timeout_ms);
gboolean marker_exists (Fixture *f, gconstpointer path);
void write_hook (Fixture *f, const gchar *name, const gchar *body, guint mode);
void check_prefix (const gchar *s, const gchar *prefix, const gchar *file, gint line);
/* agent.conf: @header (e.g. a comment), [agent] with the key file if @with_key,
 * [mqtt] on the test broker, [shutdown] with the hooks dir and @shutdown_lines. */
void harness_write_config (Fixture *f, const gchar *header, gboolean with_key,
                           const gchar *shutdown_lines);
/* The payload of the newest message on STATUS_TOPIC. */
gchar *last_status (Fixture *f);
/* Send @c and wait for its ack; *@ack (freed first) is the ack or NULL. */
void send_and_wait (Fixture *f, const EfpCommand *c, gchar **ack);
/* The six commands every agent refuses for their signature or time: forged,
 * unsigned, expired, from the future, signed for another agent, tampered
 * (signed for a delay of 600, sent with @tampered_delay). */
void check_signature_rejections (Fixture *f, gint64 delay, gint64 tampered_delay);
/* Wait until @want offline statuses arrived, and assert that exactly that many did. */
void wait_offline_count (Fixture *f, gint want);
/* Run @argv on a bad config at @config_path: exit 78 and one line on stderr
 * naming @config_path and holding @needle. Returns that line. */
gchar *check_config_error (const gchar *const *argv, GSpawnFlags flags, const gchar *config_path,
                           const gchar *needle);
/* A signed shutdown in @delay s, sent while no agent runs: asserts that no ack came. */
EfpCommand *send_while_away (Fixture *f, gint64 delay);
/* The hooks of the hooks-and-command cases, each appending to @order
 * (a shell variable $ORDER in the hook): 10-first, 20-slow (@slow_hook, which
 * outlasts the hook timeout), 30-last, and three that must not run: .hidden,
 * 40-not-executable (0644), 50-world-writable (0777). */
void write_order_hooks (Fixture *f, const gchar *order, const gchar *slow_hook);
#define assert_prefix(str, prefix) check_prefix ((str), (prefix), __FILE__, __LINE__)

G_END_DECLS

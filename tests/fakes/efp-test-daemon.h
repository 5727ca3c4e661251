/* efp-test-daemon.h: run the real built ecoflow-powerd, and record MQTT traffic
 * with a real mosquitto_sub, for integration tests.
 *
 *   g_autoptr (EfpTestDaemon) d = efp_test_daemon_new (config_text);
 *   efp_test_daemon_start (d, NULL, &error);     // --config, --plugin-dir, --state-file, -vv
 *   efp_test_daemon_wait_log (d, "SHUTDOWN TRIGGERED", 10000);
 *
 *   g_autoptr (EfpTestSub) sub = efp_test_sub_new (port, (const gchar *[]){"power-manager/#", NULL});
 *   line = efp_test_sub_wait (sub, "power-manager/pc/cmd *", 10000);   // "topic payload"
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _EfpTestDaemon EfpTestDaemon;

/* @config: the key file text; the daemon's files live in a private temp dir. */
EfpTestDaemon *efp_test_daemon_new (const gchar *config);
const gchar *efp_test_daemon_get_dir (EfpTestDaemon *d);
const gchar *efp_test_daemon_get_state_file (EfpTestDaemon *d);
/* Write @text to <dir>/@name and return its path (for key files, .env files...). */
gchar *efp_test_daemon_write_file (EfpTestDaemon *d, const gchar *name, const gchar *text);
/* Start with --config, --plugin-dir $EFP_PLUGIN_DIR, --state-file, -vv, --no-dbus unless
 * @extra_args holds a bus option; @extra_args are appended. */
gboolean efp_test_daemon_start (EfpTestDaemon *d, const gchar *const *extra_args, GError **error);
void efp_test_daemon_stop (EfpTestDaemon *d); /* SIGTERM and wait */
void efp_test_daemon_kill (EfpTestDaemon *d); /* SIGKILL, like a crash */
gboolean efp_test_daemon_is_running (EfpTestDaemon *d);
/* The daemon's process id, for signals (SIGHUP). */
GPid efp_test_daemon_get_pid (EfpTestDaemon *d);
/* SIGTERM, wait, and return the exit status (-1 when killed by a signal). */
gint efp_test_daemon_terminate (EfpTestDaemon *d);
gchar *efp_test_daemon_get_log (EfpTestDaemon *d);
/* Wait until the log contains @needle (glob-free substring); FALSE on timeout. */
gboolean efp_test_daemon_wait_log (EfpTestDaemon *d, const gchar *needle, guint timeout_ms);
/* How many times @needle occurs in the log. */
guint efp_test_daemon_count_log (EfpTestDaemon *d, const gchar *needle);
void efp_test_daemon_free (EfpTestDaemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpTestDaemon, efp_test_daemon_free)

typedef struct _EfpTestSub EfpTestSub;

/* mosquitto_sub -v on 127.0.0.1:@port for @topics; returns once it is subscribed. */
EfpTestSub *efp_test_sub_new (guint16 port, const gchar *const *topics);
/* Next unread line matching the glob @pattern ("topic payload"), or NULL on timeout. */
gchar *efp_test_sub_wait (EfpTestSub *s, const gchar *pattern, guint timeout_ms);
/* Every line received so far (newline separated). */
gchar *efp_test_sub_get_all (EfpTestSub *s);
void efp_test_sub_free (EfpTestSub *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpTestSub, efp_test_sub_free)

/* Publish one payload with mosquitto_pub (QoS 1); TRUE when it exited 0. */
gboolean efp_test_publish (guint16 port, const gchar *topic, const gchar *payload);
/* One retained message on @topic (mosquitto_sub -C 1 -W 3), or NULL. */
gchar *efp_test_get_retained (guint16 port, const gchar *topic);
/* Run the built ecoflow-simulate with @args against 127.0.0.1:@port; exit status. */
gint efp_test_simulate (guint16 port, const gchar *const *args);

G_END_DECLS

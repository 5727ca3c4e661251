/* efp-test-broker.h: a real mosquitto on a free 127.0.0.1 port, for tests.
 *
 *   g_autoptr (EfpTestBroker) broker = efp_test_broker_new ();
 *   efp_test_broker_start (broker, &error);      // spawns, waits until the port accepts
 *   port = efp_test_broker_get_port (broker);
 *   efp_test_broker_stop (broker);               // SIGTERM (broker saves persistence)
 *   efp_test_broker_kill (broker);               // SIGKILL, like a crash
 *   efp_test_broker_start (broker, &error);      // again, on the SAME port
 *
 * The port is chosen once, in _new(), and kept for every restart. The config
 * and the broker log live in a private temporary directory that _free()
 * removes; the log is printed on stderr by _free() when the test failed.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _EfpTestBroker EfpTestBroker;

EfpTestBroker *efp_test_broker_new (void);
/* Extra mosquitto.conf lines (e.g. "persistence true"), used by the next _start(). */
void efp_test_broker_set_extra_config (EfpTestBroker *broker, const gchar *lines);
gboolean efp_test_broker_start (EfpTestBroker *broker, GError **error);
/* SIGTERM and wait (up to 5 s, then SIGKILL); no-op when not running. */
void efp_test_broker_stop (EfpTestBroker *broker);
/* SIGKILL and wait; no-op when not running. */
void efp_test_broker_kill (EfpTestBroker *broker);
gboolean efp_test_broker_is_running (EfpTestBroker *broker);
guint16 efp_test_broker_get_port (EfpTestBroker *broker);
/* The private directory (config, log, persistence); tests may put files there. */
const gchar *efp_test_broker_get_dir (EfpTestBroker *broker);
void efp_test_broker_free (EfpTestBroker *broker);

/* A GSpawnChildSetupFunc for any test child: SIGKILL when the test process
 * dies, so an aborted test leaves no daemons behind (Linux prctl). */
void efp_test_child_setup_die_with_parent (gpointer user_data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpTestBroker, efp_test_broker_free)

G_END_DECLS

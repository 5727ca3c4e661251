/* test-dbus-fixture.h: a private dbus-daemon playing the system bus, for tests.
 *
 * The bus has the system bus's default-deny policy plus our installed
 * policy file (data/io.github.EcoflowPower1.conf from the build tree), so the
 * tests exercise the real file. Any user may connect (the socket directory is
 * world-readable), so commands can run as "nobody". Its address is exported
 * as DBUS_SYSTEM_BUS_ADDRESS.
 */
#pragma once

#include <gio/gio.h>
#include <stdarg.h>

G_BEGIN_DECLS

typedef struct _EfpTestBus EfpTestBus;

EfpTestBus *efp_test_bus_new (GError **error);
const gchar *efp_test_bus_get_address (EfpTestBus *bus);
/* Stop the bus daemon and start it again on the same address (a bus restart). */
gboolean efp_test_bus_restart (EfpTestBus *bus, GError **error);
/* Start @argv with the bus in the environment; stdout is piped when @pipe_stdout. */
GSubprocess *efp_test_bus_spawn (EfpTestBus *bus, const gchar *const *argv, gboolean pipe_stdout,
                                 GError **error);
/* Wait until @name has an owner (@present) or none; FALSE on timeout. */
gboolean efp_test_bus_wait_name (EfpTestBus *bus, const gchar *name, gboolean present,
                                 guint timeout_ms);
void efp_test_bus_free (EfpTestBus *bus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpTestBus, efp_test_bus_free)

/* Run @argv to completion (as uid/gid 65534 when @as_nobody); returns the exit
 * status (-1 when it could not run) and its output. */
gint efp_test_run (const gchar *const *argv, gboolean as_nobody, gchar **out, gchar **err);
/* Path of a build-tree program from EFP_BUILD_ROOT. */
gchar *efp_test_build_path (const gchar *relative);
/* The system bus connection of this test process (to the private bus). */
GDBusConnection *efp_test_bus_connection (EfpTestBus *bus);

/* Start tests/efp-dbus-test-server (the service on canned data) on @bus and
 * assert that it takes @name. */
GSubprocess *efp_test_bus_start_test_server (EfpTestBus *bus, const gchar *name);
/* Kill *@server if it still runs, wait for it and clear it. */
void efp_test_server_clear (GSubprocess **server);
/* Run @head (NULL-terminated) followed by the NULL-terminated arguments in @ap,
 * as efp_test_run() does. */
gint efp_test_run_valist (const gchar *const *head, gboolean as_nobody, gchar **out, gchar **err,
                          va_list ap);
/* Spin the default main context for @ms. */
void efp_test_spin (guint ms);

G_END_DECLS

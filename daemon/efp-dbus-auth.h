/* efp-dbus-auth.h: may the caller of a D-Bus method run a mutating method?
 *
 * Root (and the service's own uid) are allowed at once; anyone else needs
 * polkit, asked over D-Bus (org.freedesktop.PolicyKit1.Authority) because
 * libpolkit is not in our stack. No polkit on the bus means no.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define EFP_DBUS_ACTION_MANAGE "io.github.EcoflowPower1.manage"

void efp_dbus_auth_check_async (GDBusMethodInvocation *invocation, const gchar *action_id,
                                GCancellable *cancellable, GAsyncReadyCallback callback,
                                gpointer user_data);
/* TRUE when allowed; otherwise FALSE with EFP_DBUS_ERROR_NOT_AUTHORIZED. */
gboolean efp_dbus_auth_check_finish (GAsyncResult *result, GError **error);

G_END_DECLS

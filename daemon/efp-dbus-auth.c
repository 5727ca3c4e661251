/* efp-dbus-auth.c: uid check, then polkit CheckAuthorization over D-Bus. */
#include "efp-dbus-auth.h"

#include <unistd.h>

#include "efp-dbus-service.h"

/* polkit's CheckAuthorizationFlags */
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef struct
{
  GDBusMethodInvocation *invocation;
  gchar *action_id;
  guint32 uid;
} AuthData;

static void
auth_data_free (gpointer p)
{
  AuthData *d = p;
  g_clear_object (&d->invocation);
  g_free (d->action_id);
  g_free (d);
}

static void
polkit_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = G_TASK (user_data);
  AuthData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  gboolean authorized = FALSE, challenge = FALSE;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (reply == NULL)
    {
      g_autofree gchar *remote = g_dbus_error_get_remote_error (error);
      g_dbus_error_strip_remote_error (error);
      g_info ("polkit check for uid %u failed: %s", d->uid, error->message);
      g_task_return_new_error (task, EFP_DBUS_ERROR, EFP_DBUS_ERROR_NOT_AUTHORIZED,
                               "%s needs root or polkit authorization, and polkit is not "
                               "available (%s)",
                               d->action_id, remote != NULL ? remote : error->message);
      return;
    }
  g_variant_get (reply, "((bb@a{ss}))", &authorized, &challenge, NULL);
  if (authorized)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_task_return_new_error (task, EFP_DBUS_ERROR, EFP_DBUS_ERROR_NOT_AUTHORIZED,
                           challenge ? "%s needs authentication (run as root, or allow "
                                       "interactive authorization)"
                                     : "%s is not allowed for uid %u",
                           d->action_id, d->uid);
}

static void
ask_polkit (GTask *task)
{
  AuthData *d = g_task_get_task_data (task);
  GDBusConnection *connection = g_dbus_method_invocation_get_connection (d->invocation);
  GDBusMessage *message = g_dbus_method_invocation_get_message (d->invocation);
  gboolean interactive = (g_dbus_message_get_flags (message) &
                          G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION) != 0;
  GVariantBuilder subject;

  g_variant_builder_init (&subject, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_add (
    &subject, "{sv}", "name",
    g_variant_new_string (g_dbus_method_invocation_get_sender (d->invocation)));
  g_dbus_connection_call (
    connection, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
    "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization",
    g_variant_new ("((sa{sv})s@a{ss}us)", "system-bus-name", &subject, d->action_id,
                   g_variant_new_array (G_VARIANT_TYPE ("{ss}"), NULL, 0),
                   interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, ""),
    G_VARIANT_TYPE ("((bba{ss}))"), G_DBUS_CALL_FLAGS_NONE,
    /* a person may be typing a password */
    interactive ? G_MAXINT : -1, g_task_get_cancellable (task), polkit_done, task);
}

static gboolean
uid_allowed (guint32 uid)
{
  /* the service's own uid covers ExecReload= inside the unit */
  return uid == 0 || uid == (guint32) getuid ();
}

static void
uid_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GTask) task = G_TASK (user_data);
  AuthData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, EFP_DBUS_ERROR, EFP_DBUS_ERROR_NOT_AUTHORIZED,
                               "cannot identify the caller: %s", error->message);
      return;
    }
  g_variant_get (reply, "(u)", &d->uid);
  if (uid_allowed (d->uid))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  ask_polkit (g_steal_pointer (&task));
}

void
efp_dbus_auth_check_async (GDBusMethodInvocation *invocation, const gchar *action_id,
                           GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  GDBusConnection *connection = g_dbus_method_invocation_get_connection (invocation);
  const gchar *sender = g_dbus_method_invocation_get_sender (invocation);
  AuthData *d = g_new0 (AuthData, 1);

  d->invocation = g_object_ref (invocation);
  d->action_id = g_strdup (action_id);
  g_task_set_task_data (task, d, auth_data_free);
  g_task_set_source_tag (task, efp_dbus_auth_check_async);

  if (sender == NULL)
    {
      /* a peer-to-peer connection: only its kernel credentials tell who it is */
      GCredentials *creds = g_dbus_connection_get_peer_credentials (connection);
      uid_t uid = creds != NULL ? g_credentials_get_unix_user (creds, NULL) : (uid_t) -1;
      if (creds != NULL && uid != (uid_t) -1 && uid_allowed ((guint32) uid))
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_new_error (task, EFP_DBUS_ERROR, EFP_DBUS_ERROR_NOT_AUTHORIZED,
                                 "%s needs root", action_id);
      return;
    }
  g_dbus_connection_call (
    connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
    "GetConnectionUnixUser", g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(u)"),
    G_DBUS_CALL_FLAGS_NONE, -1, cancellable, uid_done, g_steal_pointer (&task));
}

gboolean
efp_dbus_auth_check_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* efp-test-broker.c: start, stop and restart a private mosquitto for tests. */
#include "efp-test-broker.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define BROKER_START_TIMEOUT_US (5 * G_USEC_PER_SEC)

struct _EfpTestBroker
{
  gchar *dir;
  gchar *conf_path;
  gchar *log_path;
  gchar *extra;
  guint16 port;
  GSubprocess *proc;
};

static guint16
pick_free_port (void)
{
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (sock, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (sock, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

EfpTestBroker *
efp_test_broker_new (void)
{
  EfpTestBroker *b = g_new0 (EfpTestBroker, 1);
  g_autoptr (GError) error = NULL;

  b->dir = g_dir_make_tmp ("efp-broker-XXXXXX", &error);
  g_assert_no_error (error);
  b->conf_path = g_build_filename (b->dir, "mosquitto.conf", NULL);
  b->log_path = g_build_filename (b->dir, "mosquitto.log", NULL);
  b->port = pick_free_port ();
  return b;
}

void
efp_test_broker_set_extra_config (EfpTestBroker *b, const gchar *lines)
{
  g_free (b->extra);
  b->extra = g_strdup (lines);
}

static gboolean
port_accepts (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  return conn != NULL;
}

static gboolean
write_config (EfpTestBroker *b, GError **error)
{
  g_autoptr (GString) conf = g_string_new (NULL);

  g_string_append_printf (conf, "listener %u 127.0.0.1\n", b->port);
  /* extra lines may set their own security (allow_anonymous false + password_file) */
  if (b->extra == NULL || strstr (b->extra, "allow_anonymous") == NULL)
    g_string_append (conf, "allow_anonymous true\n");
  g_string_append_printf (conf, "log_dest file %s\n", b->log_path);
  g_string_append (conf, "log_type all\n");
  g_string_append_printf (conf, "persistence_location %s/\n", b->dir);
  /* as root mosquitto would switch to the "mosquitto" user and lose the temp dir */
  if (geteuid () == 0)
    g_string_append (conf, "user root\n");
  if (b->extra != NULL)
    {
      g_string_append (conf, b->extra);
      g_string_append_c (conf, '\n');
    }
  return g_file_set_contents (b->conf_path, conf->str, -1, error);
}

void
efp_test_child_setup_die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

gboolean
efp_test_broker_start (EfpTestBroker *b, GError **error)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  gint64 deadline;

  g_return_val_if_fail (b->proc == NULL, FALSE);
  if (!write_config (b, error))
    return FALSE;
  launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  /* a test that aborts must not leave brokers behind */
  g_subprocess_launcher_set_child_setup (launcher, efp_test_child_setup_die_with_parent, NULL,
                                         NULL);
  b->proc = g_subprocess_launcher_spawn (launcher, error, "mosquitto", "-c", b->conf_path, NULL);
  if (b->proc == NULL)
    return FALSE;
  deadline = g_get_monotonic_time () + BROKER_START_TIMEOUT_US;
  while (g_get_monotonic_time () < deadline)
    {
      if (g_subprocess_get_identifier (b->proc) == NULL)
        break; /* exited */
      if (port_accepts (b->port))
        return TRUE;
      g_usleep (20 * 1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "mosquitto did not start on 127.0.0.1:%u (log: %s)", b->port, b->log_path);
  efp_test_broker_kill (b);
  return FALSE;
}

static void
signal_and_wait (EfpTestBroker *b, gint signum)
{
  if (b->proc == NULL)
    return;
  g_subprocess_send_signal (b->proc, signum);
  if (signum != SIGKILL)
    {
      gint64 deadline = g_get_monotonic_time () + BROKER_START_TIMEOUT_US;
      while (g_subprocess_get_identifier (b->proc) != NULL && g_get_monotonic_time () < deadline)
        g_usleep (10 * 1000);
      if (g_subprocess_get_identifier (b->proc) != NULL)
        g_subprocess_force_exit (b->proc);
    }
  g_subprocess_wait (b->proc, NULL, NULL);
  g_clear_object (&b->proc);
}

void
efp_test_broker_stop (EfpTestBroker *b)
{
  signal_and_wait (b, SIGTERM);
}

void
efp_test_broker_kill (EfpTestBroker *b)
{
  signal_and_wait (b, SIGKILL);
}

gboolean
efp_test_broker_is_running (EfpTestBroker *b)
{
  return b->proc != NULL && g_subprocess_get_identifier (b->proc) != NULL;
}

guint16
efp_test_broker_get_port (EfpTestBroker *b)
{
  return b->port;
}

const gchar *
efp_test_broker_get_dir (EfpTestBroker *b)
{
  return b->dir;
}

static void
remove_tree (const gchar *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const gchar *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree gchar *child = g_build_filename (path, name, NULL);
        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

void
efp_test_broker_free (EfpTestBroker *b)
{
  if (b == NULL)
    return;
  efp_test_broker_kill (b);
  if (g_test_failed ())
    {
      g_autofree gchar *log = NULL;
      if (g_file_get_contents (b->log_path, &log, NULL, NULL))
        g_printerr ("---- mosquitto log (%s) ----\n%s", b->log_path, log);
    }
  remove_tree (b->dir);
  g_free (b->dir);
  g_free (b->conf_path);
  g_free (b->log_path);
  g_free (b->extra);
  g_free (b);
}

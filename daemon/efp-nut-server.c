/* efp-nut-server.c: a NUT upsd-compatible TCP server in the GLib main loop.
 *
 * One Client per connection: raw async reads into a bounded line buffer (so a
 * client can never make us buffer more than EFP_NUT_MAX_LINE bytes of input),
 * one async write at a time with a bounded queue behind it, an idle timer. No
 * threads, nothing blocks after start().
 */
#include "config.h"

#include "efp-nut-server.h"

#include <math.h>
#include <string.h>
#include "efp-nut-protocol.h"
#include "efp-nut-ups.h"
#include "efp-nut-users.h"

#define DEFAULT_MAX_CLIENTS      64
#define DEFAULT_IDLE_TIMEOUT_SEC 300
#define DEFAULT_FSD_HOLD_SEC     120
/* a client that stops reading its answers is dropped rather than buffered for */
#define MAX_PENDING_OUTPUT (256 * 1024)
#define READ_CHUNK         4096

typedef struct _Client Client;

struct _EfpNutServer
{
  gchar *listen;
  guint16 port;
  guint16 bound_port;
  EfpNutUsers *users; /* NULL: no users file, every authenticated command refused */
  GSocketService *service;
  GHashTable *ups;    /* NUT name -> Ups* */
  GHashTable *warned; /* device names already warned about a name clash */
  GPtrArray *clients; /* Client*, the server's reference */
  guint max_clients;
  guint idle_timeout_sec;
  guint fsd_hold_sec;
  gboolean limit_logged;
};

struct _Client
{
  gint ref;
  EfpNutServer *server; /* NULL once closed */
  GSocketConnection *conn;
  GCancellable *cancellable;
  gchar *peer;
  guint8 buf[READ_CHUNK];
  GByteArray *line;
  gboolean discarding; /* an overlong line: drop bytes up to the next newline */
  GString *out;        /* answers not yet handed to the stream */
  GBytes *writing;     /* answers being written */
  gboolean closing;    /* after LOGOUT: flush, then close */
  gboolean denied_logged;
  gchar *username;
  gchar *password;
  gchar *login; /* NUT name after LOGIN */
  guint idle_id;
};

static EfpNutUps *
lookup_ups (EfpNutServer *self, const gchar *name)
{
  g_autofree gchar *key = g_ascii_strdown (name, -1);
  return g_hash_table_lookup (self->ups, key);
}

static guint
count_logins (EfpNutServer *self, const EfpNutUps *u)
{
  guint i, n = 0;

  for (i = 0; i < self->clients->len; i++)
    {
      Client *c = g_ptr_array_index (self->clients, i);
      if (g_strcmp0 (c->login, u->name) == 0)
        n++;
    }
  return n;
}

/* ---- clients: lifetime --------------------------------------------------------------- */

static Client *
client_ref (Client *c)
{
  c->ref++;
  return c;
}

static void
client_unref (Client *c)
{
  if (--c->ref > 0)
    return;
  g_clear_object (&c->conn);
  g_clear_object (&c->cancellable);
  g_free (c->peer);
  g_byte_array_unref (c->line);
  g_string_free (c->out, TRUE);
  g_clear_pointer (&c->writing, g_bytes_unref);
  if (c->password != NULL)
    memset (c->password, 0, strlen (c->password));
  g_free (c->password);
  g_free (c->username);
  g_free (c->login);
  g_free (c);
}

/* a user name as the client sent it, safe for one log line */
static gchar *
printable_user (const Client *c)
{
  g_autofree gchar *esc = NULL;

  if (c->username == NULL)
    return g_strdup ("(none)");
  esc = g_strescape (c->username, NULL);
  if (strlen (esc) > 64)
    esc[64] = '\0';
  return g_steal_pointer (&esc);
}

static void
client_close (Client *c)
{
  EfpNutServer *self = c->server;

  if (self == NULL)
    return;
  c->server = NULL;
  g_cancellable_cancel (c->cancellable);
  g_clear_handle_id (&c->idle_id, g_source_remove);
  /* close the socket itself: the streams may still have cancelled operations pending */
  g_socket_close (g_socket_connection_get_socket (c->conn), NULL);
  if (c->login != NULL)
    g_message ("NUT: client %s left UPS %s", c->peer, c->login);
  else
    g_debug ("NUT: client %s disconnected", c->peer);
  if (self->clients->len < self->max_clients)
    self->limit_logged = FALSE;
  g_ptr_array_remove (self->clients, c);
}

static gboolean
on_idle_timeout (gpointer user_data)
{
  Client *c = user_data;

  c->idle_id = 0;
  g_debug ("NUT: client %s idle for %u s, closing", c->peer, c->server->idle_timeout_sec);
  client_close (c);
  return G_SOURCE_REMOVE;
}

static void
client_arm_idle (Client *c)
{
  g_clear_handle_id (&c->idle_id, g_source_remove);
  c->idle_id = g_timeout_add_seconds (c->server->idle_timeout_sec, on_idle_timeout, c);
}

/* ---- clients: output ----------------------------------------------------------------- */

static void client_flush (Client *c);

static void
on_written (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Client *c = user_data;
  g_autoptr (GError) error = NULL;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (src), res, NULL, &error);
  g_clear_pointer (&c->writing, g_bytes_unref);
  if (c->server != NULL)
    {
      if (error != NULL)
        {
          g_debug ("NUT: client %s: write failed: %s", c->peer, error->message);
          client_close (c);
        }
      else
        client_flush (c);
    }
  client_unref (c);
}

static void
client_flush (Client *c)
{
  GOutputStream *out;
  gsize len;

  if (c->server == NULL || c->writing != NULL)
    return;
  if (c->out->len == 0)
    {
      if (c->closing)
        client_close (c);
      return;
    }
  len = c->out->len;
  c->writing = g_string_free_to_bytes (c->out);
  c->out = g_string_new (NULL);
  out = g_io_stream_get_output_stream (G_IO_STREAM (c->conn));
  g_output_stream_write_all_async (out, g_bytes_get_data (c->writing, NULL), len,
                                   G_PRIORITY_DEFAULT, c->cancellable, on_written, client_ref (c));
}

static void
client_send (Client *c, const gchar *line)
{
  if (c->server == NULL)
    return;
  g_string_append (c->out, line);
  g_string_append_c (c->out, '\n');
  if (c->out->len > MAX_PENDING_OUTPUT)
    {
      g_message ("NUT: client %s does not read its answers, closing", c->peer);
      client_close (c);
      return;
    }
  client_flush (c);
}

static void G_GNUC_PRINTF (2, 3) client_sendf (Client *c, const gchar *fmt, ...)
{
  g_autofree gchar *line = NULL;
  va_list ap;

  va_start (ap, fmt);
  line = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  client_send (c, line);
}

/* ---- commands ------------------------------------------------------------------------ */

/* USERNAME and PASSWORD first, then the users file decides. */
static gboolean
check_auth (Client *c, EfpNutAction action, const gchar *what)
{
  EfpNutServer *self = c->server;

  if (c->username == NULL)
    {
      client_send (c, "ERR USERNAME-REQUIRED");
      return FALSE;
    }
  if (c->password == NULL)
    {
      client_send (c, "ERR PASSWORD-REQUIRED");
      return FALSE;
    }
  if (!efp_nut_users_check (self->users, c->username, c->password, action))
    {
      g_autofree gchar *user = printable_user (c);
      /* once per connection at message level: a password guesser must not flood the log */
      if (!c->denied_logged)
        g_message ("NUT: %s refused for user '%s' from %s%s", what, user, c->peer,
                   self->users == NULL ? " (no [nut] users-file)" : "");
      else
        g_debug ("NUT: %s refused for user '%s' from %s", what, user, c->peer);
      c->denied_logged = TRUE;
      client_send (c, "ERR ACCESS-DENIED");
      return FALSE;
    }
  return TRUE;
}

static EfpNutUps *
need_ups (Client *c, const gchar *name)
{
  EfpNutUps *u = lookup_ups (c->server, name);

  if (u == NULL)
    client_send (c, "ERR UNKNOWN-UPS");
  return u;
}

static void
cmd_get (Client *c, gchar **argv, guint argc)
{
  const gchar *sub = argc >= 2 ? argv[1] : "";
  EfpNutUps *u;

  if (g_ascii_strcasecmp (sub, "VAR") == 0 && argc == 4)
    {
      g_autofree gchar *value = NULL;
      g_autofree gchar *quoted = NULL;

      if ((u = need_ups (c, argv[2])) == NULL)
        return;
      if (u->stale)
        {
          client_send (c, "ERR DATA-STALE");
          return;
        }
      value = efp_nut_ups_var (u, argv[3]);
      if (value == NULL)
        {
          client_send (c, "ERR VAR-NOT-SUPPORTED");
          return;
        }
      quoted = efp_nut_quote (value);
      /* repeat the query as sent: clients compare the answer with their question */
      client_sendf (c, "VAR %s %s %s", argv[2], argv[3], quoted);
    }
  else if (g_ascii_strcasecmp (sub, "UPSDESC") == 0 && argc == 3)
    {
      g_autofree gchar *desc = NULL;
      g_autofree gchar *quoted = NULL;

      if ((u = need_ups (c, argv[2])) == NULL)
        return;
      desc = efp_nut_ups_description (u);
      quoted = efp_nut_quote (desc);
      client_sendf (c, "UPSDESC %s %s", argv[2], quoted);
    }
  else if (g_ascii_strcasecmp (sub, "NUMLOGINS") == 0 && argc == 3)
    {
      if ((u = need_ups (c, argv[2])) == NULL)
        return;
      client_sendf (c, "NUMLOGINS %s %u", argv[2], count_logins (c->server, u));
    }
  else if (g_ascii_strcasecmp (sub, "TYPE") == 0 && argc == 4)
    {
      g_autofree gchar *value = NULL;
      gboolean is_string = FALSE;

      if ((u = need_ups (c, argv[2])) == NULL)
        return;
      value = efp_nut_ups_var (u, argv[3]);
      if (value == NULL || !efp_nut_var_info (argv[3], NULL, NULL, &is_string))
        client_send (c, "ERR VAR-NOT-SUPPORTED");
      else
        client_sendf (c, "TYPE %s %s %s", argv[2], argv[3], is_string ? "STRING:64" : "NUMBER");
    }
  else if (g_ascii_strcasecmp (sub, "DESC") == 0 && argc == 4)
    {
      g_autofree gchar *quoted = NULL;
      const gchar *desc = "Description unavailable";

      if ((u = need_ups (c, argv[2])) == NULL)
        return;
      efp_nut_var_info (argv[3], NULL, &desc, NULL);
      quoted = efp_nut_quote (desc);
      client_sendf (c, "DESC %s %s %s", argv[2], argv[3], quoted);
    }
  else if (g_ascii_strcasecmp (sub, "CMDDESC") == 0 && argc == 4)
    {
      if (need_ups (c, argv[2]) != NULL)
        client_send (c, "ERR CMD-NOT-SUPPORTED");
    }
  else
    client_send (c, "ERR INVALID-ARGUMENT");
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *) a, *(const gchar *const *) b);
}

static void
list_ups (Client *c)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  GHashTableIter it;
  gpointer key;
  guint i;

  g_hash_table_iter_init (&it, c->server->ups);
  while (g_hash_table_iter_next (&it, &key, NULL))
    g_ptr_array_add (names, key);
  g_ptr_array_sort (names, compare_names);
  client_send (c, "BEGIN LIST UPS");
  for (i = 0; i < names->len; i++)
    {
      EfpNutUps *u = g_hash_table_lookup (c->server->ups, g_ptr_array_index (names, i));
      g_autofree gchar *desc = efp_nut_ups_description (u);
      g_autofree gchar *quoted = efp_nut_quote (desc);
      client_sendf (c, "UPS %s %s", u->name, quoted);
    }
  client_send (c, "END LIST UPS");
}

static void
cmd_list (Client *c, gchar **argv, guint argc)
{
  const gchar *sub = argc >= 2 ? argv[1] : "";
  EfpNutUps *u;
  guint i;

  if (g_ascii_strcasecmp (sub, "UPS") == 0 && argc == 2)
    {
      list_ups (c);
      return;
    }
  if ((g_ascii_strcasecmp (sub, "VAR") == 0 || g_ascii_strcasecmp (sub, "RW") == 0 ||
       g_ascii_strcasecmp (sub, "CMD") == 0 || g_ascii_strcasecmp (sub, "CLIENT") == 0) &&
      argc == 3)
    {
      if ((u = need_ups (c, argv[2])) == NULL)
        return;
      if (g_ascii_strcasecmp (sub, "VAR") == 0 && u->stale)
        {
          client_send (c, "ERR DATA-STALE");
          return;
        }
      client_sendf (c, "BEGIN LIST %s %s", sub, argv[2]);
      if (g_ascii_strcasecmp (sub, "VAR") == 0)
        {
          const gchar *const *names = efp_nut_var_names ();
          for (i = 0; names[i] != NULL; i++)
            {
              g_autofree gchar *value = efp_nut_ups_var (u, names[i]);
              g_autofree gchar *quoted = NULL;
              if (value == NULL)
                continue;
              quoted = efp_nut_quote (value);
              client_sendf (c, "VAR %s %s %s", argv[2], names[i], quoted);
            }
        }
      else if (g_ascii_strcasecmp (sub, "CLIENT") == 0)
        {
          EfpNutServer *self = c->server;
          for (i = 0; i < self->clients->len; i++)
            {
              Client *other = g_ptr_array_index (self->clients, i);
              if (g_strcmp0 (other->login, u->name) == 0)
                client_sendf (c, "CLIENT %s %s", argv[2], other->peer);
            }
        }
      /* RW and CMD: nothing is writable and there are no instant commands */
      client_sendf (c, "END LIST %s %s", sub, argv[2]);
      return;
    }
  if ((g_ascii_strcasecmp (sub, "ENUM") == 0 || g_ascii_strcasecmp (sub, "RANGE") == 0) &&
      argc == 4)
    {
      g_autofree gchar *value = NULL;

      if ((u = need_ups (c, argv[2])) == NULL)
        return;
      value = efp_nut_ups_var (u, argv[3]);
      if (value == NULL)
        {
          client_send (c, "ERR VAR-NOT-SUPPORTED");
          return;
        }
      client_sendf (c, "BEGIN LIST %s %s %s", sub, argv[2], argv[3]);
      client_sendf (c, "END LIST %s %s %s", sub, argv[2], argv[3]);
      return;
    }
  client_send (c, "ERR INVALID-ARGUMENT");
}

static void
cmd_login (Client *c, gchar **argv, guint argc)
{
  g_autofree gchar *user = NULL;
  EfpNutUps *u;

  if (argc != 2)
    {
      client_send (c, "ERR INVALID-ARGUMENT");
      return;
    }
  if (!check_auth (c, EFP_NUT_ACTION_LOGIN, "LOGIN"))
    return;
  if (c->login != NULL)
    {
      client_send (c, "ERR ALREADY-LOGGED-IN");
      return;
    }
  if ((u = need_ups (c, argv[1])) == NULL)
    return;
  c->login = g_strdup (u->name);
  user = printable_user (c);
  g_message ("NUT: client %s logged in to UPS %s as user '%s' (%u logged in)", c->peer, u->name,
             user, count_logins (c->server, u));
  client_send (c, "OK");
}

static void
cmd_primary (Client *c, gchar **argv, guint argc, gboolean old_name)
{
  if (argc != 2)
    {
      client_send (c, "ERR INVALID-ARGUMENT");
      return;
    }
  if (!check_auth (c, EFP_NUT_ACTION_PRIMARY, old_name ? "MASTER" : "PRIMARY"))
    return;
  if (need_ups (c, argv[1]) == NULL)
    return;
  client_send (c, old_name ? "OK MASTER-GRANTED" : "OK PRIMARY-GRANTED");
}

static void
cmd_fsd (Client *c, gchar **argv, guint argc)
{
  g_autofree gchar *user = NULL;
  EfpNutUps *u;

  if (argc != 2)
    {
      client_send (c, "ERR INVALID-ARGUMENT");
      return;
    }
  if (!check_auth (c, EFP_NUT_ACTION_FSD, "FSD"))
    return;
  if ((u = need_ups (c, argv[1])) == NULL)
    return;
  user = printable_user (c);
  g_message ("NUT: FSD set on UPS %s by user '%s' from %s: its clients shut down now", u->name,
             user, c->peer);
  efp_nut_ups_set_fsd (u, g_get_monotonic_time ());
  client_send (c, "OK FSD-SET");
}

static void
cmd_set (Client *c, gchar **argv, guint argc)
{
  g_autofree gchar *value = NULL;
  EfpNutUps *u;

  if (argc != 5 || g_ascii_strcasecmp (argv[1], "VAR") != 0)
    {
      client_send (c, "ERR INVALID-ARGUMENT");
      return;
    }
  if (!check_auth (c, EFP_NUT_ACTION_SET, "SET"))
    return;
  if ((u = need_ups (c, argv[2])) == NULL)
    return;
  value = efp_nut_ups_var (u, argv[3]);
  client_send (c, value != NULL ? "ERR READONLY" : "ERR VAR-NOT-SUPPORTED");
}

static void
cmd_instcmd (Client *c, gchar **argv, guint argc)
{
  if (argc != 3 && argc != 4)
    {
      client_send (c, "ERR INVALID-ARGUMENT");
      return;
    }
  if (!check_auth (c, EFP_NUT_ACTION_INSTCMD, "INSTCMD"))
    return;
  if (need_ups (c, argv[1]) != NULL)
    client_send (c, "ERR CMD-NOT-SUPPORTED");
}

static void
cmd_credential (Client *c, gchar **argv, guint argc, gchar **slot, const gchar *already)
{
  if (argc != 2)
    {
      client_send (c, "ERR INVALID-ARGUMENT");
      return;
    }
  if (*slot != NULL)
    {
      client_send (c, already);
      return;
    }
  *slot = g_strdup (argv[1]);
  client_send (c, "OK");
}

#define IS(word, name) (g_ascii_strcasecmp ((word), (name)) == 0)

static void
client_handle_line (Client *c, const gchar *line, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) argv = NULL;
  const gchar *cmd;
  guint argc;

  client_arm_idle (c);
  argv = efp_nut_split (line, len, EFP_NUT_SPLIT_NONE, &error);
  if (argv == NULL)
    {
      g_debug ("NUT: client %s: unparsable line: %s", c->peer, error->message);
      client_send (c, "ERR INVALID-ARGUMENT");
      return;
    }
  argc = g_strv_length (argv);
  if (argc == 0)
    return;
  cmd = argv[0];
  if (IS (cmd, "GET"))
    cmd_get (c, argv, argc);
  else if (IS (cmd, "LIST"))
    cmd_list (c, argv, argc);
  else if (IS (cmd, "VER"))
    client_send (c, "ecoflow-powerd " PACKAGE_VERSION " (NUT network protocol 1.3)");
  else if (IS (cmd, "NETVER") || IS (cmd, "PROTVER"))
    client_send (c, "1.3");
  else if (IS (cmd, "HELP"))
    client_send (c, "Commands: HELP VER NETVER PROTVER GET LIST SET INSTCMD LOGIN LOGOUT "
                    "USERNAME PASSWORD PRIMARY MASTER FSD STARTTLS");
  else if (IS (cmd, "STARTTLS"))
    client_send (c, "ERR FEATURE-NOT-CONFIGURED");
  else if (IS (cmd, "USERNAME"))
    cmd_credential (c, argv, argc, &c->username, "ERR ALREADY-SET-USERNAME");
  else if (IS (cmd, "PASSWORD"))
    cmd_credential (c, argv, argc, &c->password, "ERR ALREADY-SET-PASSWORD");
  else if (IS (cmd, "LOGIN"))
    cmd_login (c, argv, argc);
  else if (IS (cmd, "PRIMARY"))
    cmd_primary (c, argv, argc, FALSE);
  else if (IS (cmd, "MASTER"))
    cmd_primary (c, argv, argc, TRUE);
  else if (IS (cmd, "FSD"))
    cmd_fsd (c, argv, argc);
  else if (IS (cmd, "SET"))
    cmd_set (c, argv, argc);
  else if (IS (cmd, "INSTCMD"))
    cmd_instcmd (c, argv, argc);
  else if (IS (cmd, "LOGOUT"))
    {
      client_send (c, "OK Goodbye");
      c->closing = TRUE;
      client_flush (c);
    }
  else
    client_send (c, "ERR UNKNOWN-COMMAND");
}

/* ---- clients: input ------------------------------------------------------------------ */

static void
client_feed (Client *c, const guint8 *data, gsize len)
{
  gsize i = 0;

  while (i < len && c->server != NULL && !c->closing)
    {
      const guint8 *nl = memchr (data + i, '\n', len - i);
      gsize end = nl != NULL ? (gsize) (nl - data) : len;
      gsize chunk = end - i;

      if (!c->discarding)
        {
          if (c->line->len + chunk > EFP_NUT_MAX_LINE)
            {
              /* answer once, then drop the rest of this line wherever it ends */
              client_send (c, "ERR INVALID-ARGUMENT");
              c->discarding = TRUE;
              g_byte_array_set_size (c->line, 0);
            }
          else
            g_byte_array_append (c->line, data + i, chunk);
        }
      i = end;
      if (nl == NULL)
        break;
      i++; /* the newline */
      if (c->discarding)
        c->discarding = FALSE;
      else if (c->server != NULL)
        client_handle_line (c, (const gchar *) c->line->data, c->line->len);
      g_byte_array_set_size (c->line, 0);
    }
}

static void client_read (Client *c);

static void
on_read (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Client *c = user_data;
  g_autoptr (GError) error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (src), res, &error);
  if (c->server != NULL)
    {
      if (n <= 0)
        {
          if (n < 0)
            g_debug ("NUT: client %s: read failed: %s", c->peer, error->message);
          client_close (c);
        }
      else
        {
          client_feed (c, c->buf, (gsize) n);
          if (c->server != NULL && !c->closing)
            client_read (c);
        }
    }
  client_unref (c);
}

static void
client_read (Client *c)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (c->conn));

  g_input_stream_read_async (in, c->buf, sizeof (c->buf), G_PRIORITY_DEFAULT, c->cancellable,
                             on_read, client_ref (c));
}

static gchar *
peer_string (GSocketConnection *conn)
{
  g_autoptr (GSocketAddress) addr = g_socket_connection_get_remote_address (conn, NULL);

  if (addr != NULL && G_IS_INET_SOCKET_ADDRESS (addr))
    return g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr)));
  return g_strdup ("unknown");
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *conn, GObject *source, gpointer user_data)
{
  EfpNutServer *self = user_data;
  Client *c;

  if (self->clients->len >= self->max_clients)
    {
      if (!self->limit_logged)
        {
          g_autofree gchar *peer = peer_string (conn);
          g_message ("NUT: refusing connection from %s: %u clients connected (the limit)", peer,
                     self->clients->len);
        }
      self->limit_logged = TRUE;
      g_socket_close (g_socket_connection_get_socket (conn), NULL);
      return TRUE;
    }
  c = g_new0 (Client, 1);
  c->ref = 1;
  c->server = self;
  c->conn = g_object_ref (conn);
  c->cancellable = g_cancellable_new ();
  c->peer = peer_string (conn);
  c->line = g_byte_array_new ();
  c->out = g_string_new (NULL);
  g_ptr_array_add (self->clients, c);
  g_debug ("NUT: client %s connected", c->peer);
  client_arm_idle (c);
  client_read (c);
  return TRUE;
}

/* ---- public API ---------------------------------------------------------------------- */

EfpNutServer *
efp_nut_server_new (const EfpNutConfig *config, GError **error)
{
  g_autoptr (EfpNutServer) self = g_new0 (EfpNutServer, 1);

  self->listen = g_strdup (config->listen != NULL ? config->listen : "127.0.0.1");
  self->port = config->port;
  self->ups =
    g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) efp_nut_ups_free);
  self->warned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->clients = g_ptr_array_new_with_free_func ((GDestroyNotify) client_unref);
  self->max_clients = DEFAULT_MAX_CLIENTS;
  self->idle_timeout_sec = DEFAULT_IDLE_TIMEOUT_SEC;
  self->fsd_hold_sec = DEFAULT_FSD_HOLD_SEC;
  if (config->users_file != NULL && config->users_file[0] != '\0')
    {
      self->users = efp_nut_users_load (config->users_file, error);
      if (self->users == NULL)
        return NULL;
    }
  return g_steal_pointer (&self);
}

void
efp_nut_server_set_limits (EfpNutServer *self, guint max_clients, guint idle_timeout_sec,
                           guint fsd_hold_sec)
{
  self->max_clients = MAX (max_clients, 1);
  self->idle_timeout_sec = MAX (idle_timeout_sec, 1);
  self->fsd_hold_sec = fsd_hold_sec;
}

guint16
efp_nut_server_get_port (EfpNutServer *self)
{
  return self->bound_port;
}

static gboolean
listen_on (EfpNutServer *self, GSocketListener *listener, GInetAddress *addr, guint16 *port,
           GError **error)
{
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (addr, *port);
  g_autoptr (GSocketAddress) effective = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree gchar *text = g_inet_address_to_string (addr);

  if (!g_socket_listener_add_address (listener, sa, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, &local))
    {
      g_set_error (error, G_IO_ERROR, local->code,
                   "[nut] listen=%s port=%u: cannot listen on %s: %s", self->listen, self->port,
                   text, local->message);
      return FALSE;
    }
  /* with port 0 every further address takes the port the first one got */
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  return TRUE;
}

gboolean
efp_nut_server_start (EfpNutServer *self, GError **error)
{
  g_autoptr (GSocketService) service = NULL;
  GSocketListener *listener;
  guint16 port = self->port;

  g_return_val_if_fail (self->service == NULL, FALSE);
  service = g_socket_service_new ();
  listener = G_SOCKET_LISTENER (service);
  if (g_strcmp0 (self->listen, "*") == 0 || self->listen[0] == '\0')
    {
      g_autoptr (GError) local = NULL;

      if (port == 0)
        port = g_socket_listener_add_any_inet_port (listener, NULL, &local);
      else if (!g_socket_listener_add_inet_port (listener, port, NULL, &local))
        port = 0;
      if (port == 0)
        {
          g_set_error (error, G_IO_ERROR, local->code, "[nut] listen=%s port=%u: cannot listen: %s",
                       self->listen, self->port, local->message);
          return FALSE;
        }
    }
  else
    {
      g_autoptr (GInetAddress) literal = g_inet_address_new_from_string (self->listen);

      if (literal != NULL)
        {
          if (!listen_on (self, listener, literal, &port, error))
            return FALSE;
        }
      else
        {
          /* a host name: resolved once, at start-up */
          g_autoptr (GResolver) resolver = g_resolver_get_default ();
          g_autoptr (GError) local = NULL;
          GList *addrs = g_resolver_lookup_by_name (resolver, self->listen, NULL, &local);
          GList *l;
          gboolean ok = TRUE;

          if (addrs == NULL)
            {
              g_set_error (error, G_IO_ERROR, local->code,
                           "[nut] listen=%s: expected an address or a host name that resolves: %s",
                           self->listen, local->message);
              return FALSE;
            }
          for (l = addrs; l != NULL && ok; l = l->next)
            ok = listen_on (self, listener, l->data, &port, error);
          g_resolver_free_addresses (addrs);
          if (!ok)
            return FALSE;
        }
    }
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), self);
  g_socket_service_start (service);
  self->service = g_steal_pointer (&service);
  self->bound_port = port;
  g_message ("NUT: serving the NUT network protocol on %s port %u (%s)", self->listen, port,
             self->users != NULL ? "users-file loaded" : "no users-file: logins refused");
  return TRUE;
}

void
efp_nut_server_stop (EfpNutServer *self)
{
  if (self->service != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->service, self);
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
  while (self->clients->len > 0)
    client_close (g_ptr_array_index (self->clients, self->clients->len - 1));
  self->bound_port = 0;
}

void
efp_nut_server_free (EfpNutServer *self)
{
  if (self == NULL)
    return;
  efp_nut_server_stop (self);
  g_ptr_array_unref (self->clients);
  g_hash_table_unref (self->ups);
  g_hash_table_unref (self->warned);
  efp_nut_users_free (self->users);
  g_free (self->listen);
  g_free (self);
}

void
efp_nut_server_update_ups (EfpNutServer *self, const EfpReading *reading,
                           const EfpReadingMeta *meta, gboolean fsd, gdouble charge_low)
{
  g_autofree gchar *name = NULL;
  EfpNutUps *u;

  g_return_if_fail (self != NULL && reading != NULL && meta != NULL && meta->device != NULL);
  name = efp_nut_ups_name (meta->device);
  if (name[0] == '\0')
    return;
  u = g_hash_table_lookup (self->ups, name);
  if (u == NULL)
    {
      u = efp_nut_ups_new (meta->device);
      g_hash_table_insert (self->ups, u->name, u);
      g_info ("NUT: serving %s as UPS %s", u->device, u->name);
    }
  else if (strcmp (u->device, meta->device) != 0)
    {
      if (g_hash_table_add (self->warned, g_strdup (meta->device)))
        g_warning ("NUT: '%s' would be UPS %s, which already serves '%s': not served; rename one",
                   meta->device, u->name, u->device);
      return;
    }
  switch (efp_nut_ups_update (u, reading, meta, fsd, charge_low, g_get_monotonic_time (),
                              (gint64) self->fsd_hold_sec * G_USEC_PER_SEC))
    {
      case EFP_NUT_UPS_FSD_SET:
        g_message ("NUT: FSD set on UPS %s: a policy triggered a shutdown", u->name);
        break;
      case EFP_NUT_UPS_FSD_CLEARED:
        g_message ("NUT: FSD cleared on UPS %s: on line again", u->name);
        break;
      case EFP_NUT_UPS_FSD_UNCHANGED:
      default:
        break;
    }
}

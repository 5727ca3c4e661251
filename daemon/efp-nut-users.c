/* efp-nut-users.c: read NUT's upsd.users(5) format and answer "may this user do that". */
#include "efp-nut-users.h"

#include <string.h>
#include "efp-nut-protocol.h"
#include "efp-plugin-util.h"

/* a users file is a handful of lines; anything bigger is not one */
#define MAX_FILE_SIZE (1024 * 1024)

typedef enum
{
  ROLE_NONE,
  ROLE_SECONDARY,
  ROLE_PRIMARY,
} Role;

typedef struct
{
  gchar *name;
  gchar *password; /* NULL until a password line */
  Role role;
  gboolean may_set;
  gboolean may_fsd;
  gboolean has_instcmds;
  guint line;
} User;

struct _EfpNutUsers
{
  GPtrArray *users; /* User* */
};

static void
user_free (User *u)
{
  if (u->password != NULL)
    memset (u->password, 0, strlen (u->password));
  g_free (u->password);
  g_free (u->name);
  g_free (u);
}

void
efp_nut_users_free (EfpNutUsers *users)
{
  if (users == NULL)
    return;
  g_ptr_array_unref (users->users);
  g_free (users);
}

guint
efp_nut_users_count (const EfpNutUsers *users)
{
  return users != NULL ? users->users->len : 0;
}

static User *
find_user (const EfpNutUsers *users, const gchar *name)
{
  guint i;

  for (i = 0; i < users->users->len; i++)
    {
      User *u = g_ptr_array_index (users->users, i);
      if (g_strcmp0 (u->name, name) == 0)
        return u;
    }
  return NULL;
}

typedef struct
{
  const gchar *file;
  guint line;
  EfpNutUsers *users;
  User *current;
} Parser;

static gboolean G_GNUC_PRINTF (3, 4) fail (Parser *p, GError **error, const gchar *fmt, ...)
{
  g_autofree gchar *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID, "%s:%u: %s", p->file, p->line,
               msg);
  return FALSE;
}

static gboolean
finish_user (Parser *p, GError **error)
{
  User *u = p->current;

  if (u != NULL && u->password == NULL)
    {
      p->line = u->line;
      return fail (p, error, "[%s]: expected a 'password = ...' line, found none", u->name);
    }
  return TRUE;
}

static gboolean
parse_section (Parser *p, gchar **words, GError **error)
{
  const gchar *w = words[0];
  gsize len = strlen (w);
  User *other;
  User *u;

  if (words[1] != NULL || len < 3 || w[len - 1] != ']')
    return fail (p, error, "expected a section header [username]");
  if (!finish_user (p, error))
    return FALSE;
  u = g_new0 (User, 1);
  u->name = g_strndup (w + 1, len - 2);
  u->line = p->line;
  other = find_user (p->users, u->name);
  if (other != NULL)
    {
      guint first = other->line;
      g_autofree gchar *name = g_strdup (u->name);
      user_free (u);
      return fail (p, error, "[%s]: user defined twice (first at line %u)", name, first);
    }
  g_ptr_array_add (p->users->users, u);
  p->current = u;
  return TRUE;
}

static gboolean
parse_setting (Parser *p, gchar **words, GError **error)
{
  User *u = p->current;
  g_autofree gchar *key = NULL;
  g_autoptr (GPtrArray) values = g_ptr_array_new ();
  const gchar *eq;
  guint i;

  /* "key = value...", "key=value..." and NUT's own "upsmon primary" */
  if (words[1] != NULL && g_strcmp0 (words[1], "=") == 0)
    {
      key = g_strdup (words[0]);
      for (i = 2; words[i] != NULL; i++)
        g_ptr_array_add (values, words[i]);
    }
  else if ((eq = strchr (words[0], '=')) != NULL)
    {
      key = g_strndup (words[0], eq - words[0]);
      if (eq[1] != '\0')
        g_ptr_array_add (values, (gpointer) (eq + 1));
      for (i = 1; words[i] != NULL; i++)
        g_ptr_array_add (values, words[i]);
    }
  else
    {
      key = g_strdup (words[0]);
      for (i = 1; words[i] != NULL; i++)
        g_ptr_array_add (values, words[i]);
    }

  if (g_ascii_strcasecmp (key, "password") == 0)
    {
      /* never quote what was found: it is a password */
      if (values->len != 1)
        return fail (p, error, "[%s] password: expected 'password = VALUE' with one value",
                     u->name);
      if (u->password != NULL)
        return fail (p, error, "[%s] password: set twice", u->name);
      u->password = g_strdup (g_ptr_array_index (values, 0));
      return TRUE;
    }
  if (g_ascii_strcasecmp (key, "upsmon") == 0)
    {
      const gchar *v = values->len == 1 ? g_ptr_array_index (values, 0) : NULL;

      if (v != NULL &&
          (g_ascii_strcasecmp (v, "primary") == 0 || g_ascii_strcasecmp (v, "master") == 0))
        u->role = ROLE_PRIMARY;
      else if (v != NULL &&
               (g_ascii_strcasecmp (v, "secondary") == 0 || g_ascii_strcasecmp (v, "slave") == 0))
        u->role = ROLE_SECONDARY;
      else
        return fail (p, error,
                     "[%s] upsmon: expected primary, secondary, master or slave, found '%s'",
                     u->name, v != NULL ? v : (values->len == 0 ? "" : "several words"));
      return TRUE;
    }
  if (g_ascii_strcasecmp (key, "actions") == 0)
    {
      if (values->len == 0)
        return fail (p, error, "[%s] actions: expected SET or FSD, found nothing", u->name);
      for (i = 0; i < values->len; i++)
        {
          const gchar *v = g_ptr_array_index (values, i);
          if (g_ascii_strcasecmp (v, "SET") == 0)
            u->may_set = TRUE;
          else if (g_ascii_strcasecmp (v, "FSD") == 0)
            u->may_fsd = TRUE;
          else
            return fail (p, error, "[%s] actions: expected SET or FSD, found '%s'", u->name, v);
        }
      return TRUE;
    }
  if (g_ascii_strcasecmp (key, "instcmds") == 0)
    {
      if (values->len == 0)
        return fail (p, error, "[%s] instcmds: expected a command name or ALL, found nothing",
                     u->name);
      u->has_instcmds = TRUE;
      return TRUE;
    }
  /* a lone word might be a stray password: only name what looks like a key */
  if (words[1] != NULL)
    return fail (p, error,
                 "[%s]: unknown setting '%s' (expected password, upsmon, actions or instcmds)",
                 u->name, key);
  return fail (p, error,
               "[%s]: expected a setting (password, upsmon, actions or instcmds), found a "
               "single word",
               u->name);
}

EfpNutUsers *
efp_nut_users_parse (const gchar *text, gsize len, const gchar *filename, GError **error)
{
  g_autoptr (EfpNutUsers) users = g_new0 (EfpNutUsers, 1);
  Parser p = { filename, 0, NULL, NULL };
  gsize start = 0;

  users->users = g_ptr_array_new_with_free_func ((GDestroyNotify) user_free);
  p.users = users;
  while (start < len)
    {
      const gchar *nl = memchr (text + start, '\n', len - start);
      gsize end = nl != NULL ? (gsize) (nl - text) : len;
      g_autoptr (GError) local = NULL;
      g_auto (GStrv) words = NULL;

      p.line++;
      words = efp_nut_split (text + start, end - start, EFP_NUT_SPLIT_COMMENTS, &local);
      start = end + 1;
      if (words == NULL)
        {
          fail (&p, error, "%s", local->message);
          return NULL;
        }
      if (words[0] == NULL)
        continue;
      if (words[0][0] == '[')
        {
          if (!parse_section (&p, words, error))
            return NULL;
          continue;
        }
      if (p.current == NULL)
        {
          fail (&p, error, "expected a [username] section before any setting");
          return NULL;
        }
      if (!parse_setting (&p, words, error))
        return NULL;
    }
  if (!finish_user (&p, error))
    return NULL;
  return g_steal_pointer (&users);
}

EfpNutUsers *
efp_nut_users_load (const gchar *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree gchar *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, &local))
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_IO, "%s: cannot read: %s", path,
                   local->message);
      return NULL;
    }
  if (len > MAX_FILE_SIZE)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "%s: expected a upsd.users file of at most %d bytes, found %" G_GSIZE_FORMAT,
                   path, MAX_FILE_SIZE, len);
      return NULL;
    }
  return efp_nut_users_parse (text, len, path, error);
}

/* compare without leaking the length of the matching prefix through timing */
static gboolean
secret_equal (const gchar *a, const gchar *b)
{
  gsize la = strlen (a);
  gsize lb = strlen (b);
  guint diff = la != lb;
  gsize i;

  for (i = 0; i < lb; i++)
    diff |= (guchar) b[i] ^ (guchar) a[la != 0 ? i % la : 0];
  return diff == 0;
}

gboolean
efp_nut_users_check (const EfpNutUsers *users, const gchar *username, const gchar *password,
                     EfpNutAction action)
{
  User *u;

  if (users == NULL || username == NULL || password == NULL)
    return FALSE;
  u = find_user (users, username);
  if (u == NULL || u->password == NULL || !secret_equal (password, u->password))
    return FALSE;
  switch (action)
    {
      case EFP_NUT_ACTION_LOGIN:
        return u->role != ROLE_NONE;
      case EFP_NUT_ACTION_PRIMARY:
        return u->role == ROLE_PRIMARY;
      case EFP_NUT_ACTION_FSD:
        return u->role == ROLE_PRIMARY || u->may_fsd;
      case EFP_NUT_ACTION_SET:
        return u->may_set;
      case EFP_NUT_ACTION_INSTCMD:
        return u->has_instcmds;
      default:
        return FALSE;
    }
}

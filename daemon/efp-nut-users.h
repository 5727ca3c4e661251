/* efp-nut-users.h: NUT's upsd.users(5) file, read so an existing file works unchanged.
 *
 *   [monuser]
 *     password = secret
 *     upsmon secondary        # or primary; the old names slave and master work too
 *     actions = SET FSD       # or one actions line per action
 *     instcmds = ALL
 *
 * Errors (EFP_CONFIG_ERROR) are one line, "FILE:LINE: what was expected", and
 * never contain a password.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _EfpNutUsers EfpNutUsers;

typedef enum
{
  EFP_NUT_ACTION_LOGIN,   /* upsmon secondary or primary */
  EFP_NUT_ACTION_PRIMARY, /* upsmon primary (PRIMARY / MASTER) */
  EFP_NUT_ACTION_FSD,     /* upsmon primary or actions = FSD */
  EFP_NUT_ACTION_SET,     /* actions = SET */
  EFP_NUT_ACTION_INSTCMD, /* any instcmds line */
} EfpNutAction;

EfpNutUsers *efp_nut_users_load (const gchar *path, GError **error);
/* @filename names the source in messages. */
EfpNutUsers *efp_nut_users_parse (const gchar *text, gsize len, const gchar *filename,
                                  GError **error);
void efp_nut_users_free (EfpNutUsers *users);
guint efp_nut_users_count (const EfpNutUsers *users);

/* TRUE when @username exists, @password is its password and the user may do
 * @action. NULL @users (no users file) refuses everything. */
gboolean efp_nut_users_check (const EfpNutUsers *users, const gchar *username,
                              const gchar *password, EfpNutAction action);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpNutUsers, efp_nut_users_free)

G_END_DECLS

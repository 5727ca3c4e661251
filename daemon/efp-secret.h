/* efp-secret.h: secrets from files or systemd credentials (CONTRACT 3.1). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Read the secret in @path: UTF-8 text, one trailing LF or CRLF removed.
 * A relative @path is looked up in $CREDENTIALS_DIRECTORY first.
 * The result is a NUL-terminated string; *len (may be NULL) gets its length. */
gchar *efp_secret_read_file (const gchar *path, gsize *len, GError **error);
/* The systemd credential @name, or NULL when there is none. */
gchar *efp_secret_read_credential (const gchar *name, gsize *len);

G_END_DECLS

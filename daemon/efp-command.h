/* efp-command.h: the agent command of CONTRACT 4.3: JSON form and HMAC signature. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The ack detail of an agent refusing a command id it has already handled. Every agent
 * sends it (the sh and PowerShell ones spell it out), and the daemon recognises a repeat
 * delivery by it. */
#define EFP_COMMAND_REPLAYED_DETAIL "replayed command id: already handled"

typedef struct
{
  gchar *id;
  gchar *action; /* shutdown | abort | test */
  gint64 delay_sec;
  gchar *reason;
  gint64 ttl_sec;
  gint64 issued_at; /* unix seconds */
  gchar *device;    /* may be NULL */
  gchar *policy;    /* may be NULL */
  gint64 stage;
  gboolean dry_run;
  gchar *sig; /* lowercase hex, NULL when unsigned */
} EfpCommand;

EfpCommand *efp_command_new (const gchar *action, gint64 delay_sec, const gchar *reason,
                             gint64 ttl_sec, gint64 issued_at);
void efp_command_free (EfpCommand *cmd);
EfpCommand *efp_command_copy (const EfpCommand *cmd);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpCommand, efp_command_free)

/* The exact text that is signed: "v1\n<agent>\n<id>\n<action>\n<issued_at>\n<delay>\n<ttl>". */
gchar *efp_command_signing_text (const EfpCommand *cmd, const gchar *agent);
/* Lowercase hex HMAC-SHA256 of the signing text with @key (raw bytes). */
gchar *efp_command_compute_sig (const EfpCommand *cmd, const gchar *agent, const guint8 *key,
                                gsize key_len);
/* Set cmd->sig for @agent (or clear it when @key is NULL). */
void efp_command_sign (EfpCommand *cmd, const gchar *agent, const guint8 *key, gsize key_len);
/* One line of compact JSON, keys in CONTRACT order. */
gchar *efp_command_to_json (const EfpCommand *cmd);
EfpCommand *efp_command_from_json (const gchar *data, gssize len, GError **error);

#define EFP_COMMAND_CLOCK_SKEW_SEC 30

/* Check signature (constant time) and age against @now (unix seconds). */
gboolean efp_command_verify (const EfpCommand *cmd, const gchar *agent, const guint8 *key,
                             gsize key_len, gint64 now, GError **error);

G_END_DECLS

/* efp-agent-config.h: the Linux agent's key file (CONTRACT 4.7). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define EFP_AGENT_DEFAULT_CONFIG         EFP_SYSCONFDIR "/agent.conf"
#define EFP_AGENT_DEFAULT_STATE_FILE     "/var/lib/ecoflow-power-agent/seen.json"
#define EFP_AGENT_DEFAULT_HOOKS_DIR      EFP_SYSCONFDIR "/agent.d"
#define EFP_AGENT_DEFAULT_COMMAND_PREFIX "power-manager"

typedef enum
{
  EFP_AGENT_METHOD_LOGIND,
  EFP_AGENT_METHOD_COMMAND,
} EfpAgentMethod;

typedef struct
{
  gchar *path; /* the file it came from */

  /* [agent] */
  gchar *id;
  gchar *key_file;
  guint8 *key; /* secret: HMAC key bytes, NULL without key-file */
  gsize key_len;
  gchar *state_file;

  /* [mqtt] */
  gchar *host;
  guint16 port;
  gchar *username;
  gchar *password_file;
  gchar *password; /* secret */
  gboolean tls;
  gchar *ca_file;
  gchar *command_prefix;

  /* [shutdown] */
  EfpAgentMethod method;
  gchar *command;
  gchar *abort_command;
  gchar *hooks_dir;
  guint hook_timeout_sec;
} EfpAgentConfig;

/* Errors are EFP_CONFIG_ERROR, one line: "FILE: [group] key: expected X, found 'Y'". */
EfpAgentConfig *efp_agent_config_load (const gchar *path, GError **error);
void efp_agent_config_free (EfpAgentConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpAgentConfig, efp_agent_config_free)

/* "<prefix>/<id>/<leaf>" */
gchar *efp_agent_config_topic (const EfpAgentConfig *config, const gchar *leaf);

G_END_DECLS

/* efp-agent.h: the Linux host agent (CONTRACT 4.3, 4.4, 4.7).
 *
 * Listens on <prefix>/<id>/cmd with a persistent session, verifies each
 * command (signature, age, replay), acks on <prefix>/<id>/ack and runs the
 * action. Keeps a retained {"state":"online"} on <prefix>/<id>/status, with a
 * retained {"state":"offline"} will.
 */
#pragma once

#include <gio/gio.h>

#include "efp-agent-config.h"

G_BEGIN_DECLS

#define EFP_TYPE_AGENT (efp_agent_get_type ())
G_DECLARE_FINAL_TYPE (EfpAgent, efp_agent, EFP, AGENT, GObject)

/* Takes @config. @dry_run: log and ack every command, never act. Errors are
 * configuration errors (exit 78), e.g. an unwritable state-file. */
EfpAgent *efp_agent_new (EfpAgentConfig *config, gboolean dry_run, GError **error);
void efp_agent_start (EfpAgent *self);
/* Publish {"state":"offline"} and disconnect cleanly. */
void efp_agent_stop (EfpAgent *self);

G_END_DECLS

/* efp-dispatcher.h: commands to agents: signing, stages, acks, one resend.
 *
 * One issuance (one command id) goes to a set of agents in stage order:
 * stage N+1 is told once every agent of stage N acknowledged, went offline,
 * or its stage-timeout-sec passed. A command not acknowledged within 30 s is
 * resent once, unchanged (same id, issued_at and sig), then reported.
 */
#pragma once

#include <glib.h>
#include "efp-command.h"
#include "efp-config.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *id;
  gboolean online;
  gboolean seen; /* a status message arrived at least once */
  gint64 last_seen_us;
  gchar *last_command_id;
  gchar *last_result;
  gchar *host;
  gchar *version;
} EfpAgentInfo;

typedef struct
{
  /* QoS 1, not retained; TRUE when it went out now (FALSE: queued for later) */
  gboolean (*publish) (gpointer user_data, const gchar *topic, const gchar *payload);
  /* an agent's status or last result changed */
  void (*agent_changed) (gpointer user_data, const EfpAgentInfo *agent);
  /* @payload is about to go to @agent: called BEFORE publishing, so a crash in
   * between leaves a record to replay (the same id: agents drop a replay) */
  void (*command_sent) (gpointer user_data, const gchar *agent, const gchar *id,
                        const gchar *action, const gchar *policy, const gchar *device,
                        gint64 issued_at, const gchar *payload);
  /* ...and it went out (may be NULL) */
  void (*command_published) (gpointer user_data, const gchar *agent, const gchar *id);
  /* @agent came back online (offline before) and @told is the latest shutdown it was
   * sent, with no abort since: the owner decides whether to tell it again (may be NULL) */
  void (*agent_returned) (gpointer user_data, const gchar *agent, const EfpCommand *told);
} EfpDispatcherCallbacks;

typedef struct _EfpDispatcher EfpDispatcher;

EfpDispatcher *efp_dispatcher_new (const EfpDispatcherCallbacks *callbacks, gpointer user_data);
void efp_dispatcher_free (EfpDispatcher *self);
/* (Re)bind to a configuration: agent keys, stages, prefixes. */
void efp_dispatcher_set_config (EfpDispatcher *self, const EfpConfig *config);
/* Test hook: how long to wait for an ack before the one resend (default 30 s). */
void efp_dispatcher_set_ack_timeout (EfpDispatcher *self, guint msec);

/* Start an issuance; returns its command id. @agents may repeat; order does not matter. */
gchar *efp_dispatcher_send (EfpDispatcher *self, const gchar *action, const gchar *const *agents,
                            gint64 delay_sec, const gchar *reason, const gchar *policy,
                            const gchar *device, gboolean dry_run);
/* Handle `<prefix>/<agent>/status` and `<prefix>/<agent>/ack` payloads. */
void efp_dispatcher_handle_status (EfpDispatcher *self, const gchar *agent, const gchar *payload,
                                   gsize len);
void efp_dispatcher_handle_ack (EfpDispatcher *self, const gchar *agent, const gchar *payload,
                                gsize len);

EfpAgentInfo *efp_dispatcher_get_agent (EfpDispatcher *self, const gchar *id);
/* (element-type EfpAgentInfo*) */
GList *efp_dispatcher_list_agents (EfpDispatcher *self);

G_END_DECLS

/* efp-agent-seen.h: command ids already handled, kept across restarts (replay memory).
 *
 * The file is JSON, {"version":1,"seen":{"<id>":{"issued_at":N,"ttl_sec":N},...}}, written
 * atomically (mode 0600). An entry is dropped once its command has expired
 * (issued_at + ttl_sec + EFP_COMMAND_CLOCK_SKEW_SEC): from then on the age check refuses
 * a replay on its own.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _EfpAgentSeen EfpAgentSeen;

EfpAgentSeen *efp_agent_seen_new (const gchar *path);
void efp_agent_seen_free (EfpAgentSeen *seen);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpAgentSeen, efp_agent_seen_free)

/* Read the file; a missing file is an empty memory. */
gboolean efp_agent_seen_load (EfpAgentSeen *seen, GError **error);
/* Prune expired entries at @now and write the file atomically. */
gboolean efp_agent_seen_save (EfpAgentSeen *seen, gint64 now, GError **error);
gboolean efp_agent_seen_contains (EfpAgentSeen *seen, const gchar *id);
/* Remember @id; saves (errors are returned, the id is remembered in memory anyway). */
gboolean efp_agent_seen_add (EfpAgentSeen *seen, const gchar *id, gint64 issued_at, gint64 ttl_sec,
                             gint64 now, GError **error);
guint efp_agent_seen_size (EfpAgentSeen *seen);

G_END_DECLS

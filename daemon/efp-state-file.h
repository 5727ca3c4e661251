/* efp-state-file.h: what must survive a restart (CONTRACT 7), written atomically.
 *
 * Policy states per (policy, target), recently sent commands (so a restart
 * inside the cooldown never sends a second shutdown and acks still match),
 * and each device's last reading (so comm-lost can reason about a device that
 * went silent while the daemon was down).
 */
#pragma once

#include <glib.h>
#include "efp-policy.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *id;
  gchar *agent;
  gchar *action;
  gchar *policy;
  gchar *device;
  gint64 issued_at;
  gchar *payload;   /* the exact JSON, to replay it after a crash (NULL in old files) */
  gboolean pending; /* recorded, not known to have reached the broker */
} EfpSentCommand;

typedef struct
{
  EfpReading reading;
  gint64 last_frame_us;
} EfpDeviceSnapshot;

typedef struct
{
  GHashTable *policies; /* "policy\x1ftarget" -> EfpPolicyState* */
  GPtrArray *commands;  /* EfpSentCommand*, oldest first, bounded */
  GHashTable *devices;  /* name -> EfpDeviceSnapshot* */
} EfpStateFile;

EfpStateFile *efp_state_file_new (void);
void efp_state_file_free (EfpStateFile *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpStateFile, efp_state_file_free)

/* A missing file gives an empty state; an unreadable or corrupt one an error. */
EfpStateFile *efp_state_file_load (const gchar *path, GError **error);
/* The same from @len bytes of @data; @origin names the source in messages. */
EfpStateFile *efp_state_file_load_data (const gchar *data, gsize len, const gchar *origin,
                                        GError **error);
gboolean efp_state_file_save (EfpStateFile *self, const gchar *path, GError **error);

void efp_state_file_set_policy (EfpStateFile *self, const gchar *policy, const gchar *target,
                                const EfpPolicyState *state);
const EfpPolicyState *efp_state_file_get_policy (EfpStateFile *self, const gchar *policy,
                                                 const gchar *target);
void efp_state_file_add_command (EfpStateFile *self, const EfpSentCommand *cmd);
/* The command @id to @agent reached the broker. */
void efp_state_file_mark_published (EfpStateFile *self, const gchar *id, const gchar *agent);
void efp_state_file_set_device (EfpStateFile *self, const gchar *name, const EfpReading *reading,
                                gint64 last_frame_us);
const EfpDeviceSnapshot *efp_state_file_get_device (EfpStateFile *self, const gchar *name);

G_END_DECLS

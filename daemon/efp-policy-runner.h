/* efp-policy-runner.h: one configured policy and its per-target states. */
#pragma once

#include <glib.h>
#include "efp-config.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *name; /* device or group */
  EfpPolicyState state;
  EfpPolicyVerdict verdict; /* of the last evaluation */
  guint timer;              /* wake-up source owned by the daemon */
} EfpPolicyTarget;

typedef struct
{
  const EfpPolicyConfig *config;
  GHashTable *targets; /* name -> EfpPolicyTarget* */
} EfpPolicyRunner;

EfpPolicyRunner *efp_policy_runner_new (const EfpPolicyConfig *config);
void efp_policy_runner_free (EfpPolicyRunner *self);

/* Whether the policy watches @name: its devices= list, or every device when empty. */
gboolean efp_policy_runner_covers (EfpPolicyRunner *self, const gchar *name, gboolean is_group);
EfpPolicyTarget *efp_policy_runner_get_target (EfpPolicyRunner *self, const gchar *name);
/* Run the module; the verdict is kept in @target and returned. */
const EfpPolicyVerdict *efp_policy_runner_evaluate (EfpPolicyRunner *self, EfpPolicyTarget *target,
                                                    const EfpPolicyInput *input, gint64 now_us);
/* A shutdown this policy decided for @name still stands: no abort, and the condition has
 * held since (triggered, or cooling down with the condition still true). */
gboolean efp_policy_runner_shutdown_stands (EfpPolicyRunner *self, const gchar *name);
/* The furthest phase over all targets and the earliest deadline (for D-Bus). */
EfpPolicyPhase efp_policy_runner_summary (EfpPolicyRunner *self, gint64 *deadline_us);

const gchar *efp_policy_phase_to_string (EfpPolicyPhase phase);
const gchar *efp_policy_event_to_string (EfpPolicyEventKind kind);

G_END_DECLS

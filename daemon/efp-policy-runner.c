/* efp-policy-runner.c: keeps policy state per target and calls the module. */
#include "efp-policy-runner.h"

#include <string.h>

static void
target_free (gpointer p)
{
  EfpPolicyTarget *t = p;
  g_clear_handle_id (&t->timer, g_source_remove);
  g_free (t->name);
  g_free (t);
}

EfpPolicyRunner *
efp_policy_runner_new (const EfpPolicyConfig *config)
{
  EfpPolicyRunner *self = g_new0 (EfpPolicyRunner, 1);
  self->config = config;
  self->targets = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, target_free);
  return self;
}

void
efp_policy_runner_free (EfpPolicyRunner *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->targets);
  g_free (self);
}

gboolean
efp_policy_runner_covers (EfpPolicyRunner *self, const gchar *name, gboolean is_group)
{
  if (self->config->devices == NULL || self->config->devices[0] == NULL)
    return !is_group;
  return g_strv_contains ((const gchar *const *) self->config->devices, name);
}

EfpPolicyTarget *
efp_policy_runner_get_target (EfpPolicyRunner *self, const gchar *name)
{
  EfpPolicyTarget *t = g_hash_table_lookup (self->targets, name);
  if (t == NULL)
    {
      t = g_new0 (EfpPolicyTarget, 1);
      t->name = g_strdup (name);
      g_hash_table_insert (self->targets, t->name, t);
    }
  return t;
}

const EfpPolicyVerdict *
efp_policy_runner_evaluate (EfpPolicyRunner *self, EfpPolicyTarget *target,
                            const EfpPolicyInput *input, gint64 now_us)
{
  memset (&target->verdict, 0, sizeof (target->verdict));
  self->config->vtable->evaluate (self->config->module_config, &target->state, input, now_us,
                                  &target->verdict);
  return &target->verdict;
}

EfpPolicyPhase
efp_policy_runner_summary (EfpPolicyRunner *self, gint64 *deadline_us)
{
  GHashTableIter it;
  gpointer v;
  EfpPolicyPhase phase = EFP_POLICY_PHASE_IDLE;

  *deadline_us = 0;
  g_hash_table_iter_init (&it, self->targets);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      EfpPolicyTarget *t = v;
      /* triggered outranks armed outranks cooldown for a person reading the state */
      static const int rank[] = { 0, 2, 3, 1 };
      if (rank[t->state.phase] > rank[phase])
        phase = t->state.phase;
      if (t->state.phase == EFP_POLICY_PHASE_ARMED && t->verdict.deadline_us > 0 &&
          (*deadline_us == 0 || t->verdict.deadline_us < *deadline_us))
        *deadline_us = t->verdict.deadline_us;
    }
  return phase;
}

const gchar *
efp_policy_phase_to_string (EfpPolicyPhase phase)
{
  switch (phase)
    {
      case EFP_POLICY_PHASE_IDLE:
        return "idle";
      case EFP_POLICY_PHASE_ARMED:
        return "armed";
      case EFP_POLICY_PHASE_TRIGGERED:
        return "triggered";
      case EFP_POLICY_PHASE_COOLDOWN:
        return "cooldown";
      default:
        return "idle";
    }
}

const gchar *
efp_policy_event_to_string (EfpPolicyEventKind kind)
{
  switch (kind)
    {
      case EFP_POLICY_EVENT_TIMER_START:
        return "timer-start";
      case EFP_POLICY_EVENT_TIMER_ABORT:
        return "timer-abort";
      case EFP_POLICY_EVENT_SHUTDOWN:
        return "shutdown-triggered";
      case EFP_POLICY_EVENT_ABORT:
        return "abort-sent";
      case EFP_POLICY_EVENT_STALE:
        return "stale";
      default:
        return "unknown";
    }
}

gboolean
efp_policy_runner_shutdown_stands (EfpPolicyRunner *self, const gchar *name)
{
  EfpPolicyTarget *t = g_hash_table_lookup (self->targets, name);

  /* an abort and a condition gone false both clear armed_since */
  return t != NULL &&
         (t->state.phase == EFP_POLICY_PHASE_TRIGGERED ||
          t->state.phase == EFP_POLICY_PHASE_COOLDOWN) &&
         t->state.armed_since_us != 0;
}

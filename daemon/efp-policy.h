/* efp-policy.h: the policy plugin ABI (public, installed).
 *
 * A policy is a shared object in <plugin-dir>/policies/ exporting
 * efp_policy_module_query(), which returns a const EfpPolicyVTable. A policy
 * is a pure function of (previous state, input, now): it never sleeps, reads
 * clocks, or does I/O. The daemon owns the timers: it calls evaluate() on each
 * new frame and again at verdict->wake_at_us, persists EfpPolicyState across
 * restarts, and carries out the events (commands to agents, MQTT events, logs).
 *
 * Versioning: as for decoders (efp-decoder.h).
 */
#pragma once

#include <glib.h>
#include "efp-reading.h"

G_BEGIN_DECLS

#define EFP_POLICY_ABI_MAJOR    1
#define EFP_POLICY_ABI_MINOR    0
#define EFP_POLICY_QUERY_SYMBOL "efp_policy_module_query"

typedef enum
{
  EFP_POLICY_PHASE_IDLE = 0,      /* condition false */
  EFP_POLICY_PHASE_ARMED = 1,     /* condition true, debounce running */
  EFP_POLICY_PHASE_TRIGGERED = 2, /* shutdown sent, abort window open */
  EFP_POLICY_PHASE_COOLDOWN = 3,  /* no new shutdown until cooldown has passed */
} EfpPolicyPhase;

/* Per (policy, device) state. Plain data so the daemon can persist it. */
typedef struct
{
  EfpPolicyPhase phase;
  gint64 armed_since_us;  /* when the condition began (TIMER START); 0 none */
  gint64 triggered_at_us; /* last SHUTDOWN; 0 never */
  gint64 stale_since_us;  /* when the data went stale; 0 fresh */
  gdouble aux[8];         /* module-private numbers, persisted */
  gint64 aux_us[4];       /* module-private times, persisted */
} EfpPolicyState;

typedef struct
{
  gsize struct_size;
  const gchar *device;       /* device or group name */
  const EfpReading *reading; /* merged state */
  gboolean has_data;         /* at least one valid frame since start (or restored) */
  gint64 last_frame_us;      /* wall clock of the last valid frame, 0 never */
  gdouble capacity_wh;       /* configured capacity, NAN unknown */
} EfpPolicyInput;

typedef enum
{
  EFP_POLICY_EVENT_TIMER_START, /* "timer-start", logged as TIMER START */
  EFP_POLICY_EVENT_TIMER_ABORT, /* "timer-abort" */
  EFP_POLICY_EVENT_SHUTDOWN,    /* "shutdown-triggered": send shutdown to agents */
  EFP_POLICY_EVENT_ABORT,       /* "abort-sent": send abort to agents */
  EFP_POLICY_EVENT_STALE,       /* "stale": data gap noticed (notify only) */
} EfpPolicyEventKind;

#define EFP_POLICY_MAX_EVENTS 4
#define EFP_POLICY_DETAIL_LEN 160

typedef struct
{
  EfpPolicyEventKind kind;
  gchar detail[EFP_POLICY_DETAIL_LEN];
} EfpPolicyEvent;

typedef struct
{
  guint n_events;
  EfpPolicyEvent events[EFP_POLICY_MAX_EVENTS];
  gint64 deadline_us; /* ARMED: when it will fire; 0 none */
  gint64 wake_at_us;  /* evaluate again no later than this; 0 = only on new data */
  guint delay_sec;    /* delay_sec for SHUTDOWN commands */
  gboolean dry_run;   /* commands carry "dry_run": true */
} EfpPolicyVerdict;

typedef struct
{
  guint32 abi_major;
  guint32 abi_minor;
  gsize struct_size;
  const gchar *name; /* module= in config */
  const gchar *description;
  /* NULL-terminated module keys accepted in [policy:NAME] besides module/devices/agents */
  const gchar *const *option_keys;

  /* Parse and validate this module's keys of @group. Error messages are one
   * line: "[group] key: expected ..., found ..." (see efp-plugin-util.h). */
  gpointer (*config_new) (GKeyFile *keyfile, const gchar *group, GError **error);
  void (*config_free) (gpointer config);
  /* Write the effective values (defaults included) into @keyfile. */
  void (*config_dump) (gconstpointer config, GKeyFile *keyfile, const gchar *group);

  /* @verdict is zeroed by the host before the call. */
  void (*evaluate) (gconstpointer config, EfpPolicyState *state, const EfpPolicyInput *input,
                    gint64 now_us, EfpPolicyVerdict *verdict);
} EfpPolicyVTable;

typedef const EfpPolicyVTable *(*EfpPolicyQueryFunc) (void);

static inline void efp_policy_verdict_add (EfpPolicyVerdict *v, EfpPolicyEventKind kind,
                                           const gchar *fmt, ...) G_GNUC_PRINTF (3, 4);
static inline void
efp_policy_verdict_add (EfpPolicyVerdict *v, EfpPolicyEventKind kind, const gchar *fmt, ...)
{
  va_list ap;
  if (v->n_events >= EFP_POLICY_MAX_EVENTS)
    return;
  v->events[v->n_events].kind = kind;
  va_start (ap, fmt);
  g_vsnprintf (v->events[v->n_events].detail, EFP_POLICY_DETAIL_LEN, fmt, ap);
  va_end (ap);
  v->n_events++;
}

/* The earliest non-zero of the current wake time and @t. */
static inline void
efp_policy_verdict_wake (EfpPolicyVerdict *v, gint64 t)
{
  if (t > 0 && (v->wake_at_us == 0 || t < v->wake_at_us))
    v->wake_at_us = t;
}

#define EFP_POLICY_DEFINE(vtable)                                                                  \
  G_MODULE_EXPORT const EfpPolicyVTable *efp_policy_module_query (void);                           \
  G_MODULE_EXPORT const EfpPolicyVTable *efp_policy_module_query (void)                            \
  {                                                                                                \
    return &(vtable);                                                                              \
  }

G_END_DECLS

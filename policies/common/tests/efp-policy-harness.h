/* efp-policy-harness.h: drives a policy vtable the way the daemon does, on an
 * injected clock: evaluate() on each frame and again at every wake_at the
 * policy asked for, recording every event with its time. It also checks the
 * ABI promises on every call: wake_at lies in the future, the deadline is set
 * exactly while armed, the event array never overflows. Header-only, tests only.
 */
#pragma once

#include <glib.h>
#include <string.h>

#include "efp-policy.h"

/* 2026-01-01 00:00:00 UTC: a realistic wall clock, far from 0 ("never") */
#define HARNESS_T0_US   (G_GINT64_CONSTANT (1767225600) * G_USEC_PER_SEC)
#define HARNESS_AT(sec) (HARNESS_T0_US + (gint64) ((sec) * (gdouble) G_USEC_PER_SEC))
#define HARNESS_SEC(us) ((gdouble) ((us) -HARNESS_T0_US) / G_USEC_PER_SEC)

typedef struct
{
  gint64 at_us;
  EfpPolicyEventKind kind;
  gchar detail[EFP_POLICY_DETAIL_LEN];
} HarnessEvent;

typedef struct
{
  const EfpPolicyVTable *vt;
  gpointer config;
  EfpPolicyState state;
  EfpReading reading;
  EfpPolicyInput input;
  EfpPolicyVerdict verdict; /* of the last evaluation */
  gint64 now_us;            /* of the last evaluation */
  gint64 wake_us;           /* pending wake-up, 0 none */
  guint n_evaluations;
  GArray *events; /* HarnessEvent */
} Harness;

static inline const gchar *
harness_kind_name (EfpPolicyEventKind kind)
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
        return "?";
    }
}

/* @options: the body of [policy:test], e.g. "soc-min=10\ndebounce-sec=0\n". */
static inline Harness *
harness_new (const EfpPolicyVTable *vt, const gchar *options, gdouble capacity_wh)
{
  Harness *h = g_new0 (Harness, 1);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *text =
    g_strdup_printf ("[policy:test]\nmodule=%s\n%s", vt->name, options != NULL ? options : "");

  g_assert_true (g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_NONE, &error));
  h->vt = vt;
  h->config = vt->config_new (kf, "policy:test", &error);
  g_assert_no_error (error);
  g_assert_nonnull (h->config);
  efp_reading_init (&h->reading);
  h->input.struct_size = sizeof (EfpPolicyInput);
  h->input.device = "Study";
  h->input.reading = &h->reading;
  h->input.capacity_wh = capacity_wh;
  h->events = g_array_new (FALSE, TRUE, sizeof (HarnessEvent));
  return h;
}

static inline void
harness_free (Harness *h)
{
  h->vt->config_free (h->config);
  g_array_unref (h->events);
  g_free (h);
}

static inline void
harness_evaluate (Harness *h, gint64 now_us)
{
  guint i;

  g_assert_cmpint (now_us, >=, h->now_us);
  memset (&h->verdict, 0, sizeof h->verdict);
  h->vt->evaluate (h->config, &h->state, &h->input, now_us, &h->verdict);
  h->now_us = now_us;
  h->n_evaluations++;

  g_assert_cmpuint (h->verdict.n_events, <, EFP_POLICY_MAX_EVENTS);
  for (i = 0; i < h->verdict.n_events; i++)
    {
      HarnessEvent e = { 0 };
      e.at_us = now_us;
      e.kind = h->verdict.events[i].kind;
      g_strlcpy (e.detail, h->verdict.events[i].detail, sizeof e.detail);
      g_assert_cmpuint (strlen (e.detail), >, 0);
      g_assert_null (strchr (e.detail, '\n'));
      g_test_message ("t=%+.3f %s: %s", HARNESS_SEC (now_us), harness_kind_name (e.kind), e.detail);
      g_array_append_val (h->events, e);
    }
  /* a wake-up at or before now would make the daemon spin */
  if (h->verdict.wake_at_us != 0)
    g_assert_cmpint (h->verdict.wake_at_us, >, now_us);
  /* D-Bus shows Deadline exactly while armed */
  g_assert_cmpint (h->state.phase == EFP_POLICY_PHASE_ARMED, ==, h->verdict.deadline_us != 0);
  h->wake_us = h->verdict.wake_at_us;
}

/* Honour every wake-up due up to @until_us, as the daemon's timer would. */
static inline void
harness_advance (Harness *h, gint64 until_us)
{
  guint guard = 0;

  while (h->wake_us != 0 && h->wake_us <= until_us)
    {
      g_assert_cmpuint (++guard, <, 10000);
      harness_evaluate (h, h->wake_us);
    }
}

/* A new frame (h->reading already updated) arriving at @t seconds. */
static inline void
harness_frame_at (Harness *h, gdouble t)
{
  gint64 now = HARNESS_AT (t);

  harness_advance (h, now - 1);
  h->input.has_data = TRUE;
  h->input.last_frame_us = now;
  harness_evaluate (h, now);
}

static inline void
harness_frame (Harness *h, gdouble t, EfpTristate grid, gdouble soc)
{
  h->reading.grid_connected = grid;
  h->reading.soc = soc;
  harness_frame_at (h, t);
}

/* Frames every @step seconds from @from to @to inclusive. */
static inline void
harness_frames (Harness *h, gdouble from, gdouble to, gdouble step, EfpTristate grid, gdouble soc)
{
  gdouble t;

  for (t = from; t <= to + 1e-9; t += step)
    harness_frame (h, t, grid, soc);
}

/* No frames until @t: only the policy's own wake-ups run. */
static inline void
harness_idle_until (Harness *h, gdouble t)
{
  harness_advance (h, HARNESS_AT (t));
}

static inline guint
harness_count (Harness *h, EfpPolicyEventKind kind)
{
  guint i, n = 0;

  for (i = 0; i < h->events->len; i++)
    if (g_array_index (h->events, HarnessEvent, i).kind == kind)
      n++;
  return n;
}

/* The @nth (0-based) event of @kind; fails the test when there is none. */
static inline const HarnessEvent *
harness_event (Harness *h, EfpPolicyEventKind kind, guint nth)
{
  guint i;

  for (i = 0; i < h->events->len; i++)
    {
      const HarnessEvent *e = &g_array_index (h->events, HarnessEvent, i);
      if (e->kind == kind && nth-- == 0)
        return e;
    }
  g_assert_not_reached ();
  return NULL;
}

/* Seconds (from T0) of the @nth event of @kind. */
static inline gdouble
harness_event_time (Harness *h, EfpPolicyEventKind kind, guint nth)
{
  return HARNESS_SEC (harness_event (h, kind, nth)->at_us);
}

static inline void
harness_clear_events (Harness *h)
{
  g_array_set_size (h->events, 0);
}

/* The one-line message config_new() gives for [policy:test] @key=@value. */
static inline gchar *
harness_config_error (const EfpPolicyVTable *vt, const gchar *key, const gchar *value)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  gpointer config;

  g_key_file_set_value (kf, "policy:test", "module", vt->name);
  g_key_file_set_value (kf, "policy:test", key, value);
  config = vt->config_new (kf, "policy:test", &error);
  g_assert_null (config);
  g_assert_nonnull (error);
  g_assert_null (strchr (error->message, '\n'));
  return g_strdup (error->message);
}

/* config_dump() of the defaults, as key-file text. */
static inline gchar *
harness_dump_defaults (const EfpPolicyVTable *vt)
{
  g_autoptr (GKeyFile) in = g_key_file_new ();
  g_autoptr (GKeyFile) out = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  gpointer config = vt->config_new (in, "policy:test", &error);

  g_assert_no_error (error);
  vt->config_dump (config, out, "policy:test");
  vt->config_free (config);
  return g_key_file_to_data (out, NULL, NULL);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Harness, harness_free)

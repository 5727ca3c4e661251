/* efp-notifier.h: push notifications of transitions (CONTRACT 3.1 [notify]):
 * Pushover, Telegram, ntfy and a generic JSON webhook, sent asynchronously
 * with libsoup, rate-limited, never blocking the decisions. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _EfpNotifier EfpNotifier;

/* Parse and validate [notify] of @keyfile (the merged configuration). Returns
 * NULL with @error (EFP_CONFIG_ERROR, one line "[notify] key: expected ..., found ...")
 * on a bad value; returns a notifier with no targets when nothing is configured. */
EfpNotifier *efp_notifier_new (GKeyFile *keyfile, GError **error);
void efp_notifier_free (EfpNotifier *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpNotifier, efp_notifier_free)
/* TRUE when at least one target is configured. */
gboolean efp_notifier_is_enabled (EfpNotifier *self);
/* Send one transition (event names of CONTRACT 4.5) to every target. */
void efp_notifier_event (EfpNotifier *self, gint64 ts, const gchar *device, const gchar *policy,
                         const gchar *event, const gchar *detail);
/* The same with what the text can name when the caller knows it: the device's
 * SoC (NAN when unknown; "Study: grid lost (SoC 60 %)") and the agents a
 * shutdown or abort went to (NULL when unknown; "SHUTDOWN sent to pc-study"). */
void efp_notifier_event_full (EfpNotifier *self, gint64 ts, const gchar *device,
                              const gchar *policy, const gchar *event, const gchar *detail,
                              gdouble soc, const gchar *const *agents);
/* Requests still in flight (a daemon may run its loop briefly on exit so the
 * last "SHUTDOWN sent" goes out). */
guint efp_notifier_get_n_pending (EfpNotifier *self);
/* How long one request may take before it counts as failed (default 10 s; tests shorten it). */
void efp_notifier_set_timeout (EfpNotifier *self, guint seconds);

G_END_DECLS

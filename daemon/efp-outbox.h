/* efp-outbox.h: commands that wait for the broker.
 *
 * A shutdown never depends on the broker being up at the moment it is decided:
 * what cannot be published now waits here, in order, and goes out as soon as
 * the connection is back. Agents refuse a command older than its ttl, so a
 * message that waited longer than that is dropped (and said so). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _EfpOutbox EfpOutbox;

/* Publish now; FALSE when the broker is not reachable. */
typedef gboolean (*EfpOutboxSendFunc) (gpointer user_data, const gchar *topic,
                                       const gchar *payload);

EfpOutbox *efp_outbox_new (guint ttl_sec, EfpOutboxSendFunc send, gpointer user_data);
void efp_outbox_free (EfpOutbox *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpOutbox, efp_outbox_free)

/* Send @payload after everything already waiting, now if possible: TRUE when it
 * went out now, FALSE when it waits. */
gboolean efp_outbox_send (EfpOutbox *self, const gchar *topic, const gchar *payload);
/* Send what is waiting (on reconnect). */
void efp_outbox_flush (EfpOutbox *self);
guint efp_outbox_get_length (EfpOutbox *self);

G_END_DECLS

/* efp-outbox.c: an ordered queue of messages waiting for the broker. */
#include "efp-outbox.h"

typedef struct
{
  gchar *topic;
  gchar *payload;
  gint64 queued_us;
} Item;

struct _EfpOutbox
{
  GQueue items;
  guint ttl_sec;
  EfpOutboxSendFunc send;
  gpointer user_data;
};

static void
item_free (gpointer p)
{
  Item *o = p;
  g_free (o->topic);
  g_free (o->payload);
  g_free (o);
}

EfpOutbox *
efp_outbox_new (guint ttl_sec, EfpOutboxSendFunc send, gpointer user_data)
{
  EfpOutbox *self = g_new0 (EfpOutbox, 1);
  g_queue_init (&self->items);
  self->ttl_sec = ttl_sec;
  self->send = send;
  self->user_data = user_data;
  return self;
}

void
efp_outbox_free (EfpOutbox *self)
{
  if (self == NULL)
    return;
  g_queue_clear_full (&self->items, item_free);
  g_free (self);
}

void
efp_outbox_flush (EfpOutbox *self)
{
  gint64 now = g_get_real_time ();
  Item *o;

  while ((o = g_queue_peek_head (&self->items)) != NULL)
    {
      if (now - o->queued_us > (gint64) self->ttl_sec * G_USEC_PER_SEC)
        g_warning ("command to %s dropped: the broker was unreachable for its whole ttl", o->topic);
      else if (!self->send (self->user_data, o->topic, o->payload))
        return;
      else
        g_message ("queued command to %s sent", o->topic);
      item_free (g_queue_pop_head (&self->items));
    }
}

gboolean
efp_outbox_send (EfpOutbox *self, const gchar *topic, const gchar *payload)
{
  Item *o;

  /* order matters: a waiting shutdown must not be overtaken by its abort */
  efp_outbox_flush (self);
  if (g_queue_is_empty (&self->items) && self->send (self->user_data, topic, payload))
    return TRUE;
  g_warning ("command to %s queued: the broker connection is down", topic);
  o = g_new0 (Item, 1);
  o->topic = g_strdup (topic);
  o->payload = g_strdup (payload);
  o->queued_us = g_get_real_time ();
  g_queue_push_tail (&self->items, o);
  return FALSE;
}

guint
efp_outbox_get_length (EfpOutbox *self)
{
  return g_queue_get_length (&self->items);
}

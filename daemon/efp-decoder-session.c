/* efp-decoder-session.c: copy, decode, commit. */
#include "efp-decoder-session.h"

struct _EfpDecoderSession
{
  const EfpDecoderVTable *vtable;
  gpointer context;
  EfpReading reading;
  EfpReading scratch;
  gint64 last_frame_us;
  guint64 n_frames;
  guint64 n_errors;
};

EfpDecoderSession *
efp_decoder_session_new (const EfpDecoderVTable *vtable, const EfpDecoderSetup *setup,
                         GError **error)
{
  g_autoptr (EfpDecoderSession) self = g_new0 (EfpDecoderSession, 1);

  self->vtable = vtable;
  efp_reading_init (&self->reading);
  if (vtable->context_new != NULL)
    {
      self->context = vtable->context_new (setup, error);
      if (self->context == NULL)
        return NULL;
    }
  return g_steal_pointer (&self);
}

void
efp_decoder_session_free (EfpDecoderSession *self)
{
  if (self == NULL)
    return;
  if (self->context != NULL && self->vtable->context_free != NULL)
    self->vtable->context_free (self->context);
  g_free (self);
}

gboolean
efp_decoder_session_feed (EfpDecoderSession *self, const guint8 *data, gsize len, gint64 now_us,
                          GError **error)
{
  if (data == NULL || len == 0)
    {
      /* no decoder is ever asked to make sense of nothing */
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_TRUNCATED, "empty frame");
      self->n_errors++;
      return FALSE;
    }
  self->scratch = self->reading;
  if (!self->vtable->decode (self->context, data, len, &self->scratch, error))
    {
      /* a reason is one log line, whatever a (third-party) decoder put in it */
      if (error != NULL && *error != NULL)
        g_strdelimit ((*error)->message, "\r\n", ' ');
      else if (error != NULL)
        g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                     "%s: frame refused without a reason", self->vtable->name);
      self->n_errors++;
      return FALSE;
    }
  self->reading = self->scratch;
  self->last_frame_us = now_us;
  self->n_frames++;
  return TRUE;
}

const EfpReading *
efp_decoder_session_get_reading (EfpDecoderSession *self)
{
  return &self->reading;
}

gint64
efp_decoder_session_get_last_frame_us (EfpDecoderSession *self)
{
  return self->last_frame_us;
}

const EfpDecoderVTable *
efp_decoder_session_get_vtable (EfpDecoderSession *self)
{
  return self->vtable;
}

guint64
efp_decoder_session_get_n_frames (EfpDecoderSession *self)
{
  return self->n_frames;
}

guint64
efp_decoder_session_get_n_errors (EfpDecoderSession *self)
{
  return self->n_errors;
}

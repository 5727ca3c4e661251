/* efp-device.c: per-station state the daemon keeps. */
#include "efp-device.h"

#include <gio/gio.h>

EfpDevice *
efp_device_new (const gchar *name, const gchar *serial, const EfpDeviceConfig *config)
{
  EfpDevice *self = g_new0 (EfpDevice, 1);
  self->name = g_strdup (name);
  self->serial = g_strdup (serial);
  self->config = config;
  self->last_grid = EFP_TRISTATE_UNKNOWN;
  self->stale_after_sec = 60;
  efp_reading_init (&self->reading);
  return self;
}

void
efp_device_free (EfpDevice *self)
{
  if (self == NULL)
    return;
  g_clear_handle_id (&self->stale_timer, g_source_remove);
  g_clear_pointer (&self->session, efp_decoder_session_free);
  g_free (self->name);
  g_free (self->serial);
  g_free (self);
}

gboolean
efp_device_ensure_session (EfpDevice *self, EfpPluginRegistry *registry,
                           const EfpModelTable *models, const guint8 *payload, gsize len,
                           GError **error)
{
  const EfpDecoderVTable *vt = NULL;
  EfpDecoderSetup setup = { sizeof (EfpDecoderSetup), self->serial, NULL, NULL };
  const gchar *wanted = self->config != NULL ? self->config->decoder : NULL;
  const EfpModelEntry *entry = NULL;

  if (self->session != NULL)
    return TRUE;
  if (models != NULL && self->serial != NULL)
    entry = efp_model_table_lookup_serial (models, self->serial);
  if (entry != NULL)
    {
      setup.model = entry->model;
      /* the table names the decoder unless the config does; a decoder that is not
       * installed falls back to probing */
      if (wanted == NULL && efp_plugin_registry_get_decoder (registry, entry->decoder) != NULL)
        wanted = entry->decoder;
    }
  if (wanted != NULL)
    {
      vt = efp_plugin_registry_get_decoder (registry, wanted);
      if (vt == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "device %s: decoder '%s' is not loaded", self->name, wanted);
          return FALSE;
        }
    }
  else
    {
      vt = efp_plugin_registry_probe (registry, self->serial != NULL ? self->serial : self->name,
                                      payload, len);
      if (vt == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "device %s: no decoder accepts this payload (%" G_GSIZE_FORMAT " bytes)",
                       self->name, len);
          return FALSE;
        }
    }
  if (self->config != NULL)
    setup.options = self->config->options;
  self->session = efp_decoder_session_new (vt, &setup, error);
  if (self->session == NULL)
    {
      g_prefix_error (error, "device %s: ", self->name);
      return FALSE;
    }
  g_info ("device %s: decoder %s", self->name, vt->name);
  return TRUE;
}

gboolean
efp_device_feed (EfpDevice *self, const guint8 *payload, gsize len, gint64 now_us, GError **error)
{
  if (!efp_decoder_session_feed (self->session, payload, len, now_us, error))
    return FALSE;
  self->reading = *efp_decoder_session_get_reading (self->session);
  self->last_frame_us = now_us;
  self->stale = FALSE;
  return TRUE;
}

void
efp_device_meta (EfpDevice *self, EfpReadingMeta *meta)
{
  meta->device = self->name;
  meta->serial = self->serial;
  meta->decoder =
    self->session != NULL ? efp_decoder_session_get_vtable (self->session)->name : NULL;
  meta->stale = self->stale;
  meta->ts = self->last_frame_us / G_USEC_PER_SEC;
}

gchar *
efp_device_to_json (EfpDevice *self)
{
  EfpReadingMeta meta;
  efp_device_meta (self, &meta);
  return efp_reading_to_json (&self->reading, &meta);
}

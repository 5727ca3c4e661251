/* efp-cloud-wake.c: the wake ("get all quotas") requests. */
#include "efp-cloud-wake.h"

#include "efp_envelope.pb-c.h"

GBytes *
efp_cloud_wake_protobuf (guint32 seq)
{
  Efp__HeaderMessage envelope = EFP__HEADER_MESSAGE__INIT;
  Efp__Header header = EFP__HEADER__INIT;
  Efp__Header *headers[] = { &header };
  guint8 *buf;
  gsize len;

  /* one header, no pdata, no cmd_func/cmd_id: what the app sends (SPEC 2.2) */
  header.has_src = TRUE;
  header.src = 32;
  header.has_dest = TRUE;
  header.dest = 32;
  header.has_seq = TRUE;
  header.seq = seq;
  header.from = (char *) "ios";
  envelope.n_header = 1;
  envelope.header = headers;
  len = efp__header_message__get_packed_size (&envelope);
  buf = g_malloc (len);
  efp__header_message__pack (&envelope, buf);
  return g_bytes_new_take (buf, len);
}

gchar *
efp_cloud_wake_json (gint64 id)
{
  return g_strdup_printf ("{\"from\":\"Android\",\"id\":\"%" G_GINT64_FORMAT
                          "\",\"version\":\"1.1\","
                          "\"moduleType\":0,\"operateType\":\"latestQuotas\",\"params\":{}}",
                          id);
}

EfpCloudFormat
efp_cloud_detect_format (const guint8 *data, gsize len)
{
  gsize i = 0;

  while (i < len && g_ascii_isspace (data[i]))
    i++;
  if (i < len && data[i] == '{')
    return EFP_CLOUD_FORMAT_JSON;
  if (len > 0 && data[0] == 0x0a)
    return EFP_CLOUD_FORMAT_PROTOBUF;
  return EFP_CLOUD_FORMAT_UNKNOWN;
}

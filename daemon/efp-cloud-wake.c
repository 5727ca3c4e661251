/* efp-cloud-wake.c: the wake ("get all quotas") requests.
 *
 * The protobuf request is four header fields; a tiny encoder keeps the cloud
 * module free of generated code. */
#include "efp-cloud-wake.h"

static void
put_varint (GByteArray *out, guint64 v)
{
  do
    {
      guint8 b = v & 0x7f;
      v >>= 7;
      if (v != 0)
        b |= 0x80;
      g_byte_array_append (out, &b, 1);
    }
  while (v != 0);
}

/* tag = field << 3 | wire type (0 varint, 2 length-delimited) */
static void
put_tag (GByteArray *out, guint field, guint wire)
{
  put_varint (out, ((guint64)field << 3) | wire);
}

GBytes *
efp_cloud_wake_protobuf (guint32 seq)
{
  g_autoptr (GByteArray) header = g_byte_array_new ();
  g_autoptr (GByteArray) envelope = g_byte_array_new ();
  static const guint8 from[] = { 'i', 'o', 's' };

  put_tag (header, 2, 0); /* src: app */
  put_varint (header, 32);
  put_tag (header, 3, 0); /* dest: app/cloud */
  put_varint (header, 32);
  put_tag (header, 14, 0); /* seq */
  put_varint (header, seq);
  put_tag (header, 23, 2); /* from */
  put_varint (header, sizeof from);
  g_byte_array_append (header, from, sizeof from);

  put_tag (envelope, 1, 2); /* the one header */
  put_varint (envelope, header->len);
  g_byte_array_append (envelope, header->data, header->len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&envelope));
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

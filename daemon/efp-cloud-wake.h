/* efp-cloud-wake.h: "get all quotas" requests (SPEC 2.2) and payload format detection. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  EFP_CLOUD_FORMAT_UNKNOWN,
  EFP_CLOUD_FORMAT_PROTOBUF,
  EFP_CLOUD_FORMAT_JSON,
} EfpCloudFormat;

/* Protobuf envelope holding one header: src=32 dest=32 seq=@seq from="ios", no pdata. */
GBytes *efp_cloud_wake_protobuf (guint32 seq);
/* {"from":"Android","id":"<id>","version":"1.1","moduleType":0,"operateType":"latestQuotas","params":{}} */
gchar *efp_cloud_wake_json (gint64 id);
/* JSON starts with '{', a protobuf envelope with 0x0a (field 1, length-delimited). */
EfpCloudFormat efp_cloud_detect_format (const guint8 *data, gsize len);

G_END_DECLS

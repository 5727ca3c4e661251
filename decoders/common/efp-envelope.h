/* efp-envelope.h: the protobuf envelope (SPEC section 3).
 *
 * Parses every header of a bundle (field 1 repeats), checks data_len, undoes
 * the XOR obfuscation per header and routes cmd_func/cmd_id to a payload
 * message. Payloads are unpacked on demand (efp_envelope_unpack): unpacking
 * is most of a frame's cost, and a consumer that does not read a payload
 * (RuntimePropertyUpload when the Display already decides the grid) need
 * not pay for it. All memory lives in the caller's arena.
 */
#pragma once

#include <glib.h>

#include "efp-arena.h"
#include "efp_config_write.pb-c.h"
#include "efp_display.pb-c.h"
#include "efp_envelope.pb-c.h"
#include "efp_heartbeat.pb-c.h"
#include "efp_runtime.pb-c.h"

G_BEGIN_DECLS

#define EFP_SRC_APP 32 /* app/cloud: never XORed, carries no device data */

typedef enum
{
  EFP_PAYLOAD_UNKNOWN,          /* a pair the SPEC does not name */
  EFP_PAYLOAD_IGNORED,          /* a named pair without power data (or unverified) */
  EFP_PAYLOAD_REQUEST,          /* no pdata and no cmd pair: a get-all request */
  EFP_PAYLOAD_DISPLAY,          /* 254/21 DisplayPropertyUpload */
  EFP_PAYLOAD_RUNTIME,          /* 254/22 RuntimePropertyUpload */
  EFP_PAYLOAD_CMS_HEARTBEAT,    /* 32/2 CMSHeartBeatReport */
  EFP_PAYLOAD_BMS_HEARTBEAT,    /* 32/50 BMSHeartBeatReport */
  EFP_PAYLOAD_CONFIG_WRITE,     /* 254/17 ConfigWrite */
  EFP_PAYLOAD_CONFIG_WRITE_ACK, /* 254/18 ConfigWriteAck */
} EfpPayloadKind;

typedef struct
{
  const Efp__Header *header;
  guint32 src; /* 0 when absent */
  guint32 cmd_func;
  guint32 cmd_id;
  guint32 seq;    /* truncated to 32 bits */
  gboolean xored; /* the XOR rule applied */
  guint8 xor_key;
  const guint8 *pdata; /* after de-XOR; NULL when the header carries none */
  gsize pdata_len;
  EfpPayloadKind kind;
  /* the unpacked payload once efp_envelope_unpack() ran on a kind with a
   * schema, else NULL */
  const ProtobufCMessage *message;
} EfpEnvelopeItem;

typedef struct
{
  guint n_items;
  EfpEnvelopeItem *items;
  EfpArena *arena; /* where payloads unpack to */
} EfpEnvelope;

/* FALSE with a one-line reason when the envelope does not parse completely or
 * a data_len does not match: the frame must be dropped. Payloads stay packed. */
gboolean efp_envelope_parse (EfpArena *arena, const guint8 *data, gsize len, EfpEnvelope *out,
                             GError **error);
/* Unpacks item @index (once; later calls return the same message). NULL
 * without an error for kinds without a schema; NULL with a one-line reason
 * when the payload does not parse completely: the frame must be dropped. */
const ProtobufCMessage *efp_envelope_unpack (EfpEnvelope *env, guint index, GError **error);
/* efp_envelope_unpack() on every item: for tools and probes that look at all. */
gboolean efp_envelope_unpack_all (EfpEnvelope *env, GError **error);

EfpPayloadKind efp_envelope_route (gboolean has_cmd, guint32 cmd_func, guint32 cmd_id,
                                   gboolean has_pdata);
/* NULL for kinds without a schema */
const ProtobufCMessageDescriptor *efp_payload_kind_get_descriptor (EfpPayloadKind kind);

G_END_DECLS

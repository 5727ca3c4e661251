/* efp-envelope.c: header loop, XOR rule, routing, payload unpacking on demand. */
#include "efp-envelope.h"

#include "efp-decoder.h"

typedef struct
{
  guint32 cmd_func;
  guint32 cmd_id;
  EfpPayloadKind kind;
} Route;

/* SPEC table 3.3. BMS heartbeat pairs other than 32/50 are listed by one
 * project but never seen in a capture: ignored rather than guessed. */
static const Route routes[] = {
  { 254, 21, EFP_PAYLOAD_DISPLAY },      { 254, 22, EFP_PAYLOAD_RUNTIME },
  { 32, 2, EFP_PAYLOAD_CMS_HEARTBEAT },  { 32, 50, EFP_PAYLOAD_BMS_HEARTBEAT },
  { 254, 17, EFP_PAYLOAD_CONFIG_WRITE }, { 254, 18, EFP_PAYLOAD_CONFIG_WRITE_ACK },
  { 254, 19, EFP_PAYLOAD_IGNORED },      { 254, 20, EFP_PAYLOAD_IGNORED },
  { 254, 23, EFP_PAYLOAD_IGNORED },      { 254, 32, EFP_PAYLOAD_IGNORED },
  { 50, 2, EFP_PAYLOAD_IGNORED },        { 50, 98, EFP_PAYLOAD_IGNORED },
  { 53, 118, EFP_PAYLOAD_IGNORED },      { 20, 1, EFP_PAYLOAD_IGNORED },
  { 32, 1, EFP_PAYLOAD_IGNORED },        { 32, 3, EFP_PAYLOAD_IGNORED },
  { 32, 51, EFP_PAYLOAD_IGNORED },       { 32, 52, EFP_PAYLOAD_IGNORED },
  { 3, 1, EFP_PAYLOAD_IGNORED },         { 3, 2, EFP_PAYLOAD_IGNORED },
  { 3, 30, EFP_PAYLOAD_IGNORED },        { 3, 50, EFP_PAYLOAD_IGNORED },
};

EfpPayloadKind
efp_envelope_route (gboolean has_cmd, guint32 cmd_func, guint32 cmd_id, gboolean has_pdata)
{
  guint i;

  if (!has_cmd)
    return has_pdata ? EFP_PAYLOAD_UNKNOWN : EFP_PAYLOAD_REQUEST;
  for (i = 0; i < G_N_ELEMENTS (routes); i++)
    if (routes[i].cmd_func == cmd_func && routes[i].cmd_id == cmd_id)
      return routes[i].kind;
  if (cmd_func == 254 && cmd_id >= 24 && cmd_id <= 30)
    return EFP_PAYLOAD_IGNORED;
  return EFP_PAYLOAD_UNKNOWN;
}

const ProtobufCMessageDescriptor *
efp_payload_kind_get_descriptor (EfpPayloadKind kind)
{
  switch (kind)
    {
      case EFP_PAYLOAD_DISPLAY:
        return &efp__display_property_upload__descriptor;
      case EFP_PAYLOAD_RUNTIME:
        return &efp__runtime_property_upload__descriptor;
      case EFP_PAYLOAD_CMS_HEARTBEAT:
        return &efp__cms_heart_beat_report__descriptor;
      case EFP_PAYLOAD_BMS_HEARTBEAT:
        return &efp__bms_heart_beat_report__descriptor;
      case EFP_PAYLOAD_CONFIG_WRITE:
        return &efp__config_write__descriptor;
      case EFP_PAYLOAD_CONFIG_WRITE_ACK:
        return &efp__config_write_ack__descriptor;
      case EFP_PAYLOAD_UNKNOWN:
      case EFP_PAYLOAD_IGNORED:
      case EFP_PAYLOAD_REQUEST:
      default:
        return NULL;
    }
}

gboolean
efp_envelope_parse (EfpArena *arena, const guint8 *data, gsize len, EfpEnvelope *out,
                    GError **error)
{
  Efp__HeaderMessage *msg;
  guint i;

  out->n_items = 0;
  out->items = NULL;
  out->arena = arena;
  msg = efp__header_message__unpack (efp_arena_get_allocator (arena), len, data);
  if (msg == NULL)
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                   "envelope of %" G_GSIZE_FORMAT " bytes does not parse as protobuf "
                   "(truncated or corrupt)",
                   len);
      return FALSE;
    }
  if (msg->n_header == 0)
    {
      g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                   "envelope of %" G_GSIZE_FORMAT " bytes holds no header (field 1)", len);
      return FALSE;
    }

  out->items = efp_arena_alloc (arena, msg->n_header * sizeof (EfpEnvelopeItem));
  out->n_items = (guint) msg->n_header;
  for (i = 0; i < msg->n_header; i++)
    {
      const Efp__Header *h = msg->header[i];
      EfpEnvelopeItem *it = &out->items[i];

      it->header = h;
      it->src = h->has_src ? (guint32) h->src : 0;
      it->cmd_func = h->has_cmd_func ? (guint32) h->cmd_func : 0;
      it->cmd_id = h->has_cmd_id ? (guint32) h->cmd_id : 0;
      it->seq = h->has_seq ? (guint32) h->seq : 0;
      it->pdata = h->has_pdata ? h->pdata.data : NULL;
      it->pdata_len = h->has_pdata ? h->pdata.len : 0;
      it->xored = FALSE;
      it->xor_key = 0;
      it->message = NULL;
      it->kind = efp_envelope_route (h->has_cmd_func || h->has_cmd_id, it->cmd_func, it->cmd_id,
                                     h->has_pdata);

      if (h->has_data_len && (h->data_len < 0 || (gsize) h->data_len != it->pdata_len))
        {
          g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_TRUNCATED,
                       "header %u (%u/%u): data_len says %d bytes but pdata holds %" G_GSIZE_FORMAT,
                       i + 1, it->cmd_func, it->cmd_id, h->data_len, it->pdata_len);
          return FALSE;
        }

      /* SPEC 3.2: per header, key = low byte of seq; app messages are never XORed */
      if (h->has_enc_type && h->enc_type == 1 && it->src != EFP_SRC_APP && it->pdata_len > 0)
        {
          guint8 *p = h->pdata.data; /* our own copy in the arena */
          gsize k;

          it->xored = TRUE;
          it->xor_key = (guint8) (it->seq & 0xff);
          for (k = 0; k < it->pdata_len; k++)
            p[k] ^= it->xor_key;
        }
    }
  return TRUE;
}

const ProtobufCMessage *
efp_envelope_unpack (EfpEnvelope *env, guint index, GError **error)
{
  EfpEnvelopeItem *it;
  const ProtobufCMessageDescriptor *desc;

  g_return_val_if_fail (index < env->n_items, NULL);
  it = &env->items[index];
  if (it->message != NULL)
    return it->message;
  desc = efp_payload_kind_get_descriptor (it->kind);
  if (desc == NULL)
    return NULL;
  it->message = protobuf_c_message_unpack (desc, efp_arena_get_allocator (env->arena),
                                           it->pdata_len, it->pdata);
  if (it->message != NULL)
    return it->message;
  if (it->xored)
    g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                 "header %u (%u/%u %s): payload does not parse after de-XOR with key "
                 "0x%02x (wrong key or corrupt)",
                 index + 1, it->cmd_func, it->cmd_id, desc->short_name, it->xor_key);
  else
    g_set_error (error, EFP_DECODER_ERROR, EFP_DECODER_ERROR_MALFORMED,
                 "header %u (%u/%u %s): payload of %" G_GSIZE_FORMAT
                 " bytes does not parse (truncated or corrupt)",
                 index + 1, it->cmd_func, it->cmd_id, desc->short_name, it->pdata_len);
  return NULL;
}

gboolean
efp_envelope_unpack_all (EfpEnvelope *env, GError **error)
{
  guint i;

  for (i = 0; i < env->n_items; i++)
    if (efp_envelope_unpack (env, i, error) == NULL &&
        efp_payload_kind_get_descriptor (env->items[i].kind) != NULL)
      return FALSE;
  return TRUE;
}

/* efp-decoder.h: the decoder plugin ABI (public, installed).
 *
 * A decoder is a shared object in <plugin-dir>/decoders/ exporting one symbol,
 * efp_decoder_module_query(), that returns a const EfpDecoderVTable. Decoders
 * are pure: bytes in, normalized fields out; no I/O and no global state. All
 * per-device memory lives in the context the decoder creates.
 *
 * Versioning: abi_major must equal EFP_DECODER_ABI_MAJOR exactly. Fields are
 * only ever appended (abi_minor grows); the host reads an appended field only
 * when struct_size covers it.
 */
#pragma once

#include <glib.h>
#include "efp-reading.h"

G_BEGIN_DECLS

#define EFP_DECODER_ABI_MAJOR    1
#define EFP_DECODER_ABI_MINOR    0
#define EFP_DECODER_QUERY_SYMBOL "efp_decoder_module_query"

/* How sure a probe is that a payload belongs to this decoder. */
typedef enum
{
  EFP_PROBE_NO = 0,
  EFP_PROBE_MAYBE = 10, /* parses, nothing specific */
  EFP_PROBE_LIKELY = 50,
  EFP_PROBE_SURE = 100,
} EfpProbeScore;

typedef struct
{
  gsize struct_size;
  const gchar *serial; /* may be NULL */
  const gchar *model;  /* from the model table or config; may be NULL */
  GHashTable *options; /* (const gchar* -> const gchar*) device keys listed in option_keys */
} EfpDecoderSetup;

typedef struct
{
  guint32 abi_major;
  guint32 abi_minor;
  gsize struct_size;
  const gchar *name; /* "river3plus"; matches decoder= in config */
  const gchar *description;
  /* NULL-terminated device config keys this decoder accepts (e.g. "grid-source") */
  const gchar *const *option_keys;

  /* Score a payload (and serial, may be NULL) without side effects. */
  EfpProbeScore (*probe) (const gchar *serial, const guint8 *data, gsize len);

  /* Per-device context. Returns NULL and sets @error on a bad option. */
  gpointer (*context_new) (const EfpDecoderSetup *setup, GError **error);
  void (*context_free) (gpointer context);

  /* Merge one frame into @reading. On failure return FALSE with a one-line
   * reason in @error; the host then discards whatever was written to @reading
   * (it decodes into a copy) but the context must stay consistent. */
  gboolean (*decode) (gpointer context, const guint8 *data, gsize len, EfpReading *reading,
                      GError **error);
} EfpDecoderVTable;

typedef const EfpDecoderVTable *(*EfpDecoderQueryFunc) (void);

#define EFP_DECODER_ERROR (efp_decoder_error_quark ())
static inline GQuark
efp_decoder_error_quark (void)
{
  return g_quark_from_static_string ("efp-decoder-error");
}

typedef enum
{
  EFP_DECODER_ERROR_MALFORMED,   /* does not parse */
  EFP_DECODER_ERROR_TRUNCATED,   /* ends early / length mismatch */
  EFP_DECODER_ERROR_UNSUPPORTED, /* parses, nothing we know (e.g. unknown cmd pair) */
  EFP_DECODER_ERROR_INVALID,     /* out of range values */
  EFP_DECODER_ERROR_OPTION,      /* bad setup option */
} EfpDecoderError;

/* Use once per module: EFP_DECODER_DEFINE (river3plus_vtable) */
#define EFP_DECODER_DEFINE(vtable)                                                                 \
  G_MODULE_EXPORT const EfpDecoderVTable *efp_decoder_module_query (void);                         \
  G_MODULE_EXPORT const EfpDecoderVTable *efp_decoder_module_query (void)                          \
  {                                                                                                \
    return &(vtable);                                                                              \
  }

G_END_DECLS

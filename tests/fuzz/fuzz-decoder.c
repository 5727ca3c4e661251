/* fuzz-decoder.c: libFuzzer harness for one decoder plugin, linked statically.
 *
 * Every input goes through the decoder the way the daemon uses it: probe with
 * and without a serial, then a fresh EfpDecoderSession per grid-source mode
 * fed the whole input twice (merging into existing state), then both halves.
 * After each frame the merged reading must still be a valid EfpReading.
 */
#include <math.h>
#include <string.h>

#include "efp-decoder-session.h"

/* the linked decoder's query symbol (EFP_DECODER_DEFINE) */
const EfpDecoderVTable *efp_decoder_module_query (void);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static const gchar *const grid_sources[] = { "auto", "charger-flag", "tag27" };
static const gchar *const grid_names[] = { "charger-flag", "ac-in-watts", "ac-in-volts",
                                           "ac-in-freq",   "tag27",       "simulated" };

/* abort (a crash libFuzzer reports) when the reading breaks a promise of efp-reading.h */
static void
check_reading (const EfpReading *r)
{
  gboolean known_source = FALSE;
  guint i;

  if (!isnan (r->soc) && (r->soc < 0 || r->soc > 100))
    __builtin_trap ();
  if (r->grid_connected != EFP_TRISTATE_UNKNOWN && r->grid_connected != EFP_TRISTATE_TRUE &&
      r->grid_connected != EFP_TRISTATE_FALSE)
    __builtin_trap ();
  for (i = 0; r->grid_source != NULL && i < G_N_ELEMENTS (grid_names); i++)
    if (strcmp (r->grid_source, grid_names[i]) == 0)
      known_source = TRUE;
  if (r->grid_source != NULL && !known_source)
    __builtin_trap ();
  if (r->chg_dsg_state < -1 || r->chg_dsg_state > 2 || r->remain_minutes < -1)
    __builtin_trap ();
  if (memchr (r->model, '\0', sizeof (r->model)) == NULL)
    __builtin_trap ();
  for (i = 0; i < EFP_READING_MAX_PACKS; i++)
    {
      const EfpPack *p = &r->packs[i];
      if (p->present && !isnan (p->soc) && (p->soc < 0 || p->soc > 100))
        __builtin_trap ();
      if (p->remain_minutes < -1)
        __builtin_trap ();
    }
}

static void
feed (EfpDecoderSession *s, const guint8 *data, size_t size)
{
  GError *error = NULL;

  if (!efp_decoder_session_feed (s, data, size, 1, &error))
    {
      /* every refusal carries a reason, on one line */
      if (error == NULL || error->message == NULL)
        __builtin_trap ();
      /* the session makes every reason one line, for every decoder */
      if (strchr (error->message, '\n') != NULL)
        __builtin_trap ();
      g_clear_error (&error);
    }
  check_reading (efp_decoder_session_get_reading (s));
}

static gboolean
has_grid_option (const EfpDecoderVTable *vt)
{
  guint i;
  for (i = 0; vt->option_keys != NULL && vt->option_keys[i] != NULL; i++)
    if (strcmp (vt->option_keys[i], "grid-source") == 0)
      return TRUE;
  return FALSE;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  const EfpDecoderVTable *vt = efp_decoder_module_query ();
  guint n_modes = has_grid_option (vt) ? G_N_ELEMENTS (grid_sources) : 1;
  guint m;

  (void) vt->probe (NULL, data, size);
  (void) vt->probe ("R631ZEB4FUZZ", data, size);

  for (m = 0; m < n_modes; m++)
    {
      GHashTable *options = g_hash_table_new (g_str_hash, g_str_equal);
      EfpDecoderSetup setup = { sizeof (EfpDecoderSetup), NULL, NULL, options };
      EfpDecoderSession *s;

      if (has_grid_option (vt))
        g_hash_table_insert (options, (gpointer) "grid-source", (gpointer) grid_sources[m]);
      s = efp_decoder_session_new (vt, &setup, NULL);
      if (s == NULL)
        __builtin_trap ();
      feed (s, data, size);
      feed (s, data, size);
      feed (s, data, size / 2);
      feed (s, data + size / 2, size - size / 2);
      efp_decoder_session_free (s);
      g_hash_table_unref (options);
    }
  return 0;
}

/* efp-bench-decode.c: decode-and-merge throughput of the real decoder plugins.
 *
 * Every vector of vectors.json is fed again and again into one
 * EfpDecoderSession of its decoder (loaded from $EFP_PLUGIN_DIR), the path a
 * frame takes in the daemon: decode AND merge. Single thread, pinned to one
 * CPU; best of 5 runs of at least 0.1 s each, taken in rounds over all vectors.
 * Prints one row per vector: messages per second and nanoseconds per message.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "efp-decoder-session.h"
#include "efp-plugin-loader.h"
#include "efp-test-vectors.h"

/* each measurement runs at least this long; the best of RUNS counts (the
 * least disturbed by other processes on a shared machine) */
#define MIN_RUN_NS (100 * 1000 * 1000.0)
#define RUNS       5

static gdouble
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gdouble) ts.tv_sec * 1e9 + (gdouble) ts.tv_nsec;
}

static void
pin_to_one_cpu (void)
{
  cpu_set_t set;
  gint cpu;

  if (sched_getaffinity (0, sizeof (set), &set) != 0)
    return;
  for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET (cpu, &set))
      {
        CPU_ZERO (&set);
        CPU_SET (cpu, &set);
        sched_setaffinity (0, sizeof (set), &set);
        return;
      }
}

static const gchar *
vector_class (const EfpTestVector *v, gsize len)
{
  if (g_str_equal (v->payload_kind, "json"))
    return len < 1024 ? "json-push" : "json-quota-reply";
  if (g_str_has_suffix (v->name, "pdata") || g_str_has_suffix (v->name, "pdata_dexored"))
    return "pb-heartbeat";
  if (strstr (v->name, "get_reply") != NULL)
    return "pb-get-reply-bundle";
  if (strstr (v->name, "set") != NULL)
    return "pb-set-command";
  if (strstr (v->name, "heartbeat") != NULL)
    return "pb-heartbeat";
  if (strstr (v->name, "full") != NULL)
    return "pb-display-full";
  return "pb-incremental";
}

typedef struct
{
  const EfpTestVector *v;
  EfpDecoderSession *session;
  const guint8 *data;
  gsize len;
  guint64 n; /* frames per timed run: enough for MIN_RUN_NS */
  gdouble best_ns;
  gboolean ok; /* the decoder took the frame */
} Bench;

static gdouble
timed_run (Bench *b)
{
  gdouble t0 = now_ns ();
  guint64 i;

  for (i = 0; i < b->n; i++)
    efp_decoder_session_feed (b->session, b->data, b->len, (gint64) i, NULL);
  return now_ns () - t0;
}

/* A session of the vector's decoder, warmed up, with its run length found. */
static void
bench_init (Bench *b, EfpPluginRegistry *registry, const EfpTestVector *v)
{
  const EfpDecoderVTable *vt =
    efp_plugin_registry_get_decoder (registry, efp_test_vector_decoder (v));
  EfpDecoderSetup setup = { sizeof (EfpDecoderSetup), NULL, NULL, NULL };
  guint i;

  b->v = v;
  b->session = efp_decoder_session_new (vt, &setup, NULL);
  b->data = g_bytes_get_data (v->payload, &b->len);
  b->best_ns = G_MAXDOUBLE;
  b->ok = efp_decoder_session_feed (b->session, b->data, b->len, 1, NULL);
  for (i = 0; i < 1000; i++) /* warm caches and the decoder's arena */
    efp_decoder_session_feed (b->session, b->data, b->len, 1, NULL);
  for (b->n = 64; timed_run (b) < MIN_RUN_NS; b->n *= 2)
    ;
}

int
main (int argc, char **argv)
{
  g_autoptr (EfpPluginRegistry) registry = efp_plugin_registry_new ();
  g_autoptr (GPtrArray) vectors = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *dir = g_getenv ("EFP_PLUGIN_DIR");
  gdouble bundle_ns = 0, worst_small_ns = 0;
  Bench *benches;
  guint i, run;

  if (dir == NULL || efp_plugin_registry_load_dir (registry, dir) == 0)
    {
      g_printerr ("efp-bench-decode: set EFP_PLUGIN_DIR to a directory holding decoders/\n");
      return 78;
    }
  vectors = efp_test_vectors_load (argc > 1 ? argv[1] : NULL, &error);
  if (vectors == NULL)
    {
      g_printerr ("efp-bench-decode: %s\n", error->message);
      return 65;
    }
  pin_to_one_cpu ();

  benches = g_new0 (Bench, vectors->len);
  for (i = 0; i < vectors->len; i++)
    bench_init (&benches[i], registry, vectors->pdata[i]);
  /* RUNS rounds over all vectors, the best run of each counts: a burst of noise from the
   * rest of the machine spoils one round of a vector, not all of them */
  for (run = 0; run < RUNS; run++)
    for (i = 0; i < vectors->len; i++)
      benches[i].best_ns =
        MIN (benches[i].best_ns, timed_run (&benches[i]) / (gdouble) benches[i].n);

  g_print ("%-46s %-19s %-10s %6s %12s %10s\n", "vector", "class", "decoder", "bytes", "msg/s",
           "ns/msg");
  for (i = 0; i < vectors->len; i++)
    {
      Bench *b = &benches[i];
      const gchar *cls = vector_class (b->v, b->len);

      g_print ("%-46s %-19s %-10s %6" G_GSIZE_FORMAT " %12.0f %10.0f%s\n", b->v->name, cls,
               efp_test_vector_decoder (b->v), b->len, 1e9 / b->best_ns, b->best_ns,
               b->ok ? "" : "  (refused)");
      if (g_str_equal (b->v->name, "river3plus_get_reply_two_batteries"))
        bundle_ns = b->best_ns;
      if (g_str_equal (cls, "pb-incremental") && b->best_ns > worst_small_ns)
        worst_small_ns = b->best_ns;
      efp_decoder_session_free (b->session);
    }
  g_free (benches);
  g_print ("\nRIVER 3 Plus get_reply bundle (1892 B), decode+merge: %.0f ns (target < 5000 ns)\n",
           bundle_ns);
  g_print ("slowest small incremental protobuf frame: %.0f ns (target < 1000 ns)\n",
           worst_small_ns);
  return 0;
}

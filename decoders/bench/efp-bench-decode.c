/* efp-bench-decode.c: decode-and-merge throughput of the real decoder plugins.
 *
 * Every vector of vectors.json is fed again and again into one
 * EfpDecoderSession of its decoder (loaded from $EFP_PLUGIN_DIR), the path a
 * frame takes in the daemon: decode AND merge. Single thread, pinned to one
 * CPU; best of 5 runs of at least 0.1 s each. Prints one row per vector:
 * messages per second and nanoseconds per message.
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

/* ns per decode+merge of @v in a session of its decoder; *ok FALSE if refused */
static gdouble
measure (EfpPluginRegistry *registry, const EfpTestVector *v, gboolean *ok)
{
  const EfpDecoderVTable *vt =
    efp_plugin_registry_get_decoder (registry, efp_test_vector_decoder (v));
  EfpDecoderSetup setup = { sizeof (EfpDecoderSetup), NULL, NULL, NULL };
  g_autoptr (EfpDecoderSession) s = efp_decoder_session_new (vt, &setup, NULL);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (v->payload, &len);
  guint64 n = 64, i;
  gdouble t0, t1, best = G_MAXDOUBLE;
  guint run;

  *ok = efp_decoder_session_feed (s, data, len, 1, NULL);
  for (i = 0; i < 1000; i++) /* warm caches and the decoder's arena */
    efp_decoder_session_feed (s, data, len, 1, NULL);
  for (run = 0; run < RUNS;)
    {
      t0 = now_ns ();
      for (i = 0; i < n; i++)
        efp_decoder_session_feed (s, data, len, (gint64) i, NULL);
      t1 = now_ns ();
      if (t1 - t0 < MIN_RUN_NS)
        {
          n *= 2;
          continue;
        }
      best = MIN (best, (t1 - t0) / (gdouble) n);
      run++;
    }
  return best;
}

int
main (int argc, char **argv)
{
  g_autoptr (EfpPluginRegistry) registry = efp_plugin_registry_new ();
  g_autoptr (GPtrArray) vectors = NULL;
  g_autoptr (GError) error = NULL;
  const gchar *dir = g_getenv ("EFP_PLUGIN_DIR");
  gdouble bundle_ns = 0, worst_small_ns = 0;
  guint i;

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

  g_print ("%-46s %-19s %-10s %6s %12s %10s\n", "vector", "class", "decoder", "bytes", "msg/s",
           "ns/msg");
  for (i = 0; i < vectors->len; i++)
    {
      const EfpTestVector *v = vectors->pdata[i];
      gsize len = g_bytes_get_size (v->payload);
      gboolean ok = FALSE;
      gdouble ns = measure (registry, v, &ok);
      const gchar *cls = vector_class (v, len);

      g_print ("%-46s %-19s %-10s %6" G_GSIZE_FORMAT " %12.0f %10.0f%s\n", v->name, cls,
               efp_test_vector_decoder (v), len, 1e9 / ns, ns, ok ? "" : "  (refused)");
      if (g_str_equal (v->name, "river3plus_get_reply_two_batteries"))
        bundle_ns = ns;
      if (g_str_equal (cls, "pb-incremental") && ns > worst_small_ns)
        worst_small_ns = ns;
    }
  g_print ("\nRIVER 3 Plus get_reply bundle (1892 B), decode+merge: %.0f ns (target < 5000 ns)\n",
           bundle_ns);
  g_print ("slowest small incremental protobuf frame: %.0f ns (target < 1000 ns)\n",
           worst_small_ns);
  return 0;
}

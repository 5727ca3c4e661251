/* efp-log.c: one log writer for every program of the project. */
#include "efp-log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static guint log_verbosity;
static gboolean log_personal;

static GLogWriterOutput
efp_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if ((level & G_LOG_LEVEL_DEBUG) && log_verbosity < 2)
    return G_LOG_WRITER_HANDLED;
  if ((level & G_LOG_LEVEL_INFO) && log_verbosity < 1)
    return G_LOG_WRITER_HANDLED;
  if (g_log_writer_is_journald (fileno (stderr)))
    {
      if (g_log_writer_journald (level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    }
  /* everything on stderr: stdout belongs to program output (--check-config, tools) */
  {
    g_autofree gchar *line = g_log_writer_format_fields (
      level, fields, n_fields, g_log_writer_supports_color (fileno (stderr)));
    fprintf (stderr, "%s\n", line);
    fflush (stderr);
  }
  return G_LOG_WRITER_HANDLED;
}

void
efp_log_setup (guint verbosity, gboolean show_personal_info)
{
  log_verbosity = verbosity;
  log_personal = show_personal_info;
  /* our writer filters levels itself; make GLib pass debug/info through */
  if (verbosity >= 2)
    g_log_set_debug_enabled (TRUE);
  g_log_set_writer_func (efp_log_writer, NULL, NULL);
}

const gchar *
efp_log_redact (const gchar *serial)
{
  static gchar ring[8][64];
  static guint next;
  gchar *buf;
  gsize n, i;

  if (serial == NULL)
    return "(none)";
  if (log_personal)
    return serial;
  buf = ring[next++ % G_N_ELEMENTS (ring)];
  g_strlcpy (buf, serial, sizeof (ring[0]));
  n = strlen (buf);
  /* keep the model prefix and the last 4 characters, enough to tell units apart */
  for (i = 4; n > 8 && i < n - 4; i++)
    buf[i] = '*';
  if (n <= 8)
    for (i = n > 2 ? 2 : 0; i < n; i++)
      buf[i] = '*';
  return buf;
}

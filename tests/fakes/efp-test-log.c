/* efp-test-log.c: the recorded log and the main-loop spinning of the loopback tests. */
#include "efp-test-log.h"

#include <stdlib.h>
#include <string.h>

static GString *log_text;
static GLogLevelFlags echo_levels;

static GLogWriterOutput
test_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  const gchar *message = "";
  const gchar *domain = "";
  const gchar *name = (level & G_LOG_LEVEL_ERROR)      ? "ERROR"
                      : (level & G_LOG_LEVEL_CRITICAL) ? "CRITICAL"
                      : (level & G_LOG_LEVEL_WARNING)  ? "WARNING"
                      : (level & G_LOG_LEVEL_MESSAGE)  ? "Message"
                      : (level & G_LOG_LEVEL_INFO)     ? "INFO"
                                                       : "DEBUG";

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0)
        message = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0 && fields[i].length < 0)
        domain = fields[i].value;
    }
  g_string_append_printf (log_text, "%s-%s: %s\n", domain, name, message);
  if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | echo_levels)) != 0 ||
      g_getenv ("EFP_TEST_DEBUG") != NULL)
    g_printerr ("# %s-%s: %s\n", domain, name, message);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    abort ();
  return G_LOG_WRITER_HANDLED;
}

void
log_capture (GLogLevelFlags echo)
{
  log_text = g_string_new (NULL);
  echo_levels = echo;
  g_log_set_writer_func (test_log_writer, NULL, NULL);
}

void
log_clear (void)
{
  g_string_truncate (log_text, 0);
}

const gchar *
logged (void)
{
  return log_text->str;
}

guint
count_log (const gchar *needle)
{
  guint n = 0;
  for (const gchar *p = strstr (log_text->str, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

void
spin (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (2000);
}

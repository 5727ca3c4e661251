/* efp-test-log.h: what the loopback tests share: every log line recorded as
 * "Domain-LEVEL: message" so that tests can assert on it (a warning said once,
 * no secret anywhere), and the default main context spun while waiting.
 *
 *   log_capture (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE);  // in main()
 *   log_clear ();                                             // in the fixture set-up
 *   WAIT_UNTIL (f->hits->len == 2, 5000);
 *   g_assert_cmpuint (count_log ("WARNING"), ==, 0);
 *   g_assert_null (strstr (logged (), SECRET));
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Spin the default main context until @cond holds or @ms passed, then assert @cond. */
#define WAIT_UNTIL(cond, ms)                                                                       \
  G_STMT_START                                                                                     \
  {                                                                                                \
    gint64 deadline_ = g_get_monotonic_time () + (gint64) (ms) *1000;                              \
    while (!(cond) && g_get_monotonic_time () < deadline_)                                         \
      if (!g_main_context_iteration (NULL, FALSE))                                                 \
        g_usleep (2000);                                                                           \
    if (!(cond))                                                                                   \
      g_test_message ("timed out after %d ms waiting for: %s", (gint) (ms), #cond);                \
    g_assert_true (cond);                                                                          \
  }                                                                                                \
  G_STMT_END

/* Record every log line from now on. ERROR and CRITICAL and the @echo levels
 * are also printed on stderr as TAP comments (every level with EFP_TEST_DEBUG
 * set); ERROR and CRITICAL abort the test. */
void log_capture (GLogLevelFlags echo);
void log_clear (void);
/* Everything recorded since the last log_clear(). */
const gchar *logged (void);
/* How often @needle stands in what was recorded. */
guint count_log (const gchar *needle);
/* Spin the default main context for @ms. */
void spin (guint ms);

G_END_DECLS

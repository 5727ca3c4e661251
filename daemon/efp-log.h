/* efp-log.h: structured logging to journald or stderr, -v/-vv, redaction. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 0: messages and warnings; 1 (-v): info; 2 (-vv): debug. */
void efp_log_setup (guint verbosity, gboolean show_personal_info);
/* Mask a serial number or identifier unless personal info is shown:
 * "R631ZEB4WH000001" -> "R631********0001". Returns a string owned by a
 * small ring of static buffers (valid for a few calls; log arguments only). */
const gchar *efp_log_redact (const gchar *serial);

G_END_DECLS

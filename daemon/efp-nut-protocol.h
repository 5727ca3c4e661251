/* efp-nut-protocol.h: pure pieces of the NUT network protocol (CONTRACT 6).
 *
 * Word splitting with NUT's quoting rules, quoting of values, UPS names and
 * the ups.status string. No I/O, no state: the unit tests call these directly.
 */
#pragma once

#include <gio/gio.h>
#include "efp-reading.h"

G_BEGIN_DECLS

/* Longest request line the server accepts (NUT's own limit is in the same range). */
#define EFP_NUT_MAX_LINE 1024
/* No request has more words than this (SET VAR ups var "value" has 5). */
#define EFP_NUT_MAX_WORDS 16

typedef enum
{
  EFP_NUT_SPLIT_NONE = 0,
  EFP_NUT_SPLIT_COMMENTS = 1 << 0, /* an unquoted '#' ends the line (upsd.users) */
} EfpNutSplitFlags;

/* Split @len bytes of @line into words: blanks separate words, "double quotes"
 * keep blanks inside one word, a backslash takes the next byte literally
 * (inside or outside quotes), "" is an empty word. Errors (G_IO_ERROR_INVALID_DATA,
 * the message never quotes the input): a NUL byte, an unterminated quote, a
 * backslash at the end, more than EFP_NUT_MAX_WORDS words. */
gchar **efp_nut_split (const gchar *line, gsize len, EfpNutSplitFlags flags, GError **error);

/* "value" with backslash and double quote escaped: the form of every value
 * NUT sends (VAR ups var "value"). */
gchar *efp_nut_quote (const gchar *value);

/* The NUT name of a device or group: lower case, every character outside
 * [a-z0-9_-] becomes '_' (one '_' per UTF-8 character). */
gchar *efp_nut_ups_name (const gchar *device);

/* The ups.status tokens: [FSD] OL|OB [CHRG] [LB]. OB when the grid is known to be
 * gone; LB when on battery and soc <= @charge_low (NAN: never), and always with
 * @fsd (so clients that act on LB only, like QNAP, still shut down). */
gchar *efp_nut_ups_status (const EfpReading *r, gdouble charge_low, gboolean fsd);

/* A number the way NUT clients parse it: "80", "12.5" (C locale, no exponent). */
gchar *efp_nut_format_number (gdouble value);

G_END_DECLS

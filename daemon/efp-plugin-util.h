/* efp-plugin-util.h: small helpers shared by the daemon and plugins (public,
 * installed, header-only so out-of-tree plugins need no extra library). */
#pragma once

#include <errno.h>
#include <glib.h>

G_BEGIN_DECLS

#define EFP_CONFIG_ERROR (efp_config_error_quark ())
static inline GQuark
efp_config_error_quark (void)
{
  return g_quark_from_static_string ("efp-config-error");
}

typedef enum
{
  EFP_CONFIG_ERROR_INVALID,     /* wrong type, out of range */
  EFP_CONFIG_ERROR_UNKNOWN_KEY, /* unknown group or key */
  EFP_CONFIG_ERROR_MISSING,     /* required key missing */
  EFP_CONFIG_ERROR_IO,          /* unreadable file */
} EfpConfigError;

/* Read integer @key of @group into @out, @def when absent. Errors:
 * "[group] key: expected an integer MIN-MAX, found 'VALUE'". */
static inline gboolean
efp_keyfile_get_int (GKeyFile *kf, const gchar *group, const gchar *key, gint64 def, gint64 min,
                     gint64 max, gint64 *out, GError **error)
{
  g_autofree gchar *raw = NULL;
  g_autofree gchar *s = NULL;
  gchar *end = NULL;
  gint64 v;

  raw = g_key_file_get_value (kf, group, key, NULL);
  if (raw == NULL)
    {
      *out = def;
      return TRUE;
    }
  s = g_strstrip (g_strdup (raw));
  errno = 0;
  v = g_ascii_strtoll (s, &end, 10);
  if (*s == '\0' || end == NULL || *end != '\0' || errno != 0 || v < min || v > max)
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[%s] %s: expected an integer %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
                   ", found '%s'",
                   group, key, min, max, raw);
      return FALSE;
    }
  *out = v;
  return TRUE;
}

/* Read boolean @key (true/false/yes/no/1/0, any case). */
static inline gboolean
efp_keyfile_get_bool (GKeyFile *kf, const gchar *group, const gchar *key, gboolean def,
                      gboolean *out, GError **error)
{
  g_autofree gchar *raw = g_key_file_get_value (kf, group, key, NULL);
  g_autofree gchar *s = NULL;

  if (raw == NULL)
    {
      *out = def;
      return TRUE;
    }
  s = g_ascii_strdown (raw, -1);
  g_strstrip (s);
  if (g_str_equal (s, "true") || g_str_equal (s, "yes") || g_str_equal (s, "1") ||
      g_str_equal (s, "on"))
    *out = TRUE;
  else if (g_str_equal (s, "false") || g_str_equal (s, "no") || g_str_equal (s, "0") ||
           g_str_equal (s, "off"))
    *out = FALSE;
  else
    {
      g_set_error (error, EFP_CONFIG_ERROR, EFP_CONFIG_ERROR_INVALID,
                   "[%s] %s: expected true or false, found '%s'", group, key, raw);
      return FALSE;
    }
  return TRUE;
}

/* A "*-sec" key as CONTRACT 3.2 defines it: 1-604800, or 0-604800 when @zero_ok. */
static inline gboolean
efp_keyfile_get_seconds (GKeyFile *kf, const gchar *group, const gchar *key, gint64 def,
                         gboolean zero_ok, gint64 *out, GError **error)
{
  return efp_keyfile_get_int (kf, group, key, def, zero_ok ? 0 : 1, 604800, out, error);
}

G_END_DECLS

/* efp-json.c: a small JSON writer over json-glib nodes. */
#include "efp-json.h"

#include <math.h>
#include <string.h>

static void write_node (GString *out, JsonNode *node, guint indent, guint depth);

static void
write_string (GString *out, const gchar *s)
{
  g_string_append_c (out, '"');
  for (; *s != '\0'; s++)
    {
      guchar c = (guchar) *s;
      switch (c)
        {
          case '"':
            g_string_append (out, "\\\"");
            break;
          case '\\':
            g_string_append (out, "\\\\");
            break;
          case '\n':
            g_string_append (out, "\\n");
            break;
          case '\r':
            g_string_append (out, "\\r");
            break;
          case '\t':
            g_string_append (out, "\\t");
            break;
          default:
            if (c < 0x20 || c == 0x7f)
              g_string_append_printf (out, "\\u%04x", c);
            else
              g_string_append_c (out, (gchar) c);
        }
    }
  g_string_append_c (out, '"');
}

static void
write_double (GString *out, gdouble v)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (!isfinite (v))
    {
      /* JSON has no NaN or infinity */
      g_string_append (out, "null");
      return;
    }
  g_ascii_formatd (buf, sizeof (buf), "%.15g", v);
  g_string_append (out, buf);
  /* keep it a JSON number that reads back as a double */
  if (strpbrk (buf, ".eE") == NULL)
    g_string_append (out, ".0");
}

static void
newline (GString *out, guint indent, guint depth)
{
  if (indent == 0)
    return;
  g_string_append_c (out, '\n');
  for (guint i = 0; i < indent * depth; i++)
    g_string_append_c (out, ' ');
}

static void
write_value (GString *out, JsonNode *node)
{
  switch (json_node_get_value_type (node))
    {
      case G_TYPE_INT64:
        g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
        break;
      case G_TYPE_DOUBLE:
        write_double (out, json_node_get_double (node));
        break;
      case G_TYPE_BOOLEAN:
        g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
        break;
      case G_TYPE_STRING:
        write_string (out, json_node_get_string (node));
        break;
      default:
        g_string_append (out, "null");
    }
}

static void
write_node (GString *out, JsonNode *node, guint indent, guint depth)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      g_string_append (out, "null");
      return;
    }
  if (JSON_NODE_HOLDS_VALUE (node))
    {
      write_value (out, node);
      return;
    }
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      guint n = json_array_get_length (a), i;
      g_string_append_c (out, '[');
      for (i = 0; i < n; i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          newline (out, indent, depth + 1);
          write_node (out, json_array_get_element (a, i), indent, depth + 1);
        }
      if (n > 0)
        newline (out, indent, depth);
      g_string_append_c (out, ']');
      return;
    }
  {
    JsonObject *o = json_node_get_object (node);
    g_autoptr (GList) members = json_object_get_members (o);
    GList *l;
    g_string_append_c (out, '{');
    for (l = members; l != NULL; l = l->next)
      {
        if (l != members)
          g_string_append_c (out, ',');
        newline (out, indent, depth + 1);
        write_string (out, l->data);
        g_string_append (out, indent > 0 ? ": " : ":");
        write_node (out, json_object_get_member (o, l->data), indent, depth + 1);
      }
    if (members != NULL)
      newline (out, indent, depth);
    g_string_append_c (out, '}');
  }
}

gchar *
efp_json_to_string (JsonNode *node, guint indent)
{
  GString *out = g_string_sized_new (256);
  write_node (out, node, indent, 0);
  return g_string_free (out, FALSE);
}

static gboolean
all_utf8 (JsonNode *node)
{
  if (node == NULL)
    return TRUE;
  switch (JSON_NODE_TYPE (node))
    {
      case JSON_NODE_OBJECT:
        {
          JsonObjectIter it;
          const gchar *name;
          JsonNode *member;

          json_object_iter_init (&it, json_node_get_object (node));
          while (json_object_iter_next (&it, &name, &member))
            if (!g_utf8_validate (name, -1, NULL) || !all_utf8 (member))
              return FALSE;
          return TRUE;
        }
      case JSON_NODE_ARRAY:
        {
          JsonArray *a = json_node_get_array (node);
          guint i, n = json_array_get_length (a);

          for (i = 0; i < n; i++)
            if (!all_utf8 (json_array_get_element (a, i)))
              return FALSE;
          return TRUE;
        }
      case JSON_NODE_VALUE:
        return json_node_get_value_type (node) != G_TYPE_STRING ||
               g_utf8_validate (json_node_get_string (node), -1, NULL);
      case JSON_NODE_NULL:
      default:
        return TRUE;
    }
}

gboolean
efp_json_load (JsonParser *parser, const gchar *data, gssize len, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!json_parser_load_from_data (parser, data, len, &local))
    {
      /* json-glib quotes the offending token, which can hold line breaks */
      g_strdelimit (local->message, "\r\n", ' ');
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (!all_utf8 (json_parser_get_root (parser)))
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   "a string is not valid UTF-8 (an escape such as \\224?)");
      return FALSE;
    }
  return TRUE;
}

/* efp-ctl-json.c: GVariant -> JSON without json_gvariant_serialize's NaN output. */
#include "efp-ctl-json.h"
#include "efp-json.h"

#include <math.h>

JsonNode *
efp_ctl_json_from_variant (GVariant *value)
{
  JsonNode *node = json_node_alloc ();

  switch (g_variant_classify (value))
    {
      case G_VARIANT_CLASS_BOOLEAN:
        return json_node_init_boolean (node, g_variant_get_boolean (value));
      case G_VARIANT_CLASS_BYTE:
        return json_node_init_int (node, g_variant_get_byte (value));
      case G_VARIANT_CLASS_INT16:
        return json_node_init_int (node, g_variant_get_int16 (value));
      case G_VARIANT_CLASS_UINT16:
        return json_node_init_int (node, g_variant_get_uint16 (value));
      case G_VARIANT_CLASS_INT32:
        return json_node_init_int (node, g_variant_get_int32 (value));
      case G_VARIANT_CLASS_UINT32:
        return json_node_init_int (node, g_variant_get_uint32 (value));
      case G_VARIANT_CLASS_INT64:
        return json_node_init_int (node, g_variant_get_int64 (value));
      case G_VARIANT_CLASS_UINT64:
        return json_node_init_int (
          node, (gint64) MIN (g_variant_get_uint64 (value), (guint64) G_MAXINT64));
      case G_VARIANT_CLASS_DOUBLE:
        {
          gdouble d = g_variant_get_double (value);
          if (!isfinite (d))
            return json_node_init_null (node);
          if (d == floor (d) && fabs (d) < 1e15)
            return json_node_init_int (node, (gint64) d);
          return json_node_init_double (node, d);
        }
      case G_VARIANT_CLASS_STRING:
      case G_VARIANT_CLASS_OBJECT_PATH:
      case G_VARIANT_CLASS_SIGNATURE:
        return json_node_init_string (node, g_variant_get_string (value, NULL));
      case G_VARIANT_CLASS_VARIANT:
        {
          g_autoptr (GVariant) inner = g_variant_get_variant (value);
          json_node_unref (node);
          return efp_ctl_json_from_variant (inner);
        }
      case G_VARIANT_CLASS_MAYBE:
        {
          g_autoptr (GVariant) inner = g_variant_get_maybe (value);
          if (inner == NULL)
            return json_node_init_null (node);
          json_node_unref (node);
          return efp_ctl_json_from_variant (inner);
        }
      case G_VARIANT_CLASS_ARRAY:
        if (g_variant_type_is_dict_entry (g_variant_type_element (g_variant_get_type (value))) &&
            g_variant_type_equal (
              g_variant_type_key (g_variant_type_element (g_variant_get_type (value))),
              G_VARIANT_TYPE_STRING))
          {
            JsonObject *o = json_object_new ();
            GVariantIter iter;
            GVariant *entry;

            g_variant_iter_init (&iter, value);
            while ((entry = g_variant_iter_next_value (&iter)) != NULL)
              {
                g_autoptr (GVariant) key = g_variant_get_child_value (entry, 0);
                g_autoptr (GVariant) val = g_variant_get_child_value (entry, 1);
                json_object_set_member (o, g_variant_get_string (key, NULL),
                                        efp_ctl_json_from_variant (val));
                g_variant_unref (entry);
              }
            json_node_init_object (node, o);
            json_object_unref (o);
            return node;
          }
        /* other arrays, tuples and dict entries become arrays */
        G_GNUC_FALLTHROUGH;
      case G_VARIANT_CLASS_TUPLE:
      case G_VARIANT_CLASS_DICT_ENTRY:
        {
          JsonArray *a = json_array_new ();
          GVariantIter iter;
          GVariant *child;

          g_variant_iter_init (&iter, value);
          while ((child = g_variant_iter_next_value (&iter)) != NULL)
            {
              json_array_add_element (a, efp_ctl_json_from_variant (child));
              g_variant_unref (child);
            }
          json_node_init_array (node, a);
          json_array_unref (a);
          return node;
        }
      case G_VARIANT_CLASS_HANDLE:
      default:
        return json_node_init_null (node);
    }
}

gchar *
efp_ctl_json_to_string (JsonNode *root, gboolean pretty)
{
  g_autofree gchar *text = efp_json_to_string (root, pretty ? 2 : 0);
  return g_strconcat (text, "\n", NULL);
}

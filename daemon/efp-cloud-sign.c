/* efp-cloud-sign.c: Open API signing recipe of SPEC 2.1. */
#include "efp-cloud-sign.h"

#include <string.h>

static void flatten_node (GPtrArray *pairs, const gchar *key, JsonNode *node);

/* Plain string form of a scalar, no URL encoding (step 1 of the recipe). */
static gchar *
scalar_string (JsonNode *node)
{
  GType type = json_node_get_value_type (node);

  if (type == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (type == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  if (type == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (node) ? "true" : "false");
  if (type == G_TYPE_DOUBLE)
    {
      gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
      return g_strdup (g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
    }
  return g_strdup ("");
}

static void
flatten_object (GPtrArray *pairs, const gchar *prefix, JsonObject *object)
{
  JsonObjectIter iter;
  const gchar *member;
  JsonNode *child;

  json_object_iter_init (&iter, object);
  while (json_object_iter_next (&iter, &member, &child))
    {
      g_autofree gchar *key =
        prefix != NULL ? g_strdup_printf ("%s.%s", prefix, member) : g_strdup (member);
      flatten_node (pairs, key, child);
    }
}

static void
flatten_node (GPtrArray *pairs, const gchar *key, JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      flatten_object (pairs, key, json_node_get_object (node));
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      guint n = json_array_get_length (array);
      for (guint i = 0; i < n; i++)
        {
          g_autofree gchar *item_key = g_strdup_printf ("%s[%u]", key, i);
          flatten_node (pairs, item_key, json_array_get_element (array, i));
        }
    }
  else
    {
      g_autofree gchar *value = scalar_string (node);
      g_ptr_array_add (pairs, g_strdup_printf ("%s=%s", key, value));
    }
}

/* Sort by key only: '=' (0x3d) must not take part, or "a=x" and "a.b=y" could swap. */
static gint
compare_pairs (gconstpointer a, gconstpointer b)
{
  const gchar *pa = *(const gchar *const *) a;
  const gchar *pb = *(const gchar *const *) b;
  gsize la = strcspn (pa, "=");
  gsize lb = strcspn (pb, "=");
  gint r = memcmp (pa, pb, MIN (la, lb));

  if (r != 0)
    return r;
  if (la != lb)
    return la < lb ? -1 : 1;
  return strcmp (pa + la, pb + lb);
}

gchar *
efp_cloud_sign_message (JsonObject *params, const gchar *access_key, const gchar *nonce,
                        const gchar *timestamp)
{
  g_autoptr (GPtrArray) pairs = g_ptr_array_new_with_free_func (g_free);
  GString *msg = g_string_new (NULL);

  if (params != NULL)
    flatten_object (pairs, NULL, params);
  g_ptr_array_sort (pairs, compare_pairs);
  for (guint i = 0; i < pairs->len; i++)
    {
      g_string_append (msg, g_ptr_array_index (pairs, i));
      g_string_append_c (msg, '&');
    }
  g_string_append_printf (msg, "accessKey=%s&nonce=%s&timestamp=%s", access_key, nonce, timestamp);
  return g_string_free (msg, FALSE);
}

gchar *
efp_cloud_sign_hmac (const gchar *secret_key, const gchar *message)
{
  g_autoptr (GHmac) hmac =
    g_hmac_new (G_CHECKSUM_SHA256, (const guchar *) secret_key, strlen (secret_key));

  g_hmac_update (hmac, (const guchar *) message, -1);
  return g_strdup (g_hmac_get_string (hmac));
}

gchar *
efp_cloud_sign (JsonObject *params, const gchar *access_key, const gchar *secret_key,
                const gchar *nonce, const gchar *timestamp)
{
  g_autofree gchar *msg = efp_cloud_sign_message (params, access_key, nonce, timestamp);
  return efp_cloud_sign_hmac (secret_key, msg);
}

/* efp-agent-seen.c: the replay memory of the agent. */
#include "efp-agent-seen.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "efp-command.h"
#include "efp-json.h"

typedef struct
{
  gint64 issued_at;
  gint64 ttl_sec;
} SeenEntry;

struct _EfpAgentSeen
{
  gchar *path;
  GHashTable *ids; /* id -> SeenEntry */
};

EfpAgentSeen *
efp_agent_seen_new (const gchar *path)
{
  EfpAgentSeen *s = g_new0 (EfpAgentSeen, 1);
  s->path = g_strdup (path);
  s->ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return s;
}

void
efp_agent_seen_free (EfpAgentSeen *s)
{
  if (s == NULL)
    return;
  g_free (s->path);
  g_hash_table_unref (s->ids);
  g_free (s);
}

static void
put (EfpAgentSeen *s, const gchar *id, gint64 issued_at, gint64 ttl_sec)
{
  SeenEntry *e = g_new0 (SeenEntry, 1);
  e->issued_at = issued_at;
  e->ttl_sec = ttl_sec;
  g_hash_table_replace (s->ids, g_strdup (id), e);
}

gboolean
efp_agent_seen_load (EfpAgentSeen *s, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  g_autofree gchar *data = NULL;
  gsize len = 0;
  JsonNode *root;
  JsonObject *seen;
  GList *members, *l;

  if (!g_file_get_contents (s->path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", s->path, local->message);
      return FALSE;
    }
  if (!efp_json_load (parser, data, (gssize) len, &local))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not JSON: %s", s->path,
                   local->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root) ||
      !json_object_has_member (json_node_get_object (root), "seen") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (json_node_get_object (root), "seen")))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: expected {\"seen\":{...}}, found something else", s->path);
      return FALSE;
    }
  seen = json_object_get_object_member (json_node_get_object (root), "seen");
  members = json_object_get_members (seen);
  for (l = members; l != NULL; l = l->next)
    {
      JsonNode *n = json_object_get_member (seen, l->data);
      JsonObject *o;
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      o = json_node_get_object (n);
      put (s, l->data, json_object_get_int_member_with_default (o, "issued_at", 0),
           json_object_get_int_member_with_default (o, "ttl_sec", 0));
    }
  g_list_free (members);
  return TRUE;
}

static gboolean
expired (const SeenEntry *e, gint64 now)
{
  return now > e->issued_at + e->ttl_sec + EFP_COMMAND_CLOCK_SKEW_SEC;
}

gboolean
efp_agent_seen_save (EfpAgentSeen *s, gint64 now, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *dir = g_path_get_dirname (s->path);
  g_autofree gchar *text = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, s->ids);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (expired (value, now))
      g_hash_table_iter_remove (&iter);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "seen");
  json_builder_begin_object (b);
  g_hash_table_iter_init (&iter, s->ids);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const SeenEntry *e = value;
      json_builder_set_member_name (b, key);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "issued_at");
      json_builder_add_int_value (b, e->issued_at);
      json_builder_set_member_name (b, "ttl_sec");
      json_builder_add_int_value (b, e->ttl_sec);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "cannot create %s: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  return g_file_set_contents_full (
    s->path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
}

gboolean
efp_agent_seen_contains (EfpAgentSeen *s, const gchar *id)
{
  return g_hash_table_contains (s->ids, id);
}

gboolean
efp_agent_seen_add (EfpAgentSeen *s, const gchar *id, gint64 issued_at, gint64 ttl_sec, gint64 now,
                    GError **error)
{
  put (s, id, issued_at, ttl_sec);
  return efp_agent_seen_save (s, now, error);
}

guint
efp_agent_seen_size (EfpAgentSeen *s)
{
  return g_hash_table_size (s->ids);
}

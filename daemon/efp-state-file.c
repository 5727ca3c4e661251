/* efp-state-file.c: JSON state, replaced atomically (write temp, fsync, rename). */
#include "efp-state-file.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>

#define MAX_COMMANDS 200

static void
sent_command_free (gpointer p)
{
  EfpSentCommand *c = p;
  g_free (c->id);
  g_free (c->agent);
  g_free (c->action);
  g_free (c->policy);
  g_free (c->device);
  g_free (c);
}

EfpStateFile *
efp_state_file_new (void)
{
  EfpStateFile *self = g_new0 (EfpStateFile, 1);
  self->policies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->commands = g_ptr_array_new_with_free_func (sent_command_free);
  self->devices = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

void
efp_state_file_free (EfpStateFile *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->policies);
  g_ptr_array_unref (self->commands);
  g_hash_table_unref (self->devices);
  g_free (self);
}

void
efp_state_file_set_policy (EfpStateFile *self, const gchar *policy, const gchar *target,
                           const EfpPolicyState *state)
{
  g_hash_table_replace (self->policies, g_strdup_printf ("%s\x1f%s", policy, target),
                        g_memdup2 (state, sizeof (*state)));
}

const EfpPolicyState *
efp_state_file_get_policy (EfpStateFile *self, const gchar *policy, const gchar *target)
{
  g_autofree gchar *k = g_strdup_printf ("%s\x1f%s", policy, target);
  return g_hash_table_lookup (self->policies, k);
}

void
efp_state_file_add_command (EfpStateFile *self, const EfpSentCommand *cmd)
{
  EfpSentCommand *c = g_new0 (EfpSentCommand, 1);
  c->id = g_strdup (cmd->id);
  c->agent = g_strdup (cmd->agent);
  c->action = g_strdup (cmd->action);
  c->policy = g_strdup (cmd->policy);
  c->device = g_strdup (cmd->device);
  c->issued_at = cmd->issued_at;
  g_ptr_array_add (self->commands, c);
  if (self->commands->len > MAX_COMMANDS)
    g_ptr_array_remove_range (self->commands, 0, self->commands->len - MAX_COMMANDS);
}

void
efp_state_file_set_device (EfpStateFile *self, const gchar *name, const EfpReading *reading,
                           gint64 last_frame_us)
{
  EfpDeviceSnapshot *s = g_new0 (EfpDeviceSnapshot, 1);
  s->reading = *reading;
  s->reading.grid_source = NULL; /* points into a module; not persisted */
  s->last_frame_us = last_frame_us;
  g_hash_table_replace (self->devices, g_strdup (name), s);
}

const EfpDeviceSnapshot *
efp_state_file_get_device (EfpStateFile *self, const gchar *name)
{
  return g_hash_table_lookup (self->devices, name);
}

/* ---- JSON ---- */

static void
add_double (JsonBuilder *b, const gchar *name, gdouble v)
{
  json_builder_set_member_name (b, name);
  if (isnan (v))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, v);
}

static gdouble
get_double (JsonObject *o, const gchar *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return NAN;
  return json_node_get_double (n);
}

gboolean
efp_state_file_save (EfpStateFile *self, const gchar *path, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *data = NULL;
  g_autofree gchar *dir = g_path_get_dirname (path);
  GHashTableIter it;
  gpointer k, v;
  guint i;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "policies");
  json_builder_begin_array (b);
  g_hash_table_iter_init (&it, self->policies);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const EfpPolicyState *s = v;
      g_auto (GStrv) parts = g_strsplit (k, "\x1f", 2);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "policy");
      json_builder_add_string_value (b, parts[0]);
      json_builder_set_member_name (b, "target");
      json_builder_add_string_value (b, parts[1]);
      json_builder_set_member_name (b, "phase");
      json_builder_add_int_value (b, s->phase);
      json_builder_set_member_name (b, "armed_since_us");
      json_builder_add_int_value (b, s->armed_since_us);
      json_builder_set_member_name (b, "triggered_at_us");
      json_builder_add_int_value (b, s->triggered_at_us);
      json_builder_set_member_name (b, "stale_since_us");
      json_builder_add_int_value (b, s->stale_since_us);
      json_builder_set_member_name (b, "aux");
      json_builder_begin_array (b);
      for (i = 0; i < G_N_ELEMENTS (s->aux); i++)
        json_builder_add_double_value (b, isnan (s->aux[i]) ? 0 : s->aux[i]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "aux_us");
      json_builder_begin_array (b);
      for (i = 0; i < G_N_ELEMENTS (s->aux_us); i++)
        json_builder_add_int_value (b, s->aux_us[i]);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "commands");
  json_builder_begin_array (b);
  for (i = 0; i < self->commands->len; i++)
    {
      const EfpSentCommand *c = self->commands->pdata[i];
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, c->id);
      json_builder_set_member_name (b, "agent");
      json_builder_add_string_value (b, c->agent);
      json_builder_set_member_name (b, "action");
      json_builder_add_string_value (b, c->action);
      json_builder_set_member_name (b, "policy");
      json_builder_add_string_value (b, c->policy);
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, c->device);
      json_builder_set_member_name (b, "issued_at");
      json_builder_add_int_value (b, c->issued_at);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "devices");
  json_builder_begin_array (b);
  g_hash_table_iter_init (&it, self->devices);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const EfpDeviceSnapshot *s = v;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, k);
      json_builder_set_member_name (b, "last_frame_us");
      json_builder_add_int_value (b, s->last_frame_us);
      add_double (b, "soc", s->reading.soc);
      json_builder_set_member_name (b, "grid");
      json_builder_add_int_value (b, s->reading.grid_connected);
      add_double (b, "input_watts", s->reading.input_watts);
      add_double (b, "output_watts", s->reading.output_watts);
      add_double (b, "temp_celsius", s->reading.temp_celsius);
      json_builder_set_member_name (b, "remain_minutes");
      json_builder_add_int_value (b, s->reading.remain_minutes);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, s->reading.model);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  data = json_generator_to_data (gen, NULL);
  if (g_mkdir_with_parents (dir, 0750) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: cannot create: %s", dir,
                   g_strerror (errno));
      return FALSE;
    }
  /* g_file_set_contents writes a temp file, fsyncs and renames over the old one */
  if (!g_file_set_contents_full (path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return FALSE;
  return TRUE;
}

static gint64
get_int (JsonObject *o, const gchar *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
    return 0;
  return json_node_get_int (n);
}

static const gchar *
get_str (JsonObject *o, const gchar *name)
{
  JsonNode *n = json_object_get_member (o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static JsonArray *
get_array (JsonObject *o, const gchar *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

EfpStateFile *
efp_state_file_load (const gchar *path, GError **error)
{
  g_autoptr (EfpStateFile) self = efp_state_file_new ();
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  g_autofree gchar *data = NULL;
  gsize len;
  JsonNode *root;
  JsonObject *o;
  JsonArray *a;
  guint i, j;

  if (!g_file_get_contents (path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&self);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "state file %s: %s", path,
                   local->message);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "state file %s: expected a JSON object, found %s", path,
                   local != NULL ? local->message : "another value");
      return NULL;
    }
  o = json_node_get_object (root);
  if ((a = get_array (o, "policies")) != NULL)
    for (i = 0; i < json_array_get_length (a); i++)
      {
        JsonNode *n = json_array_get_element (a, i);
        JsonObject *p;
        EfpPolicyState s = { 0 };
        JsonArray *aux;
        if (!JSON_NODE_HOLDS_OBJECT (n))
          continue;
        p = json_node_get_object (n);
        if (get_str (p, "policy") == NULL || get_str (p, "target") == NULL)
          continue;
        s.phase = (EfpPolicyPhase) CLAMP (get_int (p, "phase"), 0, 3);
        s.armed_since_us = get_int (p, "armed_since_us");
        s.triggered_at_us = get_int (p, "triggered_at_us");
        s.stale_since_us = get_int (p, "stale_since_us");
        if ((aux = get_array (p, "aux")) != NULL)
          for (j = 0; j < json_array_get_length (aux) && j < G_N_ELEMENTS (s.aux); j++)
            s.aux[j] = json_array_get_double_element (aux, j);
        if ((aux = get_array (p, "aux_us")) != NULL)
          for (j = 0; j < json_array_get_length (aux) && j < G_N_ELEMENTS (s.aux_us); j++)
            s.aux_us[j] = json_array_get_int_element (aux, j);
        efp_state_file_set_policy (self, get_str (p, "policy"), get_str (p, "target"), &s);
      }
  if ((a = get_array (o, "commands")) != NULL)
    for (i = 0; i < json_array_get_length (a); i++)
      {
        JsonNode *n = json_array_get_element (a, i);
        JsonObject *c;
        EfpSentCommand sc = { 0 };
        if (!JSON_NODE_HOLDS_OBJECT (n))
          continue;
        c = json_node_get_object (n);
        sc.id = (gchar *) get_str (c, "id");
        sc.agent = (gchar *) get_str (c, "agent");
        sc.action = (gchar *) get_str (c, "action");
        sc.policy = (gchar *) get_str (c, "policy");
        sc.device = (gchar *) get_str (c, "device");
        sc.issued_at = get_int (c, "issued_at");
        if (sc.id != NULL && sc.agent != NULL && sc.action != NULL)
          efp_state_file_add_command (self, &sc);
      }
  if ((a = get_array (o, "devices")) != NULL)
    for (i = 0; i < json_array_get_length (a); i++)
      {
        JsonNode *n = json_array_get_element (a, i);
        JsonObject *d;
        EfpReading r;
        if (!JSON_NODE_HOLDS_OBJECT (n))
          continue;
        d = json_node_get_object (n);
        if (get_str (d, "name") == NULL)
          continue;
        efp_reading_init (&r);
        r.soc = get_double (d, "soc");
        r.grid_connected = (EfpTristate) CLAMP (get_int (d, "grid"), -1, 1);
        r.input_watts = get_double (d, "input_watts");
        r.output_watts = get_double (d, "output_watts");
        r.temp_celsius = get_double (d, "temp_celsius");
        r.remain_minutes = (gint) get_int (d, "remain_minutes");
        if (get_str (d, "model") != NULL)
          g_strlcpy (r.model, get_str (d, "model"), sizeof (r.model));
        efp_state_file_set_device (self, get_str (d, "name"), &r, get_int (d, "last_frame_us"));
      }
  return g_steal_pointer (&self);
}

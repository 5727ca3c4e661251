/* efp-state-file.c: JSON state, replaced atomically (write temp, fsync, rename). */
#include "efp-state-file.h"
#include "efp-json.h"

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
  g_free (c->payload);
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
  c->payload = g_strdup (cmd->payload);
  c->pending = cmd->pending;
  g_ptr_array_add (self->commands, c);
  if (self->commands->len > MAX_COMMANDS)
    g_ptr_array_remove_range (self->commands, 0, self->commands->len - MAX_COMMANDS);
}

void
efp_state_file_mark_published (EfpStateFile *self, const gchar *id, const gchar *agent)
{
  guint i;
  for (i = self->commands->len; i > 0; i--)
    {
      EfpSentCommand *c = self->commands->pdata[i - 1];
      if (g_strcmp0 (c->id, id) == 0 && g_strcmp0 (c->agent, agent) == 0)
        {
          c->pending = FALSE;
          /* only a pending command is ever replayed: the payload has done its job */
          g_clear_pointer (&c->payload, g_free);
          return;
        }
    }
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
        if (isnan (s->aux[i]))
          json_builder_add_null_value (b); /* unknown stays unknown across a restart */
        else
          json_builder_add_double_value (b, s->aux[i]);
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
      if (c->pending)
        {
          json_builder_set_member_name (b, "pending");
          json_builder_add_boolean_value (b, TRUE);
          json_builder_set_member_name (b, "payload");
          json_builder_add_string_value (b, c->payload != NULL ? c->payload : "");
        }
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

/* Reading is strict: a member of the wrong type or range is a corrupt file, never a silent
 * 0 (a soc or grid of 0 would look like a dying battery). Absent or null members are unknown. */
typedef struct
{
  const gchar *path;
  gchar *where; /* e.g. "devices[2]", for the message */
  GError **error;
} Reader;

static gboolean
bad_member (Reader *rd, const gchar *name, const gchar *expected)
{
  g_set_error (rd->error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "state file %s: %s%s%s: expected %s",
               rd->path, rd->where, *rd->where != '\0' && name != NULL ? "." : "",
               name != NULL ? name : "", expected);
  return FALSE;
}

static JsonNode *
member (JsonObject *o, const gchar *name)
{
  JsonNode *n = json_object_get_member (o, name);
  return n != NULL && !JSON_NODE_HOLDS_NULL (n) ? n : NULL;
}

static gboolean
node_is (JsonNode *n, GType type)
{
  return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == type;
}

/* Leaves *out alone when absent. */
static gboolean
read_int (Reader *rd, JsonObject *o, const gchar *name, gint64 min, gint64 max, gint64 *out)
{
  JsonNode *n = member (o, name);
  if (n == NULL)
    return TRUE;
  if (!node_is (n, G_TYPE_INT64) || json_node_get_int (n) < min || json_node_get_int (n) > max)
    {
      g_autofree gchar *expected = NULL;
      if (min == G_MININT64)
        expected = g_strdup ("an integer");
      else
        expected =
          g_strdup_printf ("an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT, min, max);
      return bad_member (rd, name, expected);
    }
  *out = json_node_get_int (n);
  return TRUE;
}

static gboolean
number_of (JsonNode *n, gdouble *out)
{
  if (node_is (n, G_TYPE_DOUBLE))
    *out = json_node_get_double (n);
  else if (node_is (n, G_TYPE_INT64))
    *out = (gdouble) json_node_get_int (n);
  else
    return FALSE;
  return TRUE;
}

/* NAN when absent or null. */
static gboolean
read_double (Reader *rd, JsonObject *o, const gchar *name, gdouble *out)
{
  JsonNode *n = member (o, name);
  *out = NAN;
  if (n != NULL && !number_of (n, out))
    return bad_member (rd, name, "a number");
  return TRUE;
}

static gboolean
read_str (Reader *rd, JsonObject *o, const gchar *name, gboolean required, const gchar **out)
{
  JsonNode *n = member (o, name);
  *out = NULL;
  if (n == NULL && !required)
    return TRUE;
  if (n == NULL || !node_is (n, G_TYPE_STRING))
    return bad_member (rd, name, "a string");
  *out = json_node_get_string (n);
  return TRUE;
}

static gboolean
read_array (Reader *rd, JsonObject *o, const gchar *name, JsonArray **out)
{
  JsonNode *n = member (o, name);
  *out = NULL;
  if (n != NULL && !JSON_NODE_HOLDS_ARRAY (n))
    return bad_member (rd, name, "an array");
  *out = n != NULL ? json_node_get_array (n) : NULL;
  return TRUE;
}

/* Element @i of the top-level array @name, which must be an object. */
static JsonObject *
entry (Reader *rd, JsonArray *a, const gchar *name, guint i)
{
  JsonNode *n = json_array_get_element (a, i);
  g_free (rd->where);
  rd->where = g_strdup_printf ("%s[%u]", name, i);
  if (!JSON_NODE_HOLDS_OBJECT (n))
    {
      bad_member (rd, NULL, "an object");
      return NULL;
    }
  return json_node_get_object (n);
}

static gboolean
read_policy (Reader *rd, EfpStateFile *self, JsonObject *p)
{
  EfpPolicyState s = { 0 };
  const gchar *policy, *target;
  gint64 phase = EFP_POLICY_PHASE_IDLE;
  JsonArray *aux, *aux_us;
  guint j;

  if (!read_str (rd, p, "policy", TRUE, &policy) || !read_str (rd, p, "target", TRUE, &target) ||
      !read_int (rd, p, "phase", EFP_POLICY_PHASE_IDLE, EFP_POLICY_PHASE_COOLDOWN, &phase) ||
      !read_int (rd, p, "armed_since_us", G_MININT64, G_MAXINT64, &s.armed_since_us) ||
      !read_int (rd, p, "triggered_at_us", G_MININT64, G_MAXINT64, &s.triggered_at_us) ||
      !read_int (rd, p, "stale_since_us", G_MININT64, G_MAXINT64, &s.stale_since_us) ||
      !read_array (rd, p, "aux", &aux) || !read_array (rd, p, "aux_us", &aux_us))
    return FALSE;
  s.phase = (EfpPolicyPhase) phase;
  for (j = 0; aux != NULL && j < json_array_get_length (aux) && j < G_N_ELEMENTS (s.aux); j++)
    {
      JsonNode *n = json_array_get_element (aux, j);
      if (JSON_NODE_HOLDS_NULL (n))
        s.aux[j] = NAN;
      else if (!number_of (n, &s.aux[j]))
        return bad_member (rd, "aux", "an array of numbers");
    }
  for (j = 0; aux_us != NULL && j < json_array_get_length (aux_us) && j < G_N_ELEMENTS (s.aux_us);
       j++)
    {
      JsonNode *n = json_array_get_element (aux_us, j);
      if (!node_is (n, G_TYPE_INT64))
        return bad_member (rd, "aux_us", "an array of integers");
      s.aux_us[j] = json_node_get_int (n);
    }
  efp_state_file_set_policy (self, policy, target, &s);
  return TRUE;
}

static gboolean
read_command (Reader *rd, EfpStateFile *self, JsonObject *c)
{
  const gchar *id, *agent, *action, *policy, *device, *payload;
  EfpSentCommand sc = { 0 };
  JsonNode *pending;

  if (!read_str (rd, c, "id", TRUE, &id) || !read_str (rd, c, "agent", TRUE, &agent) ||
      !read_str (rd, c, "action", TRUE, &action) || !read_str (rd, c, "policy", FALSE, &policy) ||
      !read_str (rd, c, "device", FALSE, &device) ||
      !read_int (rd, c, "issued_at", G_MININT64, G_MAXINT64, &sc.issued_at) ||
      !read_str (rd, c, "payload", FALSE, &payload))
    return FALSE;
  pending = json_object_get_member (c, "pending");
  if (pending != NULL && !JSON_NODE_HOLDS_NULL (pending))
    {
      if (!JSON_NODE_HOLDS_VALUE (pending) || json_node_get_value_type (pending) != G_TYPE_BOOLEAN)
        return bad_member (rd, "pending", "true or false");
      sc.pending = json_node_get_boolean (pending);
    }
  sc.payload = (gchar *) payload;
  sc.id = (gchar *) id;
  sc.agent = (gchar *) agent;
  sc.action = (gchar *) action;
  sc.policy = (gchar *) policy;
  sc.device = (gchar *) device;
  efp_state_file_add_command (self, &sc);
  return TRUE;
}

static gboolean
read_device (Reader *rd, EfpStateFile *self, JsonObject *d)
{
  const gchar *name, *model;
  gint64 grid = EFP_TRISTATE_UNKNOWN, remain = -1, last_frame_us = 0;
  EfpReading r;

  efp_reading_init (&r);
  if (!read_str (rd, d, "name", TRUE, &name) || !read_str (rd, d, "model", FALSE, &model) ||
      !read_int (rd, d, "last_frame_us", G_MININT64, G_MAXINT64, &last_frame_us) ||
      !read_double (rd, d, "soc", &r.soc) ||
      !read_int (rd, d, "grid", EFP_TRISTATE_UNKNOWN, EFP_TRISTATE_TRUE, &grid) ||
      !read_double (rd, d, "input_watts", &r.input_watts) ||
      !read_double (rd, d, "output_watts", &r.output_watts) ||
      !read_double (rd, d, "temp_celsius", &r.temp_celsius) ||
      !read_int (rd, d, "remain_minutes", -1, G_MAXINT, &remain))
    return FALSE;
  r.grid_connected = (EfpTristate) grid;
  r.remain_minutes = (gint) remain;
  if (model != NULL)
    g_strlcpy (r.model, model, sizeof (r.model));
  efp_state_file_set_device (self, name, &r, last_frame_us);
  return TRUE;
}

EfpStateFile *
efp_state_file_load_data (const gchar *data, gsize len, const gchar *origin, GError **error)
{
  g_autoptr (EfpStateFile) self = efp_state_file_new ();
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  JsonObject *o, *e;
  JsonArray *policies, *commands, *devices;
  Reader rd;
  gboolean ok = TRUE;
  guint i;

  if (!efp_json_load (parser, data, (gssize) len, &local) ||
      (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "state file %s: expected a JSON object, found %s", origin,
                   local != NULL ? local->message : "another value");
      return NULL;
    }
  o = json_node_get_object (root);
  rd.path = origin;
  rd.where = g_strdup ("");
  rd.error = error;
  if (!read_array (&rd, o, "policies", &policies) || !read_array (&rd, o, "commands", &commands) ||
      !read_array (&rd, o, "devices", &devices))
    ok = FALSE;
  for (i = 0; ok && policies != NULL && i < json_array_get_length (policies); i++)
    ok = (e = entry (&rd, policies, "policies", i)) != NULL && read_policy (&rd, self, e);
  for (i = 0; ok && commands != NULL && i < json_array_get_length (commands); i++)
    ok = (e = entry (&rd, commands, "commands", i)) != NULL && read_command (&rd, self, e);
  for (i = 0; ok && devices != NULL && i < json_array_get_length (devices); i++)
    ok = (e = entry (&rd, devices, "devices", i)) != NULL && read_device (&rd, self, e);
  g_free (rd.where);
  if (!ok)
    return NULL;
  return g_steal_pointer (&self);
}

EfpStateFile *
efp_state_file_load (const gchar *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autofree gchar *data = NULL;
  gsize len;

  if (!g_file_get_contents (path, &data, &len, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return efp_state_file_new ();
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "state file %s: %s", path, local->message);
      return NULL;
    }
  return efp_state_file_load_data (data, len, path, error);
}

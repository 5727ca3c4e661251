/* efp-event.c: the event JSON of CONTRACT 4.5. */
#include "efp-event.h"

#include <json-glib/json-glib.h>

#include "efp-json.h"

gchar *
efp_event_to_json (gint64 ts, const gchar *device, const gchar *policy, const gchar *event,
                   const gchar *detail)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "ts");
  json_builder_add_int_value (b, ts);
  json_builder_set_member_name (b, "device");
  json_builder_add_string_value (b, device);
  json_builder_set_member_name (b, "policy");
  if (policy != NULL)
    json_builder_add_string_value (b, policy);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "event");
  json_builder_add_string_value (b, event);
  json_builder_set_member_name (b, "detail");
  json_builder_add_string_value (b, detail != NULL ? detail : "");
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return efp_json_to_string (root, 0);
}

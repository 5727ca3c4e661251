/* efp-ctl-view.h: what ecoflow-powerctl shows, as JSON or as text. */
#pragma once

#include <json-glib/json-glib.h>

#include "efp-dbus-generated.h"

G_BEGIN_DECLS

typedef struct
{
  GDBusConnection *connection;
  EfpExportedManager *manager; /* proxy of the root object */
  GDBusObjectManager *objects; /* EfpObjectManagerClient */
} EfpCtlContext;

/* Arrays: devices with the keys of CONTRACT 4.2, policies and agents keyed by
 * their D-Bus properties, events as {ts, device, policy, event, detail}. */
JsonNode *efp_ctl_devices_json (EfpCtlContext *ctx);
JsonNode *efp_ctl_policies_json (EfpCtlContext *ctx);
JsonNode *efp_ctl_agents_json (EfpCtlContext *ctx);
JsonNode *efp_ctl_events_json (EfpCtlContext *ctx, GError **error);
/* {"manager": {Version...}, "devices": [...], "policies": [...], "agents": [...]} */
JsonNode *efp_ctl_status_json (EfpCtlContext *ctx);

/* Text for people; @now_us is the unix time used for ages and countdowns. */
void efp_ctl_print_devices (EfpCtlContext *ctx, GString *out, gint64 now_us);
void efp_ctl_print_policies (EfpCtlContext *ctx, GString *out, gint64 now_us);
void efp_ctl_print_agents (EfpCtlContext *ctx, GString *out, gint64 now_us);
gboolean efp_ctl_print_events (EfpCtlContext *ctx, GString *out, GError **error);
void efp_ctl_print_status (EfpCtlContext *ctx, GString *out, gint64 now_us);

/* "[#####-----]" for @soc percent (NaN: "[??????????]"). */
gchar *efp_ctl_soc_bar (gdouble soc);
/* "3s ago", "5m ago", "2h ago", "4d ago"; "never" for 0. */
gchar *efp_ctl_age (guint64 then_us, gint64 now_us);
/* "in 2:34", "in 1:02:34", "due" once past; "-" for 0. */
gchar *efp_ctl_countdown (guint64 deadline_us, gint64 now_us);

G_END_DECLS

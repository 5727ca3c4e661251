/* efp-json-telemetry.h: a JSON quota message -> station slots (SPEC 2.1, 7, 8).
 *
 * Accepts the App-API push ({"params":{dotted keys}}), the latestQuotas reply
 * ({"data":{"quotaMap":{...}}}), the Open API push ({"moduleType":N,
 * "typeCode":..,"params":{un-prefixed keys}}, older "param"), the HTTP
 * quota/all answer ({"code":"0","data":{dotted keys}}) and a flat object.
 */
#pragma once

#include <glib.h>

#include "efp-model-table.h"
#include "efp-station.h"

G_BEGIN_DECLS

/* JSON nested deeper than this is refused before parsing (the parser recurses) */
#define EFP_JSON_MAX_DEPTH 32

/* FALSE with a one-line reason when the text is not a JSON object, a known
 * key holds a non-number or an out-of-range value, the cloud reports an error
 * code or the device offline. @station may then be half-updated: callers
 * apply to a copy. @families: EfpJsonFamily bits. */
gboolean efp_json_telemetry_apply (EfpStation *station, const guint8 *data, gsize len,
                                   guint families, const EfpModelTable *models, GError **error);

G_END_DECLS

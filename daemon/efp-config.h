/* efp-config.h: the daemon configuration (CONTRACT 3): key file, conf.d, seed .env. */
#pragma once

#include <glib.h>
#include "efp-plugin-util.h"
#include "efp-plugin-loader.h"

G_BEGIN_DECLS

typedef struct
{
  gchar *host;
  guint16 port;
  gchar *username;
  gchar *password; /* secret: from password-file or MQTT_PASS; never printed */
  gchar *password_file;
  gboolean tls;
  gchar *ca_file;
  gchar *client_id;
  gchar *raw_prefix;
  gchar *state_prefix;
  gchar *command_prefix;
} EfpMqttConfig;

typedef enum
{
  EFP_CLOUD_AUTH_APP,
  EFP_CLOUD_AUTH_OPEN_API,
} EfpCloudAuth;

typedef struct
{
  gboolean enabled;
  EfpCloudAuth auth;
  gchar *region;  /* "eu" | "us" */
  gchar *api_url; /* NULL: from region */
  gchar *email;
  gchar *password; /* secret */
  gchar *password_file;
  gchar *access_key;
  gchar *secret_key; /* secret */
  gchar *secret_key_file;
  gchar *ca_file;
  gboolean republish_raw;
  GStrv serials; /* devices to follow: every [device:] serial, plus ECOFLOW_DEVICE_LIST */
} EfpCloudConfig;

typedef struct
{
  gchar *name;
  gchar *serial;  /* NULL: frames arrive under the name itself */
  gchar *decoder; /* NULL: auto */
  GStrv agents;
  gdouble capacity_wh; /* NAN unknown */
  GHashTable *options; /* decoder option keys (e.g. grid-source) -> value */
} EfpDeviceConfig;

typedef struct
{
  gchar *name;
  GStrv devices;
} EfpGroupConfig;

typedef struct
{
  gchar *name;
  gchar *module;
  GStrv devices;                 /* NULL: all devices */
  GStrv agents;                  /* NULL: from devices */
  gchar *group;                  /* "policy:NAME", for the module's own keys in @keyfile */
  const EfpPolicyVTable *vtable; /* NULL when loaded without a plugin registry */
  gpointer module_config;        /* from vtable->config_new */
} EfpPolicyConfig;

typedef struct
{
  gchar *id;
  gchar *key_file;
  guint8 *key; /* secret bytes, NULL when unsigned */
  gsize key_len;
  gint stage;
  gint stage_timeout_sec; /* 0: default */
} EfpAgentConfig;

typedef struct
{
  gboolean enabled;
  gchar *listen;
  guint16 port;
  gchar *users_file;
} EfpNutConfig;

typedef struct
{
  /* where things came from, for messages */
  GPtrArray *files; /* gchar*: key files read, in order */
  gchar *env_file;  /* NULL */

  EfpMqttConfig mqtt;
  EfpCloudConfig cloud;
  EfpNutConfig nut;
  gchar *state_file;
  gboolean dry_run;

  GPtrArray *devices;  /* EfpDeviceConfig* in file order */
  GPtrArray *groups;   /* EfpGroupConfig* */
  GPtrArray *policies; /* EfpPolicyConfig* */
  GPtrArray *agents;   /* EfpAgentConfig* */

  /* the merged key file: [notify], [wol:*], [metrics] and policy module keys are read from it */
  GKeyFile *keyfile;
  GHashTable *group_origin; /* group -> the file that last defined it */
} EfpConfig;

typedef struct
{
  const gchar *config_file; /* NULL: default path, missing is fine */
  gboolean config_explicit; /* --config given: missing is an error */
  const gchar *env_file;    /* NULL none */
  gboolean use_environment; /* read seed names from the process environment too */
  /* decoders and policies, to validate decoder=, module= and their keys; may be NULL
   * (then module keys are not checked) */
  EfpPluginRegistry *registry;
} EfpConfigLoadOptions;

EfpConfig *efp_config_load (const EfpConfigLoadOptions *options, GError **error);
void efp_config_free (EfpConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EfpConfig, efp_config_free)

const EfpDeviceConfig *efp_config_find_device (const EfpConfig *config,
                                               const gchar *name_or_serial);
const EfpAgentConfig *efp_config_find_agent (const EfpConfig *config, const gchar *id);
/* A module's "[group] key: expected ..." error about the merged key file gets the
 * name of the file that defined the group in front, as every config error has. */
void efp_config_prefix_error (const EfpConfig *config, GError **error);
/* Effective configuration in key-file syntax, secrets masked. */
gchar *efp_config_dump (const EfpConfig *config);

G_END_DECLS

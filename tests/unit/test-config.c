/* test-config.c: the key file, conf.d, the seed .env, and every error path. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "efp-config.h"

typedef struct
{
  gchar *dir;
  gchar *conf;
  EfpPluginRegistry *registry;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("efp-config-XXXXXX", NULL);
  f->conf = g_build_filename (f->dir, "ecoflow-powerd.conf", NULL);
  f->registry = efp_plugin_registry_new ();
  /* the real plugins of this build, so module keys are validated as in the daemon */
  efp_plugin_registry_load_dir (f->registry, g_getenv ("EFP_PLUGIN_DIR"));
}

static void
rm_rf (const gchar *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const gchar *n;
  while (d != NULL && (n = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *p = g_build_filename (path, n, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        rm_rf (p);
      else
        g_unlink (p);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->conf);
  efp_plugin_registry_free (f->registry);
}

static gchar *
write_file (Fixture *f, const gchar *name, const gchar *text)
{
  gchar *p = g_build_filename (f->dir, name, NULL);
  g_autofree gchar *parent = g_path_get_dirname (p);
  g_mkdir_with_parents (parent, 0755);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
  return p;
}

static EfpConfig *
load (Fixture *f, const gchar *text, GError **error)
{
  EfpConfigLoadOptions o = { 0 };
  g_autofree gchar *p = write_file (f, "ecoflow-powerd.conf", text);
  o.config_file = p;
  o.config_explicit = TRUE;
  o.registry = f->registry;
  return efp_config_load (&o, error);
}

static gboolean
have_module (Fixture *f, const gchar *name)
{
  if (efp_plugin_registry_get_policy (f->registry, name) != NULL)
    return TRUE;
  g_test_skip ("policy module not built");
  return FALSE;
}

/* Assert loading @text fails with one line containing every fragment. */
static void
expect_error (Fixture *f, const gchar *text, const gchar *const *fragments)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpConfig) c = load (f, text, &error);
  g_assert_null (c);
  g_assert_nonnull (error);
  g_assert_null (strchr (error->message, '\n'));
  g_assert_true (g_str_has_prefix (error->message, f->conf));
  for (; *fragments != NULL; fragments++)
    if (strstr (error->message, *fragments) == NULL)
      g_error ("'%s' not in error: %s", *fragments, error->message);
}

static void
test_defaults (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpConfig) c = load (f, "", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->mqtt.host, ==, "localhost");
  g_assert_cmpuint (c->mqtt.port, ==, 1883);
  g_assert_cmpstr (c->mqtt.raw_prefix, ==, "bridge-ecoflow");
  g_assert_cmpstr (c->mqtt.state_prefix, ==, "bridge-ecoflow");
  g_assert_cmpstr (c->mqtt.command_prefix, ==, "power-manager");
  g_assert_cmpstr (c->mqtt.client_id, ==, "ecoflow-powerd");
  g_assert_false (c->cloud.enabled);
  g_assert_false (c->dry_run);
  g_assert_cmpuint (c->policies->len, ==, 0);
}

static void
test_full (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *key = write_file (f, "pc.key", "s3cret\r\n");
  g_autofree gchar *pw = write_file (f, "mqtt.pw", "hunter2\n");
  g_autofree gchar *text = g_strdup_printf (
    "[mqtt]\nhost=10.0.0.2\nport=1884\nusername=u\npassword-file=%s\ntls=true\n"
    "[device:Study]\nserial=R631ZEB4WH000001\nagents=pc;nas\ncapacity-wh=286\n"
    "[device:Office]\nserial=R331ZEB4WH000002\ndecoder=simulated\nagents=nas\n"
    "[group:Both]\ndevices=Study;Office\n"
    "[agent:pc]\nkey-file=%s\nstage=1\n[agent:nas]\nstage=2\nstage-timeout-sec=90\n"
    "[daemon]\nstate-file=/tmp/x.json\ndry-run=yes\n",
    pw, key);
  g_autoptr (EfpConfig) c = load (f, text, &error);
  const EfpDeviceConfig *d;
  const EfpAgentConfig *a;

  g_assert_no_error (error);
  g_assert_cmpstr (c->mqtt.host, ==, "10.0.0.2");
  g_assert_cmpuint (c->mqtt.port, ==, 1884);
  g_assert_cmpstr (c->mqtt.password, ==, "hunter2");
  g_assert_true (c->mqtt.tls);
  g_assert_true (c->dry_run);
  d = efp_config_find_device (c, "R631ZEB4WH000001");
  g_assert_nonnull (d);
  g_assert_cmpstr (d->name, ==, "Study");
  g_assert_cmpfloat_with_epsilon (d->capacity_wh, 286, 1e-9);
  g_assert_cmpuint (g_strv_length (d->agents), ==, 2);
  a = efp_config_find_agent (c, "pc");
  /* one trailing CRLF removed, the rest are the key bytes */
  g_assert_cmpuint (a->key_len, ==, 6);
  g_assert_cmpmem (a->key, a->key_len, "s3cret", 6);
  a = efp_config_find_agent (c, "nas");
  g_assert_cmpint (a->stage, ==, 2);
  g_assert_cmpint (a->stage_timeout_sec, ==, 90);
  g_assert_null (a->key);
  g_assert_cmpstr (c->state_file, ==, "/tmp/x.json");
  g_assert_cmpuint (c->groups->len, ==, 1);
  g_assert_cmpstrv (c->cloud.serials,
                    ((const gchar *const[]){ "R631ZEB4WH000001", "R331ZEB4WH000002", NULL }));
}

static void
test_dump_masks_secrets (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *key = write_file (f, "pc.key", "TOPSECRETKEY\n");
  g_autofree gchar *pw = write_file (f, "mqtt.pw", "hunter2\n");
  g_autofree gchar *text =
    g_strdup_printf ("[mqtt]\npassword-file=%s\n[agent:pc]\nkey-file=%s\n", pw, key);
  g_autoptr (EfpConfig) c = load (f, text, &error);
  g_autofree gchar *dump = NULL;
  g_autoptr (GKeyFile) kf = g_key_file_new ();

  g_assert_no_error (error);
  dump = efp_config_dump (c);
  g_assert_null (strstr (dump, "hunter2"));
  g_assert_null (strstr (dump, "TOPSECRETKEY"));
  g_assert_nonnull (strstr (dump, "********"));
  /* the dump is itself a valid key file */
  g_assert_true (g_key_file_load_from_data (kf, dump, -1, G_KEY_FILE_NONE, NULL));
  g_assert_cmpstr (g_key_file_get_value (kf, "mqtt", "password-file", NULL), ==, pw);
}

static void
test_confd_overrides (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *a = write_file (f, "conf.d/10-a.conf", "[mqtt]\nport=2000\n");
  g_autofree gchar *b = write_file (f, "conf.d/20-b.conf", "[mqtt]\nport=3000\n");
  g_autofree gchar *ign = write_file (f, "conf.d/30-c.conf.disabled", "[bogus]\n");
  g_autoptr (EfpConfig) c = load (f, "[mqtt]\nport=1000\nhost=h\n", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (c->mqtt.port, ==, 3000);
  g_assert_cmpstr (c->mqtt.host, ==, "h");
  g_assert_cmpuint (c->files->len, ==, 3);
}

static void
test_confd_error_names_its_file (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *a = write_file (f, "conf.d/10-a.conf", "[mqtt]\nport=99999\n");
  g_autoptr (EfpConfig) c = load (f, "[mqtt]\nhost=h\n", &error);
  g_assert_null (c);
  g_assert_true (g_str_has_prefix (error->message, a));
  g_assert_nonnull (
    strstr (error->message, "[mqtt] port: expected an integer 1-65535, found '99999'"));
}

static void
test_missing_default_is_fine (Fixture *f, gconstpointer data)
{
  EfpConfigLoadOptions o = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpConfig) c = NULL;
  g_autofree gchar *missing = g_build_filename (f->dir, "nope", "x.conf", NULL);

  o.config_file = missing;
  o.config_explicit = FALSE;
  c = efp_config_load (&o, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  g_clear_pointer (&c, efp_config_free);
  o.config_explicit = TRUE;
  c = efp_config_load (&o, &error);
  g_assert_null (c);
  g_assert_nonnull (strstr (error->message, missing));
}

static void
test_errors (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const gchar *text;
    const gchar *frag[4];
  } cases[] = {
    { "[mqtt\nhost=x\n", { NULL } },
    { "[bogus]\nx=1\n", { "[bogus]", "unknown group", NULL } },
    { "[device]\nserial=x\n", { "[device]", "unknown group", NULL } },
    { "[mqtt]\nhots=x\n",
      { "[mqtt] hots", "expected one of host, port", "found an unknown key", NULL } },
    { "[mqtt]\nport=abc\n", { "[mqtt] port: expected an integer 1-65535, found 'abc'", NULL } },
    { "[mqtt]\nport=0\n", { "[mqtt] port", "found '0'", NULL } },
    { "[mqtt]\ntls=maybe\n", { "[mqtt] tls: expected true or false, found 'maybe'", NULL } },
    { "[mqtt]\npassword-file=/nonexistent/pw\n",
      { "[mqtt] password-file", "/nonexistent/pw", NULL } },
    { "[cloud]\nauth=oauth\n", { "[cloud] auth: expected app or open-api, found 'oauth'", NULL } },
    { "[cloud]\nregion=mars\n", { "[cloud] region", "found 'mars'", NULL } },
    { "[cloud]\napi-url=ftp://x\n", { "[cloud] api-url", "found 'ftp://x'", NULL } },
    { "[cloud]\napi-url=http://api.example.com\n", { "[cloud] api-url", "loopback", NULL } },
    { "[cloud]\nenabled=2\n", { "[cloud] enabled", NULL } },
    { "[device:A]\ncapacity-wh=-5\n", { "[device:A] capacity-wh", "found '-5'", NULL } },
    { "[device:A]\ndecoder=nope\n", { "[device:A] decoder", "found 'nope'", NULL } },
    { "[device:A]\nagents=ghost\n", { "[device:A] agents", "'ghost'", "not defined", NULL } },
    { "[device:A]\nfoo=1\n", { "[device:A] foo", "unknown key", NULL } },
    { "[device:A/B]\nserial=x\n", { "[device:A/B]", NULL } },
    { "[group:G]\ndevices=X\n", { "[group:G] devices", "unknown 'X'", NULL } },
    { "[group:G]\ndevices=\n", { "[group:G] devices", NULL } },
    { "[group:G]\n", { "[group:G] devices", NULL } },
    { "[device:A/B]\n", { "[device:A/B]", NULL } },
    { "[device:A]\nagents=a\n[agent:b]\n", { "[device:A] agents", "'a'", NULL } },
    { "[agent:a]\nstage=0\n", { "[agent:a] stage: expected an integer 1-16, found '0'", NULL } },
    { "[agent:a]\nstage-timeout-sec=0\n", { "[agent:a] stage-timeout-sec", "1-604800", NULL } },
    { "[agent:a]\nkey-file=/nonexistent/k\n", { "[agent:a] key-file", NULL } },
    { "[policy:p]\ndevices=A\n", { "[policy:p] module", NULL } },
    { "[policy:p]\nmodule=nope\n", { "[policy:p] module", "found 'nope'", NULL } },
    { "[daemon]\ndry-run=perhaps\n", { "[daemon] dry-run", NULL } },
    { "[nut]\nport=70000\n", { "[nut] port", NULL } },
    { "[metrics]\nport=x\n", { "[metrics] port", NULL } },
  };
  guint i;
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("case %u: %s", i, cases[i].text);
      expect_error (f, cases[i].text, cases[i].frag);
    }
}

static void
test_policy_module_keys (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const gchar *text;
    const gchar *frag[3];
  } cases[] = {
    { "[policy:p]\nmodule=critical-soc\nsoc-min=101\n", { "[policy:p] soc-min", "0-100", NULL } },
    { "[policy:p]\nmodule=critical-soc\ndebounce-sec=-1\n", { "[policy:p] debounce-sec", NULL } },
    { "[policy:p]\nmodule=critical-soc\nabort-window-sec=0\n",
      { "[policy:p] abort-window-sec", NULL } },
    { "[policy:p]\nmodule=critical-soc\nmax-data-gap-sec=604801\n",
      { "[policy:p] max-data-gap-sec", NULL } },
    { "[policy:p]\nmodule=critical-soc\nrunning=1\n",
      { "[policy:p] running", "unknown key", NULL } },
    { "[policy:p]\nmodule=critical-soc\ndevices=Ghost\n",
      { "[policy:p] devices", "'Ghost'", NULL } },
    { "[policy:p]\nmodule=critical-soc\nagents=ghost\n", { "[policy:p] agents", "'ghost'", NULL } },
  };
  guint i;
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpConfig) ok = NULL;

  if (!have_module (f, "critical-soc"))
    return;
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    expect_error (f, cases[i].text, cases[i].frag);
  /* 0 is valid for debounce and cooldown, and seconds-scale timers are fine */
  ok = load (f,
             "[policy:p]\nmodule=critical-soc\ndebounce-sec=0\ncooldown-sec=0\n"
             "abort-window-sec=1\n",
             &error);
  g_assert_no_error (error);
  g_assert_nonnull (((EfpPolicyConfig *) ok->policies->pdata[0])->module_config);
}

/* The seed project's .env-example, in its shape: quotes, comments, empty
 * values, JSON on one line, and the ECOFLOW_USERNAME/PASSWORD names. */
static const gchar seed_env[] =
  "# EcoFlow Power Management - Server Configuration\n"
  "ECOFLOW_USERNAME=\"your-email@example.com\"\n"
  "ECOFLOW_PASSWORD=\"your-password-here\"\n"
  "\n"
  "# API Keys\n"
  "ECOFLOW_ACCESS_KEY=\"\"\n"
  "ECOFLOW_SECRET_KEY=\"\"\n"
  "ECOFLOW_DEVICE_LIST=\"R631ZEB4WH000001,R631ZEB4WH000002\"\n"
  "MQTT_HOST=mosquitto.local\n"
  "MQTT_PORT=1883\n"
  "MQTT_USER=\n"
  "MQTT_PASS=\n"
  "ECOFLOW_BASE=bridge-ecoflow\n"
  "POLICY_SOC_MIN=10\n"
  "POLICY_DEBOUNCE_SEC=180\n"
  "POLICY_COOLDOWN_SEC=300\n"
  "DEVICE_TO_AGENTS_JSON={\"Study\":[\"pc-study\",\"nas-study\"],\"Office\":[\"pc-office\"]}\n"
  "# DEVICE_TO_AGENTS_JSON={\"Study\":[\"pc-study\"],\"SimulatedDevice\":[\"test-agent\"]}\n"
  "#   PRE_SHUTDOWN_CMD_1=\"docker stop $(docker ps -q)\"\n";

static EfpConfig *
load_env (Fixture *f, const gchar *text, GError **error)
{
  EfpConfigLoadOptions o = { 0 };
  g_autofree gchar *p = write_file (f, ".env", text);
  o.env_file = p;
  o.registry = f->registry;
  return efp_config_load (&o, error);
}

static void
test_seed_env (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpConfig) c = load_env (f, seed_env, &error);
  const EfpDeviceConfig *d;
  EfpPolicyConfig *p;
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autofree gchar *dump = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (c->mqtt.host, ==, "mosquitto.local");
  g_assert_null (c->mqtt.username);
  d = efp_config_find_device (c, "Study");
  g_assert_cmpstrv (d->agents, ((const gchar *const[]){ "pc-study", "nas-study", NULL }));
  g_assert_nonnull (efp_config_find_agent (c, "pc-office"));
  g_assert_nonnull (efp_config_find_device (c, "R631ZEB4WH000002"));
  g_assert_true (c->cloud.enabled);
  g_assert_true (c->cloud.auth == EFP_CLOUD_AUTH_APP);
  g_assert_cmpstr (c->cloud.email, ==, "your-email@example.com");
  g_assert_cmpuint (c->policies->len, ==, 1);
  p = c->policies->pdata[0];
  g_assert_cmpstr (p->name, ==, "critical");
  g_assert_cmpstr (p->module, ==, "critical-soc");
  dump = efp_config_dump (c);
  g_assert_null (strstr (dump, "your-password-here"));
  g_assert_true (g_key_file_load_from_data (kf, dump, -1, G_KEY_FILE_NONE, NULL));
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:critical", "debounce-sec", NULL), ==, 180);
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:critical", "cooldown-sec", NULL), ==, 300);
  g_assert_cmpint (g_key_file_get_integer (kf, "policy:critical", "soc-min", NULL), ==, 10);
}

static void
test_seed_env_multiline_json (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpConfig) c =
    load_env (f,
              "POLICY_SOC_MIN=15 # inline comment\nDEVICE_TO_AGENTS_JSON='{\n  \"A\": [\"a1\"],\n"
              "  \"B\": [\"b1\", \"b2\"]\n}'\nMQTT_HOST=127.0.0.1\n",
              &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (efp_config_find_device (c, "B")->agents), ==, 2);
  g_assert_cmpstr (c->mqtt.host, ==, "127.0.0.1");
  g_assert_false (c->cloud.enabled);
}

static void
test_seed_env_errors (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const gchar *text;
    const gchar *frag[3];
  } cases[] = {
    { "POLICY_SOC_MIN=ten\n",
      { "line 1: POLICY_SOC_MIN: expected an integer 0-100, found 'ten'", NULL } },
    { "MQTT_PORT=1883x\n", { "MQTT_PORT", "found '1883x'", NULL } },
    { "POLICY_DEBOUNCE_SEC=-5\n", { "POLICY_DEBOUNCE_SEC", NULL } },
    { "\n\nDEVICE_TO_AGENTS_JSON={\"A\":\n", { "line 3", "expected a JSON object", NULL } },
    { "DEVICE_TO_AGENTS_JSON={\"A\":\"pc\"}\n", { "expected an array of agent ids", NULL } },
    { "DEVICE_TO_AGENTS_JSON=[1]\n", { "expected a JSON object", NULL } },
    { "JUST SOME TEXT\n", { "line 1: expected KEY=VALUE", NULL } },
    { "X=\"unterminated\nY=1\n", { "line 1", "closing", NULL } },
  };
  guint i;
  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (EfpConfig) c = load_env (f, cases[i].text, &error);
      const gchar *const *fr;
      g_assert_null (c);
      g_assert_nonnull (error);
      g_assert_null (strchr (error->message, '\n'));
      g_assert_nonnull (strstr (error->message, ".env"));
      for (fr = cases[i].frag; *fr != NULL; fr++)
        if (strstr (error->message, *fr) == NULL)
          g_error ("'%s' not in error: %s", *fr, error->message);
    }
}

static void
test_env_overrides_keyfile (Fixture *f, gconstpointer data)
{
  EfpConfigLoadOptions o = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (EfpConfig) c = NULL;
  g_autofree gchar *conf = write_file (f, "k.conf", "[mqtt]\nhost=from-keyfile\nport=1000\n");
  g_autofree gchar *env = write_file (f, "e.env", "MQTT_HOST=from-env\n");

  o.config_file = conf;
  o.config_explicit = TRUE;
  o.env_file = env;
  c = efp_config_load (&o, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->mqtt.host, ==, "from-env");
  g_assert_cmpuint (c->mqtt.port, ==, 1000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/config/defaults", test_defaults);
  ADD ("/config/full", test_full);
  ADD ("/config/dump-masks-secrets", test_dump_masks_secrets);
  ADD ("/config/conf.d-overrides", test_confd_overrides);
  ADD ("/config/conf.d-error-names-its-file", test_confd_error_names_its_file);
  ADD ("/config/missing-default-is-fine", test_missing_default_is_fine);
  ADD ("/config/errors", test_errors);
  ADD ("/config/policy-module-keys", test_policy_module_keys);
  ADD ("/config/seed-env", test_seed_env);
  ADD ("/config/seed-env-multiline-json", test_seed_env_multiline_json);
  ADD ("/config/seed-env-errors", test_seed_env_errors);
  ADD ("/config/env-overrides-keyfile", test_env_overrides_keyfile);
  return g_test_run ();
}

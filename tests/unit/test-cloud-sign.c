/* test-cloud-sign.c: the Open API signature against SPEC 2.1's worked examples. */
#include "efp-cloud-sign.h"

#define AK    "Fp4SvIprYSL3Tn2Lq0FhK3M2wZ1s1XWx"
#define SK    "WIbFEKre0s6sLnh4ei7SPUeYnptHG6V"
#define NONCE "345164"
#define TS    "1700000000000"

static JsonObject *
parse_object (const gchar *json)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* (a) certification: no parameters */
static void
test_example_a (void)
{
  g_autofree gchar *msg = efp_cloud_sign_message (NULL, AK, NONCE, TS);
  g_autofree gchar *sign = efp_cloud_sign (NULL, AK, SK, NONCE, TS);
  g_autoptr (JsonObject) empty = json_object_new ();
  g_autofree gchar *sign_empty = efp_cloud_sign (empty, AK, SK, NONCE, TS);

  g_assert_cmpstr (msg, ==, "accessKey=" AK "&nonce=" NONCE "&timestamp=" TS);
  g_assert_cmpstr (sign, ==, "5f72c1bfdcdf50795d053a517e64208dbec7034fcfcd8c7843b984d99e6930d3");
  g_assert_cmpstr (sign_empty, ==, sign);
}

/* (b) nested body: flattened, sorted, the three auth pairs appended unsorted */
static void
test_example_b (void)
{
  g_autoptr (JsonObject) body = parse_object (
    "{\"sn\":\"R631ZEB0000000\",\"params\":{\"quotas\":[\"cmsBattSoc\",\"powGetAcIn\"]}}");
  g_autofree gchar *msg = efp_cloud_sign_message (body, AK, NONCE, TS);
  g_autofree gchar *sign = efp_cloud_sign (body, AK, SK, NONCE, TS);

  g_assert_cmpstr (msg, ==,
                   "params.quotas[0]=cmsBattSoc&params.quotas[1]=powGetAcIn&sn=R631ZEB0000000"
                   "&accessKey=" AK "&nonce=" NONCE "&timestamp=" TS);
  g_assert_cmpstr (sign, ==, "335d701ed268c8f57c22c6373ff13502630ec0f8188cedb356ff0693350ad0c0");
}

/* the member order of the input does not matter; scalars keep their plain form */
static void
test_order_and_scalars (void)
{
  g_autoptr (JsonObject) a = parse_object ("{\"z\":1,\"b\":true,\"a\":\"x y\",\"n\":{\"k\":2.5}}");
  g_autoptr (JsonObject) b = parse_object ("{\"n\":{\"k\":2.5},\"a\":\"x y\",\"b\":true,\"z\":1}");
  g_autofree gchar *ma = efp_cloud_sign_message (a, "K", "1", "2");
  g_autofree gchar *mb = efp_cloud_sign_message (b, "K", "1", "2");

  g_assert_cmpstr (ma, ==, "a=x y&b=true&n.k=2.5&z=1&accessKey=K&nonce=1&timestamp=2");
  g_assert_cmpstr (ma, ==, mb);
}

/* the key alone decides the order, byte-wise ("a.b" < "ab", '.' < 'b') */
static void
test_sort_by_key_bytes (void)
{
  g_autoptr (JsonObject) o = parse_object ("{\"ab\":\"1\",\"a\":{\"b\":\"2\"},\"A\":\"3\"}");
  g_autofree gchar *msg = efp_cloud_sign_message (o, "K", "1", "2");

  g_assert_cmpstr (msg, ==, "A=3&a.b=2&ab=1&accessKey=K&nonce=1&timestamp=2");
}

/* independent check of the HMAC step: printf %s 'msg' | openssl dgst -sha256 -hmac key */
static void
test_hmac (void)
{
  g_autofree gchar *h = efp_cloud_sign_hmac ("key", "The quick brown fox jumps over the lazy dog");

  g_assert_cmpstr (h, ==, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cloud/sign/example-a", test_example_a);
  g_test_add_func ("/cloud/sign/example-b", test_example_b);
  g_test_add_func ("/cloud/sign/order-and-scalars", test_order_and_scalars);
  g_test_add_func ("/cloud/sign/sort-by-key-bytes", test_sort_by_key_bytes);
  g_test_add_func ("/cloud/sign/hmac", test_hmac);
  return g_test_run ();
}

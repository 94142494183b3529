// sin(x), cos(x), asin(x) from the C library, for GEO: Redis computes distances and bounding boxes
// with libm, and V8's own sin/cos/asin (fdlibm ports) differ from glibc's in the last bit for a few
// percent of arguments, which shows in STOREDIST scores and rarely in WITHDIST or in a point on a
// radius's edge. Plain N-API (ABI-stable), built by scripts/build.mjs with `cc`; without it GEO
// uses Math.sin/cos/asin (src/store/libm.ts).
#include <math.h>
#include <node_api.h>

typedef double (*fn1)(double);

static napi_value call1(napi_env env, napi_callback_info info, fn1 f) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result;
  double x = NAN;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1) napi_get_value_double(env, argv[0], &x);
  napi_create_double(env, f(x), &result);
  return result;
}

static napi_value Sin(napi_env env, napi_callback_info info) { return call1(env, info, sin); }
static napi_value Cos(napi_env env, napi_callback_info info) { return call1(env, info, cos); }
static napi_value Asin(napi_env env, napi_callback_info info) { return call1(env, info, asin); }

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "sin", NAPI_AUTO_LENGTH, Sin, NULL, &fn);
  napi_set_named_property(env, exports, "sin", fn);
  napi_create_function(env, "cos", NAPI_AUTO_LENGTH, Cos, NULL, &fn);
  napi_set_named_property(env, exports, "cos", fn);
  napi_create_function(env, "asin", NAPI_AUTO_LENGTH, Asin, NULL, &fn);
  napi_set_named_property(env, exports, "asin", fn);
  return exports;
}

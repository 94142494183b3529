// release(view, offset, length): give the whole pages inside [offset, offset + length) of a typed
// array's memory back to the OS (madvise MADV_DONTNEED: they read as zeros when touched again).
// The heap calls it for large blocks it frees, so RSS follows the data after DEL of big values.
// Plain N-API (ABI-stable): one build serves every Node version; the heap runs without it (no
// memory returned) where it cannot be built or loaded.
#include <node_api.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static napi_value Release(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_value result;
  napi_typedarray_type type;
  size_t len, byte_offset;
  void *data = NULL;
  napi_value buffer;
  double off = 0, n = 0, done = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 3 && napi_get_typedarray_info(env, argv[0], &type, &len, &data, &buffer, &byte_offset) == napi_ok &&
      data != NULL && napi_get_value_double(env, argv[1], &off) == napi_ok &&
      napi_get_value_double(env, argv[2], &n) == napi_ok && off >= 0 && n > 0 && off + n <= (double)len) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t s = ((uintptr_t)data + (uintptr_t)off + page - 1) & ~(page - 1);
    uintptr_t e = ((uintptr_t)data + (uintptr_t)off + (uintptr_t)n) & ~(page - 1);
    if (e > s && madvise((void *)s, e - s, MADV_DONTNEED) == 0) done = (double)(e - s);
  }
  napi_create_double(env, done, &result);
  return result;
}

// misalign(view): where the view's memory starts within an OS page (bytes). malloc'd backing
// stores start 16 bytes into a page: the heap shifts its page grid by this much, so its pages are
// the OS's and a released span loses no partial page at either end.
static napi_value Misalign(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result;
  napi_typedarray_type type;
  size_t len, byte_offset;
  void *data = NULL;
  napi_value buffer;
  double mis = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1 && napi_get_typedarray_info(env, argv[0], &type, &len, &data, &buffer, &byte_offset) == napi_ok && data != NULL) {
    mis = (double)((uintptr_t)data & ((uintptr_t)sysconf(_SC_PAGESIZE) - 1));
  }
  napi_create_double(env, mis, &result);
  return result;
}

// dup(fd): a second descriptor for a listening socket (close-on-exec), or -1. Each worker thread
// accepts on its own copy, so one thread can close its listener (CONFIG SET port/bind) without
// closing the descriptor number the other threads' handles still use.
static napi_value Dup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result;
  int32_t fd = -1;
  double out = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1 && napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0) out = (double)fcntl(fd, F_DUPFD_CLOEXEC, 3);
  napi_create_double(env, out, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "release", NAPI_AUTO_LENGTH, Release, NULL, &fn);
  napi_set_named_property(env, exports, "release", fn);
  napi_create_function(env, "misalign", NAPI_AUTO_LENGTH, Misalign, NULL, &fn);
  napi_set_named_property(env, exports, "misalign", fn);
  napi_create_function(env, "dup", NAPI_AUTO_LENGTH, Dup, NULL, &fn);
  napi_set_named_property(env, exports, "dup", fn);
  return exports;
}

// release(view, offset, length): give the whole pages inside [offset, offset + length) of a typed
// array's memory back to the OS (madvise MADV_DONTNEED: they read as zeros when touched again).
// The heap calls it for large blocks it frees, so RSS follows the data after DEL of big values.
// Plain N-API (ABI-stable): one build serves every Node version; the heap runs without it (no
// memory returned) where it cannot be built or loaded.
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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

// spawnStandIn(title): the process that stands for a save's fork child (persistence/child.ts).
// `cat` with argv[0] = title, its stdin the read end of a pipe whose write end only this process
// holds (close-on-exec): when this process dies, the pipe closes and the child exits, as Redis's
// child does when its parent goes. posix_spawn is glibc's clone(CLONE_VM | CLONE_VFORK): unlike
// fork() it copies no page tables, so starting it costs the same with a 100 GB heap as with none.
// Returns [pid, write end], or [-errno, -1].
static napi_value SpawnStandIn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result, v;
  char title[256];
  size_t len = 0;
  int pid = -EINVAL, wfd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1 && napi_get_value_string_utf8(env, argv[0], title, sizeof title, &len) == napi_ok) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
      pid = -errno;
    } else {
      posix_spawn_file_actions_t fa;
      posix_spawnattr_t at;
      sigset_t none, all;
      sigemptyset(&none);
      sigfillset(&all);
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_adddup2(&fa, p[0], 0);
      posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_adddup2(&fa, 1, 2);
      posix_spawnattr_init(&at);
      // Node ignores SIGPIPE and blocks some signals in its threads: the child starts clean.
      posix_spawnattr_setsigmask(&at, &none);
      posix_spawnattr_setsigdefault(&at, &all);
      posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
      char *args[] = {title, NULL};
      pid_t child = -1;
      int r = posix_spawn(&child, "/bin/cat", &fa, &at, args, environ);
      if (r != 0) r = posix_spawn(&child, "/usr/bin/cat", &fa, &at, args, environ);
      posix_spawn_file_actions_destroy(&fa);
      posix_spawnattr_destroy(&at);
      close(p[0]);
      if (r != 0) {
        close(p[1]);
        pid = -r;
      } else {
        pid = child;
        wfd = p[1];
      }
    }
  }
  napi_create_array_with_length(env, 2, &result);
  napi_create_int32(env, pid, &v);
  napi_set_element(env, result, 0, v);
  napi_create_int32(env, wfd, &v);
  napi_set_element(env, result, 1, v);
  return result;
}

// waitpid(pid): -1 while the child runs, its exit code (0-255), or 256 + the signal that ended
// it; -2 when it is not (or no longer) this process's child. Never blocks.
static napi_value Waitpid(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_value result;
  int32_t pid = 0;
  int out = -2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1 && napi_get_value_int32(env, argv[0], &pid) == napi_ok && pid > 0) {
    int st = 0;
    pid_t r;
    do r = waitpid(pid, &st, WNOHANG); while (r < 0 && errno == EINTR);
    if (r == 0) out = -1;
    else if (r == pid) out = WIFSIGNALED(st) ? 256 + WTERMSIG(st) : WEXITSTATUS(st);
  }
  napi_create_int32(env, out, &result);
  return result;
}

// notify(path, message): one datagram to the AF_UNIX socket at path ('@' first: the abstract
// namespace), as libsystemd's sd_notify sends to $NOTIFY_SOCKET (supervised systemd: READY=1,
// STATUS=..., STOPPING=1). Node has no Unix datagram sockets. Returns the bytes sent, or -errno.
static napi_value Notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value result;
  struct sockaddr_un sa;
  char path[sizeof(sa.sun_path) + 1];
  char msg[4096];
  size_t plen = 0, mlen = 0;
  double out = -EINVAL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 2 && napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &plen) == napi_ok &&
      napi_get_value_string_utf8(env, argv[1], msg, sizeof(msg), &mlen) == napi_ok &&
      plen > 0 && plen < sizeof(sa.sun_path) && (path[0] == '/' || path[0] == '@')) {
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, plen);
    if (path[0] == '@') sa.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      out = -errno;
    } else {
      ssize_t n;
      do n = sendto(fd, msg, mlen, MSG_NOSIGNAL, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen));
      while (n < 0 && errno == EINTR);
      out = n < 0 ? -errno : (double)n;
      close(fd);
    }
  }
  napi_create_double(env, out, &result);
  return result;
}

// mallocTrim(): glibc's malloc_trim(0), which gives the free pages of every arena back to the OS.
// Big reply buffers freed after a burst (server/output-gc.ts) are otherwise kept by the thread
// arenas: glibc's mmap threshold rises to each freed mapping's size (up to 32 MiB), so such
// buffers stop getting pages of their own. Returns 1 if memory was released.
static napi_value MallocTrim(napi_env env, napi_callback_info info) {
  napi_value result;
  (void)info;
  napi_create_int32(env, malloc_trim(0), &result);
  return result;
}

// setProcTitle(title): the whole title in /proc/<pid>/cmdline (what ps shows), as Redis's
// setproctitle. Node's process.title writes only into the argv strings, so a title longer than
// the command line was cut. The kernel shows a title that runs past the argv strings into the
// environment strings after them; so, once a title needs it, environ is copied elsewhere (getenv
// reads the copies) and that room is ours. The areas: /proc/self/stat (arg_start..env_end).
// Call it from the main thread. Returns the title's bytes kept, or -errno.
extern char **environ;
static char *titleBase = NULL;
static size_t titleCap = 0;

static int statAreas(unsigned long v[4]) {
  char buf[4096];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -EIO;
  buf[n] = '\0';
  // Fields after the command's name (which may hold spaces): the 3rd is the first one here.
  char *p = strrchr(buf, ')');
  if (p == NULL) return -EIO;
  p++;
  int field = 2, got = 0;
  while (*p != '\0' && got < 4) {
    while (*p == ' ') p++;
    if (*p == '\0') break;
    field++;
    char *end;
    unsigned long x = strtoul(p, &end, 10);
    if (field >= 48 && field <= 51) v[got++] = x;
    p = end;
    while (*p != '\0' && *p != ' ') p++;
  }
  return got == 4 ? 0 : -EIO;
}

static unsigned long envArea[2]; // the environment strings after the argv strings, if contiguous

static int titleInit(void) {
  unsigned long a[4]; // arg_start, arg_end, env_start, env_end
  int r = statAreas(a);
  if (r < 0) return r;
  if (a[1] <= a[0]) return -EINVAL;
  titleBase = (char *)a[0];
  titleCap = a[1] - a[0];
  if (a[2] == a[1] && a[3] > a[2]) {
    envArea[0] = a[2];
    envArea[1] = a[3];
  }
  return 0;
}

// Only for a title longer than the argv strings (other threads may read environ meanwhile, so
// not without need): the environment strings still in place get copies, then their room is ours.
static void titleTakeEnv(void) {
  if (envArea[1] == 0) return;
  size_t n = 0;
  while (environ[n] != NULL) n++;
  char **copy = malloc((n + 1) * sizeof(char *));
  if (copy == NULL) return;
  for (size_t i = 0; i < n; i++) {
    char *e = environ[i];
    int inside = (unsigned long)e >= envArea[0] && (unsigned long)e < envArea[1];
    copy[i] = inside ? strdup(e) : e;
    if (copy[i] == NULL) {
      for (size_t j = 0; j < i; j++) if (copy[j] != environ[j]) free(copy[j]);
      free(copy);
      return;
    }
  }
  copy[n] = NULL;
  environ = copy;
  titleCap = envArea[1] - (unsigned long)titleBase;
  envArea[1] = 0;
}

static napi_value SetProcTitle(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  char title[4096];
  size_t len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], title, sizeof title, &len) != napi_ok) {
    napi_create_int32(env, -EINVAL, &result);
    return result;
  }
  int r = titleBase == NULL ? titleInit() : 0;
  if (r < 0 || titleBase == NULL) {
    napi_create_int32(env, r < 0 ? r : -EINVAL, &result);
    return result;
  }
  if (len > titleCap - 1) titleTakeEnv();
  if (len > titleCap - 1) len = titleCap - 1;
  memset(titleBase, 0, titleCap);
  memcpy(titleBase, title, len);
  // The thread's name too (ps -o comm, pkill), as Node's process.title sets it: 15 bytes.
  char comm[16];
  size_t cn = len < 15 ? len : 15;
  memcpy(comm, title, cn);
  comm[cn] = '\0';
  prctl(PR_SET_NAME, comm, 0, 0, 0);
  napi_create_int32(env, (int32_t)len, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "setProcTitle", NAPI_AUTO_LENGTH, SetProcTitle, NULL, &fn);
  napi_set_named_property(env, exports, "setProcTitle", fn);
  napi_create_function(env, "release", NAPI_AUTO_LENGTH, Release, NULL, &fn);
  napi_set_named_property(env, exports, "release", fn);
  napi_create_function(env, "misalign", NAPI_AUTO_LENGTH, Misalign, NULL, &fn);
  napi_set_named_property(env, exports, "misalign", fn);
  napi_create_function(env, "dup", NAPI_AUTO_LENGTH, Dup, NULL, &fn);
  napi_set_named_property(env, exports, "dup", fn);
  napi_create_function(env, "spawnStandIn", NAPI_AUTO_LENGTH, SpawnStandIn, NULL, &fn);
  napi_set_named_property(env, exports, "spawnStandIn", fn);
  napi_create_function(env, "waitpid", NAPI_AUTO_LENGTH, Waitpid, NULL, &fn);
  napi_set_named_property(env, exports, "waitpid", fn);
  napi_create_function(env, "notify", NAPI_AUTO_LENGTH, Notify, NULL, &fn);
  napi_set_named_property(env, exports, "notify", fn);
  napi_create_function(env, "mallocTrim", NAPI_AUTO_LENGTH, MallocTrim, NULL, &fn);
  napi_set_named_property(env, exports, "mallocTrim", fn);
  return exports;
}

// Unread input on other worker threads, for the arrival fence (src/server/arrival.ts).
//
// Redis runs commands in the order its one thread reads them. Here a command read by one thread
// can run before a command another thread has not read yet, though the kernel received that one
// first (a client sends UNSUBSCRIBE on one connection, then PUBLISH on another). Before an
// order-sensitive command, a thread looks at each other thread without waiting: one of its client
// sockets is readable (its epoll set says so), or it is running its poll phase's callbacks (it may
// have read input it has not run yet: between the loop's prepare and check handles, and not asleep
// in epoll_wait, as /proc's task state tells). For each such thread it waits, bounded, until that
// thread's loop ends a poll phase (its check handle; one more if a socket is still readable then),
// or goes to sleep in epoll_wait with nothing readable.
//
// attach(threadId, stamps): the calling worker's loop: its epoll descriptor, its task's /proc stat
//   file, and prepare and check handles that mark its poll phase (closed at the worker's exit);
//   stamps: a shared Float64Array, [t] = when thread t read the chunk it is running.
// watch(fd, threadId) / unwatch(fd, threadId): fd is (no longer) a client socket of that thread;
//   only those count. unwatch leaves a mark another thread has set since (the fd was reused).
// fence(threadId, threads, maxMs, seq): wait as above; returns how many threads were waited for,
//   negated when maxMs ran out first. With seq (not 0), only for unread input that reached the
//   kernel before the chunk of that arrival number (below), and not for chunks being run.
// seq(fd): the arrival number of the input fd has had since it was last read (0: none known).
//
// Arrival numbers: the kernel's order of arrival across every client socket of every thread. All
// of them are also in one edge-triggered epoll set of the process, whose ready list is FIFO: a
// socket joins its tail when input reaches a socket that is not on it. Draining the list (under a
// lock) numbers the sockets in that order. Each thread drains it after every poll phase, so a
// socket's place is that of input that came since the last drain; seq(fd) drains it too.
// Two threads then compare what they read by the number, not by which of them read first.
// Plain N-API plus libuv's stable 1.x API (exported by the node binary).
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_FD (1 << 20)
// How long a thread may take from reading a chunk to noting it (arrival.ts stampRead).
#define WINDOW_MS 0.05

static _Atomic int epfd[MAX_THREADS];             // the loop's epoll descriptor + 1; 0: none
static _Atomic uint32_t turns[MAX_THREADS];       // poll phases ended
static _Atomic uint8_t polling[MAX_THREADS];      // between the prepare and check handles
static _Atomic int statfd[MAX_THREADS];           // /proc/self/task/<tid>/stat + 1; 0: none
static _Atomic uint8_t fencing[MAX_THREADS];     // a fence is under way
static _Atomic uint8_t batched[MAX_THREADS];      // the poll phase's input runs after it (batchOpen)
// When each thread read the chunk it is running (ms, one clock for every thread), written by JS in
// shared memory (arrival.ts); given to attach.
static volatile double *stamps;
static _Atomic uint8_t owner[MAX_FD];             // thread id of a client socket; 0: not one

static int seq_ep = -1;                           // the edge-triggered set of every client socket
static pthread_once_t seq_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t seq_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t seq_next;                         // the last number given (under seq_lock)
static _Atomic uint32_t arrival[MAX_FD];          // the socket's number; 0: none yet

static void seq_init(void) { seq_ep = epoll_create1(EPOLL_CLOEXEC); }

// Numbering costs a drain per poll phase: it runs only while blocking commands are in use
// (activate, from arrival.ts), for ACTIVE_MS after the last. Meanwhile the sockets stay on the
// list (a socket already on it costs its input nothing more); the first drain after a pause
// clears the places they took then.
#define ACTIVE_MS 10000.0
static _Atomic double active_until;

// Number the sockets on the ready list in its order (the caller holds seq_lock).
static void drain_locked(void) {
  struct epoll_event ev[256];
  for (;;) {
    int n = epoll_wait(seq_ep, ev, 256, 0);
    for (int i = 0; i < n; i++) {
      int fd = ev[i].data.fd;
      if (fd < 0 || fd >= MAX_FD) continue;
      if (++seq_next == 0) seq_next = 1;
      atomic_store_explicit(&arrival[fd], seq_next, memory_order_release);
    }
    if (n < 256) return;
  }
}

static void drain(void) {
  if (seq_ep < 0) return;
  pthread_mutex_lock(&seq_lock);
  drain_locked();
  pthread_mutex_unlock(&seq_lock);
}

// Did a socket's input (number a) reach the kernel before that of number mine? Unknown: yes.
static int before(uint32_t a, uint32_t mine) {
  return a == 0 || (int32_t)(a - mine) < 0;
}

struct hook {
  uv_prepare_t prepare;
  uv_check_t check;
  int thread;
  int open;
  napi_async_cleanup_hook_handle handle;
};

static void on_prepare(uv_prepare_t *h) {
  atomic_store_explicit(&polling[((struct hook *)h->data)->thread], 1, memory_order_release);
}

static double now_ms(void);

// The poll phase is over: what it read has run.
static void end_phase(int t) {
  atomic_store_explicit(&polling[t], 0, memory_order_release);
  atomic_fetch_add_explicit(&turns[t], 1, memory_order_release);
}

static void on_check(uv_check_t *h) {
  int t = ((struct hook *)h->data)->thread;
  // The sockets this phase read leave the ready list: their next input takes a new place.
  if (now_ms() < atomic_load_explicit(&active_until, memory_order_relaxed)) drain();
  // Input the phase read and set aside runs in a later check callback (setImmediate): the phase
  // ends there (batchClose).
  if (!atomic_load_explicit(&batched[t], memory_order_acquire)) end_phase(t);
}

static void on_closed(uv_handle_t *h) {
  struct hook *k = h->data;
  if (--k->open > 0) return;
  napi_remove_async_cleanup_hook(k->handle);
  free(k);
}

static void on_worker_exit(napi_async_cleanup_hook_handle handle, void *arg) {
  struct hook *k = arg;
  int t = k->thread;
  atomic_store(&epfd[t], 0);
  int f = atomic_exchange(&statfd[t], 0) - 1;
  if (f >= 0) close(f);
  atomic_store(&polling[t], 0);
  k->handle = handle;
  k->open = 2;
  uv_close((uv_handle_t *)&k->prepare, on_closed);
  uv_close((uv_handle_t *)&k->check, on_closed);
}

static int32_t arg_int(napi_env env, napi_value v) {
  int32_t x = -1;
  napi_get_value_int32(env, v, &x);
  return x;
}

static napi_value number(napi_env env, double x) {
  napi_value r;
  napi_create_double(env, x, &r);
  return r;
}

static napi_value Attach(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uv_loop_t *loop = NULL;
  napi_typedarray_type type;
  size_t len = 0, off = 0;
  void *data = NULL;
  napi_value ab;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int t = argc == 2 ? arg_int(env, argv[0]) : -1;
  if (t <= 0 || t >= MAX_THREADS || napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) return number(env, 0);
  // The stamps: a Float64Array of MAX_THREADS in shared memory that outlives every worker.
  if (napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &off) != napi_ok || type != napi_float64_array ||
      len < MAX_THREADS || data == NULL) return number(env, 0);
  stamps = data;
  struct hook *k = calloc(1, sizeof *k);
  if (k == NULL) return number(env, 0);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)syscall(SYS_gettid));
  int f = open(path, O_RDONLY | O_CLOEXEC);
  if (f < 0) { free(k); return number(env, 0); }
  pthread_once(&seq_once, seq_init);
  k->thread = t;
  k->prepare.data = k;
  k->check.data = k;
  uv_prepare_init(loop, &k->prepare);
  uv_check_init(loop, &k->check);
  uv_prepare_start(&k->prepare, on_prepare);
  uv_check_start(&k->check, on_check);
  uv_unref((uv_handle_t *)&k->prepare);
  uv_unref((uv_handle_t *)&k->check);
  if (napi_add_async_cleanup_hook(env, on_worker_exit, k, NULL) != napi_ok) {
    // Without the hook the handles would outlive the loop: give them back now, no fence.
    uv_close((uv_handle_t *)&k->prepare, NULL);
    uv_close((uv_handle_t *)&k->check, NULL);
    close(f);
    return number(env, 0);
  }
  atomic_store(&statfd[t], f + 1);
  atomic_store(&epfd[t], uv_backend_fd(loop) + 1);
  return number(env, 1);
}

static napi_value Watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd = argc >= 1 ? arg_int(env, argv[0]) : -1;
  int t = argc >= 2 ? arg_int(env, argv[1]) : 0;
  if (fd >= 0 && fd < MAX_FD && t >= 0 && t < MAX_THREADS) {
    atomic_store_explicit(&owner[fd], (uint8_t)t, memory_order_relaxed);
    atomic_store_explicit(&arrival[fd], 0, memory_order_relaxed);
    // A closed descriptor leaves the set by itself; a reused one is added again (or re-armed).
    // EPOLLOUT too: epoll reports a socket on its ready list only if it is ready when drained,
    // and input a thread has already read would leave it unready; a socket is nearly always
    // writable, so its place, taken when input came, is kept. (Writability alone rarely wakes
    // the set: only after a write found the send buffer full.)
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = fd};
    if (seq_ep >= 0 && epoll_ctl(seq_ep, EPOLL_CTL_ADD, fd, &e) != 0 && errno == EEXIST) epoll_ctl(seq_ep, EPOLL_CTL_MOD, fd, &e);
    // Being writable put it on the list: drained now, its first input takes a place of its own.
    if (now_ms() < atomic_load_explicit(&active_until, memory_order_relaxed)) drain();
  }
  return NULL;
}

static napi_value Unwatch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd = argc >= 1 ? arg_int(env, argv[0]) : -1;
  int t = argc >= 2 ? arg_int(env, argv[1]) : 0;
  uint8_t mine = (uint8_t)t;
  if (fd >= 0 && fd < MAX_FD && t > 0 && t < MAX_THREADS) atomic_compare_exchange_strong(&owner[fd], &mine, 0);
  return NULL;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

// Does thread t's loop have a readable client socket of its own (with seq: whose input reached
// the kernel before that chunk's)?
static int unread(int t, uint32_t seq) {
  struct epoll_event ev[64];
  int e = atomic_load(&epfd[t]) - 1;
  if (e < 0) return 0;
  int n = epoll_wait(e, ev, 64, 0);
  for (int i = 0; i < n; i++) {
    int fd = ev[i].data.fd;
    if ((ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && fd >= 0 && fd < MAX_FD &&
        atomic_load_explicit(&owner[fd], memory_order_relaxed) == t &&
        (seq == 0 || before(atomic_load_explicit(&arrival[fd], memory_order_acquire), seq))) return 1;
  }
  return 0;
}

// Is thread t asleep (its task state S: in epoll_wait, or another wait)? Unknown reads as awake.
static int asleep(int t) {
  char b[512];
  int f = atomic_load(&statfd[t]) - 1;
  if (f < 0) return 0;
  ssize_t n = pread(f, b, sizeof b - 1, 0);
  if (n <= 0) return 0;
  b[n] = 0;
  char *p = strrchr(b, ')');
  return p != NULL && p[1] == ' ' && p[2] == 'S';
}

// Is thread t running its poll phase's callbacks (it may have read input it has not run yet)?
static int running(int t) {
  return atomic_load_explicit(&polling[t], memory_order_acquire) && !asleep(t);
}

static napi_value Fence(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  double max_ms = 0;
  uint32_t seq = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return number(env, 0);
  int self = arg_int(env, argv[0]);
  int threads = arg_int(env, argv[1]);
  napi_get_value_double(env, argv[2], &max_ms);
  if (argc == 4) napi_get_value_uint32(env, argv[3], &seq);
  // Sockets that got input since they were last numbered get numbers after seq's.
  if (seq != 0) drain();
  if (self <= 0 || self >= MAX_THREADS || threads >= MAX_THREADS || stamps == NULL) return number(env, 0);
  int waited = 0;
  int who[MAX_THREADS];
  int kind[MAX_THREADS];            // 1: waited for its unread input; 0: for an older chunk
  uint32_t until[MAX_THREADS];
  uint8_t again[MAX_THREADS];      // waited through a second poll phase
  // A thread running a chunk it read after this one's (fencing or not) is not waited for: its
  // input came later, as far as any thread can tell (the kernel's arrival order is not known; a
  // thread slow to wake can read later what arrived first). One fencing at the same time about an
  // older chunk is waited for, though it is asleep in its own wait.
  double mine = stamps[self];
  atomic_store(&fencing[self], 1);
  for (int t = 1; t <= threads; t++) {
    if (t == self) continue;
    uint32_t turn = atomic_load_explicit(&turns[t], memory_order_acquire);
    double theirs = stamps[t];
    int older = theirs < mine || (theirs == mine && t < self);
    int fenced = atomic_load(&fencing[t]);
    // Unread input: it may have reached the kernel before this chunk (no thread can tell), so it
    // is waited for, unless it turns out to be a command that fences too (that fence, younger,
    // waits for this one).
    int input = !fenced && unread(t, seq);
    // By arrival number, a chunk another thread runs is not known to be older: only input is
    // waited for (an announced blocking command is ordered by its number, in arrival.ts).
    if (!input && (seq != 0 || !(older && (fenced || running(t))))) continue;
    kind[waited] = input;
    who[waited] = t;
    until[waited] = turn + 1;
    again[waited] = 0;
    waited++;
  }
  int late = 0;
  if (seq != 0) {
    // A thread that is running may have just read input it has not noted yet (nothing says so:
    // the socket is no longer readable and nothing is announced). That window is short: a thread
    // that has not noted a new chunk within WINDOW_MS, or stopped running, had none.
    double end = now_ms() + WINDOW_MS;
    for (int t = 1; t <= threads; t++) {
      if (t == self || atomic_load(&fencing[t]) || !running(t)) continue;
      double seen = stamps[t];
      while (stamps[t] == seen && running(t) && !atomic_load(&fencing[t]) && now_ms() < end) sched_yield();
    }
  }
  if (waited > 0) {
    double deadline = now_ms() + max_ms;
    struct timespec nap = {0, 20000};
    for (int i = 0; i < waited; i++) {
      int t = who[i];
      while (atomic_load(&epfd[t]) != 0) {
        int fenced = atomic_load(&fencing[t]);
        uint32_t cur = atomic_load_explicit(&turns[t], memory_order_acquire);
        if ((int32_t)(cur - until[i]) >= 0) {
          // A poll phase ended. One already under way when the fence looked may have polled
          // before the input came: still readable, it is waited for through the next one (once:
          // under load a socket is always readable again).
          if (!kind[i] || fenced || again[i] || !unread(t, seq)) break;
          again[i] = 1;
          until[i] = cur + 1;
        }
        double theirs = stamps[t];
        int newer = theirs > mine || (theirs == mine && t > self);
        // Waited for as older: now on a newer chunk, so the older one is done. Waited for its
        // unread input: that input read, and fencing (it waits for this one).
        if (newer && (!kind[i] || fenced)) break;
        // Back asleep in epoll_wait with nothing readable: it ran what it had.
        if (!fenced && atomic_load_explicit(&polling[t], memory_order_acquire) && asleep(t) && !unread(t, seq)) break;
        if (now_ms() >= deadline) { late = 1; break; }
        nanosleep(&nap, NULL);
      }
    }
  }
  atomic_store(&fencing[self], 0);
  // Threads waited for, negative when the bound cut the wait short.
  return number(env, late ? -waited : waited);
}

// batchOpen(threadId): this poll phase set input aside to run after it; batchClose(threadId): it
// has run, and the phase ends (for fences that wait for it) only now.
// The first argument as an int32 (-1 when missing).
static int first_int(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc >= 1 ? arg_int(env, argv[0]) : -1;
}

// The thread id argument of batchOpen / batchClose; -1 when out of range.
static int thread_arg(napi_env env, napi_callback_info info) {
  int t = first_int(env, info);
  return t > 0 && t < MAX_THREADS ? t : -1;
}

static napi_value BatchOpen(napi_env env, napi_callback_info info) {
  int t = thread_arg(env, info);
  if (t > 0) atomic_store_explicit(&batched[t], 1, memory_order_release);
  return NULL;
}

static napi_value BatchClose(napi_env env, napi_callback_info info) {
  int t = thread_arg(env, info);
  if (t <= 0) return NULL;
  atomic_store_explicit(&batched[t], 0, memory_order_release);
  end_phase(t);
  return NULL;
}

// activate(): blocking commands are in use: number arrivals for the next ACTIVE_MS.
static napi_value Activate(napi_env env, napi_callback_info info) {
  double now = now_ms();
  double was = atomic_exchange(&active_until, now + ACTIVE_MS);
  // Places taken while it was off are stale: drained (numbered) now, before anything compares them.
  if (was < now) drain();
  return NULL;
}

static napi_value Seq(napi_env env, napi_callback_info info) {
  int fd = first_int(env, info);
  if (fd < 0 || fd >= MAX_FD || seq_ep < 0) return number(env, 0);
  drain();
  uint32_t a = atomic_load_explicit(&arrival[fd], memory_order_acquire);
  // Not numbered (its input came before it joined the set): as if it had just arrived.
  if (a == 0) {
    pthread_mutex_lock(&seq_lock);
    a = seq_next != 0 ? seq_next : 1;
    pthread_mutex_unlock(&seq_lock);
  }
  return number(env, a);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor d[] = {
    {"attach", NULL, Attach, NULL, NULL, NULL, napi_default, NULL},
    {"watch", NULL, Watch, NULL, NULL, NULL, napi_default, NULL},
    {"unwatch", NULL, Unwatch, NULL, NULL, NULL, napi_default, NULL},
    {"fence", NULL, Fence, NULL, NULL, NULL, napi_default, NULL},
    {"seq", NULL, Seq, NULL, NULL, NULL, napi_default, NULL},
    {"activate", NULL, Activate, NULL, NULL, NULL, napi_default, NULL},
    {"batchOpen", NULL, BatchOpen, NULL, NULL, NULL, napi_default, NULL},
    {"batchClose", NULL, BatchClose, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}

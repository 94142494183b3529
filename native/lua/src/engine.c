/*
 * shardis Lua engine: one Lua 5.1 state per worker thread (Node-API instance data), with the
 * libraries, sandbox and redis.* API that Redis 7.0 gives scripts.
 *
 * The division of work with the JavaScript side: JS decides everything that needs the server
 * (command lookup, ACL-free checks, locks, running the command, shebang flags, the function
 * registry) and hands this engine RESP bytes; this file converts RESP replies to Lua values and
 * Lua return values to RESP exactly as Redis's script_lua.c does, so the conversion rules live in
 * one place and run at C speed.
 *
 * Redis patches its Lua to have read-only tables; Debian's Lua 5.1 has no such thing, so the
 * protection is built from proxies: scripts see empty tables whose metatable forwards reads and
 * refuses writes ("Attempt to modify a readonly table"), and setmetatable/getmetatable/rawset
 * refuse to touch those proxies.
 */
#include <node_api.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <math.h>
#include <time.h>
#include <stdint.h>
#include "buf.h"
#include "ldb.h"

int luaopen_cjson(lua_State *L);
int luaopen_bit(lua_State *L);
int luaopen_struct(lua_State *L);
int luaopen_cmsgpack(lua_State *L);

/* ------------------------------------------------------------------------------------------ */

static void bufFmt(Buf *b, const char *fmt, long long v) {
  /* Every RESP header is "<type>%lld\r\n" (the type '%' written "%%"): formatted by hand, as
   * snprintf's format parsing cost more than the rest of a small reply. */
  const char *rest = fmt[0] == '%' && fmt[1] == '%' ? fmt + 2 : fmt + 1;
  if (strcmp(rest, "%lld\r\n") == 0) {
    char tmp[24];
    char *p = tmp + sizeof tmp;
    *--p = '\n';
    *--p = '\r';
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
      *--p = (char)('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (v < 0) *--p = '-';
    *--p = fmt[0];
    bufPut(b, p, (size_t)(tmp + sizeof tmp - p));
    return;
  }
  char tmp[64];
  int n = snprintf(tmp, sizeof tmp, fmt, v);
  bufPut(b, tmp, (size_t)n);
}

/* Lua allocates and frees a few small blocks per EVALSHA (KEYS/ARGV tables and their strings,
 * the reply's values): glibc's malloc/realloc/free cost ~7% of the server's CPU on a 1-key script;
 * a free list per size class costs a few loads. Blocks of up to POOL_MAX bytes come from the pool
 * (the allocator knows a block's size: Lua passes the old size), bigger ones from malloc. */
#define POOL_MAX 256
#define KEY_SLOTS 32
#define CALL_INFO_BYTES 16
#define CALL_SCOPE_USES 64
#define KEY_MARK 0x80000000u
#define POOL_CLASSES (POOL_MAX / 16)
#define POOL_CHUNK (64 * 1024)

typedef struct {
  lua_State *L;
  napi_env env;
  napi_ref callFn;   /* (argv?: Buffer[]) => Buffer | undefined: a redis.call (staged: see callInfo) */
  napi_ref busyFn;   /* () => void: the script ran past the busy threshold */
  napi_ref logFn;    /* (level, msg) => void */
  napi_ref ctlRef;   /* Int32Array over the server's busy-script words ([0]: the busy thread + 1),
                      * which JS owns; a run never changes it (runBegin). */
  int32_t *ctl;
  /* redis.call's arguments are written here ([u32 len][bytes] each) and JS reads them: creating
   * one Buffer per argument through N-API (a backing store each) cost more than the command. */
  napi_ref stageRef;
  unsigned char *stage;
  size_t stageLen;
  /* The stage's last CALL_INFO_BYTES, shared with JS for each redis.call: [0] argc (staged) or
   * -1 (an array of Buffers is passed), [1] the RESP version, [2] the reply's length in the
   * stage (JS writes it; -1: JS returned a Buffer). No N-API value is made or read for them. */
  int32_t *callInfo;
  /* redis.call's handle scope, kept open for up to CALL_SCOPE_USES calls of a run (closed when
   * the run ends: runCall), with the callback and receiver looked up once in it. Opening and
   * closing a scope and looking the callback up per call were ~2% of a 10-INCR script. */
  napi_handle_scope callScope;
  int callScopeUses;
  napi_value callFnVal;
  napi_value callRecv;
  int running;       /* a script or function is running */
  int loading;       /* FUNCTION LOAD is running the library code */
  int scriptResp;    /* redis.setresp() */
  int replFlags;     /* redis.set_repl(): 1 AOF, 2 replicas (3 both, the default; 0 neither) */
  int callerResp;
  int inCall;        /* redis.call re-entry guard */
  int timedOut;
  int killed;
  double startMs;
  double busyMs;     /* busy-reply-threshold, 0 = never */
  double loadTimeoutMs;
  int64_t gcCount;
  int ignoreStats;   /* the last run's error reply was already counted (a command's error) */
  uint16_t rand48[3];
  int logVerbosity;  /* redis.log drops messages below this level */
  /* FUNCTION LOAD: functions registered so far (a Lua table in the registry) */
  Buf out;
  /* A staged run's KEYS (up to KEY_SLOTS): each string's interned pointer, length and bytes (a
   * copy, in keyBytes at keyOff). redis.call passes an argument that is one of them back as its
   * index (KEY_MARK | k), not its bytes: JS hands the command the EVAL's own key Buffer, saving
   * a copy and a Buffer per call. The bytes are compared too, so a string that took a freed
   * key's address is never mistaken for it. */
  int nKeys;
  const char *keyPtr[32];
  size_t keyLen[32];
  size_t keyOff[32];
  Buf keyBytes;
  /* bind(): scripts and functions JS runs by number (a registry ref each) and their names, so
   * a run passes no strings; refs die with the state (reset). */
  char **boundNames;
  int boundCap;
  int errhRef;       /* the error handler, as a registry ref */
  /* The Lua state's small blocks (see engAlloc): a free list per 16-byte class, carved from
   * chunks that live as long as the engine (a state closed by SCRIPT FLUSH gives its blocks back
   * here for the next one). */
  void *poolFree[POOL_CLASSES];
  char *poolCarve;
  size_t poolLeft;
  void **poolChunks;
  int poolNChunks;
} Eng;

static int keyIndex(const Eng *e, const char *s, size_t n);

static const char *K_ENG = "shardis.eng";
static const char *K_READONLY = "shardis.readonly"; /* weak set of protected proxies */
static const char *K_ERRH = "shardis.errh";
static const char *K_EVALENV = "shardis.evalenv";
static const char *K_FNENV = "shardis.fnenv";
static const char *K_FNENVMT = "shardis.fnenvmt";
static const char *K_LIBAPI = "shardis.libapi";
static const char *K_GLOBALS = "shardis.globals";
static const char *K_NEWFNS = "shardis.newfns";

/* The busy-script and FUNCTION LOAD timers (milliseconds, thresholds of 1 ms and up): the
 * coarse clock is a plain read of the kernel's tick time, where the precise one costs a
 * hardware clock read per run (tens of ns in a VM). Its tick (1-4 ms) is below what a
 * threshold measures. */
static double nowMs(void) {
  struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
  clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The state's allocator carries the engine (its userdata): no registry lookup per redis.call. */
static Eng *getEng(lua_State *L) {
  void *ud = NULL;
  lua_getallocf(L, &ud);
  return (Eng *)ud;
}

static void *poolAlloc(Eng *e, size_t n) {
  int c = (int)((n - 1) >> 4);
  void *b = e->poolFree[c];
  if (b != NULL) {
    e->poolFree[c] = *(void **)b;
    return b;
  }
  size_t sz = ((size_t)c + 1) << 4;
  if (e->poolLeft < sz) {
    char *chunk = malloc(POOL_CHUNK);
    if (chunk == NULL) return NULL;
    void **list = realloc(e->poolChunks, sizeof(void *) * (size_t)(e->poolNChunks + 1));
    if (list == NULL) {
      free(chunk);
      return NULL;
    }
    list[e->poolNChunks++] = chunk;
    e->poolChunks = list;
    /* the rest of the old chunk goes to the free lists, largest classes first */
    while (e->poolLeft >= 16) {
      int k = (int)(e->poolLeft >> 4) - 1;
      if (k >= POOL_CLASSES) k = POOL_CLASSES - 1;
      *(void **)e->poolCarve = e->poolFree[k];
      e->poolFree[k] = e->poolCarve;
      e->poolCarve += ((size_t)k + 1) << 4;
      e->poolLeft -= ((size_t)k + 1) << 4;
    }
    e->poolCarve = chunk;
    e->poolLeft = POOL_CHUNK;
  }
  b = e->poolCarve;
  e->poolCarve += sz;
  e->poolLeft -= sz;
  return b;
}

static void poolFree(Eng *e, void *b, size_t n) {
  int c = (int)((n - 1) >> 4);
  *(void **)b = e->poolFree[c];
  e->poolFree[c] = b;
}

/* luaL_newstate's allocator and panic function, with the engine as the allocator's userdata.
 * Lua 5.1 passes a block's exact size as osize (0 for a new block), so whether a block is the
 * pool's follows from its size. */
static void *engAlloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  Eng *e = (Eng *)ud;
  if (ptr == NULL) osize = 0;
  if (nsize == 0) {
    if (osize > POOL_MAX) free(ptr);
    else if (osize > 0) poolFree(e, ptr, osize);
    return NULL;
  }
  if (osize > POOL_MAX && nsize > POOL_MAX) return realloc(ptr, nsize);
  if (osize > 0 && osize <= POOL_MAX && nsize <= POOL_MAX && ((osize - 1) >> 4) == ((nsize - 1) >> 4)) return ptr;
  void *n = nsize > POOL_MAX ? malloc(nsize) : poolAlloc(e, nsize);
  if (n == NULL) return NULL;
  if (osize > 0) {
    memcpy(n, ptr, osize < nsize ? osize : nsize);
    if (osize > POOL_MAX) free(ptr);
    else poolFree(e, ptr, osize);
  }
  return n;
}
static int engPanic(lua_State *L) {
  fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", lua_tostring(L, -1));
  return 0;
}

/* ---- errors in Redis's table form ------------------------------------------------------- */

/* Push {err="CODE msg"} as luaPushErrorBuff does: "-CODE msg" keeps its code, "msg" gets ERR. */
/* A redis.call refused before it ran (JS's scriptCall checks): the debugger logs its error as
 * Redis words it there, without the "-ERR " its reply carries. */
static __thread int ldbRefused = 0;

static void pushErrorTable(lua_State *L, const char *s, size_t len) {
  /* luaPushErrorBuff logs every error it makes while the debugger steps. */
  if (ldbLogging()) {
    if (ldbRefused && len > 5 && memcmp(s, "-ERR ", 5) == 0) ldbLogError(s + 5, len - 5);
    else ldbLogError(s, len);
  }
  Buf b = {0};
  if (len > 0 && s[0] == '-') {
    const char *sp = memchr(s, ' ', len);
    if (sp == NULL) {
      bufStr(&b, "ERR ");
      bufPut(&b, s + 1, len - 1);
    } else {
      bufPut(&b, s + 1, (size_t)(sp - s - 1));
      bufPut(&b, " ", 1);
      bufPut(&b, sp + 1, len - (size_t)(sp - s) - 1);
    }
  } else {
    bufStr(&b, "ERR ");
    bufPut(&b, s, len);
  }
  /* trim \r\n at both ends of the message part, as sdstrim does on the message */
  while (b.len > 0 && (b.p[b.len - 1] == '\r' || b.p[b.len - 1] == '\n')) b.len--;
  lua_newtable(L);
  lua_pushstring(L, "err");
  lua_pushlstring(L, b.p, b.len);
  lua_settable(L, -3);
  free(b.p);
}

static void pushError(lua_State *L, const char *msg) { pushErrorTable(L, msg, strlen(msg)); }
void engPushError(lua_State *L, const char *msg) { pushError(L, msg); }

static int raiseError(lua_State *L, const char *msg) {
  pushError(L, msg);
  return lua_error(L);
}

/* ---- RESP (RESP2 and RESP3) -> Lua ------------------------------------------------------ */

typedef struct {
  const char *p, *end;
} Rd;

static long long rdLine(Rd *r, const char **start, size_t *len) {
  const char *s = r->p;
  const char *e = s;
  while (e + 1 < r->end && !(e[0] == '\r' && e[1] == '\n')) e++;
  *start = s;
  *len = (size_t)(e - s);
  r->p = e + 2;
  return 0;
}

static long long parseLL(const char *s, size_t n) {
  /* A reply's integers and lengths are plain decimals: up to 18 digits cannot overflow. */
  size_t i = n > 0 && s[0] == '-' ? 1 : 0;
  if (n > i && n - i <= 18) {
    long long v = 0;
    size_t j = i;
    while (j < n && s[j] >= '0' && s[j] <= '9') v = v * 10 + (s[j++] - '0');
    if (j == n) return i ? -v : v;
  }
  char tmp[32];
  if (n > 31) n = 31;
  memcpy(tmp, s, n);
  tmp[n] = 0;
  return strtoll(tmp, NULL, 10);
}

static void respToLua(lua_State *L, Rd *r, int push);

static void respToLua(lua_State *L, Rd *r, int push) {
  if (r->p >= r->end) {
    if (push) lua_pushnil(L);
    return;
  }
  char t = *r->p++;
  const char *s;
  size_t n;
  if (push && !lua_checkstack(L, 5)) luaL_error(L, "reached lua stack limit");
  switch (t) {
    case '+':
      rdLine(r, &s, &n);
      if (!push) return;
      lua_newtable(L);
      lua_pushstring(L, "ok");
      lua_pushlstring(L, s, n);
      lua_settable(L, -3);
      return;
    case '-':
      rdLine(r, &s, &n);
      if (!push) return;
      {
        Buf b = {0};
        bufPut(&b, "-", 1);
        bufPut(&b, s, n);
        pushErrorTable(L, b.p, b.len);
        free(b.p);
      }
      lua_pushstring(L, "ignore_error_stats_update");
      lua_pushboolean(L, 1);
      lua_settable(L, -3);
      return;
    case ':':
      rdLine(r, &s, &n);
      if (push) lua_pushnumber(L, (lua_Number)parseLL(s, n));
      return;
    case '$':
    case '=': {
      rdLine(r, &s, &n);
      long long len = parseLL(s, n);
      if (len < 0) {
        if (push) lua_pushboolean(L, 0);
        return;
      }
      const char *d = r->p;
      r->p += len + 2;
      if (!push) return;
      if (t == '$') {
        lua_pushlstring(L, d, (size_t)len);
      } else {
        lua_newtable(L);
        lua_pushstring(L, "verbatim_string");
        lua_newtable(L);
        lua_pushstring(L, "string");
        lua_pushlstring(L, d + 4, len >= 4 ? (size_t)len - 4 : 0);
        lua_settable(L, -3);
        lua_pushstring(L, "format");
        lua_pushlstring(L, d, len >= 3 ? 3 : (size_t)len);
        lua_settable(L, -3);
        lua_settable(L, -3);
      }
      return;
    }
    case '*':
    case '~':
    case '>': {
      rdLine(r, &s, &n);
      long long len = parseLL(s, n);
      if (len < 0) {
        if (push) lua_pushboolean(L, 0);
        return;
      }
      if (t == '~') {
        if (push) {
          lua_newtable(L);
          lua_pushstring(L, "set");
          lua_newtable(L);
        }
        for (long long j = 0; j < len; j++) {
          respToLua(L, r, push);
          if (push) {
            if (!lua_checkstack(L, 1)) luaL_error(L, "reached lua stack limit");
            lua_pushboolean(L, 1);
            lua_settable(L, -3);
          }
        }
        if (push) lua_settable(L, -3);
        return;
      }
      if (push) lua_newtable(L);
      for (long long j = 0; j < len; j++) {
        if (push) lua_pushnumber(L, (lua_Number)(j + 1));
        respToLua(L, r, push);
        if (push) lua_settable(L, -3);
      }
      return;
    }
    case '%': {
      rdLine(r, &s, &n);
      long long len = parseLL(s, n);
      if (push) {
        lua_newtable(L);
        lua_pushstring(L, "map");
        lua_newtable(L);
      }
      for (long long j = 0; j < len; j++) {
        respToLua(L, r, push);
        respToLua(L, r, push);
        if (push) lua_settable(L, -3);
      }
      if (push) lua_settable(L, -3);
      return;
    }
    case '|': {
      rdLine(r, &s, &n);
      long long len = parseLL(s, n);
      for (long long j = 0; j < len; j++) {
        respToLua(L, r, 0);
        respToLua(L, r, 0);
      }
      respToLua(L, r, push);
      return;
    }
    case '_':
      rdLine(r, &s, &n);
      if (push) lua_pushnil(L);
      return;
    case '#':
      rdLine(r, &s, &n);
      if (push) lua_pushboolean(L, n > 0 && s[0] == 't');
      return;
    case ',': {
      rdLine(r, &s, &n);
      if (!push) return;
      char tmp[128];
      if (n > 127) n = 127;
      memcpy(tmp, s, n);
      tmp[n] = 0;
      lua_newtable(L);
      lua_pushstring(L, "double");
      lua_pushnumber(L, strtod(tmp, NULL));
      lua_settable(L, -3);
      return;
    }
    case '(':
      rdLine(r, &s, &n);
      if (!push) return;
      lua_newtable(L);
      lua_pushstring(L, "big_number");
      lua_pushlstring(L, s, n);
      lua_settable(L, -3);
      return;
    default:
      rdLine(r, &s, &n);
      if (push) lua_pushnil(L);
      return;
  }
}

/* ---- Lua -> RESP (luaReplyToRedisReply) ------------------------------------------------- */

static void putBulk(Buf *b, const char *s, size_t n) {
  bufFmt(b, "$%lld\r\n", (long long)n);
  bufPut(b, s, n);
  bufPut(b, "\r\n", 2);
}

static void putNull(Buf *b, int resp) { bufStr(b, resp == 2 ? "$-1\r\n" : "_\r\n"); }

/* Simple strings and errors may not hold CR or LF (addReplyStatusLength after sdsmapchars). */
static void putLine(Buf *b, char prefix, const char *s, size_t n) {
  bufPut(b, &prefix, 1);
  size_t at = b->len;
  bufPut(b, s, n);
  for (size_t i = at; i < b->len; i++)
    if (b->p[i] == '\r' || b->p[i] == '\n') b->p[i] = ' ';
  bufPut(b, "\r\n", 2);
}

static void putDouble(Buf *b, double d, int resp) {
  char tmp[64];
  if (isinf(d)) {
    if (resp == 2) putBulk(b, d > 0 ? "inf" : "-inf", d > 0 ? 3 : 4);
    else bufStr(b, d > 0 ? ",inf\r\n" : ",-inf\r\n");
    return;
  }
  int n = snprintf(tmp, sizeof tmp, "%.17g", d);
  if (resp == 2) putBulk(b, tmp, (size_t)n);
  else {
    bufPut(b, ",", 1);
    bufPut(b, tmp, (size_t)n);
    bufPut(b, "\r\n", 2);
  }
}

/* t[k] without metamethods: the C side reads scripts' tables outside any pcall, where an
 * erroring __index (the globals guard on _G, or a script's own) would panic the process. */
static void rawField(lua_State *L, int idx, const char *k) {
  lua_pushstring(L, k);
  lua_rawget(L, idx < 0 ? idx - 1 : idx);
}

/* Error information of an error table: err, source, line (luaExtractErrorInformation). */
static void luaToResp(lua_State *L, Buf *b, int resp, int scriptResp);

static void putErrorFromTable(lua_State *L, Buf *b) {
  /* table at -1 with an err string */
  rawField(L, -1, "err");
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  Buf m = {0};
  bufPut(&m, s, n);
  lua_pop(L, 1);
  putLine(b, '-', m.p, m.len);
  free(m.p);
}

static void luaToResp(lua_State *L, Buf *b, int resp, int scriptResp) {
  int t = lua_type(L, -1);
  if (!lua_checkstack(L, 4)) {
    bufStr(b, "-ERR reached lua stack limit\r\n");
    lua_pop(L, 1);
    return;
  }
  switch (t) {
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, -1, &n);
      putBulk(b, s, n);
      break;
    }
    case LUA_TBOOLEAN:
      if (scriptResp == 2) {
        if (lua_toboolean(L, -1)) bufStr(b, ":1\r\n");
        else putNull(b, resp);
      } else {
        if (resp == 2) bufStr(b, lua_toboolean(L, -1) ? ":1\r\n" : ":0\r\n");
        else bufStr(b, lua_toboolean(L, -1) ? "#t\r\n" : "#f\r\n");
      }
      break;
    case LUA_TNUMBER:
      bufFmt(b, ":%lld\r\n", (long long)lua_tonumber(L, -1));
      break;
    case LUA_TTABLE: {
      lua_pushstring(L, "err");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pop(L, 1);
        putErrorFromTable(L, b);
        lua_pop(L, 1);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "ok");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        putLine(b, '+', s, n);
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "double");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TNUMBER) {
        putDouble(b, lua_tonumber(L, -1), resp);
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "big_number");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (resp == 2) {
          Buf m = {0};
          bufPut(&m, s, n);
          for (size_t i = 0; i < m.len; i++)
            if (m.p[i] == '\r' || m.p[i] == '\n') m.p[i] = ' ';
          putBulk(b, m.p, m.len);
          free(m.p);
        } else {
          putLine(b, '(', s, n);
        }
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "verbatim_string");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushstring(L, "format");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TSTRING) {
          const char *fmt = lua_tostring(L, -1);
          lua_pushstring(L, "string");
          lua_rawget(L, -3);
          if (lua_type(L, -1) == LUA_TSTRING) {
            size_t n;
            const char *s = lua_tolstring(L, -1, &n);
            if (resp == 2) putBulk(b, s, n);
            else {
              char ext[3] = {' ', ' ', ' '};
              for (int i = 0; i < 3 && fmt[i]; i++) ext[i] = fmt[i];
              bufFmt(b, "=%lld\r\n", (long long)n + 4);
              bufPut(b, ext, 3);
              bufPut(b, ":", 1);
              bufPut(b, s, n);
              bufPut(b, "\r\n", 2);
            }
            lua_pop(L, 4);
            return;
          }
          lua_pop(L, 1);
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
      lua_pushstring(L, "map");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TTABLE) {
        long long cnt = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          cnt++;
        }
        bufFmt(b, resp == 2 ? "*%lld\r\n" : "%%%lld\r\n", resp == 2 ? cnt * 2 : cnt);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pushvalue(L, -2);
          luaToResp(L, b, resp, scriptResp); /* key */
          luaToResp(L, b, resp, scriptResp); /* value */
        }
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      lua_pushstring(L, "set");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TTABLE) {
        long long cnt = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          cnt++;
        }
        bufFmt(b, resp == 2 ? "*%lld\r\n" : "~%lld\r\n", cnt);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          lua_pushvalue(L, -1);
          luaToResp(L, b, resp, scriptResp);
        }
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      /* array: elements 1..n up to the first nil */
      {
        long long cnt = 0;
        for (;;) {
          lua_pushnumber(L, (lua_Number)(cnt + 1));
          lua_rawget(L, -2);
          int nil = lua_type(L, -1) == LUA_TNIL;
          lua_pop(L, 1);
          if (nil) break;
          cnt++;
        }
        bufFmt(b, "*%lld\r\n", cnt);
        for (long long j = 1; j <= cnt; j++) {
          lua_pushnumber(L, (lua_Number)j);
          lua_rawget(L, -2);
          luaToResp(L, b, resp, scriptResp);
        }
      }
      break;
    }
    default:
      putNull(b, resp);
  }
  lua_pop(L, 1);
}

/* ---- redis.* API -------------------------------------------------------------------------- */

static napi_value mkBuffer(napi_env env, const char *p, size_t n) {
  napi_value v;
  void *data;
  napi_create_buffer_copy(env, n, p, &data, &v);
  return v;
}

/* resp: the script's RESP version for redis.call/pcall; 0 asks JS for an ACL check instead
 * (redis.acl_check_cmd), answered as a RESP3 boolean or an error. */
static int redisGenericAs(lua_State *L, int raise, int resp);
static int redisGeneric(lua_State *L, int raise) {
  return redisGenericAs(L, raise, -1);
}

/* redis.call's handle scope for this run (see Eng.callScope): open one, or a fresh one every
 * CALL_SCOPE_USES calls so a long loop of calls does not pile up handles. */
static void callScopeEnter(Eng *e) {
  napi_env env = e->env;
  if (e->callScope != NULL && e->callScopeUses < CALL_SCOPE_USES) {
    e->callScopeUses++;
    return;
  }
  if (e->callScope != NULL) napi_close_handle_scope(env, e->callScope);
  napi_open_handle_scope(env, &e->callScope);
  e->callScopeUses = 1;
  napi_get_reference_value(env, e->callFn, &e->callFnVal);
  napi_get_undefined(env, &e->callRecv); /* an arrow function: no receiver needed */
}

/* The run is over: its redis.call scope goes (it was opened inside the run's own callback). */
static void callScopeLeave(Eng *e) {
  if (e->callScope == NULL) return;
  napi_close_handle_scope(e->env, e->callScope);
  e->callScope = NULL;
  e->callScopeUses = 0;
}

static void countHook(lua_State *L, lua_Debug *ar);

static int redisGenericAs(lua_State *L, int raise, int resp) {
  Eng *e = getEng(L);
  if (!e->running) {
    pushError(L, "redis.call/pcall can only be called inside a script invocation");
    return lua_error(L);
  }
  /* The busy threshold (and SCRIPT KILL once past it) is looked at per call too, not only every
   * 100000 instructions: a loop of slow calls (CLIENT LIST, which asks every thread) runs few
   * instructions a second. The hook's own checks decide; before anything is allocated here, as
   * it may raise. */
  if (!e->inCall && !ldbActive()) countHook(L, NULL);
  int argc = lua_gettop(L);
  if (argc == 0) {
    pushError(L, "Please specify at least one argument for this redis lib call");
    return raise ? lua_error(L) : 1;
  }
  if (e->inCall) {
    /* Before the scope below: a nested call must not replace the scope its caller is using. */
    pushError(L, "luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?");
    return 1;
  }
  napi_env env = e->env;
  callScopeEnter(e);
  napi_value arr = NULL;
  /* Arguments go to the staging buffer when they fit (JS reads them from there); else, rarely,
   * one Buffer each. */
  size_t need = 0;
  int j;
  for (j = 0; j < argc; j++) {
    size_t n = 24;
    if (lua_type(L, j + 1) != LUA_TNUMBER && lua_tolstring(L, j + 1, &n) == NULL) break;
    need += 4 + n;
  }
  int staged = j == argc && e->stage != NULL && need <= e->stageLen;
  if (!staged) napi_create_array_with_length(env, (size_t)argc, &arr);
  size_t at = 0;
  for (j = 0; j < argc; j++) {
    char dbuf[64];
    const char *s;
    size_t n;
    if (lua_type(L, j + 1) == LUA_TNUMBER) {
      n = (size_t)snprintf(dbuf, sizeof dbuf, "%.17g", (double)lua_tonumber(L, j + 1));
      s = dbuf;
    } else {
      s = lua_tolstring(L, j + 1, &n);
      if (s == NULL) break;
    }
    if (staged) {
      int k = j > 0 && e->nKeys > 0 && s != dbuf ? keyIndex(e, s, n) : -1;
      if (k >= 0) {
        uint32_t mark = KEY_MARK | (uint32_t)k;
        memcpy(e->stage + at, &mark, 4);
        at += 4;
        continue;
      }
      uint32_t n32 = (uint32_t)n;
      memcpy(e->stage + at, &n32, 4);
      memcpy(e->stage + at + 4, s, n);
      at += 4 + n;
    } else {
      napi_set_element(env, arr, (uint32_t)j, mkBuffer(env, s, n));
    }
  }
  if (j == argc && ldbLogging()) ldbLogCommand(L, argc);
  lua_pop(L, argc);
  if (j != argc) {
    pushError(L, "Lua redis lib command arguments must be strings or integers");
    return raise ? lua_error(L) : 1;
  }
  if (e->inCall) {
    pushError(L, "luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?");
    return 1;
  }
  e->inCall = 1;
  napi_value res;
  /* The script's RESP version rides along (redis.setresp), saving JS a call back for it. */
  e->callInfo[0] = staged ? argc : -1;
  e->callInfo[1] = resp < 0 ? e->scriptResp : resp;
  e->callInfo[2] = -1;
  e->callInfo[3] = e->replFlags;
  napi_status st = napi_call_function(env, e->callRecv, e->callFnVal, staged ? 0 : 1, staged ? NULL : &arr, &res);
  e->inCall = 0;
  /* The reply: its length when JS copied it to the stage (the common case: no Buffer, no
   * copy here), else a Buffer (a reply bigger than the stage, or a refusal). */
  int32_t slen = st == napi_ok ? e->callInfo[2] : -1;
  bool isBuf = false;
  if (st == napi_ok && slen < 0) napi_is_buffer(env, res, &isBuf);
  if (slen < 0 && !isBuf) {
    if (st == napi_pending_exception) {
      napi_value ex;
      napi_get_and_clear_last_exception(env, &ex);
    }
    pushError(L, "internal error running the command");
    return raise ? lua_error(L) : 1;
  }
  int isErr;
  /* JS marks a call it refused before running it (-2 in callInfo[3]). */
  int refused = e->callInfo[3] == -2;
  if (slen >= 0) {
    Rd r = {(const char *)e->stage, (const char *)e->stage + slen};
    isErr = slen > 0 && e->stage[0] == '-';
    respToLua(L, &r, 1);
    if (ldbLogging()) ldbLogReply((const char *)e->stage, (size_t)slen);
  } else {
    void *data;
    size_t len;
    napi_get_buffer_info(env, res, &data, &len);
    /* Copy: the buffer may be a view of the thread's reply writer that is reused. */
    Buf copy = {0};
    bufPut(&copy, (const char *)data, len);
    Rd r = {copy.p, copy.p + copy.len};
    isErr = copy.len > 0 && copy.p[0] == '-';
    ldbRefused = refused;
    respToLua(L, &r, 1);
    ldbRefused = 0;
    if (!refused && ldbLogging()) ldbLogReply(copy.p, copy.len);
    free(copy.p);
  }
  if (raise && isErr) return lua_error(L);
  return 1;
}

static int luaRedisCall(lua_State *L) { return redisGeneric(L, 1); }
static int luaRedisPCallCmd(lua_State *L) { return redisGeneric(L, 0); }

/* pcall that hands back the message of Redis's error tables, as Redis 7 does. */
static int luaPcallCompat(lua_State *L) {
  int argc = lua_gettop(L);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  if (lua_pcall(L, argc - 1, LUA_MULTRET, 0)) {
    lua_remove(L, 1);
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "err");
      if (lua_isstring(L, -1)) lua_replace(L, -2);
      else lua_pop(L, 1);
    }
    lua_pushboolean(L, 0);
    lua_insert(L, 1);
  }
  return lua_gettop(L);
}

/* SHA1 (public domain algorithm, compact implementation) */
typedef struct {
  uint32_t h[5];
  uint64_t n;
  uint8_t buf[64];
  size_t bl;
} Sha1;
#define ROL(v, b) (((v) << (b)) | ((v) >> (32 - (b))))
static void sha1Block(Sha1 *c, const uint8_t *p) {
  uint32_t w[80], a, b, cc, d, e, f, k, t;
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[i * 4] << 24 | (uint32_t)p[i * 4 + 1] << 16 | (uint32_t)p[i * 4 + 2] << 8 | p[i * 4 + 3];
  for (int i = 16; i < 80; i++) w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  a = c->h[0]; b = c->h[1]; cc = c->h[2]; d = c->h[3]; e = c->h[4];
  for (int i = 0; i < 80; i++) {
    if (i < 20) { f = (b & cc) | (~b & d); k = 0x5A827999; }
    else if (i < 40) { f = b ^ cc ^ d; k = 0x6ED9EBA1; }
    else if (i < 60) { f = (b & cc) | (b & d) | (cc & d); k = 0x8F1BBCDC; }
    else { f = b ^ cc ^ d; k = 0xCA62C1D6; }
    t = ROL(a, 5) + f + e + k + w[i];
    e = d; d = cc; cc = ROL(b, 30); b = a; a = t;
  }
  c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d; c->h[4] += e;
}
static void sha1hex(char *out, const char *s, size_t n) {
  Sha1 c = {{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0}, 0, {0}, 0};
  const uint8_t *p = (const uint8_t *)s;
  c.n = (uint64_t)n * 8;
  while (n >= 64) { sha1Block(&c, p); p += 64; n -= 64; }
  uint8_t tail[128] = {0};
  memcpy(tail, p, n);
  tail[n] = 0x80;
  size_t tl = n + 1 + 8 <= 64 ? 64 : 128;
  for (int i = 0; i < 8; i++) tail[tl - 1 - i] = (uint8_t)(c.n >> (i * 8));
  sha1Block(&c, tail);
  if (tl == 128) sha1Block(&c, tail + 64);
  for (int i = 0; i < 5; i++) sprintf(out + i * 8, "%08x", c.h[i]);
}

static int luaSha1hex(lua_State *L) {
  if (lua_gettop(L) != 1) return raiseError(L, "wrong number of arguments");
  size_t n;
  const char *s = lua_tolstring(L, 1, &n);
  char out[41];
  sha1hex(out, s ? s : "", s ? n : 0);
  lua_pushstring(L, out);
  return 1;
}

static int luaErrorReply(lua_State *L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    pushError(L, "wrong number or type of arguments");
    return 1;
  }
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  if (n > 0 && s[0] == '-') pushErrorTable(L, s, n);
  else {
    Buf b = {0};
    bufPut(&b, "-", 1);
    bufPut(&b, s, n);
    pushErrorTable(L, b.p, b.len);
    free(b.p);
  }
  return 1;
}

static int luaStatusReply(lua_State *L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    pushError(L, "wrong number or type of arguments");
    return 1;
  }
  lua_newtable(L);
  lua_pushstring(L, "ok");
  lua_pushvalue(L, -3);
  lua_settable(L, -3);
  return 1;
}

static int luaSetRepl(lua_State *L) {
  Eng *e = getEng(L);
  if (!e->running) return raiseError(L, "redis.set_repl can only be called inside a script invocation");
  if (lua_gettop(L) != 1) return raiseError(L, "redis.set_repl() requires two arguments.");
  int flags = (int)lua_tonumber(L, -1);
  if ((flags & ~3) != 0) return raiseError(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  e->replFlags = flags;
  return 0;
}

static int luaReplicateCommands(lua_State *L) {
  lua_pushboolean(L, 1);
  return 1;
}


static int luaLog(lua_State *L) {
  Eng *e = getEng(L);
  int argc = lua_gettop(L);
  if (argc < 2) return raiseError(L, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, -argc)) return raiseError(L, "First argument must be a number (log level).");
  int level = (int)lua_tonumber(L, -argc);
  if (level < 0 || level > 3) return raiseError(L, "Invalid debug level.");
  if (level < e->logVerbosity) return 0;
  Buf b = {0};
  for (int j = 1; j < argc; j++) {
    size_t n;
    const char *s = lua_tolstring(L, (-argc) + j, &n);
    if (s) {
      if (j != 1) bufPut(&b, " ", 1);
      bufPut(&b, s, n);
    }
  }
  napi_env env = e->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn, global, res, args[2];
  napi_get_reference_value(env, e->logFn, &fn);
  napi_get_global(env, &global);
  napi_create_int32(env, level, &args[0]);
  napi_create_string_utf8(env, b.p ? b.p : "", b.len, &args[1]);
  if (napi_call_function(env, global, fn, 2, args, &res) == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
  }
  napi_close_handle_scope(env, scope);
  free(b.p);
  return 0;
}

static int luaSetResp(lua_State *L) {
  Eng *e = getEng(L);
  if (!e->running) return raiseError(L, "redis.setresp can only be called inside a script invocation");
  if (lua_gettop(L) != 1) return raiseError(L, "redis.setresp() requires one argument.");
  int resp = (int)lua_tonumber(L, -1);
  if (resp != 2 && resp != 3) return raiseError(L, "RESP version must be 2 or 3.");
  e->scriptResp = resp;
  return 0;
}

static int luaAclCheckCmd(lua_State *L) {
  Eng *e = getEng(L);
  if (!e->running) return raiseError(L, "redis.acl_check_cmd can only be called inside a script invocation");
  if (lua_gettop(L) == 0) return raiseError(L, "Please specify at least one argument for this redis lib call");
  /* The users and the command table are on the JS side: ask through the call hook, RESP 0. */
  return redisGenericAs(L, 1, 0);
}

/* rand48 as Redis's rand.c: the same sequence for the same seed on every platform */
static int32_t lrand48x(Eng *e) {
  uint64_t x = (uint64_t)e->rand48[2] << 32 | (uint64_t)e->rand48[1] << 16 | e->rand48[0];
  x = (x * 0x5DEECE66DULL + 0xB) & 0xFFFFFFFFFFFFULL;
  e->rand48[0] = (uint16_t)x;
  e->rand48[1] = (uint16_t)(x >> 16);
  e->rand48[2] = (uint16_t)(x >> 32);
  return (int32_t)(x >> 17);
}

static int mathRandom(lua_State *L) {
  Eng *e = getEng(L);
  if (!e->running) return luaL_error(L, "math.random can only be called inside a script invocation");
  lua_Number r = (lua_Number)(lrand48x(e) % 2147483647) / (lua_Number)2147483647;
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, r);
      break;
    case 1: {
      int u = luaL_checkint(L, 1);
      luaL_argcheck(L, 1 <= u, 1, "interval is empty");
      lua_pushnumber(L, floor(r * u) + 1);
      break;
    }
    case 2: {
      int l = luaL_checkint(L, 1);
      int u = luaL_checkint(L, 2);
      luaL_argcheck(L, l <= u, 2, "interval is empty");
      lua_pushnumber(L, floor(r * (u - l + 1)) + l);
      break;
    }
    default:
      return luaL_error(L, "wrong number of arguments");
  }
  return 1;
}

static int mathRandomseed(lua_State *L) {
  Eng *e = getEng(L);
  if (!e->running) return luaL_error(L, "math.randomseed can only be called inside a script invocation");
  int32_t seed = luaL_checkint(L, 1);
  e->rand48[0] = 0x330E;
  e->rand48[1] = (uint16_t)seed;
  e->rand48[2] = (uint16_t)((uint32_t)seed >> 16);
  return 0;
}

/* ---- read-only protection ----------------------------------------------------------------- */

static int isReadonly(lua_State *L, int idx) {
  if (!lua_istable(L, idx)) return 0;
  lua_pushvalue(L, idx);
  lua_getfield(L, LUA_REGISTRYINDEX, K_READONLY);
  lua_insert(L, -2);
  lua_rawget(L, -2);
  int ro = lua_toboolean(L, -1);
  lua_pop(L, 2);
  return ro;
}

static int readonlyError(lua_State *L) {
  luaL_where(L, 1);
  lua_pushstring(L, "Attempt to modify a readonly table");
  lua_concat(L, 2);
  return lua_error(L);
}

static int protectedNewindex(lua_State *L) { return readonlyError(L); }

/* Wrap the table on top in a read-only proxy (replaces it on the stack). */
static void makeReadonly(lua_State *L) {
  lua_newtable(L);          /* proxy */
  lua_newtable(L);          /* mt */
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, protectedNewindex);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, -2);
  lua_remove(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, K_READONLY);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

static int plainReadonlyError(lua_State *L) { return luaL_error(L, "Attempt to modify a readonly table"); }

static int safeSetmetatable(lua_State *L) {
  if (isReadonly(L, 1)) return plainReadonlyError(L);
  int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argcheck(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table expected");
  if (luaL_getmetafield(L, 1, "__metatable")) luaL_error(L, "cannot change a protected metatable");
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

static int safeGetmetatable(lua_State *L) {
  luaL_checkany(L, 1);
  if (!lua_getmetatable(L, 1)) {
    lua_pushnil(L);
    return 1;
  }
  if (isReadonly(L, 1)) {
    makeReadonly(L);
    return 1;
  }
  luaL_getmetafield(L, 1, "__metatable");
  return 1;
}

static int safeRawset(lua_State *L) {
  if (isReadonly(L, 1)) return plainReadonlyError(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

/* loadstring without binary chunks (Redis's Lua refuses precompiled code), and with the calling
 * script's environment so loaded code sees the same read-only globals. */
static int safeLoadstring(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *name = luaL_optstring(L, 2, s);
  if (n > 0 && s[0] == '\033') {
    lua_pushnil(L);
    lua_pushstring(L, "binary code loading is not allowed");
    return 2;
  }
  if (luaL_loadbuffer(L, s, n, name) != 0) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  lua_Debug ar;
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "f", &ar)) {
    lua_getfenv(L, -1);
    lua_setfenv(L, -3);
    lua_pop(L, 1);
  }
  return 1;
}

static int nonexistentGlobal(lua_State *L) {
  const char *name = lua_tostring(L, 2);
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", name ? name : "?");
}

/* ---- hooks: busy scripts and SCRIPT KILL ------------------------------------------------- */

static void countHook(lua_State *L, lua_Debug *ar);

static void killNow(lua_State *L) {
  lua_sethook(L, countHook, LUA_MASKLINE, 0);
  pushError(L, "Script killed by user with SCRIPT KILL...");
  lua_error(L);
}

static void countHook(lua_State *L, lua_Debug *ar) {
  Eng *e = getEng(L);
  if (e->loading) {
    if (e->loadTimeoutMs > 0 && nowMs() - e->startMs > e->loadTimeoutMs) {
      lua_sethook(L, countHook, LUA_MASKLINE, 0);
      pushError(L, "FUNCTION LOAD timeout");
      lua_error(L);
    }
    return;
  }
  if (e->killed) {
    /* Not inside the error handler: a kill raised from redis.call (not from a hook, where Lua
     * runs no hooks) would be raised again there, and name the handler as the error's place. */
    if (ar != NULL && lua_getinfo(L, "S", ar) && ar->source != NULL && strcmp(ar->source, "@err_handler_def") == 0) return;
    killNow(L);
  }
  /* SHUTDOWN under this busy script (ctl[3] == 2, stopBusyScriptForShutdown): stop without
   * calling JS, which a thread being terminated can no longer run. */
  if (e->timedOut && e->ctl != NULL && __atomic_load_n(&e->ctl[3], __ATOMIC_SEQ_CST) == 2) {
    e->killed = 1;
    killNow(L);
  }
  if (e->busyMs <= 0 || (!e->timedOut && nowMs() - e->startMs < e->busyMs)) return;
  e->timedOut = 1;
  /* Past the busy threshold: JS marks the script busy for the other threads, and answers
   * whether SCRIPT KILL / FUNCTION KILL asked this script to stop. */
  napi_env env = e->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn, global, res, elapsed;
  bool kill = false;
  napi_get_reference_value(env, e->busyFn, &fn);
  napi_get_global(env, &global);
  /* How long it has run: JS dates the script's start from it (no clock read per run there). */
  napi_create_double(env, nowMs() - e->startMs, &elapsed);
  if (napi_call_function(env, global, fn, 1, &elapsed, &res) == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
  } else {
    napi_get_value_bool(env, res, &kill);
  }
  napi_close_handle_scope(env, scope);
  if (kill) {
    e->killed = 1;
    killNow(L);
  }
}

/* ---- setup --------------------------------------------------------------------------------- */

static const char *ERRH =
    "local dbg = debug\n"
    "return function(err)\n"
    "  local i = dbg.getinfo(2,'nSl')\n"
    "  if i and i.what == 'C' then i = dbg.getinfo(3,'nSl') end\n"
    "  if type(err) ~= 'table' then err = {err='ERR ' .. tostring(err)} end\n"
    "  if i then err['source'] = i.source; err['line'] = i.currentline end\n"
    "  return err\n"
    "end\n";

static void setfn(lua_State *L, const char *name, lua_CFunction f) {
  lua_pushcfunction(L, f);
  lua_setfield(L, -2, name);
}
static void setnum(lua_State *L, const char *name, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, name);
}

static void registerLogAndVersion(lua_State *L) {
  setfn(L, "log", luaLog);
  setnum(L, "LOG_DEBUG", 0);
  setnum(L, "LOG_VERBOSE", 1);
  setnum(L, "LOG_NOTICE", 2);
  setnum(L, "LOG_WARNING", 3);
  setnum(L, "REDIS_VERSION_NUM", 0x00070000 | 15);
  lua_pushstring(L, "7.0.15");
  lua_setfield(L, -2, "REDIS_VERSION");
}

static int luaRegisterFunction(lua_State *L);

static void loadLib(lua_State *L, const char *name, lua_CFunction f) {
  lua_pushcfunction(L, f);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

static void setupState(Eng *e) {
  lua_State *L = lua_newstate(engAlloc, e);
  lua_atpanic(L, engPanic);
  e->L = L;
  for (int i = 0; i < e->boundCap; i++) {
    free(e->boundNames[i]);
    e->boundNames[i] = NULL;
  }
  lua_pushlightuserdata(L, e);
  lua_setfield(L, LUA_REGISTRYINDEX, K_ENG);
  /* weak-keyed set of read-only proxies */
  lua_newtable(L);
  lua_newtable(L);
  lua_pushstring(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, K_READONLY);

  loadLib(L, "", luaopen_base);
  loadLib(L, LUA_TABLIBNAME, luaopen_table);
  loadLib(L, LUA_STRLIBNAME, luaopen_string);
  loadLib(L, LUA_MATHLIBNAME, luaopen_math);
  loadLib(L, LUA_DBLIBNAME, luaopen_debug);
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cjson");
  loadLib(L, "struct", luaopen_struct);
  loadLib(L, "cmsgpack", luaopen_cmsgpack);
  loadLib(L, "bit", luaopen_bit);

  /* error handler, made while debug is still reachable */
  luaL_loadbuffer(L, ERRH, strlen(ERRH), "@err_handler_def");
  lua_call(L, 0, 1);
  lua_pushvalue(L, -1);
  e->errhRef = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_setfield(L, LUA_REGISTRYINDEX, K_ERRH);

  /* globals Redis does not give scripts */
  const char *drop[] = {"debug", "dofile", "loadfile", "print", "module", "require", "package", "os", "io", NULL};
  for (int i = 0; drop[i]; i++) {
    lua_pushnil(L);
    lua_setglobal(L, drop[i]);
  }
  lua_pushcfunction(L, luaPcallCompat);
  lua_setglobal(L, "pcall");
  lua_pushcfunction(L, safeSetmetatable);
  lua_setglobal(L, "setmetatable");
  lua_pushcfunction(L, safeGetmetatable);
  lua_setglobal(L, "getmetatable");
  lua_pushcfunction(L, safeRawset);
  lua_setglobal(L, "rawset");
  lua_pushcfunction(L, safeLoadstring);
  lua_setglobal(L, "loadstring");

  lua_getglobal(L, "math");
  setfn(L, "random", mathRandom);
  setfn(L, "randomseed", mathRandomseed);
  lua_pop(L, 1);

  /* the redis table */
  lua_newtable(L);
  setfn(L, "call", luaRedisCall);
  setfn(L, "pcall", luaRedisPCallCmd);
  registerLogAndVersion(L);
  setfn(L, "setresp", luaSetResp);
  setfn(L, "sha1hex", luaSha1hex);
  setfn(L, "error_reply", luaErrorReply);
  setfn(L, "status_reply", luaStatusReply);
  setfn(L, "set_repl", luaSetRepl);
  setnum(L, "REPL_NONE", 0);
  setnum(L, "REPL_AOF", 1);
  setnum(L, "REPL_SLAVE", 2);
  setnum(L, "REPL_REPLICA", 2);
  setnum(L, "REPL_ALL", 3);
  setfn(L, "acl_check_cmd", luaAclCheckCmd);
  setfn(L, "breakpoint", ldbLuaBreakpoint);
  setfn(L, "debug", ldbLuaDebug);
  setfn(L, "replicate_commands", luaReplicateCommands);
  lua_setglobal(L, "redis");

  /* Library tables become read-only proxies (the originals stay reachable only through the
   * proxies' metatables, which scripts cannot get at). */
  const char *libs[] = {"redis", "cjson", "bit", "cmsgpack", "struct", "string", "math", "table", "coroutine", NULL};
  for (int i = 0; libs[i]; i++) {
    lua_getglobal(L, libs[i]);
    if (lua_istable(L, -1)) {
      makeReadonly(L);
      lua_setglobal(L, libs[i]);
    } else {
      lua_pop(L, 1);
    }
  }

  /* Real globals: reading a missing name is an error. */
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  lua_newtable(L);
  lua_pushcfunction(L, nonexistentGlobal);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, K_GLOBALS);

  /* EVAL environment: a read-only proxy of the globals; _G names it. */
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  makeReadonly(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_GLOBALSINDEX, "_G");
  lua_setfield(L, LUA_REGISTRYINDEX, K_EVALENV);

  /* FUNCTION environment: its own proxy whose __index is switched to the library API while
   * FUNCTION LOAD runs the library code (function_lua.c does the same with its globals). */
  lua_newtable(L);           /* env */
  lua_newtable(L);           /* mt */
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, protectedNewindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, K_FNENVMT);
  lua_setmetatable(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, K_READONLY);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, K_FNENV);

  /* The library API seen while a library loads: redis.register_function, log, versions. */
  lua_newtable(L);           /* globals while loading */
  lua_newtable(L);           /* redis */
  setfn(L, "register_function", luaRegisterFunction);
  registerLogAndVersion(L);
  lua_newtable(L);
  lua_pushcfunction(L, nonexistentGlobal);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  makeReadonly(L);
  lua_setfield(L, -2, "redis");
  lua_newtable(L);
  lua_pushcfunction(L, nonexistentGlobal);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  makeReadonly(L);
  lua_setfield(L, LUA_REGISTRYINDEX, K_LIBAPI);

  e->rand48[0] = 0x330E;
  e->rand48[1] = 0xABCD;
  e->rand48[2] = 0x1234;
}

/* ---- FUNCTION LOAD: redis.register_function ---------------------------------------------- */

static const char *FLAG_NAMES[] = {"no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", NULL};

/* Validates and records one function into the K_NEWFNS table: {name=..., fn=..., desc=..., flags=n} */
static int luaRegisterFunction(lua_State *L) {
  Eng *e = getEng(L);
  if (!e->loading) return raiseError(L, "redis.register_function can only be called on FUNCTION LOAD command");
  int argc = lua_gettop(L);
  const char *err = NULL;
  int flags = 0;
  if (argc < 1 || argc > 2) return raiseError(L, "wrong number of arguments to redis.register_function");
  lua_newtable(L); /* record at argc+1 */
  int rec = lua_gettop(L);
  if (argc == 1) {
    if (!lua_istable(L, 1)) {
      err = "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).";
      goto error;
    }
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      if (!lua_isstring(L, -2) || lua_type(L, -2) == LUA_TNUMBER) {
        lua_pop(L, 2);
        err = "named argument key given to redis.register_function is not a string";
        goto error;
      }
      const char *k = lua_tostring(L, -2);
      if (!strcmp(k, "function_name")) {
        if (lua_type(L, -1) != LUA_TSTRING) { lua_pop(L, 2); err = "function_name argument given to redis.register_function must be a string"; goto error; }
        lua_pushvalue(L, -1);
        lua_setfield(L, rec, "name");
      } else if (!strcmp(k, "description")) {
        if (lua_type(L, -1) != LUA_TSTRING) { lua_pop(L, 2); err = "description argument given to redis.register_function must be a string"; goto error; }
        lua_pushvalue(L, -1);
        lua_setfield(L, rec, "desc");
      } else if (!strcmp(k, "callback")) {
        if (!lua_isfunction(L, -1)) { lua_pop(L, 2); err = "callback argument given to redis.register_function must be a function"; goto error; }
        lua_pushvalue(L, -1);
        lua_setfield(L, rec, "fn");
      } else if (!strcmp(k, "flags")) {
        if (!lua_istable(L, -1)) { lua_pop(L, 2); err = "flags argument to redis.register_function must be a table representing function flags"; goto error; }
        int j = 1;
        for (;;) {
          lua_rawgeti(L, -1, j++);
          if (lua_isnil(L, -1)) { lua_pop(L, 1); break; }
          if (lua_type(L, -1) != LUA_TSTRING) { lua_pop(L, 3); err = "unknown flag given"; goto error; }
          const char *fl = lua_tostring(L, -1);
          int f;
          for (f = 0; FLAG_NAMES[f]; f++) if (!strcmp(fl, FLAG_NAMES[f])) break;
          if (!FLAG_NAMES[f]) { lua_pop(L, 3); err = "unknown flag given"; goto error; }
          flags |= 1 << f;
          lua_pop(L, 1);
        }
      } else {
        lua_pop(L, 2);
        err = "unknown argument given to redis.register_function";
        goto error;
      }
      lua_pop(L, 1);
    }
    lua_getfield(L, rec, "name");
    int hasName = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!hasName) { err = "redis.register_function must get a function name argument"; goto error; }
    lua_getfield(L, rec, "fn");
    int hasFn = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!hasFn) { err = "redis.register_function must get a callback argument"; goto error; }
  } else {
    if (lua_type(L, 1) != LUA_TSTRING) { err = "first argument to redis.register_function must be a string"; goto error; }
    if (!lua_isfunction(L, 2)) { err = "second argument to redis.register_function must be a function"; goto error; }
    lua_pushvalue(L, 1);
    lua_setfield(L, rec, "name");
    lua_pushvalue(L, 2);
    lua_setfield(L, rec, "fn");
  }
  /* name checks (functionLibCreateFunction) */
  {
    lua_getfield(L, rec, "name");
    size_t n;
    const char *name = lua_tolstring(L, -1, &n);
    int ok = n > 0;
    for (size_t i = 0; i < n; i++) {
      char c = name[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) ok = 0;
    }
    if (!ok) {
      lua_pop(L, 1);
      err = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
      goto error;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, K_NEWFNS);
    lua_pushvalue(L, -2);
    lua_rawget(L, -2);
    int dup = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (dup) {
      lua_pop(L, 2);
      err = "Function already exists in the library";
      goto error;
    }
    lua_pushnumber(L, flags);
    lua_setfield(L, rec, "flags");
    lua_pushvalue(L, -2);  /* name */
    lua_pushvalue(L, rec);
    lua_rawset(L, -3);
    lua_pop(L, 2);
  }
  return 0;
error:
  return raiseError(L, err);
}

/* ---- Node-API surface --------------------------------------------------------------------- */

#define CHECK(x) do { if ((x) != napi_ok) { napi_throw_error(env, NULL, "shardis_lua: " #x " failed"); return NULL; } } while (0)
/* An entry point's arguments: argv[0..n-1], argc how many JS passed (missing ones are undefined). */
#define JS_ARGS(n) size_t argc = (n); napi_value argv[(n)]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL))

static Eng *engOf(napi_env env) {
  Eng *e = NULL;
  napi_get_instance_data(env, (void **)&e);
  return e;
}

static void finalizeEng(napi_env env, void *data, void *hint) {
  Eng *e = (Eng *)data;
  if (e->L) lua_close(e->L);
  for (int i = 0; i < e->boundCap; i++) free(e->boundNames[i]);
  free(e->boundNames);
  free(e->out.p);
  for (int i = 0; i < e->poolNChunks; i++) free(e->poolChunks[i]);
  free(e->poolChunks);
  free(e);
}

static char *getStr(napi_env env, napi_value v, size_t *len) {
  bool isBuf = false;
  napi_is_buffer(env, v, &isBuf);
  if (isBuf) {
    void *d;
    size_t n;
    napi_get_buffer_info(env, v, &d, &n);
    char *s = malloc(n + 1);
    memcpy(s, d, n);
    s[n] = 0;
    *len = n;
    return s;
  }
  size_t n;
  napi_get_value_string_utf8(env, v, NULL, 0, &n);
  char *s = malloc(n + 1);
  napi_get_value_string_utf8(env, v, s, n + 1, &n);
  *len = n;
  return s;
}

/* init(callFn, busyFn, logFn, ctl: Int32Array) */
static napi_value jsInit(napi_env env, napi_callback_info info) {
  JS_ARGS(5);
  Eng *e = engOf(env);
  if (e == NULL) {
    e = calloc(1, sizeof(Eng));
    napi_set_instance_data(env, e, finalizeEng, NULL);
  } else {
    if (e->L) lua_close(e->L);
    e->L = NULL;
  }
  e->env = env;
  e->scriptResp = 2;
  e->logVerbosity = 2;
  napi_create_reference(env, argv[0], 1, &e->callFn);
  napi_create_reference(env, argv[1], 1, &e->busyFn);
  napi_create_reference(env, argv[2], 1, &e->logFn);
  napi_create_reference(env, argv[3], 1, &e->ctlRef);
  {
    napi_typedarray_type tt;
    size_t len, off;
    void *data;
    napi_value ab;
    CHECK(napi_get_typedarray_info(env, argv[3], &tt, &len, &data, &ab, &off));
    e->ctl = (int32_t *)data;
  }
  e->stage = NULL;
  e->stageLen = 0;
  if (argc >= 5) {
    napi_typedarray_type tt;
    size_t len, off;
    void *data;
    napi_value ab;
    CHECK(napi_get_typedarray_info(env, argv[4], &tt, &len, &data, &ab, &off));
    napi_create_reference(env, argv[4], 1, &e->stageRef);
    e->stage = (unsigned char *)data;
    e->stageLen = len - CALL_INFO_BYTES;
    e->callInfo = (int32_t *)(e->stage + e->stageLen);
  } else {
    static int32_t noInfo[CALL_INFO_BYTES / 4];
    e->callInfo = noInfo;
  }
  setupState(e);
  return NULL;
}

/* reset(): a fresh state (SCRIPT FLUSH drops every compiled script; functions are reloaded by JS) */
static napi_value jsReset(napi_env env, napi_callback_info info) {
  Eng *e = engOf(env);
  if (e->L) lua_close(e->L);
  setupState(e);
  return NULL;
}

static napi_value jsSetConfig(napi_env env, napi_callback_info info) {
  JS_ARGS(3);
  Eng *e = engOf(env);
  double busy, load, verb;
  napi_get_value_double(env, argv[0], &busy);
  napi_get_value_double(env, argv[1], &load);
  napi_get_value_double(env, argv[2], &verb);
  e->busyMs = busy;
  e->loadTimeoutMs = load;
  e->logVerbosity = (int)verb;
  return NULL;
}

/* compile(key, body, skip) -> null | error message. Keeps the function in the registry. */
static napi_value jsCompile(napi_env env, napi_callback_info info) {
  JS_ARGS(3);
  Eng *e = engOf(env);
  lua_State *L = e->L;
  size_t klen, blen;
  char *key = getStr(env, argv[0], &klen);
  char *body = getStr(env, argv[1], &blen);
  double skip = 0;
  napi_get_value_double(env, argv[2], &skip);
  napi_value ret;
  if (luaL_loadbuffer(L, body + (size_t)skip, blen - (size_t)skip, "@user_script")) {
    size_t n;
    const char *m = lua_tolstring(L, -1, &n);
    napi_create_string_utf8(env, m, n, &ret);
    lua_pop(L, 1);
  } else {
    lua_getfield(L, LUA_REGISTRYINDEX, K_EVALENV);
    lua_setfenv(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
    napi_get_null(env, &ret);
  }
  free(key);
  free(body);
  return ret;
}

static napi_value jsDrop(napi_env env, napi_callback_info info) {
  JS_ARGS(1);
  Eng *e = engOf(env);
  size_t klen;
  char *key = getStr(env, argv[0], &klen);
  lua_pushnil(e->L);
  lua_setfield(e->L, LUA_REGISTRYINDEX, key);
  free(key);
  return NULL;
}

static napi_value jsHas(napi_env env, napi_callback_info info) {
  JS_ARGS(1);
  Eng *e = engOf(env);
  size_t klen;
  char *key = getStr(env, argv[0], &klen);
  lua_getfield(e->L, LUA_REGISTRYINDEX, key);
  bool has = !lua_isnil(e->L, -1);
  lua_pop(e->L, 1);
  free(key);
  napi_value r;
  napi_get_boolean(env, has, &r);
  return r;
}

static void pushArray(napi_env env, lua_State *L, napi_value arr) {
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  lua_createtable(L, (int)n, 0);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, arr, i, &v);
    void *d;
    size_t len;
    napi_get_buffer_info(env, v, &d, &len);
    lua_pushlstring(L, (const char *)d, len);
    lua_rawseti(L, -2, (int)i + 1);
  }
}

/* A run's start: the engine's per-run state, the hook, the error handler and the function on
 * the stack (above base). */
static int runBegin(Eng *e, int resp) {
  lua_State *L = e->L;
  e->callerResp = resp;
  e->scriptResp = 2;
  e->replFlags = 3;
  e->running = 1;
  e->timedOut = 0;
  e->killed = 0;
  e->startMs = nowMs();
  /* A locked read-modify-write of the busy word that changes nothing (0 stays 0; another
   * thread's busy mark stays, where the plain store of 0 that was here cleared it). Kept for
   * speed: without this locked write, 10-INCR EVALSHA at --threads 2 measured 20% slower
   * (server CPU per request 51 -> 61 us, 3 runs each), slot-lock contention between the threads
   * behaving worse without it. */
  if (e->ctl) {
    int32_t zero = 0;
    __atomic_compare_exchange_n(&e->ctl[0], &zero, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  }
  e->out.len = 0;
  e->ignoreStats = 0;
  e->nKeys = 0;
  int base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, e->errhRef);
  return base;
}

/* Call the function at base + 2 with its KEYS and ARGV (the two tables on top: EVAL sets them as
 * globals, FCALL passes them), and write its reply (or error) as RESP into e->out. */
static void runCall(Eng *e, int base, int isEval, const char *funcname) {
  lua_State *L = e->L;
  /* A debugged run has the debugger's hook instead: no busy script (Redis's server is blocked
   * by a SYNC session; here its thread is, holding every slot). */
  if (ldbActive()) lua_sethook(L, ldbHook, LUA_MASKLINE | LUA_MASKCOUNT, 100000);
  else lua_sethook(L, countHook, LUA_MASKCOUNT, 100000);
  int err;
  if (isEval) {
    /* The real globals (K_GLOBALS is this table): no registry lookup by name per run. */
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_insert(L, -3);
    lua_setfield(L, -3, "ARGV");
    lua_setfield(L, -2, "KEYS");
    lua_pop(L, 1);
    err = lua_pcall(L, 0, 1, base + 1);
  } else {
    err = lua_pcall(L, 2, 1, base + 1);
  }
  callScopeLeave(e);
  if (++e->gcCount == 50) {
    lua_gc(L, LUA_GCSTEP, 50);
    e->gcCount = 0;
  }
  Buf *b = &e->out;
  if (err) {
    if (!lua_istable(L, -1)) {
      const char *msg = lua_isstring(L, -1) ? lua_tostring(L, -1) : "execution failure";
      Buf m = {0};
      bufStr(&m, "ERR Error running script ");
      bufStr(&m, funcname);
      bufStr(&m, ", ");
      bufPut(&m, msg, strlen(msg) > 100 ? 100 : strlen(msg));
      putLine(b, '-', m.p, m.len);
      free(m.p);
    } else {
      Buf m = {0};
      rawField(L, -1, "ignore_error_stats_update");
      e->ignoreStats = lua_toboolean(L, -1);
      lua_pop(L, 1);
      rawField(L, -1, "err");
      if (lua_isstring(L, -1)) bufStr(&m, lua_tostring(L, -1));
      lua_pop(L, 1);
      rawField(L, -1, "source");
      const char *src = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
      rawField(L, -2, "line");
      const char *line = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
      if (src && line) {
        bufStr(&m, " script: ");
        bufStr(&m, funcname);
        bufStr(&m, ", on ");
        bufStr(&m, src);
        bufStr(&m, ":");
        bufStr(&m, line);
        bufStr(&m, ".");
      }
      lua_pop(L, 2);
      putLine(b, '-', m.p, m.len);
      free(m.p);
    }
    lua_pop(L, 1);
  } else {
    if (lua_istable(L, -1)) {
      rawField(L, -1, "ignore_error_stats_update");
      e->ignoreStats = lua_toboolean(L, -1);
      lua_pop(L, 1);
    }
    luaToResp(L, b, e->callerResp, e->scriptResp);
  }
  lua_sethook(L, NULL, 0, 0);
  lua_settop(L, base);
  e->running = 0;
}

/* The function registered under key, called with KEYS and ARGV (arrays of Buffers): its reply
 * as a Buffer (RESP), or null when there is no such function. */
static napi_value runByKey(napi_env env, Eng *e, const char *key, napi_value keys, napi_value args, int resp, int isEval, const char *funcname) {
  lua_State *L = e->L;
  int base = runBegin(e, resp);
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  napi_value r;
  if (lua_isnil(L, -1)) {
    lua_settop(L, base);
    e->running = 0;
    napi_get_null(env, &r);
  } else {
    pushArray(env, L, keys);
    pushArray(env, L, args);
    runCall(e, base, isEval, funcname);
    void *d;
    napi_create_buffer_copy(env, e->out.len, e->out.p, &d, &r);
  }
  return r;
}

/* run(key, keys: Buffer[], args: Buffer[], callerResp, isEval, funcname) -> Buffer (RESP) */
static napi_value jsRun(napi_env env, napi_callback_info info) {
  JS_ARGS(6);
  Eng *e = engOf(env);
  size_t klen, fnlen;
  char *key = getStr(env, argv[0], &klen);
  int32_t resp = 2;
  bool isEval = true;
  napi_get_value_int32(env, argv[3], &resp);
  napi_get_value_bool(env, argv[4], &isEval);
  char *funcname = getStr(env, argv[5], &fnlen);
  napi_value r = runByKey(env, e, key, argv[1], argv[2], resp, isEval, funcname);
  free(key);
  free(funcname);
  return r;
}

/* runDebug(key, keys, args, callerResp, funcname, fd, source: Buffer, hint: string | null) ->
 * Buffer (RESP): an EVAL under the debugger (SCRIPT DEBUG), talking to the client on fd. */
static napi_value jsRunDebug(napi_env env, napi_callback_info info) {
  JS_ARGS(8);
  Eng *e = engOf(env);
  size_t klen, fnlen, hlen = 0;
  char *key = getStr(env, argv[0], &klen);
  int32_t resp = 2, fd = -1;
  napi_get_value_int32(env, argv[3], &resp);
  char *funcname = getStr(env, argv[4], &fnlen);
  napi_get_value_int32(env, argv[5], &fd);
  void *src;
  size_t srcLen;
  CHECK(napi_get_buffer_info(env, argv[6], &src, &srcLen));
  napi_valuetype ht;
  napi_typeof(env, argv[7], &ht);
  char *hint = ht == napi_string ? getStr(env, argv[7], &hlen) : NULL;
  ldbStart(fd, (const char *)src, srcLen, e->busyMs, hint);
  napi_value r = runByKey(env, e, key, argv[1], argv[2], resp, 1, funcname);
  ldbEnd();
  free(key);
  free(funcname);
  free(hint);
  return r;
}

/* ldbStopAll(stop): debugging sessions stop waiting for their clients (a shutdown), or may wait
 * again (the shutdown was cancelled). */
static napi_value jsLdbStopAll(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool stop = true;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_get_value_bool(env, argv[0], &stop);
  ldbStopAll(stop ? 1 : 0);
  return NULL;
}

/* n strings from the stage ([u32 length][bytes] each, from *at) as a new array table. */
static void pushStaged(lua_State *L, const unsigned char *st, size_t *at, int n) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    uint32_t len;
    memcpy(&len, st + *at, 4);
    lua_pushlstring(L, (const char *)st + *at + 4, len);
    lua_rawseti(L, -2, i + 1);
    *at += 4 + len;
  }
}

/* pushStaged for a run's KEYS, noting the first KEY_SLOTS of them (Eng.keyPtr). */
static void pushStagedKeys(Eng *e, lua_State *L, const unsigned char *st, size_t *at, int n) {
  pushStaged(L, st, at, n);
  int m = n < KEY_SLOTS ? n : KEY_SLOTS;
  e->keyBytes.len = 0;
  for (int i = 0; i < m; i++) {
    lua_rawgeti(L, -1, i + 1);
    size_t len;
    const char *p = lua_tolstring(L, -1, &len);
    e->keyPtr[i] = p;
    e->keyLen[i] = len;
    e->keyOff[i] = e->keyBytes.len;
    bufPut(&e->keyBytes, p, len);
    lua_pop(L, 1);
  }
  e->nKeys = m;
}

/* The run's KEYS index of string s (a redis.call argument), or -1. */
static int keyIndex(const Eng *e, const char *s, size_t n) {
  for (int k = 0; k < e->nKeys; k++) {
    if (e->keyPtr[k] == s && e->keyLen[k] == n && memcmp(s, e->keyBytes.p + e->keyOff[k], n) == 0) return k;
  }
  return -1;
}

/* bind(key, funcname) -> id (-1: no function under key): run() by number from now on. */
static napi_value jsBind(napi_env env, napi_callback_info info) {
  JS_ARGS(2);
  Eng *e = engOf(env);
  lua_State *L = e->L;
  size_t klen, fnlen;
  char *key = getStr(env, argv[0], &klen);
  int id = -1;
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  free(key);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
  } else {
    id = luaL_ref(L, LUA_REGISTRYINDEX);
    if (id >= e->boundCap) {
      int cap = e->boundCap ? e->boundCap : 64;
      while (cap <= id) cap *= 2;
      e->boundNames = realloc(e->boundNames, (size_t)cap * sizeof(char *));
      for (int i = e->boundCap; i < cap; i++) e->boundNames[i] = NULL;
      e->boundCap = cap;
    }
    free(e->boundNames[id]);
    e->boundNames[id] = getStr(env, argv[1], &fnlen);
  }
  napi_value r;
  napi_create_int32(env, id, &r);
  return r;
}

/* unbind(id): a dropped function (FUNCTION DELETE / LOAD REPLACE) is no longer reachable. */
static napi_value jsUnbind(napi_env env, napi_callback_info info) {
  JS_ARGS(1);
  Eng *e = engOf(env);
  int32_t id = -1;
  napi_get_value_int32(env, argv[0], &id);
  if (id >= 0 && id < e->boundCap && e->boundNames[id] != NULL) {
    luaL_unref(e->L, LUA_REGISTRYINDEX, id);
    free(e->boundNames[id]);
    e->boundNames[id] = NULL;
  }
  return NULL;
}

/* runStaged(id, nkeys, nargs, callerResp, isEval) -> number | Buffer | null: run a bound
 * function with KEYS and ARGV read from the stage ([u32 length][bytes] each, keys first). The
 * reply (RESP) is written back to the stage when it fits (its length is returned), else as a
 * Buffer; null when id names nothing. No string or Buffer crosses for a common run. */
static napi_value jsRunStaged(napi_env env, napi_callback_info info) {
  JS_ARGS(5);
  Eng *e = engOf(env);
  lua_State *L = e->L;
  int32_t id = -1, nk = 0, na = 0, resp = 2;
  bool isEval = true;
  napi_get_value_int32(env, argv[0], &id);
  napi_get_value_int32(env, argv[1], &nk);
  napi_get_value_int32(env, argv[2], &na);
  napi_get_value_int32(env, argv[3], &resp);
  napi_get_value_bool(env, argv[4], &isEval);
  napi_value r;
  if (id < 0 || id >= e->boundCap || e->boundNames[id] == NULL || e->stage == NULL) {
    napi_get_null(env, &r);
    return r;
  }
  int base = runBegin(e, resp);
  lua_rawgeti(L, LUA_REGISTRYINDEX, id);
  size_t at = 0;
  pushStagedKeys(e, L, e->stage, &at, nk);
  pushStaged(L, e->stage, &at, na);
  runCall(e, base, isEval, e->boundNames[id]);
  e->nKeys = 0;
  if (e->out.len <= e->stageLen) {
    memcpy(e->stage, e->out.p, e->out.len);
    napi_create_int32(env, (int32_t)e->out.len, &r);
  } else {
    void *d;
    napi_create_buffer_copy(env, e->out.len, e->out.p, &d, &r);
  }
  return r;
}

/* loadLibrary(code: Buffer, tag: string) -> string (error) | Array<[name, desc|null, flags]> */
static napi_value jsLoadLibrary(napi_env env, napi_callback_info info) {
  JS_ARGS(2);
  Eng *e = engOf(env);
  lua_State *L = e->L;
  size_t clen, tlen;
  char *code = getStr(env, argv[0], &clen);
  char *tag = getStr(env, argv[1], &tlen);
  int base = lua_gettop(L);
  napi_value ret;
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, K_NEWFNS);
  /* globals while loading: the library API */
  lua_getfield(L, LUA_REGISTRYINDEX, K_FNENVMT);
  lua_getfield(L, LUA_REGISTRYINDEX, K_LIBAPI);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  if (luaL_loadbuffer(L, code, clen, "@user_function")) {
    Buf m = {0};
    bufStr(&m, "Error compiling function: ");
    bufStr(&m, lua_tostring(L, -1));
    napi_create_string_utf8(env, m.p, m.len, &ret);
    free(m.p);
    goto done;
  }
  lua_getfield(L, LUA_REGISTRYINDEX, K_FNENV);
  lua_setfenv(L, -2);
  e->loading = 1;
  e->startMs = nowMs();
  lua_sethook(L, countHook, LUA_MASKCOUNT, 100000);
  if (lua_pcall(L, 0, 0, 0)) {
    Buf m = {0};
    bufStr(&m, "Error registering functions: ");
    if (lua_istable(L, -1)) {
      rawField(L, -1, "err");
      if (lua_isstring(L, -1)) bufStr(&m, lua_tostring(L, -1));
      lua_pop(L, 1);
    } else if (lua_isstring(L, -1)) {
      bufStr(&m, "ERR ");
      bufStr(&m, lua_tostring(L, -1));
    }
    napi_create_string_utf8(env, m.p, m.len, &ret);
    free(m.p);
    goto done;
  }
  /* store the functions under "<tag>:<name>" and describe them */
  napi_create_array(env, &ret);
  {
    uint32_t idx = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, K_NEWFNS);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      /* key name, value rec */
      size_t nlen;
      const char *name = lua_tolstring(L, -2, &nlen);
      Buf k = {0};
      bufPut(&k, tag, tlen);
      bufPut(&k, ":", 1);
      bufPut(&k, name, nlen);
      bufPut(&k, "", 1);
      lua_getfield(L, -1, "fn");
      lua_setfield(L, LUA_REGISTRYINDEX, k.p);
      free(k.p);
      napi_value item, v;
      napi_create_array_with_length(env, 3, &item);
      napi_create_string_utf8(env, name, nlen, &v);
      napi_set_element(env, item, 0, v);
      lua_getfield(L, -1, "desc");
      if (lua_isstring(L, -1)) {
        size_t dl;
        const char *d = lua_tolstring(L, -1, &dl);
        napi_create_string_utf8(env, d, dl, &v);
      } else {
        napi_get_null(env, &v);
      }
      lua_pop(L, 1);
      napi_set_element(env, item, 1, v);
      lua_getfield(L, -1, "flags");
      napi_create_int32(env, (int32_t)lua_tonumber(L, -1), &v);
      lua_pop(L, 1);
      napi_set_element(env, item, 2, v);
      napi_set_element(env, ret, idx++, item);
      lua_pop(L, 1);
    }
  }
done:
  e->loading = 0;
  lua_sethook(L, NULL, 0, 0);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, K_NEWFNS);
  lua_getfield(L, LUA_REGISTRYINDEX, K_FNENVMT);
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  lua_setfield(L, -2, "__index");
  lua_settop(L, base);
  /* a replaced library's closures are garbage now: collect them (FUNCTION LOAD is rare) */
  lua_gc(L, LUA_GCCOLLECT, 0);
  free(code);
  free(tag);
  return ret;
}

/* prepare a function call: the function stored under key gets the function env (compile path
 * for eval uses K_EVALENV); run() is shared. */

/* abort(): stop the running script at its next instruction (uncatchable, like SCRIPT KILL). */
static napi_value jsKill(napi_env env, napi_callback_info info) {
  Eng *e = engOf(env);
  e->killed = 1;
  lua_sethook(e->L, countHook, LUA_MASKCOUNT, 1);
  return NULL;
}

static napi_value jsMemory(napi_env env, napi_callback_info info) {
  Eng *e = engOf(env);
  napi_value r;
  napi_create_double(env, e && e->L ? (double)lua_gc(e->L, LUA_GCCOUNT, 0) * 1024.0 + lua_gc(e->L, LUA_GCCOUNTB, 0) : 0, &r);
  return r;
}

static napi_value jsIgnoreStats(napi_env env, napi_callback_info info) {
  Eng *e = engOf(env);
  napi_value r;
  napi_get_boolean(env, e->ignoreStats != 0, &r);
  return r;
}

static napi_value jsScriptResp(napi_env env, napi_callback_info info) {
  Eng *e = engOf(env);
  napi_value r;
  napi_create_int32(env, e->scriptResp, &r);
  return r;
}

static napi_value jsSha1(napi_env env, napi_callback_info info) {
  JS_ARGS(1);
  size_t n;
  char *s = getStr(env, argv[0], &n);
  char out[41];
  sha1hex(out, s, n);
  free(s);
  napi_value r;
  napi_create_string_utf8(env, out, 40, &r);
  return r;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", NULL, jsInit, NULL, NULL, NULL, napi_default, NULL},
      {"reset", NULL, jsReset, NULL, NULL, NULL, napi_default, NULL},
      {"setConfig", NULL, jsSetConfig, NULL, NULL, NULL, napi_default, NULL},
      {"compile", NULL, jsCompile, NULL, NULL, NULL, napi_default, NULL},
      {"drop", NULL, jsDrop, NULL, NULL, NULL, napi_default, NULL},
      {"has", NULL, jsHas, NULL, NULL, NULL, napi_default, NULL},
      {"run", NULL, jsRun, NULL, NULL, NULL, napi_default, NULL},
      {"runDebug", NULL, jsRunDebug, NULL, NULL, NULL, napi_default, NULL},
      {"ldbStopAll", NULL, jsLdbStopAll, NULL, NULL, NULL, napi_default, NULL},
      {"bind", NULL, jsBind, NULL, NULL, NULL, napi_default, NULL},
      {"unbind", NULL, jsUnbind, NULL, NULL, NULL, napi_default, NULL},
      {"runStaged", NULL, jsRunStaged, NULL, NULL, NULL, napi_default, NULL},
      {"loadLibrary", NULL, jsLoadLibrary, NULL, NULL, NULL, napi_default, NULL},
      {"kill", NULL, jsKill, NULL, NULL, NULL, napi_default, NULL},
      {"memory", NULL, jsMemory, NULL, NULL, NULL, napi_default, NULL},
      {"ignoreStats", NULL, jsIgnoreStats, NULL, NULL, NULL, napi_default, NULL},
      {"scriptResp", NULL, jsScriptResp, NULL, NULL, NULL, napi_default, NULL},
      {"sha1hex", NULL, jsSha1, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE_INIT() { return Init(env, exports); }

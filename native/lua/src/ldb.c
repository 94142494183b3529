/*
 * The Lua debugger (see ldb.h). Texts, commands and limits follow Redis 7.0's eval.c (ldb*), so
 * redis-cli --ldb and --ldb-sync-mode drive it unchanged.
 *
 * The socket belongs to libuv and is non-blocking: reads wait in poll() in short slices (so a
 * shutdown can end the wait), writes wait at most 5 s (Redis's connSendTimeout).
 */
#define _GNU_SOURCE
#include "buf.h"
#include "ldb.h"
#include <lauxlib.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LDB_BREAKPOINTS_MAX 64
#define LDB_MAX_LEN_DEFAULT 256
#define LDB_MAX_VALUES_DEPTH (LUA_MINSTACK / 2)
#define LDB_CBUF_MAX (1 << 20)

static void bufPrintf(Buf *s, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    bufPut(s, tmp, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  bufPut(s, big, (size_t)n);
  free(big);
}
/* sdscatrepr: a quoted, escaped string. */
static void bufRepr(Buf *s, const char *p, size_t len) {
  bufPut(s, "\"", 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)p[i];
    switch (c) {
    case '\\': bufPut(s, "\\\\", 2); break;
    case '"': bufPut(s, "\\\"", 2); break;
    case '\n': bufPut(s, "\\n", 2); break;
    case '\r': bufPut(s, "\\r", 2); break;
    case '\t': bufPut(s, "\\t", 2); break;
    case '\a': bufPut(s, "\\a", 2); break;
    case '\b': bufPut(s, "\\b", 2); break;
    default:
      if (c < 0x80 && isprint(c)) bufPut(s, (const char *)&c, 1);
      else bufPrintf(s, "\\x%02x", c);
    }
  }
  bufPut(s, "\"", 1);
}

/* One session per thread at a time (a thread runs one script at a time). */
static __thread struct {
  int active;
  int fd;
  Buf *logs;             /* entries to send */
  int nlogs, capLogs;
  int bp[LDB_BREAKPOINTS_MAX];
  int bpcount;
  int step;              /* stop at the next line */
  int luabp;             /* redis.breakpoint() was called */
  char *src;             /* the script, lines cut at '\n' (in place) */
  char **lines;
  int nlines;
  int currentline;
  Buf cbuf;              /* debugger commands read, not yet parsed */
  size_t maxlen;
  int maxlenHintSent;
  double busyMs;
  double startMs;        /* the timeout counts from the session's start or the last stop */
} ldb;

static volatile int stopAll = 0;

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void ldbLog(Buf entry) {
  if (ldb.nlogs == ldb.capLogs) {
    ldb.capLogs = ldb.capLogs ? ldb.capLogs * 2 : 16;
    ldb.logs = realloc(ldb.logs, sizeof(Buf) * (size_t)ldb.capLogs);
  }
  if (entry.p == NULL) bufPut(&entry, "", 0);
  ldb.logs[ldb.nlogs++] = entry;
}
static void ldbLogStr(const char *s) {
  Buf e = {0};
  bufStr(&e, s);
  ldbLog(e);
}

/* ldbLogWithMaxLen: trimmed to maxlen, with a hint the first time. */
static void ldbLogMax(Buf e) {
  int trimmed = 0;
  if (ldb.maxlen && e.len > ldb.maxlen) {
    e.len = ldb.maxlen;
    bufPut(&e, " ...", 4);
    trimmed = 1;
  }
  ldbLog(e);
  if (trimmed && ldb.maxlenHintSent == 0) {
    ldb.maxlenHintSent = 1;
    ldbLogStr("<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.");
  }
}

/* Write all of it; a peer that takes nothing for 5 s is given up on (the next read fails). */
static void writeAll(const char *p, size_t n) {
  double deadline = nowMs() + 5000;
  while (n > 0) {
    ssize_t w = write(ldb.fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      double left = deadline - nowMs();
      if (left <= 0) return;
      struct pollfd pfd = {ldb.fd, POLLOUT, 0};
      poll(&pfd, 1, (int)left + 1);
      continue;
    }
    return;
  }
}

/* ldbSendLogs: the log as an array of status replies (CR and LF become spaces). */
static void ldbSendLogs(void) {
  Buf out = {0};
  bufPrintf(&out, "*%d\r\n", ldb.nlogs);
  for (int i = 0; i < ldb.nlogs; i++) {
    Buf *e = &ldb.logs[i];
    for (size_t k = 0; k < e->len; k++) if (e->p[k] == '\r' || e->p[k] == '\n') e->p[k] = ' ';
    bufPut(&out, "+", 1);
    bufPut(&out, e->p, e->len);
    bufPut(&out, "\r\n", 2);
    free(e->p);
  }
  ldb.nlogs = 0;
  writeAll(out.p, out.len);
  free(out.p);
}

static void flushLogs(void) {
  for (int i = 0; i < ldb.nlogs; i++) free(ldb.logs[i].p);
  ldb.nlogs = 0;
}

void ldbStart(int fd, const char *src, size_t len, double busyMs, const char *hint) {
  flushLogs();
  ldb.active = 1;
  ldb.fd = fd;
  ldb.step = 1;
  ldb.bpcount = 0;
  ldb.luabp = 0;
  ldb.cbuf.len = 0;
  ldb.maxlen = LDB_MAX_LEN_DEFAULT;
  ldb.maxlenHintSent = 0;
  ldb.busyMs = busyMs;
  ldb.startMs = nowMs();
  ldb.currentline = 0;
  /* Trailing newlines go, then the source is split at each '\n' (a '\r' before it stays). */
  while (len > 0 && (src[len - 1] == '\n' || src[len - 1] == '\r')) len--;
  ldb.src = malloc(len + 1);
  memcpy(ldb.src, src, len);
  ldb.src[len] = '\0';
  int n = 1;
  for (size_t i = 0; i < len; i++) if (ldb.src[i] == '\n') n++;
  ldb.lines = malloc(sizeof(char *) * (size_t)n);
  ldb.nlines = 0;
  if (len > 0) {
    char *p = ldb.src;
    for (;;) {
      ldb.lines[ldb.nlines++] = p;
      char *nl = strchr(p, '\n');
      if (nl == NULL) break;
      *nl = '\0';
      p = nl + 1;
    }
  }
  if (hint != NULL) ldbLogStr(hint);
}

void ldbEnd(void) {
  ldbLogStr("<endsession>");
  ldbSendLogs();
  free(ldb.src);
  free(ldb.lines);
  ldb.src = NULL;
  ldb.lines = NULL;
  ldb.nlines = 0;
  ldb.active = 0;
  ldb.fd = -1;
}

int ldbActive(void) { return ldb.active; }
int ldbLogging(void) { return ldb.active && ldb.step; }
void ldbStopAll(int stop) { __atomic_store_n(&stopAll, stop, __ATOMIC_SEQ_CST); }

static const char *sourceLine(int line) {
  int idx = line - 1;
  if (idx < 0 || idx >= ldb.nlines) return "<out of range source code line>";
  return ldb.lines[idx];
}

static int isBreakpoint(int line) {
  for (int j = 0; j < ldb.bpcount; j++) if (ldb.bp[j] == line) return 1;
  return 0;
}

static int addBreakpoint(int line) {
  if (line <= 0 || line > ldb.nlines) return 0;
  if (!isBreakpoint(line) && ldb.bpcount != LDB_BREAKPOINTS_MAX) {
    ldb.bp[ldb.bpcount++] = line;
    return 1;
  }
  return 0;
}

static int delBreakpoint(int line) {
  for (int j = 0; j < ldb.bpcount; j++) {
    if (ldb.bp[j] == line) {
      ldb.bpcount--;
      memmove(ldb.bp + j, ldb.bp + j + 1, sizeof(int) * (size_t)(ldb.bpcount - j));
      return 1;
    }
  }
  return 0;
}

static void logSourceLine(int lnum) {
  int bp = isBreakpoint(lnum);
  int current = ldb.currentline == lnum;
  const char *prefix = current && bp ? "->#" : current ? "-> " : bp ? "  #" : "   ";
  Buf e = {0};
  bufPrintf(&e, "%s%-3d %s", prefix, lnum, sourceLine(lnum));
  ldbLog(e);
}

static void ldbList(int around, int context) {
  for (int j = 1; j <= ldb.nlines; j++) {
    if (around != 0 && abs(around - j) > context) continue;
    logSourceLine(j);
  }
}

/* ---- values ------------------------------------------------------------------------------ */

static void catValue(Buf *s, lua_State *L, int idx, int level) {
  int t = lua_type(L, idx);
  if (level++ == LDB_MAX_VALUES_DEPTH) {
    bufStr(s, "<max recursion level reached! Nested table?>");
    return;
  }
  switch (t) {
  case LUA_TSTRING: {
    size_t n;
    const char *p = lua_tolstring(L, idx, &n);
    bufRepr(s, p, n);
    break;
  }
  case LUA_TBOOLEAN: bufStr(s, lua_toboolean(L, idx) ? "true" : "false"); break;
  case LUA_TNUMBER: bufPrintf(s, "%g", (double)lua_tonumber(L, idx)); break;
  case LUA_TNIL: bufStr(s, "nil"); break;
  case LUA_TTABLE: {
    /* Both forms at once (array, and [key]=value); the array one if the keys are 1..n. */
    int expected = 1, isArray = 1;
    Buf r1 = {0}, r2 = {0};
    lua_pushnil(L);
    while (lua_next(L, idx - 1)) {
      if (isArray && (lua_type(L, -2) != LUA_TNUMBER || lua_tonumber(L, -2) != expected)) isArray = 0;
      catValue(&r1, L, -1, level);
      bufPut(&r1, "; ", 2);
      bufPut(&r2, "[", 1);
      catValue(&r2, L, -2, level);
      bufPut(&r2, "]=", 2);
      catValue(&r2, L, -1, level);
      bufPut(&r2, "; ", 2);
      lua_pop(L, 1);
      expected++;
    }
    if (r1.len >= 2) r1.len -= 2;
    if (r2.len >= 2) r2.len -= 2;
    bufPut(s, "{", 1);
    Buf *r = isArray ? &r1 : &r2;
    if (r->len) bufPut(s, r->p, r->len);
    bufPut(s, "}", 1);
    free(r1.p);
    free(r2.p);
    break;
  }
  case LUA_TFUNCTION:
  case LUA_TUSERDATA:
  case LUA_TTHREAD:
  case LUA_TLIGHTUSERDATA: {
    const char *name = t == LUA_TFUNCTION ? "function" : t == LUA_TUSERDATA ? "userdata" : t == LUA_TTHREAD ? "thread" : "light-userdata";
    bufPrintf(s, "\"%s@%p\"", name, lua_topointer(L, idx));
    break;
  }
  default: bufStr(s, "\"<unknown-lua-type>\""); break;
  }
}

static void logStackValue(lua_State *L, const char *prefix) {
  Buf e = {0};
  bufStr(&e, prefix);
  catValue(&e, L, -1, 0);
  ldbLogMax(e);
}

/* ---- replies in human form (ldbRedisProtocolToHuman) ------------------------------------ */

static const char *human(Buf *o, const char *p, const char *end);

static const char *lineEnd(const char *p, const char *end) {
  const char *cr = memchr(p, '\r', (size_t)(end - p));
  return cr == NULL ? end : cr;
}
static const char *after(const char *cr, const char *end) { return cr + 2 <= end ? cr + 2 : end; }

static const char *humanAgg(Buf *o, const char *p, const char *end, const char *open, const char *close, int pairs) {
  const char *cr = lineEnd(p + 1, end);
  long long n = strtoll(p + 1, NULL, 10);
  p = after(cr, end);
  if (n == -1 && *open == '[') {
    bufStr(o, "NULL");
    return p;
  }
  bufStr(o, open);
  for (long long j = 0; j < n && p < end; j++) {
    p = human(o, p, end);
    if (pairs) {
      bufStr(o, " => ");
      p = human(o, p, end);
    }
    if (j != n - 1) bufPut(o, ",", 1);
  }
  bufStr(o, close);
  return p;
}

static const char *human(Buf *o, const char *p, const char *end) {
  if (p >= end) return end;
  const char *cr = lineEnd(p + 1, end);
  switch (*p) {
  case ':':
    bufPut(o, p + 1, (size_t)(cr - p - 1));
    return after(cr, end);
  case '$': {
    long long n = strtoll(p + 1, NULL, 10);
    const char *b = after(cr, end);
    if (n == -1) {
      bufStr(o, "NULL");
      return b;
    }
    if (n < 0 || b + n > end) return end;
    bufRepr(o, b, (size_t)n);
    return b + n + 2 <= end ? b + n + 2 : end;
  }
  case '+':
  case '-':
    bufRepr(o, p, (size_t)(cr - p));
    return after(cr, end);
  case '*': return humanAgg(o, p, end, "[", "]", 0);
  case '~': return humanAgg(o, p, end, "~(", ")", 0);
  case '%': return humanAgg(o, p, end, "{", "}", 1);
  case '_':
    bufStr(o, "(null)");
    return after(cr, end);
  case '#':
    bufStr(o, p[1] == 't' ? "#true" : "#false");
    return after(cr, end);
  case ',':
    bufStr(o, "(double) ");
    bufPut(o, p + 1, (size_t)(cr - p - 1));
    return after(cr, end);
  default:
    return end;
  }
}

void ldbLogReply(const char *reply, size_t len) {
  Buf e = {0};
  bufStr(&e, "<reply> ");
  human(&e, reply, reply + len);
  ldbLogMax(e);
}

void ldbLogError(const char *err, size_t len) {
  Buf e = {0};
  bufStr(&e, "<error> ");
  bufPut(&e, err, len);
  ldbLog(e);
}

void ldbLogCommand(lua_State *L, int argc) {
  Buf e = {0};
  bufStr(&e, "<redis>");
  for (int j = 0; j < argc; j++) {
    if (j == 10) {
      bufPrintf(&e, " ... (%d more)", argc - j - 1);
      break;
    }
    bufPut(&e, " ", 1);
    if (lua_type(L, j + 1) == LUA_TNUMBER) {
      bufPrintf(&e, "%.17g", (double)lua_tonumber(L, j + 1));
    } else {
      size_t n;
      const char *s = lua_tolstring(L, j + 1, &n);
      if (s != NULL) bufPut(&e, s, n);
    }
  }
  ldbLog(e);
}

int ldbLuaDebug(lua_State *L) {
  if (!ldb.active) return 0;
  int argc = lua_gettop(L);
  Buf e = {0};
  bufPrintf(&e, "<debug> line %d: ", ldb.currentline);
  while (argc--) {
    catValue(&e, L, -1 - argc, 0);
    if (argc != 0) bufPut(&e, ", ", 2);
  }
  ldbLog(e);
  return 0;
}

int ldbLuaBreakpoint(lua_State *L) {
  if (ldb.active) {
    ldb.luabp = 1;
    lua_pushboolean(L, 1);
  } else {
    lua_pushboolean(L, 0);
  }
  return 1;
}

/* ---- commands ------------------------------------------------------------------------------ */

static void ldbPrint(lua_State *L, const char *varname) {
  lua_Debug ar;
  int l = 0;
  while (lua_getstack(L, l, &ar) != 0) {
    l++;
    const char *name;
    int i = 1;
    while ((name = lua_getlocal(L, &ar, i)) != NULL) {
      i++;
      if (strcmp(varname, name) == 0) {
        logStackValue(L, "<value> ");
        lua_pop(L, 1);
        return;
      }
      lua_pop(L, 1);
    }
  }
  if (!strcmp(varname, "ARGV") || !strcmp(varname, "KEYS")) {
    lua_getglobal(L, varname);
    logStackValue(L, "<value> ");
    lua_pop(L, 1);
  } else {
    ldbLogStr("No such variable.");
  }
}

static void ldbPrintAll(lua_State *L) {
  lua_Debug ar;
  int vars = 0;
  if (lua_getstack(L, 0, &ar) != 0) {
    const char *name;
    int i = 1;
    while ((name = lua_getlocal(L, &ar, i)) != NULL) {
      i++;
      if (!strstr(name, "(*temporary)")) {
        Buf prefix = {0};
        bufPrintf(&prefix, "<value> %s = ", name);
        logStackValue(L, prefix.p);
        free(prefix.p);
        vars++;
      }
      lua_pop(L, 1);
    }
  }
  if (vars == 0) ldbLogStr("No local variables in the current context.");
}

/* string2l: a whole, canonical decimal number. */
static int toLong(const char *s, size_t n, long *out) {
  if (n == 0 || n > 20) return 0;
  char tmp[24];
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  if (n > 1 && tmp[0] == '0') return 0;
  if (tmp[0] == '-' && (n == 1 || tmp[1] == '0')) return 0;
  char *e;
  errno = 0;
  long v = strtol(tmp, &e, 10);
  if (*e != '\0' || errno != 0) return 0;
  *out = v;
  return 1;
}

static void ldbBreak(Buf *argv, int argc) {
  if (argc == 1) {
    if (ldb.bpcount == 0) {
      ldbLogStr("No breakpoints set. Use 'b <line>' to add one.");
      return;
    }
    Buf e = {0};
    bufPrintf(&e, "%d breakpoints set:", ldb.bpcount);
    ldbLog(e);
    for (int j = 0; j < ldb.bpcount; j++) logSourceLine(ldb.bp[j]);
    return;
  }
  for (int j = 1; j < argc; j++) {
    long line;
    if (!toLong(argv[j].p, argv[j].len, &line)) {
      Buf e = {0};
      bufStr(&e, "Invalid argument:'");
      bufPut(&e, argv[j].p, argv[j].len);
      bufStr(&e, "'");
      ldbLog(e);
    } else if (line == 0) {
      ldb.bpcount = 0;
      ldbLogStr("All breakpoints removed.");
    } else if (line > 0) {
      if (ldb.bpcount == LDB_BREAKPOINTS_MAX) ldbLogStr("Too many breakpoints set.");
      else if (addBreakpoint((int)line)) ldbList((int)line, 1);
      else ldbLogStr("Wrong line number.");
    } else {
      if (delBreakpoint((int)-line)) ldbLogStr("Breakpoint removed.");
      else ldbLogStr("No breakpoint in the specified line.");
    }
  }
}

static void ldbEval(lua_State *L, Buf *argv, int argc) {
  Buf code = {0}, expr = {0};
  for (int j = 1; j < argc; j++) {
    if (j > 1) bufPut(&code, " ", 1);
    bufPut(&code, argv[j].p, argv[j].len);
  }
  if (code.p == NULL) bufPut(&code, "", 0);
  bufStr(&expr, "return ");
  bufPut(&expr, code.p, code.len);
  /* As an expression first ("return " prepended), then as a statement. */
  int failed = 0;
  if (luaL_loadbuffer(L, expr.p, expr.len, "@ldb_eval")) {
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, code.p, code.len, "@ldb_eval")) failed = 1;
  }
  free(code.p);
  free(expr.p);
  if (!failed && lua_pcall(L, 0, 1, 0)) failed = 1;
  if (failed) {
    Buf e = {0};
    bufStr(&e, "<error> ");
    const char *m = lua_tostring(L, -1);
    bufStr(&e, m ? m : "(null)");
    ldbLog(e);
    lua_pop(L, 1);
    return;
  }
  logStackValue(L, "<retval> ");
  lua_pop(L, 1);
}

/* "redis <cmd>": redis.call with stepping on, so the call and its reply are logged. */
static void ldbRedis(lua_State *L, Buf *argv, int argc) {
  if (!lua_checkstack(L, argc + 1)) {
    /* Redis logs this through its reply printer, which knows no such type: "<reply> ". */
    ldbLogStr("<reply> ");
    return;
  }
  lua_getglobal(L, "redis");
  lua_pushstring(L, "call");
  lua_gettable(L, -2);
  for (int j = 1; j < argc; j++) lua_pushlstring(L, argv[j].p, argv[j].len);
  ldb.step = 1;
  lua_pcall(L, argc - 1, 1, 0);
  ldb.step = 0;
  lua_pop(L, 2);
}

static void ldbTrace(lua_State *L) {
  lua_Debug ar;
  int level = 0;
  while (lua_getstack(L, level, &ar)) {
    lua_getinfo(L, "Snl", &ar);
    if (strstr(ar.short_src, "user_script") != NULL) {
      Buf e = {0};
      bufPrintf(&e, "%s %s:", level == 0 ? "In" : "From", ar.name ? ar.name : "top level");
      ldbLog(e);
      logSourceLine(ar.currentline);
    }
    level++;
  }
  if (level == 0) ldbLogStr("<error> Can't retrieve Lua stack.");
}

static void ldbMaxlen(Buf *argv, int argc) {
  if (argc == 2) {
    int v = atoi(argv[1].p);
    ldb.maxlenHintSent = 1;
    if (v != 0 && v <= 60) v = 60;
    ldb.maxlen = (size_t)v;
  }
  Buf e = {0};
  if (ldb.maxlen) bufPrintf(&e, "<value> replies are truncated at %d bytes.", (int)ldb.maxlen);
  else bufStr(&e, "<value> replies are unlimited.");
  ldbLog(e);
}

static const char *HELP[] = {
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
    NULL,
};

static void freeArgv(Buf *argv, int argc) {
  for (int j = 0; j < argc; j++) free(argv[j].p);
  free(argv);
}

/* ldbReplParseCommand: one multibulk command from cbuf (1 parsed, 0 need more, -1 protocol
 * error). Redis's forgiving parser: the first '*' starts it; counts and lengths 1..1024. */
static int parseCommand(Buf **argvOut, int *argcOut) {
  const char *buf = ldb.cbuf.p, *end = ldb.cbuf.p + ldb.cbuf.len;
  if (ldb.cbuf.len == 0) return 0;
  const char *p = memchr(buf, '*', ldb.cbuf.len);
  /* Redis searches a C string: a NUL before the '*' hides it. */
  if (p == NULL || memchr(buf, '\0', (size_t)(p - buf)) != NULL) return -1;
  const char *crlf = memmem(p, (size_t)(end - p), "\r\n", 2);
  if (crlf == NULL) return 0;
  int argc = atoi(p + 1);
  if (argc <= 0 || argc > 1024) return -1;
  p = crlf + 2;
  Buf *argv = calloc((size_t)argc, sizeof(Buf));
  int n = 0;
  while (n < argc) {
    if (p >= end || *p == '\0') {
      freeArgv(argv, n);
      return 0;
    }
    if (*p != '$') {
      freeArgv(argv, n);
      return -1;
    }
    crlf = memmem(p, (size_t)(end - p), "\r\n", 2);
    if (crlf == NULL) {
      freeArgv(argv, n);
      return 0;
    }
    int slen = atoi(p + 1);
    p = crlf + 2;
    if (slen <= 0 || slen > 1024) {
      freeArgv(argv, n);
      return -1;
    }
    if (p + slen + 2 > end) {
      freeArgv(argv, n);
      return 0;
    }
    bufPut(&argv[n], p, (size_t)slen);
    n++;
    p += slen;
    if (p[0] != '\r' || p[1] != '\n') {
      freeArgv(argv, n);
      return -1;
    }
    p += 2;
  }
  *argvOut = argv;
  *argcOut = argc;
  return 1;
}

/* Read what the client sent; <= 0 when it is gone (or the server is shutting down). */
static int readSome(char *buf, size_t n) {
  for (;;) {
    if (__atomic_load_n(&stopAll, __ATOMIC_SEQ_CST)) return -1;
    struct pollfd pfd = {ldb.fd, POLLIN, 0};
    int r = poll(&pfd, 1, 100);
    if (r < 0 && errno != EINTR) return -1;
    if (r <= 0) continue;
    ssize_t got = read(ldb.fd, buf, n);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    return (int)got;
  }
}

static void ldbRaise(lua_State *L, const char *msg) {
  engPushError(L, msg);
  lua_error(L);
}

static int is(const Buf *a, const char *s1, const char *s2) {
  /* Compared as C strings, as Redis's strcasecmp on the sds does (a NUL ends the name). */
  return !strcasecmp(a->p, s1) || (s2 != NULL && !strcasecmp(a->p, s2));
}

/* ldbRepl: serve debugger commands until one resumes the script. 0: resumed; -1: the client is
 * gone (the script then runs on without stopping). */
static int ldbRepl(lua_State *L) {
  for (;;) {
    Buf *argv = NULL;
    int argc = 0;
    int r;
    while ((r = parseCommand(&argv, &argc)) != 1) {
      if (r < 0) ldbRaise(L, "protocol error");
      char buf[1024];
      int nread = readSome(buf, sizeof buf);
      if (nread <= 0) {
        ldb.step = 0;
        ldb.bpcount = 0;
        return -1;
      }
      bufPut(&ldb.cbuf, buf, (size_t)nread);
      if (ldb.cbuf.len > LDB_CBUF_MAX) {
        ldb.cbuf.len = 0;
        ldbRaise(L, "max client buffer reached");
      }
    }
    /* Whatever followed the command is dropped with it, as Redis does. */
    ldb.cbuf.len = 0;
    int resume = 0;
    if (is(&argv[0], "h", "help")) {
      for (int i = 0; HELP[i] != NULL; i++) ldbLogStr(HELP[i]);
      ldbSendLogs();
    } else if (is(&argv[0], "s", "step") || is(&argv[0], "n", "next")) {
      ldb.step = 1;
      resume = 1;
    } else if (is(&argv[0], "c", "continue")) {
      resume = 1;
    } else if (is(&argv[0], "t", "trace")) {
      ldbTrace(L);
      ldbSendLogs();
    } else if (is(&argv[0], "m", "maxlen")) {
      ldbMaxlen(argv, argc);
      ldbSendLogs();
    } else if (is(&argv[0], "b", "break")) {
      ldbBreak(argv, argc);
      ldbSendLogs();
    } else if (is(&argv[0], "e", "eval")) {
      ldbEval(L, argv, argc);
      ldbSendLogs();
    } else if (is(&argv[0], "a", "abort")) {
      freeArgv(argv, argc);
      ldbRaise(L, "script aborted for user request");
    } else if (argc > 1 && is(&argv[0], "r", "redis")) {
      ldbRedis(L, argv, argc);
      ldbSendLogs();
    } else if (is(&argv[0], "p", "print")) {
      if (argc == 2) ldbPrint(L, argv[1].p);
      else ldbPrintAll(L);
      ldbSendLogs();
    } else if (is(&argv[0], "l", "list")) {
      int around = ldb.currentline, ctx = 5;
      if (argc > 1) {
        int num = atoi(argv[1].p);
        if (num > 0) around = num;
      }
      if (argc > 2) ctx = atoi(argv[2].p);
      ldbList(around, ctx);
      ldbSendLogs();
    } else if (is(&argv[0], "w", "whole")) {
      ldbList(1, 1000000);
      ldbSendLogs();
    } else {
      ldbLogStr("<error> Unknown Redis Lua debugger command or wrong number of arguments.");
      ldbSendLogs();
    }
    freeArgv(argv, argc);
    if (resume) return 0;
  }
}

void ldbHook(lua_State *L, lua_Debug *ar) {
  lua_getstack(L, 0, ar);
  lua_getinfo(L, "Sl", ar);
  ldb.currentline = ar->currentline;
  int bp = isBreakpoint(ldb.currentline) || ldb.luabp;
  int timeout = 0;
  if (strstr(ar->short_src, "user_script") == NULL) return;
  if (ar->event == LUA_HOOKCOUNT && ldb.step == 0 && bp == 0) {
    double limit = ldb.busyMs > 0 ? ldb.busyMs : 5000;
    if (nowMs() - ldb.startMs < limit) return;
    timeout = 1;
    ldb.step = 1;
  }
  if (!ldb.step && !bp) return;
  const char *reason = "step over";
  if (bp) reason = ldb.luabp ? "redis.breakpoint() called" : "break point";
  else if (timeout) reason = "timeout reached, infinite loop?";
  ldb.step = 0;
  ldb.luabp = 0;
  Buf e = {0};
  bufPrintf(&e, "* Stopped at %d, stop reason = %s", ldb.currentline, reason);
  ldbLog(e);
  logSourceLine(ldb.currentline);
  ldbSendLogs();
  if (ldbRepl(L) < 0 && timeout) {
    /* The client is gone while the script loops: stop it, or the thread never comes back. */
    ldbRaise(L, "timeout during Lua debugging with client closing connection");
  }
  ldb.startMs = nowMs();
}

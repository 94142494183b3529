/*
 * The Lua debugger (LDB) of SCRIPT DEBUG, as Redis 7.0's eval.c has it: a session runs one EVAL
 * with a line hook that stops, sends the client its log as an array of status replies, and reads
 * debugger commands straight from the client's socket until one resumes the script.
 *
 * Redis runs it in a fork()ed child (YES) or blocking the server (SYNC). Node cannot fork, so
 * every session here is SYNC: it blocks its own thread, and the script holds every slot, so
 * commands that need a key wait for it while the others (PING, INFO) go on.
 */
#ifndef SHARDIS_LDB_H
#define SHARDIS_LDB_H

#include <lua.h>
#include <stddef.h>

/* engine.c: push Redis's error table {err=...} (luaPushError). */
void engPushError(lua_State *L, const char *msg);

/* A session for the client on socket fd, over the EVAL's source. busyMs: busy-reply-threshold
 * (0: 5000, as Redis), after which a running script stops with "timeout reached". hint: a first
 * log line for the first stop (NULL: none). */
void ldbStart(int fd, const char *src, size_t len, double busyMs, const char *hint);
/* The session's end: the <endsession> mark is sent. */
void ldbEnd(void);
/* A session is running on this thread. */
int ldbActive(void);
/* ldbIsEnabled(): a session is running and stepping (redis.call's commands and replies are logged). */
int ldbLogging(void);
/* The hook of a debugged run (LUA_MASKLINE | LUA_MASKCOUNT). */
void ldbHook(lua_State *L, lua_Debug *ar);
/* Every session of the process ends its wait for the client (the server is shutting down). */
void ldbStopAll(int stop);

/* Log lines, as Redis's ldbLog: "<redis> cmd args", "<reply> ...", "<error> ...". */
void ldbLogCommand(lua_State *L, int argc);
void ldbLogReply(const char *reply, size_t len);
void ldbLogError(const char *err, size_t len);

/* redis.debug() and redis.breakpoint(). */
int ldbLuaDebug(lua_State *L);
int ldbLuaBreakpoint(lua_State *L);

#endif

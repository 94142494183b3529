/*
 * cmsgpack for shardis scripts: MessagePack pack/unpack with the API Redis scripts know
 * (cmsgpack.pack(...), unpack(s), unpack_one(s, offset), unpack_limit(s, limit, offset)).
 * Written for shardis from the MessagePack specification: integers take the smallest encoding,
 * non-integral numbers are float32 when that is exact and float64 otherwise, strings use the
 * str family, tables whose keys are exactly 1..n are arrays and other tables maps, and tables
 * nested deeper than 16 levels are encoded as nil (so cyclic tables terminate).
 */
#include <lua.h>
#include <lauxlib.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>

#define MAX_NESTING 16

typedef struct {
  unsigned char *b;
  size_t len, cap;
} MBuf;

static void mput(MBuf *m, const void *p, size_t n) {
  if (m->len + n > m->cap) {
    size_t cap = m->cap ? m->cap : 64;
    while (cap < m->len + n) cap *= 2;
    m->b = realloc(m->b, cap);
    m->cap = cap;
  }
  memcpy(m->b + m->len, p, n);
  m->len += n;
}

static void mbyte(MBuf *m, unsigned char c) { mput(m, &c, 1); }

static void mbe(MBuf *m, uint64_t v, int bytes) {
  unsigned char t[8];
  for (int i = 0; i < bytes; i++) t[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
  mput(m, t, (size_t)bytes);
}

static void encInt(MBuf *m, int64_t n) {
  if (n >= 0) {
    if (n <= 127) mbyte(m, (unsigned char)n);
    else if (n <= 0xff) { mbyte(m, 0xcc); mbe(m, (uint64_t)n, 1); }
    else if (n <= 0xffff) { mbyte(m, 0xcd); mbe(m, (uint64_t)n, 2); }
    else if (n <= 0xffffffffLL) { mbyte(m, 0xce); mbe(m, (uint64_t)n, 4); }
    else { mbyte(m, 0xcf); mbe(m, (uint64_t)n, 8); }
  } else {
    if (n >= -32) mbyte(m, (unsigned char)(n & 0xff));
    else if (n >= -128) { mbyte(m, 0xd0); mbe(m, (uint64_t)n, 1); }
    else if (n >= -32768) { mbyte(m, 0xd1); mbe(m, (uint64_t)n, 2); }
    else if (n >= -2147483648LL) { mbyte(m, 0xd2); mbe(m, (uint64_t)n, 4); }
    else { mbyte(m, 0xd3); mbe(m, (uint64_t)n, 8); }
  }
}

static void encNumber(MBuf *m, lua_Number n) {
  if (!isinf(n) && !isnan(n) && n == (lua_Number)(int64_t)n && fabs(n) < 9.3e18) {
    encInt(m, (int64_t)n);
    return;
  }
  float f = (float)n;
  if ((lua_Number)f == n) {
    uint32_t u;
    memcpy(&u, &f, 4);
    mbyte(m, 0xca);
    mbe(m, u, 4);
  } else {
    uint64_t u;
    double d = (double)n;
    memcpy(&u, &d, 8);
    mbyte(m, 0xcb);
    mbe(m, u, 8);
  }
}

static void encString(MBuf *m, const char *s, size_t n) {
  if (n < 32) mbyte(m, (unsigned char)(0xa0 | n));
  else if (n <= 0xff) { mbyte(m, 0xd9); mbe(m, n, 1); }
  else if (n <= 0xffff) { mbyte(m, 0xda); mbe(m, n, 2); }
  else { mbyte(m, 0xdb); mbe(m, n, 4); }
  mput(m, s, n);
}

/* Is the table at the top an array 1..n? Returns n, or -1 for a map. */
static long tableArrayLen(lua_State *L) {
  long count = 0, max = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TNUMBER) {
      lua_Number k = lua_tonumber(L, -1);
      if (k > 0 && k == (lua_Number)(long)k) {
        if ((long)k > max) max = (long)k;
        count++;
        continue;
      }
    }
    lua_pop(L, 1);
    return -1;
  }
  return max == count ? max : -1;
}

static void encValue(lua_State *L, MBuf *m, int level);

static void encTable(lua_State *L, MBuf *m, int level) {
  luaL_checkstack(L, 3, "cmsgpack: too deep");
  long n = tableArrayLen(L);
  if (n >= 0) {
    if (n <= 15) mbyte(m, (unsigned char)(0x90 | n));
    else if (n <= 0xffff) { mbyte(m, 0xdc); mbe(m, (uint64_t)n, 2); }
    else { mbyte(m, 0xdd); mbe(m, (uint64_t)n, 4); }
    for (long j = 1; j <= n; j++) {
      lua_rawgeti(L, -1, (int)j);
      encValue(L, m, level + 1);
    }
    return;
  }
  long count = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    count++;
  }
  if (count <= 15) mbyte(m, (unsigned char)(0x80 | count));
  else if (count <= 0xffff) { mbyte(m, 0xde); mbe(m, (uint64_t)count, 2); }
  else { mbyte(m, 0xdf); mbe(m, (uint64_t)count, 4); }
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    encValue(L, m, level + 1); /* key */
    encValue(L, m, level + 1); /* value */
  }
}

/* Encodes and pops the value at the top. */
static void encValue(lua_State *L, MBuf *m, int level) {
  int t = lua_type(L, -1);
  if (t == LUA_TTABLE && level == MAX_NESTING) t = LUA_TNIL;
  switch (t) {
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, -1, &n);
      encString(m, s, n);
      break;
    }
    case LUA_TBOOLEAN:
      mbyte(m, lua_toboolean(L, -1) ? 0xc3 : 0xc2);
      break;
    case LUA_TNUMBER:
      encNumber(m, lua_tonumber(L, -1));
      break;
    case LUA_TTABLE:
      encTable(L, m, level);
      break;
    default:
      mbyte(m, 0xc0);
  }
  lua_pop(L, 1);
}

static int mpPack(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  MBuf m = {0};
  for (int i = 1; i <= n; i++) {
    lua_pushvalue(L, i);
    encValue(L, &m, 0);
  }
  lua_pushlstring(L, (const char *)m.b, m.len);
  free(m.b);
  return 1;
}

/* ---- decoding ---- */

typedef struct {
  const unsigned char *p;
  size_t left;
  int err; /* 1 missing bytes, 2 bad format */
} Dec;

static uint64_t dbe(Dec *d, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = v << 8 | d->p[i];
  d->p += bytes;
  d->left -= (size_t)bytes;
  return v;
}

#define NEED(n) do { if (d->left < (size_t)(n)) { d->err = 1; return; } } while (0)

static void decValue(lua_State *L, Dec *d);

static void decArray(lua_State *L, Dec *d, size_t n) {
  luaL_checkstack(L, 3, "cmsgpack: too deep");
  lua_newtable(L);
  for (size_t i = 1; i <= n; i++) {
    decValue(L, d);
    if (d->err) return;
    lua_rawseti(L, -2, (int)i);
  }
}

static void decMap(lua_State *L, Dec *d, size_t n) {
  luaL_checkstack(L, 3, "cmsgpack: too deep");
  lua_newtable(L);
  for (size_t i = 0; i < n; i++) {
    decValue(L, d);
    if (d->err) return;
    decValue(L, d);
    if (d->err) return;
    if (lua_isnil(L, -2)) lua_pop(L, 2);
    else lua_settable(L, -3);
  }
}

static void decString(lua_State *L, Dec *d, size_t n) {
  NEED(n);
  lua_pushlstring(L, (const char *)d->p, n);
  d->p += n;
  d->left -= n;
}

static void decValue(lua_State *L, Dec *d) {
  NEED(1);
  unsigned char c = *d->p++;
  d->left--;
  if (c <= 0x7f) { lua_pushnumber(L, c); return; }
  if (c >= 0xe0) { lua_pushnumber(L, (signed char)c); return; }
  if ((c & 0xf0) == 0x80) { decMap(L, d, c & 0x0f); return; }
  if ((c & 0xf0) == 0x90) { decArray(L, d, c & 0x0f); return; }
  if ((c & 0xe0) == 0xa0) { decString(L, d, c & 0x1f); return; }
  switch (c) {
    case 0xc0: lua_pushnil(L); return;
    case 0xc2: lua_pushboolean(L, 0); return;
    case 0xc3: lua_pushboolean(L, 1); return;
    case 0xc4: case 0xd9: NEED(1); decString(L, d, (size_t)dbe(d, 1)); return;
    case 0xc5: case 0xda: NEED(2); decString(L, d, (size_t)dbe(d, 2)); return;
    case 0xc6: case 0xdb: NEED(4); decString(L, d, (size_t)dbe(d, 4)); return;
    case 0xca: {
      NEED(4);
      uint32_t u = (uint32_t)dbe(d, 4);
      float f;
      memcpy(&f, &u, 4);
      lua_pushnumber(L, f);
      return;
    }
    case 0xcb: {
      NEED(8);
      uint64_t u = dbe(d, 8);
      double v;
      memcpy(&v, &u, 8);
      lua_pushnumber(L, v);
      return;
    }
    case 0xcc: NEED(1); lua_pushnumber(L, (lua_Number)dbe(d, 1)); return;
    case 0xcd: NEED(2); lua_pushnumber(L, (lua_Number)dbe(d, 2)); return;
    case 0xce: NEED(4); lua_pushnumber(L, (lua_Number)dbe(d, 4)); return;
    case 0xcf: NEED(8); lua_pushnumber(L, (lua_Number)dbe(d, 8)); return;
    case 0xd0: NEED(1); lua_pushnumber(L, (int8_t)dbe(d, 1)); return;
    case 0xd1: NEED(2); lua_pushnumber(L, (int16_t)dbe(d, 2)); return;
    case 0xd2: NEED(4); lua_pushnumber(L, (int32_t)dbe(d, 4)); return;
    case 0xd3: NEED(8); lua_pushnumber(L, (lua_Number)(int64_t)dbe(d, 8)); return;
    case 0xdc: NEED(2); decArray(L, d, (size_t)dbe(d, 2)); return;
    case 0xdd: NEED(4); decArray(L, d, (size_t)dbe(d, 4)); return;
    case 0xde: NEED(2); decMap(L, d, (size_t)dbe(d, 2)); return;
    case 0xdf: NEED(4); decMap(L, d, (size_t)dbe(d, 4)); return;
    default: d->err = 2; return;
  }
}

/* Decode up to limit objects (0 = all) from offset; with withOffset, first push the next offset
 * (-1 at the end of the input). */
static int unpackFull(lua_State *L, int limit, int offset, int withOffset) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  if (offset < 0 || (size_t)offset > len) return luaL_error(L, "Start offset %d greater than input length %d.", offset, (int)len);
  Dec d = {(const unsigned char *)s + offset, len - (size_t)offset, 0};
  int base = lua_gettop(L);
  int cnt = 0;
  if (withOffset) lua_pushnil(L); /* placeholder */
  while (d.left > 0 && (limit == 0 || cnt < limit)) {
    luaL_checkstack(L, 2, "cmsgpack: too many objects");
    decValue(L, &d);
    if (d.err == 1) return luaL_error(L, "Missing bytes in input.");
    if (d.err == 2) return luaL_error(L, "Bad data format in input.");
    cnt++;
  }
  if (withOffset) {
    lua_pushnumber(L, d.left == 0 ? -1 : (lua_Number)(len - d.left));
    lua_replace(L, base + 1);
  }
  return lua_gettop(L) - base;
}

static int mpUnpack(lua_State *L) { return unpackFull(L, 0, 0, 0); }
static int mpUnpackOne(lua_State *L) {
  int offset = luaL_optint(L, 2, 0);
  lua_settop(L, 1);
  return unpackFull(L, 1, offset, 1);
}
static int mpUnpackLimit(lua_State *L) {
  int limit = luaL_checkint(L, 2);
  int offset = luaL_optint(L, 3, 0);
  lua_settop(L, 1);
  return unpackFull(L, limit, offset, 1);
}

static const luaL_Reg fns[] = {
    {"pack", mpPack}, {"unpack", mpUnpack}, {"unpack_one", mpUnpackOne}, {"unpack_limit", mpUnpackLimit}, {NULL, NULL}};

int luaopen_cmsgpack(lua_State *L) {
  luaL_register(L, "cmsgpack", fns);
  lua_pushliteral(L, "lua-cmsgpack (shardis)");
  lua_setfield(L, -2, "_NAME");
  return 1;
}

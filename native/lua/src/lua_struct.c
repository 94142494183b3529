/*
 * The `struct` library Redis 7.0 embeds in its Lua (struct.pack, struct.unpack, struct.size),
 * written for shardis to behave byte for byte as Redis's: the same format language, the same
 * alignment arithmetic, the same results for out-of-range numbers (the same C conversions), the
 * same error texts (scripts and tests match on them).
 *
 * Format: '>' big endian, '<' little endian (the default is the machine's), '![n]' maximum
 * alignment (n a power of 2; default 8), ' ' ignored, 'x' one zero byte, 'b'/'B' char, 'h'/'H'
 * short, 'l'/'L' long, 'T' size_t, 'i[n]'/'I[n]' integer of n bytes (default sizeof(int), at most
 * 32), 'f' float, 'd' double, 'c[n]' n chars (pack: n = 0 takes the whole string; unpack: n = 0
 * takes the previous number read as the length), 's' zero-terminated string. Lower case signed.
 */
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>

#define INT_LIMIT 32 /* widest 'i'/'I' */

/* The strictest alignment a C struct gives a member here: max(offset of a double after a char, int). */
struct align_probe { char c; double d; };
#define DOUBLE_PAD (offsetof(struct align_probe, d))
#define DEFAULT_MAXALIGN (DOUBLE_PAD > sizeof(int) ? DOUBLE_PAD : sizeof(int))

enum { ORDER_BIG = 0, ORDER_LITTLE = 1 };

typedef struct {
  int order;    /* ORDER_BIG / ORDER_LITTLE */
  int maxalign; /* '!' */
} Layout;

static int machine_order(void) {
  const unsigned int one = 1;
  return *(const unsigned char *)&one == 1 ? ORDER_LITTLE : ORDER_BIG;
}

static void layout_init(Layout *lay) {
  lay->order = machine_order();
  lay->maxalign = 1;
}

/* A decimal count after an option, or dflt when there is none. */
static int read_count(lua_State *L, const char **p, int dflt) {
  int n = 0;
  if (!isdigit((unsigned char)**p)) return dflt;
  while (isdigit((unsigned char)**p)) {
    int digit = **p - '0';
    if (n > INT_MAX / 10 || n * 10 > INT_MAX - digit) luaL_error(L, "integral size overflow");
    n = n * 10 + digit;
    (*p)++;
  }
  return n;
}

/* Bytes an option occupies (0 for options that are not data or whose size varies). */
static size_t item_size(lua_State *L, int opt, const char **p) {
  int n;
  switch (opt) {
    case 'b': case 'B': return sizeof(char);
    case 'h': case 'H': return sizeof(short);
    case 'l': case 'L': return sizeof(long);
    case 'T': return sizeof(size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'x': return 1;
    case 'c': return (size_t)read_count(L, p, 1);
    case 'i': case 'I':
      n = read_count(L, p, (int)sizeof(int));
      if (n > INT_LIMIT) luaL_error(L, "integral size %d is larger than limit of %d", n, INT_LIMIT);
      return (size_t)n;
    default: return 0;
  }
}

/* Zero bytes to insert at offset `at` before an item of `size` bytes. */
static int padding_for(size_t at, const Layout *lay, int opt, size_t size) {
  size_t a = size;
  if (a == 0 || opt == 'c') return 0;
  if (a > (size_t)lay->maxalign) a = (size_t)lay->maxalign;
  /* The mask arithmetic (exact for powers of two) is kept as is for odd sizes like 'i3'. */
  return (int)((a - (at & (a - 1))) & (a - 1));
}

/* Options that are not data: byte order, alignment, spaces; anything else is an error. */
static void apply_control(lua_State *L, int opt, const char **p, Layout *lay) {
  int a;
  if (opt == ' ') return;
  if (opt == '>') {
    lay->order = ORDER_BIG;
    return;
  }
  if (opt == '<') {
    lay->order = ORDER_LITTLE;
    return;
  }
  if (opt == '!') {
    a = read_count(L, p, (int)DEFAULT_MAXALIGN);
    if (a <= 0 || (a & (a - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", a);
    lay->maxalign = a;
    return;
  }
  luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
}

/* Reverse n bytes when the wanted order is not the machine's. */
static void to_order(unsigned char *bytes, size_t n, int order) {
  size_t i, j;
  if (order == machine_order() || n == 0) return;
  for (i = 0, j = n - 1; i < j; i++, j--) {
    unsigned char t = bytes[i];
    bytes[i] = bytes[j];
    bytes[j] = t;
  }
}

static void add_integer(lua_State *L, luaL_Buffer *out, int arg, int order, size_t size) {
  lua_Number num = luaL_checknumber(L, arg);
  unsigned long v = num < 0 ? (unsigned long)(long)num : (unsigned long)num;
  unsigned char bytes[INT_LIMIT];
  size_t k;
  for (k = 0; k < size; k++) {
    bytes[order == ORDER_LITTLE ? k : size - 1 - k] = (unsigned char)(v & 0xff);
    v >>= 8;
  }
  luaL_addlstring(out, (const char *)bytes, size);
}

static int struct_pack(lua_State *L) {
  const char *p = luaL_checkstring(L, 1);
  Layout lay;
  luaL_Buffer out;
  int arg = 2;
  size_t written = 0;
  layout_init(&lay);
  lua_pushnil(L); /* keeps the arguments apart from the buffer's stack slots */
  luaL_buffinit(L, &out);
  while (*p != '\0') {
    int opt = (unsigned char)*p++;
    size_t size = item_size(L, opt, &p);
    int pad = padding_for(written, &lay, opt, size);
    written += (size_t)pad;
    while (pad-- > 0) luaL_addchar(&out, '\0');
    if (strchr("bBhHlLTiI", opt) != NULL) {
      add_integer(L, &out, arg++, lay.order, size);
    } else if (opt == 'x') {
      luaL_addchar(&out, '\0');
    } else if (opt == 'f') {
      float f = (float)luaL_checknumber(L, arg++);
      to_order((unsigned char *)&f, size, lay.order);
      luaL_addlstring(&out, (const char *)&f, size);
    } else if (opt == 'd') {
      double d = luaL_checknumber(L, arg++);
      to_order((unsigned char *)&d, size, lay.order);
      luaL_addlstring(&out, (const char *)&d, size);
    } else if (opt == 'c' || opt == 's') {
      size_t len;
      const char *s = luaL_checklstring(L, arg++, &len);
      if (size == 0) size = len;
      /* Redis reports the argument after the string here. */
      luaL_argcheck(L, len >= size, arg, "string too short");
      luaL_addlstring(&out, s, size);
      if (opt == 's') {
        luaL_addchar(&out, '\0');
        size++;
      }
    } else {
      apply_control(L, opt, &p, &lay);
    }
    written += size;
  }
  luaL_pushresult(&out);
  return 1;
}

static lua_Number read_integer(const unsigned char *at, int order, int is_signed, size_t size) {
  unsigned long v = 0;
  size_t k;
  for (k = 0; k < size; k++) {
    v <<= 8;
    v |= at[order == ORDER_BIG ? k : size - 1 - k];
  }
  if (is_signed) {
    unsigned long sign = ~0UL << (size * 8 - 1);
    if (v & sign) v |= sign;
    return (lua_Number)(long)v;
  }
  return (lua_Number)v;
}

static int struct_unpack(lua_State *L) {
  const char *p = luaL_checkstring(L, 1);
  size_t dlen;
  const char *data = luaL_checklstring(L, 2, &dlen);
  size_t at = (size_t)luaL_optinteger(L, 3, 1);
  int results = 0;
  Layout lay;
  luaL_argcheck(L, at > 0, 3, "offset must be 1 or greater");
  at--; /* 1-based in Lua */
  layout_init(&lay);
  while (*p != '\0') {
    int opt = (unsigned char)*p++;
    size_t size = item_size(L, opt, &p);
    at += (size_t)padding_for(at, &lay, opt, size);
    luaL_argcheck(L, size <= dlen && at <= dlen - size, 2, "data string too short");
    luaL_checkstack(L, 2, "too many results");
    if (strchr("bBhHlLTiI", opt) != NULL) {
      lua_pushnumber(L, read_integer((const unsigned char *)data + at, lay.order, islower(opt), size));
      results++;
    } else if (opt == 'x') {
      /* nothing to read */
    } else if (opt == 'f') {
      float f;
      memcpy(&f, data + at, size);
      to_order((unsigned char *)&f, sizeof f, lay.order);
      lua_pushnumber(L, f);
      results++;
    } else if (opt == 'd') {
      double d;
      memcpy(&d, data + at, size);
      to_order((unsigned char *)&d, sizeof d, lay.order);
      lua_pushnumber(L, d);
      results++;
    } else if (opt == 'c') {
      if (size == 0) {
        /* c0: the length is the number read just before, which it replaces. */
        if (results == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
        size = (size_t)lua_tonumber(L, -1);
        lua_pop(L, 1);
        results--;
        luaL_argcheck(L, size <= dlen && at <= dlen - size, 2, "data string too short");
      }
      lua_pushlstring(L, data + at, size);
      results++;
    } else if (opt == 's') {
      const char *end = (const char *)memchr(data + at, '\0', dlen - at);
      if (end == NULL) luaL_error(L, "unfinished string in data");
      size = (size_t)(end - (data + at)) + 1;
      lua_pushlstring(L, data + at, size - 1);
      results++;
    } else {
      apply_control(L, opt, &p, &lay);
    }
    at += size;
  }
  lua_pushinteger(L, (lua_Integer)(at + 1)); /* where the next item starts */
  return results + 1;
}

static int struct_size(lua_State *L) {
  const char *p = luaL_checkstring(L, 1);
  size_t total = 0;
  Layout lay;
  layout_init(&lay);
  while (*p != '\0') {
    int opt = (unsigned char)*p++;
    size_t size = item_size(L, opt, &p);
    total += (size_t)padding_for(total, &lay, opt, size);
    if (opt == 's') luaL_argerror(L, 1, "option 's' has no fixed size");
    else if (opt == 'c' && size == 0) luaL_argerror(L, 1, "option 'c0' has no fixed size");
    /* Letters and digits that are no option are skipped here (pack/unpack refuse them). */
    if (!isalnum(opt)) apply_control(L, opt, &p, &lay);
    total += size;
  }
  lua_pushinteger(L, (lua_Integer)total);
  return 1;
}

static const luaL_Reg struct_fns[] = {
  {"pack", struct_pack},
  {"unpack", struct_unpack},
  {"size", struct_size},
  {NULL, NULL},
};

int luaopen_struct(lua_State *L) {
  luaL_register(L, "struct", struct_fns);
  return 1;
}

/* struct library placeholder: registers the `struct` table (pack/unpack/size not yet built). */
#include <lua.h>
#include <lauxlib.h>

static int notYet(lua_State *L) { return luaL_error(L, "struct library is not available in shardis yet"); }

static const luaL_Reg fns[] = {{"pack", notYet}, {"unpack", notYet}, {"size", notYet}, {NULL, NULL}};

int luaopen_struct(lua_State *L) {
  luaL_register(L, "struct", fns);
  return 1;
}

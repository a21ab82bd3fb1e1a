/*=========================================================================*\
* compat.h - the few Lua 5.2+ C API pieces the binding uses, for Lua 5.1
* and LuaJIT (LuaSocket compat.h style). Helpers are static and prefixed so
* they never clash with LuaJIT 2.1's own exported luaL_setfuncs.
\*=========================================================================*/
#ifndef ASOK_COMPAT_H
#define ASOK_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM == 501

/* asok_compat_setfuncs registers l into the table below the nup upvalues
 * on the stack, each function sharing those upvalues (5.2 semantics). */
static inline void asok_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup) {
  luaL_checkstack(L, nup + 1, "too many upvalues");
  for (; l->name != NULL; l++) {
    int i;
    for (i = 0; i < nup; i++) lua_pushvalue(L, -nup);
    lua_pushcclosure(L, l->func, nup);
    lua_setfield(L, -(nup + 2), l->name);
  }
  lua_pop(L, nup);
}

#define luaL_setfuncs asok_compat_setfuncs
#define lua_rawlen lua_objlen

#endif /* LUA_VERSION_NUM == 501 */

#endif /* ASOK_COMPAT_H */

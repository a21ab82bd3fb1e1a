/*=========================================================================*\
* hook.c - the methods of LuaSocket's classes that asok extends: the
* object's own settimeout, dirty, getstats, setstats and shutdown
* (glue/core.lua, patchstate). Each hook runs LuaSocket's own C function
* on its own stack frame, as if the program had called it: its results,
* and its argument errors (names, numbers, positions), are LuaSocket's for
* every object, asok's or not. For an object asok uses (a key of the
* glue's handles table), a Lua function of the glue then adds asok's part:
* with the call's arguments after LuaSocket's succeeded (settimeout,
* setstats: asok's timeouts and counters follow; shutdown: a send waiting
* learns of it), or with its results, returning the ones to give (dirty,
* getstats: asok's buffer and bytes count too).
\*=========================================================================*/
#include "binding.h"

#define HOOK_ARGS 0    /* the glue function gets the arguments; LuaSocket's results stay */
#define HOOK_RESULTS 1 /* the glue function gets self and the results, and replaces them */

/* uses says whether the table at upvalue i (or nil) has a true value for
 * the object at index 1. */
static int uses(lua_State *L, int i) {
  int yes;
  if (!lua_istable(L, lua_upvalueindex(i))) return 0;
  lua_pushvalue(L, 1);
  lua_rawget(L, lua_upvalueindex(i));
  yes = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return yes;
}

/* hooked: upvalues: 1 LuaSocket's C function, 2 the glue function,
 * 3 the glue's handles table, 4 HOOK_ARGS or HOOK_RESULTS, 5 another
 * table of objects whose calls the glue function sees, or nil. */
static int hooked(lua_State *L) {
  lua_CFunction own = lua_tocfunction(L, lua_upvalueindex(1));
  int n = lua_gettop(L), nres, top, i;
  nres = own(L); /* on this frame: LuaSocket's errors are raised from here */
  top = lua_gettop(L);
  if (n < 1 || !(uses(L, 3) || uses(L, 5))) return nres;
  if (lua_tointeger(L, lua_upvalueindex(4)) == HOOK_ARGS) {
    luaL_checkstack(L, n + 1, NULL); /* the caller may pass any number */
    lua_pushvalue(L, lua_upvalueindex(2));
    for (i = 1; i <= n; i++) lua_pushvalue(L, i);
    lua_call(L, n, 0);
    return nres;
  }
  luaL_checkstack(L, nres + 2, NULL);
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushvalue(L, 1);
  for (i = top - nres + 1; i <= top; i++) lua_pushvalue(L, i);
  lua_call(L, nres + 1, LUA_MULTRET);
  return lua_gettop(L) - top;
}

/* hook(own, glue, handles, kind [, also]): the hook of LuaSocket's C
 * function own (kind "args" or "results"; the glue function sees the calls
 * on keys of handles, and of also), or nil if own is not a C function
 * without upvalues (then it is not LuaSocket's: the glue leaves it alone). */
static int prim_hook(lua_State *L) {
  const char *kind = luaL_checkstring(L, 4);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_checktype(L, 3, LUA_TTABLE);
  if (!lua_iscfunction(L, 1) || lua_getupvalue(L, 1, 1) != NULL) return 0;
  lua_settop(L, 5);
  lua_pushinteger(L, kind[0] == 'a' ? HOOK_ARGS : HOOK_RESULTS);
  lua_replace(L, 4);
  lua_pushcclosure(L, hooked, 5);
  return 1;
}

const luaL_Reg asok__hookfuncs[] = {
    {"hook", prim_hook},
    {NULL,   NULL}
};

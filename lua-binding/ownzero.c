/*=========================================================================*\
* ownzero.c - runs one of LuaSocket's own methods of an object at a zero
* block timeout and gives the object its own block timeout back.
*
* asok's calls into LuaSocket (glue/core.lua ownzero: a raw server's
* accept, a raw connect, a receive or send asok cannot serve, the move of
* LuaSocket's buffer at an object's first use) must not block: asok does
* the waiting. The object's own timeout is the program's, which its plain
* LuaSocket calls keep using, so it is set back after the call. Done by
* the glue (set 0, call, set back), a debug hook's error (lua.c's Ctrl-C)
* or a memory error on one of its instructions in between left the
* object at 0 for good: the program's later LuaSocket calls on it timed
* out at once (11 hook positions of a raw accept on 5.4, 20 on 5.1 and
* LuaJIT: test_ownzero.lua). Here the three calls run protected, with the
* hook off, and the timeout is set back whatever the method raised.
\*=========================================================================*/
#include "binding.h"

/* settle calls set(obj, t, "b") protected (set: LuaSocket's own
 * settimeout, obj at index 1, set at 2, "b" at 4, t at index ti).
 * Returns lua_pcall's code; the error, if any, left on top. */
static int settle(lua_State *L, int ti) {
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, ti);
  lua_pushvalue(L, 4);
  return lua_pcall(L, 3, 0, 0);
}

/* ownzero(obj, set, b, "b", f, ...): set(obj, 0, "b"), then f(obj, ...),
 * then set(obj, b, "b") whatever f raised (tried twice: a memory error);
 * L's debug hook is off meanwhile (a hook set meanwhile, as lua.c's SIGINT
 * handler sets one, is kept). set is LuaSocket's own settimeout, b the
 * object's block timeout (a number, -1: none). Returns f's results;
 * raises f's error, or the first set's or the restore's (the object's
 * timeout then 0: no other way is left). Any thread; obj stays the
 * caller's. */
static int prim_ownzero(lua_State *L) {
  int n = lua_gettop(L), i, rc, rc2, base;
  asok_savedhook hk;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_checknumber(L, 3);
  luaL_checktype(L, 4, LUA_TSTRING);
  luaL_checkany(L, 5);
  /* room for the calls and f's usual results (at most 3: receive's,
   * send's), taken before anything changes */
  luaL_checkstack(L, n + 16, "ownzero");
  lua_pushnumber(L, 0);                 /* the zero, at n + 1 */
  base = n + 1;
  asok__hookoff(L, &hk);
  rc = settle(L, base);
  if (rc == 0) {
    lua_pushvalue(L, 5);
    lua_pushvalue(L, 1);
    for (i = 6; i <= n; i++) lua_pushvalue(L, i);
    rc = lua_pcall(L, n - 4, LUA_MULTRET, 0);
    /* f's results (or its error) on top of base: the restore leaves
     * them; more results than the room taken above are dropped for an
     * error (LuaSocket's methods return at most 3) */
    if (!lua_checkstack(L, 4)) {
      lua_settop(L, base);
      lua_pushliteral(L, "ownzero: too many results");
      rc = LUA_ERRRUN;
    }
    rc2 = settle(L, 3);
    if (rc2 != 0) {
      lua_pop(L, 1);
      rc2 = settle(L, 3);
    }
    if (rc2 != 0) {
      if (rc == 0) rc = rc2;  /* the restore's error, on top */
      else lua_pop(L, 1);     /* f's error stands */
    }
  }
  asok__hookon(L, &hk);
  if (rc != 0) return lua_error(L);
  return lua_gettop(L) - base;
}

const luaL_Reg asok__ownzerofuncs[] = {
    {"ownzero", prim_ownzero},
    {NULL,      NULL}
};

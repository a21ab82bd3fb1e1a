/*=========================================================================*\
* owntimeout.c - reads the LuaSocket timeouts of a socket.unix stream
* object, whose class has no gettimeout (unixstream.c has settimeout only).
*
* When asok first uses a LuaSocket object, the object's own positive
* timeouts become asok's (glue/core.lua register); the other classes say
* theirs through gettimeout. t_unix is LuaSocket's private struct
* (unixstream.h: sock, io, buf, tm), whose t_timeout is three doubles:
* block, total, start. Its offset is not assumed: the glue sets two
* distinct pairs of timeouts on a probe object of the same class, and the
* offset is used only if each pair is found there, at one and the same
* 8-byte aligned offset, and nowhere else, and the object read has the
* probe's size. Otherwise nothing is read and
* the object's timeouts count as unknown, as before.
\*=========================================================================*/
#include <string.h>

#include "binding.h"

/* dblat reads the double at byte offset off of userdata u. */
static double dblat(const void *u, size_t off) {
  double v;
  memcpy(&v, (const char *) u + off, sizeof v);
  return v;
}

/* find returns the only aligned offset of userdata u (size bytes) that
 * holds the doubles b then t, or -1 (none, or more than one). */
static long find(const void *u, size_t size, double b, double t) {
  long at = -1;
  size_t off;
  for (off = 0; off + 2 * sizeof(double) <= size; off += sizeof(double)) {
    if (dblat(u, off) == b && dblat(u, off + sizeof(double)) == t) {
      if (at >= 0) return -1;
      at = (long) off;
    }
  }
  return at;
}

/* tmfind(probe, b, t): the only offset of userdata probe that holds the
 * doubles b then t (its block and total timeouts, which the glue has just
 * set), and probe's size; nil if there is none or more than one. */
static int prim_tmfind(lua_State *L) {
  const void *u = lua_touserdata(L, 1);
  double b = luaL_checknumber(L, 2), t = luaL_checknumber(L, 3);
  long at;
  if (u == NULL) return 0;
  at = find(u, lua_rawlen(L, 1), b, t);
  if (at < 0) return 0;
  lua_pushinteger(L, (lua_Integer) at);
  lua_pushinteger(L, (lua_Integer) lua_rawlen(L, 1));
  return 2;
}

/* tmat(obj, off, size): the block and total timeouts of userdata obj at
 * offset off (from tmfind), if obj has the probe's size; nil otherwise. */
static int prim_tmat(lua_State *L) {
  const void *u = lua_touserdata(L, 1);
  lua_Integer off = luaL_checkinteger(L, 2), size = luaL_checkinteger(L, 3);
  if (u == NULL || off < 0 || (lua_Integer) lua_rawlen(L, 1) != size ||
      off + (lua_Integer) (2 * sizeof(double)) > size)
    return 0;
  lua_pushnumber(L, (lua_Number) dblat(u, (size_t) off));
  lua_pushnumber(L, (lua_Number) dblat(u, (size_t) off + sizeof(double)));
  return 2;
}

const luaL_Reg asok__owntimeoutfuncs[] = {
    {"tmfind",   prim_tmfind},
    {"tmat",     prim_tmat},
    {NULL,       NULL}
};

/*=========================================================================*\
* fdaside.c - runs a function with a LuaSocket object's fd set aside.
*
* The first use of a LuaSocket object by asok moves what LuaSocket
* buffered for it into asok (glue/core.lua attach, settle). A '*a'
* receive on the object reads the kernel's bytes too; with the object's
* socket set to -1 (SOCKET_INVALID) it reads the buffer alone: usocket.c's
* socket_recv answers IO_CLOSED without a syscall once the buffer is
* empty. The fd is set aside and put back here, in C, not through
* LuaSocket's setfd from the glue: a debug hook's error (lua.c's Ctrl-C) or
* a memory error on one of the glue's instructions between the two setfd
* calls left the object at -1 for good (its fd open and unreachable, the
* object answering 'closed'). Here nothing can fall between the three
* steps: the store of -1, the protected call, the store of the fd.
*
* Every LuaSocket class keeps its t_socket first (tcp.h's t_tcp, udp.h's
* t_udp, unix.h's t_unix for unixstream, unixdgram and serial, 3.0-rc1's
* unix.h too; usocket.h: an int). That is not assumed: the object's first
* int must be the fd its getfd gave, or nothing is run.
\*=========================================================================*/
#include <limits.h>
#include <string.h>

#include "binding.h"

/* fdaside(obj, fd, f, ...): f(...) run with userdata obj's first int, which
 * must be fd (obj's getfd), set to -1, then fd again, whatever f raised.
 * L's debug hook is off meanwhile (f's work, LuaSocket's buffer moved
 * into asok, is not cut short by it; a hook set meanwhile, as lua.c's
 * SIGINT handler sets one, is kept). Returns true and f's results; false
 * if obj's first int is not fd (f not run); raises f's error. Any thread;
 * obj stays the caller's. */
static int prim_fdaside(lua_State *L) {
  void *u = lua_touserdata(L, 1);
  lua_Integer fd = luaL_checkinteger(L, 2);
  int cur, rc;
  asok_savedhook hk;
  luaL_checktype(L, 3, LUA_TFUNCTION);
  if (u == NULL || lua_rawlen(L, 1) < sizeof(int) || fd < 0 || fd > INT_MAX) {
    lua_pushboolean(L, 0);
    return 1;
  }
  memcpy(&cur, u, sizeof cur);
  if (cur != (int) fd) {
    lua_pushboolean(L, 0);
    return 1;
  }
  lua_pushboolean(L, 1);
  lua_replace(L, 2); /* obj, true, f, ... (no allocation) */
  asok__hookoff(L, &hk);
  cur = -1;
  memcpy(u, &cur, sizeof cur);
  rc = lua_pcall(L, lua_gettop(L) - 3, LUA_MULTRET, 0);
  cur = (int) fd;
  memcpy(u, &cur, sizeof cur);
  asok__hookon(L, &hk);
  if (rc != 0) return lua_error(L);
  return lua_gettop(L) - 1;
}

const luaL_Reg asok__fdasidefuncs[] = {
    {"fdaside", prim_fdaside},
    {NULL,      NULL}
};

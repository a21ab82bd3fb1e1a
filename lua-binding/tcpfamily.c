/*=========================================================================*\
* tcpfamily.c - lets asok.connect change the address family of a LuaSocket
* TCP object between the addresses of one name, as LuaSocket's own
* connect does.
*
* LuaSocket's blocking connect to a name (inet.c inet_tryconnect) tries the
* name's addresses in order and, when the next one is of another family,
* closes the socket and creates one of that family: "localhost" as ::1 then
* 127.0.0.1 reaches a server on 127.0.0.1. asok.connect tries each address
* with LuaSocket's connect at timeout 0, which fixes the object's family
* (t_tcp.family) at the first attempt; a later connect then only accepts
* that family. To switch, the glue closes the object's socket and this
* file resets t_tcp.family to AF_UNSPEC, the state of a fresh socket.tcp(),
* so that the next connect creates a socket of the new family. After a
* failed connect of a socket.tcp() it resets the family and keeps the
* socket, as inet_tryconnect leaves it.
*
* t_tcp is LuaSocket's private struct (tcp.h: sock, io, buf, tm, family).
* Its layout is not assumed: the family field is the int at the end of the
* userdata (size - 8 with the struct's 8-byte alignment, else size - 4),
* and it is used only when three probe objects the glue made once -
* socket.tcp4(), socket.tcp6() and socket.tcp() - showed there AF_INET,
* AF_INET6 and AF_UNSPEC, with their fd (getfd) at offset 0, and the
* object has their size. Otherwise nothing is written and the glue skips
* the other family's addresses. The glue makes the probes when asok is
* loaded (fds free then), not when a connect needs them.
\*=========================================================================*/
#include <string.h>
#include <sys/socket.h>

#include "binding.h"

/* intat reads the int at byte offset off of userdata u. */
static int intat(const void *u, size_t off) {
  int v;
  memcpy(&v, (const char *) u + off, sizeof v);
  return v;
}

/* probe checks the userdata at index i: of size size, fd (argument fdi)
 * at offset 0, family fam at off. */
static int probe(lua_State *L, int i, int fdi, size_t size, size_t off, int fam) {
  const void *u = lua_touserdata(L, i);
  return u != NULL && lua_rawlen(L, i) == size && intat(u, 0) == (int) lua_tointeger(L, fdi) &&
         intat(u, off) == fam;
}

/* The layout layout() found (size 0: not yet, or not found). */
static size_t known_size, known_off;

/* layout(tcp4, fd4, tcp6, fd6, tcp, fdu): finds and keeps where t_tcp's
 * family is, from the three probe objects (as unspec checks it). Returns
 * true if found. */
static int prim_layout(lua_State *L) {
  size_t size = lua_rawlen(L, 1), off;
  int k;
  known_size = 0;
  if (lua_touserdata(L, 1) != NULL && size >= 2 * sizeof(int)) {
    for (k = 0; k < 2; k++) {
      off = size - (k == 0 ? 8 : 4);
      if (probe(L, 1, 2, size, off, AF_INET) && probe(L, 3, 4, size, off, AF_INET6) &&
          probe(L, 5, 6, size, off, AF_UNSPEC)) {
        known_size = size;
        known_off = off;
        break;
      }
    }
  }
  lua_pushboolean(L, known_size != 0);
  return 1;
}

/* unspec(raw, rawfd [, write]): true if the layout layout() found fits
 * raw (fd rawfd at offset 0) and raw has family AF_INET or AF_INET6;
 * with write, also sets raw's family to AF_UNSPEC (its socket closed,
 * rawfd -1, or kept as LuaSocket keeps a failed connect's). False
 * otherwise, nothing written. */
static int prim_unspec(lua_State *L) {
  void *raw = lua_touserdata(L, 1);
  int rawfd = (int) luaL_checkinteger(L, 2), write = lua_toboolean(L, 3), fam;
  int ok = raw != NULL && known_size != 0 && lua_rawlen(L, 1) == known_size &&
           intat(raw, 0) == rawfd;
  if (ok) {
    fam = intat(raw, known_off);
    ok = fam == AF_INET || fam == AF_INET6;
  }
  if (ok && write) {
    fam = AF_UNSPEC;
    memcpy((char *) raw + known_off, &fam, sizeof fam);
  }
  lua_pushboolean(L, ok);
  return 1;
}

/* family(raw, rawfd): raw's family as the layout layout() found says it:
 * 4, 6, or 0 (AF_UNSPEC: a socket.tcp() that has no socket yet); nil if
 * unknown (no layout, another size, fd not at offset 0, another value). */
static int prim_family(lua_State *L) {
  const void *raw = lua_touserdata(L, 1);
  int rawfd = (int) luaL_checkinteger(L, 2), fam;
  if (raw == NULL || known_size == 0 || lua_rawlen(L, 1) != known_size || intat(raw, 0) != rawfd)
    return 0;
  fam = intat(raw, known_off);
  if (fam == AF_INET) lua_pushinteger(L, 4);
  else if (fam == AF_INET6) lua_pushinteger(L, 6);
  else if (fam == AF_UNSPEC) lua_pushinteger(L, 0);
  else return 0;
  return 1;
}

/* setfamily(raw, 4|6): gives raw, a socket.tcp() without a socket (fd -1,
 * AF_UNSPEC), the family 4 or 6, as the layout layout() found says: its
 * connect then makes a socket of that family only, as a closed
 * socket.tcp4() or tcp6() does. Returns true, or false (nothing written)
 * if raw is not such an object or the layout is unknown. */
static int prim_setfamily(lua_State *L) {
  void *raw = lua_touserdata(L, 1);
  int fam = (int) luaL_checkinteger(L, 2) == 6 ? AF_INET6 : AF_INET;
  int ok = raw != NULL && known_size != 0 && lua_rawlen(L, 1) == known_size &&
           intat(raw, 0) == -1 && intat(raw, known_off) == AF_UNSPEC;
  if (ok) memcpy((char *) raw + known_off, &fam, sizeof fam);
  lua_pushboolean(L, ok);
  return 1;
}

const luaL_Reg asok__familyfuncs[] = {
    {"unspec", prim_unspec},
    {"layout", prim_layout},
    {"family", prim_family},
    {"setfamily", prim_setfamily},
    {NULL,     NULL}
};

/*=========================================================================*\
* resolve.c - the name-resolution primitive of the asok Lua binding (never
* yields): asok_resolve's address list as a Lua array. The glue (glue/connect.lua,
* asok.connect) parks the coroutine on the token while the lookup runs off
* the loop thread. service() checks a port as getaddrinfo does.
\*=========================================================================*/
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include "binding.h"

#define RESOLVE_STACKBUF 512 /* most answers fit; larger ones use a userdata */

/* resolve(loop, host, family, token): asok_resolve. Returns an array of
 * numeric addresses (preferred first), the WAIT marker, or nil and
 * LuaSocket's error ("host or service not provided, or not known"...). */
int asok__prim_resolve(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  const char *host = luaL_checkstring(L, 2);
  int family = (int) luaL_checkinteger(L, 3);
  asok_token tok = asok__checktoken(L, 4);
  char stackbuf[RESOLVE_STACKBUF];
  char *buf = stackbuf;
  const char *p;
  size_t need = 0;
  int rc, i;
  luaL_argcheck(L, family == 0 || family == 4 || family == 6, 3, "family must be 0, 4 or 6");
  if (lp->loop == NULL) return luaL_argerror(L, 1, "asok loop already freed");
  rc = asok_resolve(lp->loop, host, family, tok, buf, sizeof stackbuf, &need);
  if (rc == -ERANGE) { /* the answer is kept for this token: fetch it whole */
    buf = (char *) lua_newuserdata(L, need);
    rc = asok_resolve(lp->loop, host, family, tok, buf, need, &need);
  }
  if (rc == ASOK_EWAIT) return asok__pushwait(L);
  if (rc != ASOK_OK) {
    lua_pushnil(L);
    lua_pushstring(L, asok__errstr(rc));
    return 2;
  }
  lua_newtable(L);
  for (i = 1, p = buf; *p; p += strlen(p) + 1, i++) {
    lua_pushstring(L, p);
    lua_rawseti(L, -2, i);
  }
  return 1;
}

/* service(port): whether getaddrinfo takes port (a string) as a TCP
 * service, a number or a name in the services database, with a numeric
 * host: no lookup. glibc checks the service before the host, so LuaSocket's
 * connect to a name that does not resolve reports a bad service first. */
int asok__prim_service(lua_State *L) {
  const char *port = luaL_checkstring(L, 1);
  struct addrinfo hints, *res = NULL;
  int rc;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  rc = getaddrinfo("127.0.0.1", port, &hints, &res);
  if (res != NULL) freeaddrinfo(res);
  lua_pushboolean(L, rc != EAI_SERVICE);
  return 1;
}

/*=========================================================================*\
* udp.c - datagram primitives of the asok Lua binding (never yield).
*
* LuaSocket 3.1.0 src/udp.c semantics: one call moves one datagram; sizes
* default to 8192 and are truncated from floats; a datagram socket closed
* under a receive reads as an empty datagram ""; a send that finds the
* socket closed reports "refused" (udp.c's udp_strerror); sendto resolves
* its address with getaddrinfo(AI_NUMERICHOST|AI_NUMERICSERV) in the
* socket's family, so address errors are getaddrinfo's strings. Each
* primitive takes an asok.sock first and a token last, and returns
* LuaSocket's values or the WAIT marker (where the caller cannot yield, it
* blocks instead: block.c).
\*=========================================================================*/
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "binding.h"

#define UDP_DATAGRAMSIZE 8192 /* LuaSocket's default receive size */

/*=========================================================================*\
* Internal function prototypes
\*=========================================================================*/
static lsock *checkudp(lua_State *L, int i);
static int checksize(lua_State *L, int i, size_t *n);
static const char *udp_errstr(int rc);
static int udp_pusherror(lua_State *L, int rc);
static int udp_receive(lua_State *L);
static int udp_receivefrom(lua_State *L);
static int udp_send(lua_State *L);
static int udp_sendto(lua_State *L);
static int receivefrom(lua_State *L, int unixpath);
static int unix_receivefrom(lua_State *L);
static int unix_sendto(lua_State *L);

/* datagram primitives, handed to the glue (WAIT marker as upvalue 1) */
const luaL_Reg asok__udpfuncs[] = {
    {"udp_receive",     udp_receive},
    {"udp_receivefrom", udp_receivefrom},
    {"udp_send",        udp_send},
    {"udp_sendto",      udp_sendto},
    {"unix_receivefrom", unix_receivefrom},
    {"unix_sendto",     unix_sendto},
    {NULL,              NULL}
};

/*-------------------------------------------------------------------------*\
* Helpers
\*-------------------------------------------------------------------------*/
/* checkudp returns the socket userdata at i, its handle NULL if it is no
 * longer usable (freed, or its loop gone). */
static lsock *checkudp(lua_State *L, int i) {
  lsock *s = (lsock *) luaL_checkudata(L, i, ASOK_SOCK_MT);
  if (s->lp == NULL || s->lp->loop == NULL) s->h = NULL;
  return s;
}

/* checksize reads LuaSocket's (size_t) luaL_optnumber(L, i, 8192) into *n;
 * returns 0 for the sizes whose malloc fails in LuaSocket ("out of
 * memory"): NaN, -1 and below (huge once cast), and any size above 8192
 * that this process cannot allocate now (LuaSocket mallocs such a buffer;
 * where that fails depends on the machine: the same malloc tells). */
static int checksize(lua_State *L, int i, size_t *n) {
  lua_Number d = luaL_optnumber(L, i, UDP_DATAGRAMSIZE);
#if defined(__x86_64__)
  /* from 2^64 up (inf included) the cast is undefined; amd64 gives 0: a
   * zero-size receive that consumes the datagram */
  if (d >= 18446744073709551616.0) {
    *n = 0;
    return 1;
  }
#endif
  if (!(d > -1) || d >= 18446744073709551616.0) return 0;
  *n = d < 0 ? 0 : (size_t) d;
  if (*n > UDP_DATAGRAMSIZE) {
    void *probe = malloc(*n);
    if (probe == NULL) return 0;
    free(probe);
  }
  return 1;
}

/* udp_errstr is udp.c's udp_strerror over asok codes: a closed socket
 * (LuaSocket's IO_CLOSED) is "refused". */
static const char *udp_errstr(int rc) {
  if (rc == ASOK_ECLOSED || rc == ASOK_EBADHANDLE) return "refused";
  return asok__errstr(rc);
}

/* udp_pusherror pushes nil, udp_errstr(rc); returns 2. */
static int udp_pusherror(lua_State *L, int rc) {
  lua_pushnil(L);
  lua_pushstring(L, udp_errstr(rc));
  return 2;
}

/*-------------------------------------------------------------------------*\
* udp_receive(s, size, token): one datagram truncated to size.
* Returns data, or nil, err ("timeout", "connection refused"...).
\*-------------------------------------------------------------------------*/
static int udp_receive(lua_State *L) {
  lsock *s = checkudp(L, 1);
  const char *data = NULL;
  size_t n, len = 0;
  int ok = checksize(L, 2, &n), rc, b;
  asok_token tok = asok__checktoken(L, 3);
  if (!ok) {
    lua_pushnil(L);
    lua_pushliteral(L, "out of memory");
    return 2;
  }
  for (;;) {
    rc = s->h ? asok_receive(s->h, ASOK_COUNT, n, tok, &data, &len) : ASOK_ECLOSED;
    if (rc != ASOK_EWAIT) break;
    if ((b = asok__block(L, s->lp, tok)) == 0) return asok__pushwait(L); /* block.c */
    if (b < 0) return lua_error(L);
  }
  /* udp.c: IO_CLOSED (a closed socket) passes as an empty datagram */
  if (rc == ASOK_ECLOSED) len = 0;
  else if (rc != ASOK_OK) return udp_pusherror(L, rc);
  asok__pushdata(L, s->lp, data, len);
  return 1;
}

/*-------------------------------------------------------------------------*\
* receivefrom is udp_receivefrom and unix_receivefrom: one datagram and its
* sender, pushed as data, ip, port (an integer) or, with unixpath, as
* data, path (unixdgram.c: "" for an unbound sender); or nil, err
* ("closed" if the socket was closed while it waited).
\*-------------------------------------------------------------------------*/
static int receivefrom(lua_State *L, int unixpath) {
  lsock *s = checkudp(L, 1);
  const char *data = NULL;
  char from[sizeof(((struct sockaddr_un *) 0)->sun_path) + INET6_ADDRSTRLEN];
  size_t n, len = 0;
  int ok = checksize(L, 2, &n), rc, b, port = 0;
  asok_token tok = asok__checktoken(L, 3);
  if (!ok) {
    lua_pushnil(L);
    lua_pushliteral(L, "out of memory");
    return 2;
  }
  for (;;) {
    rc = s->h ? asok_receivefrom(s->h, n, tok, &data, &len, from, sizeof from, &port)
              : ASOK_ECLOSED;
    if (rc != ASOK_EWAIT) break;
    if ((b = asok__block(L, s->lp, tok)) == 0) return asok__pushwait(L); /* block.c */
    if (b < 0) return lua_error(L);
  }
  if (rc != ASOK_OK) {
    lua_pushnil(L);
    lua_pushstring(L, asok__errstr(rc));
    return 2;
  }
  asok__pushdata(L, s->lp, data, len);
  lua_pushstring(L, from);
  if (unixpath) return 2;
  lua_pushinteger(L, (lua_Integer) port);
  return 3;
}

/* udp_receivefrom(s, size, token): data, ip, port, or nil, err. */
static int udp_receivefrom(lua_State *L) {
  return receivefrom(L, 0);
}

/* unix_receivefrom(s, size, token): data, path, or nil, err. */
static int unix_receivefrom(lua_State *L) {
  return receivefrom(L, 1);
}

/*-------------------------------------------------------------------------*\
* udp_send(s, data, token): one datagram to the connected peer.
* Returns the bytes sent (a number), or nil, err.
\*-------------------------------------------------------------------------*/
static int udp_send(lua_State *L) {
  lsock *s = checkudp(L, 1);
  size_t count, sent = 0;
  const char *data = luaL_checklstring(L, 2, &count);
  asok_token tok = asok__checktoken(L, 3);
  int rc, b;
  for (;;) {
    rc = s->h ? asok_send(s->h, data, count, tok, &sent) : ASOK_ECLOSED;
    if (rc != ASOK_EWAIT) break;
    if ((b = asok__block(L, s->lp, tok)) == 0) return asok__pushwait(L); /* block.c */
    if (b < 0) return lua_error(L);
  }
  if (rc != ASOK_OK) return udp_pusherror(L, rc);
  lua_pushnumber(L, (lua_Number) sent);
  return 1;
}

/*-------------------------------------------------------------------------*\
* udp_sendto(s, data, ip, port, token): one datagram to ip:port, resolved
* as udp.c meth_sendto does. Returns the bytes sent, or nil, err.
\*-------------------------------------------------------------------------*/
static int udp_sendto(lua_State *L) {
  lsock *s = checkudp(L, 1);
  size_t count, sent = 0;
  const char *data = luaL_checklstring(L, 2, &count);
  const char *ip = luaL_checkstring(L, 3);
  const char *port = luaL_checkstring(L, 4);
  asok_token tok = asok__checktoken(L, 5);
  char addr[INET6_ADDRSTRLEN + 12]; /* room for "%<scope id>" */
  struct addrinfo hints, *ai = NULL;
  int family = AF_UNSPEC, num = 0, rc, b, err;
  socklen_t flen = sizeof family;
  if (s->h == NULL) return udp_pusherror(L, ASOK_ECLOSED);
  if (getsockopt(s->fd, SOL_SOCKET, SO_DOMAIN, &family, &flen) != 0) family = AF_UNSPEC;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  err = getaddrinfo(ip, port, &hints, &ai);
  if (err) {
    lua_pushnil(L);
    lua_pushstring(L, gai_strerror(err));
    return 2;
  }
  if (ai->ai_family == AF_INET6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) ai->ai_addr;
    inet_ntop(AF_INET6, &a6->sin6_addr, addr, INET6_ADDRSTRLEN);
    /* a scoped address ("fe80::1%eth0") keeps its interface */
    if (a6->sin6_scope_id != 0)
      snprintf(addr + strlen(addr), sizeof addr - strlen(addr), "%%%u", (unsigned) a6->sin6_scope_id);
    num = ntohs(a6->sin6_port);
  } else if (ai->ai_family == AF_INET) {
    struct sockaddr_in *a4 = (struct sockaddr_in *) ai->ai_addr;
    inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof addr);
    num = ntohs(a4->sin_port);
  } else {
    freeaddrinfo(ai);
    lua_pushnil(L);
    lua_pushstring(L, gai_strerror(EAI_FAMILY));
    return 2;
  }
  freeaddrinfo(ai);
  for (;;) {
    rc = s->h ? asok_sendto(s->h, data, count, addr, num, tok, &sent) : ASOK_ECLOSED;
    if (rc != ASOK_EWAIT) break;
    if ((b = asok__block(L, s->lp, tok)) == 0) return asok__pushwait(L); /* block.c */
    if (b < 0) return lua_error(L);
  }
  if (rc != ASOK_OK) return udp_pusherror(L, rc);
  lua_pushnumber(L, (lua_Number) sent);
  return 1;
}

/*-------------------------------------------------------------------------*\
* unix_sendto(s, data, path, token): one datagram to the unix socket at
* path (unixdgram.c meth_sendto: the path up to its first NUL, "path too
* long" from 108 bytes). Returns the bytes sent, or nil, err.
\*-------------------------------------------------------------------------*/
static int unix_sendto(lua_State *L) {
  lsock *s = checkudp(L, 1);
  size_t count, sent = 0;
  const char *data = luaL_checklstring(L, 2, &count);
  const char *path = luaL_checkstring(L, 3);
  asok_token tok = asok__checktoken(L, 4);
  int rc, b;
  if (strlen(path) >= sizeof(((struct sockaddr_un *) 0)->sun_path)) {
    lua_pushnil(L);
    lua_pushliteral(L, "path too long");
    return 2;
  }
  for (;;) {
    rc = s->h ? asok_sendto(s->h, data, count, path, 0, tok, &sent) : ASOK_ECLOSED;
    if (rc != ASOK_EWAIT) break;
    if ((b = asok__block(L, s->lp, tok)) == 0) return asok__pushwait(L); /* block.c */
    if (b < 0) return lua_error(L);
  }
  if (rc != ASOK_OK) return udp_pusherror(L, rc);
  lua_pushnumber(L, (lua_Number) sent);
  return 1;
}

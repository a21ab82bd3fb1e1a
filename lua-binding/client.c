/*=========================================================================*\
* client.c - native accepted clients: what wrapper:accept() returns for a
* TCP server wrapper. An asok.client is an lsock that owns its fd (as
* LuaSocket's tcp{client} does) and carries LuaSocket's tcp{client} method
* set; it has no LuaSocket object, so none of its fixed 8 KiB buffer.
*
* This file holds the primitives that never wait (accept attempt, close,
* __gc, getfd, setfd, dirty, shutdown, the class errors); receive, send,
* settimeout and the option/peer/connect calls are added by glue/client.lua.
\*=========================================================================*/
#define _GNU_SOURCE /* accept4 */
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <sys/socket.h>

#include "binding.h"

/*=========================================================================*\
* Internal function prototypes
\*=========================================================================*/
static lsock *checkclient(lua_State *L, int i);
static lsock *checkany(lua_State *L, int i);
static lsock *checkclass(lua_State *L, int i, const char *expected);
static void shut(lua_State *L, lsock *s);
static void release(lsock *s);
static void bury(lsock *s);
static void fdgone(lsock *s);
static void othersgone(lua_State *L, lsock *s);
static int pushowners(lua_State *L, lsock *s);
static int client_accept(lua_State *L);
static int client_close(lua_State *L);
static int client_classerror(lua_State *L);
static int client_dirty(lua_State *L);
static int client_family(lua_State *L);
static int client_fdgone(lua_State *L);
static int client_lendfd(lua_State *L);
static int client_owners(lua_State *L);
static int client_getfd(lua_State *L);
static int client_setfd(lua_State *L);
static int client_shutdown(lua_State *L);
static int client_tostring(lua_State *L);

/* client primitives, handed to the glue (WAIT marker as upvalue 1) */
const luaL_Reg asok__clientfuncs[] = {
    {"accept",        client_accept},
    {"client_family", client_family},
    {"client_fdgone", client_fdgone},
    {"client_lendfd", client_lendfd},
    {"client_owners", client_owners},
    {NULL,            NULL}
};

/* the C methods of asok.client (glue/client.lua adds the rest) */
static const luaL_Reg clientmethods[] = {
    {"close",    client_close},
    {"dirty",    client_dirty},
    {"getfd",    client_getfd},
    {"setfd",    client_setfd},
    {"shutdown", client_shutdown},
    {NULL,       NULL}
};

/* LuaSocket's tcp methods a tcp{client} has but may not call: the class
 * each one checks (tcp.c auxiliar_checkclass) */
static const struct { const char *name, *want; } classerrors[] = {
    {"accept",      "tcp{server} expected"},
    {"bind",        "tcp{master} expected"},
    {"listen",      "tcp{master} expected"},
    {"setsockname", "tcp{master} expected"},
    {NULL,          NULL}
};

/*-------------------------------------------------------------------------*\
* Helpers
\*-------------------------------------------------------------------------*/
/* checkclient returns the asok.client at i, raising LuaSocket's class
 * error (auxiliar_checkclass) otherwise. */
static lsock *checkclient(lua_State *L, int i) {
  return checkclass(L, i, "tcp{client} expected");
}

/* checkany is checkclient for the methods LuaSocket's tcp.c checks
 * against "tcp{any}" (getfd, setfd, dirty): its words for those. */
static lsock *checkany(lua_State *L, int i) {
  return checkclass(L, i, "tcp{any} expected");
}

/* checkclass returns the asok.client at i, else raises "<expected>". */
static lsock *checkclass(lua_State *L, int i, const char *expected) {
  if (asok__udtag(L, i) != ASOK_TAG_CLIENT) luaL_argerror(L, i, expected);
  return (lsock *) lua_touserdata(L, i);
}

/* release closes s's asok handle: every coroutine parked on it wakes with
 * 'closed'; what it received is kept in s->received. While a send waits or
 * data is buffered, the closed handle is kept in s->closed_h (the previous
 * one freed; see lsock); else it is freed. The fd is left alone.
 * Skipped once the loop is gone (asok_loop_free released every socket of
 * the loop). Without a handle (a second close, a close after setfd(-1))
 * nothing changes: the closed handle kept still serves its data, as
 * LuaSocket's buffer outlives any number of closes. */
static void release(lsock *s) {
  size_t n = 0;
  if (s->h == NULL) return;
  bury(s);
  if (s->lp != NULL && s->lp->loop != NULL) {
    /* (asok_held: a waiting receive's partial counts, which asok_buffered
     * leaves out; the close keeps it for that receive) */
    if ((s->sending || (asok_held(s->h, &n) == ASOK_OK && n > 0)) && asok_close(s->h) == ASOK_OK) {
      s->closed_h = s->h; /* see lsock; asok__received goes on reading its count */
      s->closed_gen = s->hgen;
    } else {
      s->received += asok__received(s); /* getstats() keeps counting from here */
      asok_sock_free(s->h);
    }
  } else {
    s->received += asok__received(s);
  }
  s->h = NULL;
  s->hgen++; /* the next handle's number (asok__cutshort) */
}

/* bury frees the closed handle release kept (__gc, the next release),
 * keeping its count for getstats(). */
static void bury(lsock *s) {
  if (s->closed_h != NULL && s->lp != NULL && s->lp->loop != NULL) {
    uint64_t n = 0;
    if (asok_received(s->closed_h, &n) == ASOK_OK) s->received += (size_t) n;
    asok_sock_free(s->closed_h);
  }
  s->closed_h = NULL;
}

/* shut releases s's handle and closes its fd, once (close and __gc); not
 * an fd another object closed (fdgone): that number may be another
 * socket's by now, maybe one asok watches or the resolver's threads made.
 * (LuaSocket's close would close the number again.) Another object's
 * handle on the fd is closed first (othersgone). */
static void shut(lua_State *L, lsock *s) {
  if (s->owns && s->fd >= 0 && !s->fdgone) othersgone(L, s);
  release(s);
  if (s->owns && s->fd >= 0 && !s->fdgone) close(s->fd);
  s->fd = -1;
  s->fdgone = 0;
  s->gonegen = 0;
}

/* fdgone closes s's handle alone, its fd closed by another object (see
 * client_fdgone), once: a second close of the number (another sharer's)
 * leaves the number of the handle it cut short (gonegen) as it was, for
 * the waiters that have not retried yet. */
static void fdgone(lsock *s) {
  if (s->fd < 0 || s->fdgone) return;
  s->gonegen = 0;
  if (s->h != NULL) s->gonegen = s->hgen + 1; /* before release numbers the next */
  release(s);
  s->wraperr = -EBADF;
  s->fdgone = 1;
}

/* pushowners pushes the glue's fdowners table (client_owners) and returns
 * 1, or pushes nothing and returns 0 (not handed over yet, the loop gone).
 * Allocates nothing. */
static int pushowners(lua_State *L, lsock *s) {
  if (s->lp == NULL || s->lp->loop == NULL || s->lp->ownersref == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->lp->ownersref);
  if (lua_istable(L, -1)) return 1;
  lua_pop(L, 1);
  return 0;
}

/* othersgone: s is about to close its fd, which another object's handle
 * may watch (fdowners: a LuaSocket object's or a native client's that had
 * the fd before s was given it by setfd, when asok could not wrap it for
 * s: "File exists"). epoll drops a closed fd without an event, so that
 * handle is closed now, as glue/core.lua's sharedgone does for a LuaSocket
 * object's close: an asok.sock's as C.close does (its waiters wake
 * 'closed' and the glue's retry meets the closed fd: "Bad file
 * descriptor"), a native client's by fdgone. Allocates nothing (it runs
 * in __gc too). */
static void othersgone(lua_State *L, lsock *s) {
  int top = lua_gettop(L);
  lsock *o;
  if (!pushowners(L, s)) return;
  lua_rawgeti(L, -1, s->fd);
  o = (lsock *) lua_touserdata(L, -1);
  if (o != NULL && o != s && o->fd == s->fd) {
    int tag = asok__udtag(L, -1);
    if (tag == ASOK_TAG_CLIENT) fdgone(o);
    else if (tag == ASOK_TAG_SOCK) asok__sockclose(o, 1);
  }
  lua_settop(L, top);
}

/*-------------------------------------------------------------------------*\
* client_owners(loop, fdowners): the glue's table of the objects watching
* each fd (core.lua), kept for setfd and close (othersgone). Returns
* nothing.
\*-------------------------------------------------------------------------*/
static int client_owners(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  luaL_unref(L, LUA_REGISTRYINDEX, lp->ownersref);
  lp->ownersref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/*-------------------------------------------------------------------------*\
* accept(server): one accept(2) on the listening socket userdata server
* (a registered LuaSocket tcp{server}). Returns an asok.client, or nil and
* "timeout" when no connection is queued (the glue then waits for the
* listener), or nil and LuaSocket's message (inet_tryaccept's rules:
* EINTR and ECONNABORTED are retried).
\*-------------------------------------------------------------------------*/
static int client_accept(lua_State *L) {
  lsock *server = (lsock *) luaL_checkudata(L, 1, ASOK_SOCK_MT);
  struct sockaddr_storage ss;
  socklen_t len;
  lsock *c;
  int fd, rc;
  if (server->h == NULL || server->lp == NULL || server->lp->loop == NULL || server->fd < 0) {
    lua_pushnil(L);
    lua_pushliteral(L, "closed");
    return 2;
  }
  /* the client first, without an fd: a memory error making it after
   * accept4 would leave the accepted fd without an owner (a leak, and a
   * peer waiting for ever); its __gc closes nothing until it has one */
  c = (lsock *) lua_newuserdata(L, sizeof(lsock));
  memset(c, 0, sizeof(*c));
  c->fd = -1;
  c->owns = 1;
  luaL_getmetatable(L, ASOK_CLIENT_MT);
  lua_setmetatable(L, -2);
  for (;;) {
    len = sizeof(ss);
    /* inheritable, as LuaSocket's accepted sockets are: an inetd-style
     * program hands getfd() to a child it runs */
    fd = accept4(server->fd, (struct sockaddr *) &ss, &len, SOCK_NONBLOCK);
    if (fd >= 0) break;
    if (errno == EINTR || errno == ECONNABORTED) continue;
    lua_pushnil(L);
    if (errno == EAGAIN || errno == EWOULDBLOCK) lua_pushliteral(L, "timeout");
    else lua_pushstring(L, asok_strerror(-errno)); /* LuaSocket's socket_strerror */
    return 2;
  }
  c->lp = server->lp;
  c->fd = fd;
  c->family = ss.ss_family == AF_INET6 ? AF_INET6 : AF_INET;
  c->block = -1;
  c->total = -1;
  c->birthday = asok__now();
  rc = asok_wrap(c->lp->loop, fd, 0, &c->h);
  if (rc != ASOK_OK) {                  /* the userdata's __gc closes fd */
    c->h = NULL;
    lua_pushnil(L);
    lua_pushstring(L, asok__errstr(rc));
    return 2;
  }
  return 1;
}

/*-------------------------------------------------------------------------*\
* client_family(c): "inet" or "inet6", the family of c's address (for the
* glue's getpeername/getsockname/getoption through LuaSocket)
\*-------------------------------------------------------------------------*/
static int client_family(lua_State *L) {
  lsock *s = checkclient(L, 1);
  lua_pushstring(L, s->family == AF_INET6 ? "inet6" : "inet");
  return 1;
}

/*-------------------------------------------------------------------------*\
* client_fdgone(c): another LuaSocket object, given c's fd by setfd, is
* about to close it (glue/core.lua's sharedgone, from that object's close
* or __gc, before LuaSocket's own closes the fd; another native client's
* close does the same here: othersgone). epoll drops a closed fd
* without an event, so c's handle is closed now (release: not the fd, asok
* did not wrap it with ASOK_OWNFD): every coroutine parked on c wakes, and
* its retry ends as LuaSocket's own call on the closed fd would ("Bad file
* descriptor", with what it had received or sent: asok__cutrc); c's later
* calls fail so too (wraperr), its getfd still answers the number, as
* LuaSocket's. The number is no longer c's: its close and shutdown leave it
* alone (fdgone; setfd gives c an fd of its own again). Returns nothing.
\*-------------------------------------------------------------------------*/
static int client_fdgone(lua_State *L) {
  fdgone(checkclient(L, 1));
  return 0;
}

/*-------------------------------------------------------------------------*\
* client_lendfd(c): the fd number glue/client.lua's lend gives the shadow
* LuaSocket object that runs c's getpeername, getsockname, getoption,
* setoption and connect: c's fd (-1 once closed), or, once another object
* closed it (fdgone), NEVERFD, a number no socket ever has. The kernel
* hands out no fd at or above RLIMIT_NOFILE, which it caps at fs.nr_open,
* which it caps at INT_MAX rounded down to a multiple of BITS_PER_LONG
* (sysctl_nr_open_max, fs/file.c): INT_MAX is out of reach, whatever a
* root process raises (the two limits are not: setrlimit and the sysctl
* move them). LuaSocket's own calls then answer as on any closed fd (EBADF:
* "Bad file descriptor", "getsockopt failed"...), never for or on the
* socket that took c's old number since (which its receive, send, select,
* shutdown and close already leave alone). Returns that number.
\*-------------------------------------------------------------------------*/
#define NEVERFD INT_MAX

static int client_lendfd(lua_State *L) {
  lsock *s = checkclient(L, 1);
  lua_pushnumber(L, (lua_Number) (s->fdgone ? NEVERFD : s->fd));
  return 1;
}

/*-------------------------------------------------------------------------*\
* close / __gc: wakes every coroutine parked on c ('closed'), closes the
* fd (once), and another object's handle on it (othersgone). LuaSocket's
* meth_close: returns 1.
\*-------------------------------------------------------------------------*/
static int client_close(lua_State *L) {
  shut(L, checkclient(L, 1));
  lua_pushnumber(L, 1);
  return 1;
}

/*-------------------------------------------------------------------------*\
* getfd / setfd / dirty: tcp.c's, on the asok handle
\*-------------------------------------------------------------------------*/
static int client_getfd(lua_State *L) {
  lua_pushnumber(L, (lua_Number) checkany(L, 1)->fd);
  return 1;
}

/* setfd(n): LuaSocket's "very dangerous" setfd: c now answers for fd n and
 * neither closes nor watches the old one (LuaSec's ssl.wrap does
 * setfd(-1) after taking the fd). Parked coroutines wake with 'closed'.
 * The timeouts and throttles stay, for the new fd. The glue's fdowners
 * records c as n's watcher when asok wraps n for it (as accept's), so
 * that another object's close of n reaches c's waiters (sharedgone). */
static int client_setfd(lua_State *L) {
  lsock *s = checkany(L, 1);
  int fd = (int) luaL_checknumber(L, 2);
  int rc, owners = 0;
  /* the key first (a memory error here changes nothing): recording c
   * once its handle exists must not allocate */
  if (fd >= 0 && pushowners(L, s)) {
    owners = lua_gettop(L);
    lua_rawgeti(L, owners, fd);
    if (lua_isnil(L, -1)) {
      lua_pushboolean(L, 0);
      lua_rawseti(L, owners, fd);
    }
    lua_pop(L, 1);
  }
  release(s);
  s->fd = fd < 0 ? -1 : fd;
  s->wraperr = 0;
  s->fdgone = 0; /* (an fd of its own again, which its close closes) */
  s->gonegen = 0;
  if (s->fd >= 0 && s->lp != NULL && s->lp->loop != NULL &&
      (rc = asok__wrapfd(s->lp->loop, s->fd, &s->h)) != ASOK_OK) {
    s->h = NULL;                        /* an fd asok cannot watch: */
    s->wraperr = rc;                    /* its receive and send say why */
  }
  if (s->h != NULL) {
    asok__settimeout(s);
    if (s->rates[0] > 0) asok_throttle(s->h, ASOK_READ, s->rates[0]);
    if (s->rates[1] > 0) asok_throttle(s->h, ASOK_WRITE, s->rates[1]);
    if (owners) {
      lua_pushvalue(L, 1);
      lua_rawseti(L, owners, fd);
    }
  }
  return 0;
}

static int client_dirty(lua_State *L) {
  lsock *s = checkany(L, 1);
  size_t n = 0;
  asok_sock *h = asok__readh(s);
  if (h != NULL && asok_buffered(h, &n) != ASOK_OK) n = 0;
  lua_pushboolean(L, n > 0);
  return 1;
}

/*-------------------------------------------------------------------------*\
* shutdown([how]): tcp.c meth_shutdown ("receive", "send", "both"; their
* indices are SHUT_RD, SHUT_WR, SHUT_RDWR, as asok_shutdown's); errors
* ignored; returns 1. Through asok while it has a handle: a send waiting on
* the client learns of a shutdown of sending at once (asok_shutdown).
\*-------------------------------------------------------------------------*/
static int client_shutdown(lua_State *L) {
  static const char *const how[] = {"receive", "send", "both", NULL};
  lsock *s = checkclient(L, 1);
  int h = luaL_checkoption(L, 2, "both", how);
  if (s->h != NULL && s->lp != NULL && s->lp->loop != NULL) asok_shutdown(s->h, h);
  else if (s->fd >= 0 && !s->fdgone) shutdown(s->fd, h); /* (not a number another object closed) */
  lua_pushnumber(L, 1);
  return 1;
}

/*-------------------------------------------------------------------------*\
* accept, bind, listen, setsockname: LuaSocket's
* class error (upvalue 1: "tcp{server} expected" or "tcp{master} expected")
\*-------------------------------------------------------------------------*/
static int client_classerror(lua_State *L) {
  return luaL_argerror(L, 1, lua_tostring(L, lua_upvalueindex(1)));
}

/* __tostring: "asok{tcp{client}: 0x...}", as tostring of a wrapper */
static int client_tostring(lua_State *L) {
  lua_pushfstring(L, "asok{tcp{client}: %p}", (void *) checkclient(L, 1));
  return 1;
}

/* __gc: as close, without a result */
static int client_gc(lua_State *L) {
  lsock *s = checkclient(L, 1);
  shut(L, s);
  bury(s);
  return 0;
}

/*-------------------------------------------------------------------------*\
* asok__newclientmeta creates the asok.client metatable: __index is the
* method table (C methods above, the class errors, class = "tcp{client}"),
* which glue/client.lua completes. getmetatable() shows it, as it shows
* LuaSocket's.
\*-------------------------------------------------------------------------*/
void asok__newclientmeta(lua_State *L) {
  int i;
  luaL_newmetatable(L, ASOK_CLIENT_MT);
  lua_pushcfunction(L, client_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, client_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_newtable(L);
  luaL_setfuncs(L, clientmethods, 0);
  for (i = 0; classerrors[i].name != NULL; i++) {
    lua_pushstring(L, classerrors[i].want);
    lua_pushcclosure(L, client_classerror, 1);
    lua_setfield(L, -2, classerrors[i].name);
  }
  lua_pushliteral(L, "tcp{client}");
  lua_setfield(L, -2, "class");
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

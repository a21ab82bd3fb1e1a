/*=========================================================================*\
* sock.c - socket primitives of the asok Lua binding (never yield).
*
* Each function is called by the Lua glue with an asok.sock userdata first
* and, for operations that may wait, a token last. Results are LuaSocket's
* (buffer.c: receive/send values, counts and error strings) or the WAIT
* marker when asok parked the token; where the caller cannot yield, an
* operation that waits blocks here instead, and returns its results
* (block.c).
\*=========================================================================*/
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "binding.h"

/*=========================================================================*\
* Internal function prototypes
\*=========================================================================*/
static int isopen(lsock *s);
static int pusherror(lua_State *L, int rc);
static int patnumber(lua_State *L, int i);
static int sock_buffered(lua_State *L);
static int sock_close(lua_State *L);
static int sock_fd(lua_State *L);
static int sock_free(lua_State *L);
static int sock_gc(lua_State *L);
static int sock_getstats(lua_State *L);
static int sock_gettimeout(lua_State *L);
static int sock_held(lua_State *L);
static int sock_pause(lua_State *L);
static int sock_receive(lua_State *L);
static int sock_same(lua_State *L);
static int sock_send(lua_State *L);
static int sock_setstats(lua_State *L);
static int sock_shutdown(lua_State *L);
static int sock_setlimit(lua_State *L);
static int sock_settimeout(lua_State *L);
static int sock_tostring(lua_State *L);
static int sock_unread(lua_State *L);
static int sock_wait(lua_State *L);
static void unpause(lsock *s, asok_token tok);
static void freesock(lsock *s);

/* socket primitives, handed to the glue (WAIT marker as upvalue 1) */
const luaL_Reg asok__sockfuncs[] = {
    {"buffered",   sock_buffered},
    {"close",      sock_close},
    {"fd",         sock_fd},
    {"free",       sock_free},
    {"getstats",   sock_getstats},
    {"gettimeout", sock_gettimeout},
    {"held",       sock_held},
    {"pause",      sock_pause},
    {"receive",    sock_receive},
    {"same",       sock_same},
    {"send",       sock_send},
    {"setstats",   sock_setstats},
    {"shutdown",   sock_shutdown},
    {"setlimit",   sock_setlimit},
    {"settimeout", sock_settimeout},
    {"unread",     sock_unread},
    {"wait",       sock_wait},
    {NULL,         NULL}
};

/* socket userdata metamethods */
const luaL_Reg asok__sockmeta[] = {
    {"__gc",       sock_gc},
    {"__tostring", sock_tostring},
    {NULL,         NULL}
};

/*-------------------------------------------------------------------------*\
* Helpers
\*-------------------------------------------------------------------------*/
/* asok__checksock (binding.h): the socket userdata at i, a registered
 * LuaSocket object's handle or a native client (raises otherwise). */
lsock *asok__checksock(lua_State *L, int i) {
  if (asok__udtag(L, i) == 0) luaL_checkudata(L, i, ASOK_SOCK_MT); /* raises */
  return (lsock *) lua_touserdata(L, i);
}

/* asok__udtag (binding.h): one registry lookup keyed by the metatable
 * (set by asok__tagmeta), no string compare. */
int asok__udtag(lua_State *L, int i) {
  int tag;
  if (lua_touserdata(L, i) == NULL || !lua_getmetatable(L, i)) return 0;
  lua_rawget(L, LUA_REGISTRYINDEX);
  tag = (int) lua_tointeger(L, -1);
  lua_pop(L, 1);
  return tag;
}

/* asok__tagmeta (binding.h): registry[metatable name] -> tag. */
void asok__tagmeta(lua_State *L, const char *name, int tag) {
  luaL_getmetatable(L, name);
  lua_pushinteger(L, tag);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

/* asok__received: asok_received of s's live handle plus that of the
 * closed one a native client keeps (binding.h). */
size_t asok__received(lsock *s) {
  uint64_t n = 0, kept = 0;
  if (isopen(s) && asok_received(s->h, &n) != ASOK_OK) n = 0;
  /* a native client's closed handle kept for its data (binding.h), also
   * next to a live one after a setfd: its bytes count until it is freed */
  if (s->closed_h != NULL && s->lp != NULL && s->lp->loop != NULL &&
      asok_received(s->closed_h, &kept) != ASOK_OK)
    kept = 0;
  return (size_t) (n + kept);
}

/* asok__readh returns the handle receives on s use: its live one, or the
 * closed one a native client kept (binding.h), NULL if none. */
asok_sock *asok__readh(lsock *s) {
  if (isopen(s)) return s->h;
  if (s->closed_h != NULL && s->lp != NULL && s->lp->loop != NULL) return s->closed_h;
  return NULL;
}

/* asok__gone (binding.h): a call of tok on s, whose handle is gone (freed
 * at its close), ends here with ASOK_ECLOSED, without asok: the delivery
 * the close may still owe tok (asok_select not yet called) is cancelled,
 * as asok itself drops it when the owner calls on the closed socket, so
 * that tok, given back, is not "token in use" to its next operation. */
int asok__gone(lsock *s, asok_token tok) {
  if (tok != 0 && s->lp != NULL) asok__cancel(s->lp, tok);
  return ASOK_ECLOSED;
}

/* asok__wrapfd (binding.h). */
int asok__wrapfd(asok_loop *loop, int fd, asok_sock **out) {
  int rc = asok_wrap(loop, fd, 0, out);
  return rc == ASOK_EINVAL ? -ENOTSOCK : rc; /* asok_wrap: "not a socket" */
}

/* asok__nohandle (binding.h). */
int asok__nohandle(lsock *s) {
  return s->owns && s->fd >= 0 && s->h == NULL && s->wraperr != 0 ? s->wraperr : ASOK_ECLOSED;
}

/* asok__keptonly (binding.h). */
int asok__keptonly(lsock *s, asok_sock *h) {
  return h != NULL && h == s->closed_h && asok__nohandle(s) != ASOK_ECLOSED;
}

/* asok__onkept (binding.h). */
int asok__onkept(lsock *s, asok_sock *h, int rc, int all) {
  if (asok__keptonly(s, h) && (rc == ASOK_ECLOSED || (all && rc == ASOK_OK))) return s->wraperr;
  return rc;
}

/* asok__cutrc (binding.h). */
int asok__cutrc(lsock *s, unsigned long long gen, int rc, int all) {
  if (s->fdgone && s->gonegen != 0 && s->gonegen == gen + 1 &&
      (rc == ASOK_ECLOSED || (all && rc == ASOK_OK)))
    return -EBADF;
  return rc;
}

/* asok__cutshort (binding.h). */
asok_sock *asok__cutshort(lsock *s, unsigned long long was) {
  if (isopen(s) && s->hgen == was) return s->h;
  if (s->closed_h != NULL && s->lp != NULL && s->lp->loop != NULL && s->closed_gen == was)
    return s->closed_h;
  return NULL;
}

/* asok__genof (binding.h). */
unsigned long long asok__genof(lsock *s, asok_sock *h) {
  return h == s->h ? s->hgen : s->closed_gen;
}

/* asok__handlefor (binding.h). */
asok_sock *asok__handlefor(lua_State *L, lsock *s, int i, int *waited,
                           unsigned long long *gen) {
  lua_Number was;
  *waited = 0;
  *gen = ~0ULL; /* none of s's (asok__cutrc: never cut by fdgone) */
  if (lua_isnoneornil(L, i)) return asok__readh(s);
  luaL_argcheck(L, lua_type(L, i) == LUA_TNUMBER, i, "invalid handle");
  if (!s->owns) return asok__readh(s); /* (a wrapper's: asok__pushwaited gives none) */
  *waited = 1;
  was = lua_tonumber(L, i);
  if (!(was >= 0 && was < 18446744073709551616.0)) return NULL; /* none of s's */
  *gen = (unsigned long long) was;
  return asok__cutshort(s, *gen);
}

/* asok__pushwaited (binding.h): a number, exact up to 2^53 handles. */
int asok__pushwaited(lua_State *L, lsock *s, unsigned long long gen) {
  if (!s->owns) return 0;
  lua_pushnumber(L, (lua_Number) gen);
  return 1;
}

/* asok__grow (binding.h). */
void *asok__grow(void *arr, int *cap, int n, size_t size, int first) {
  int c = *cap ? 2 * *cap : first;
  if (n < *cap) return arr;
  arr = realloc(arr, (size_t) c * size);
  if (arr != NULL) *cap = c;
  return arr;
}

/* reblocked returns the handle the retry of an operation that blocked in
 * asok__block goes on with, as the glue's retry would: a native client's
 * the one it waited on (numbered gen; *waited set, asok__cutshort), another
 * socket's its own. */
static asok_sock *reblocked(lsock *s, unsigned long long gen, int *waited) {
  if (!s->owns) return asok__readh(s);
  *waited = 1;
  return asok__cutshort(s, gen);
}

/* isopen says whether s and its loop are still alive. */
static int isopen(lsock *s) {
  return s->h != NULL && s->lp != NULL && s->lp->loop != NULL;
}

/* pusherror pushes nil, message; returns 2. */
static int pusherror(lua_State *L, int rc) {
  lua_pushnil(L);
  lua_pushstring(L, asok__errstr(rc));
  return 2;
}

/* patnumber is lua_isnumber for receive's pattern at i (buffer.c takes a
 * numeric string as a count) without a conversion attempt (strtod) for
 * the "*l" and "*a" strings of nearly every call. */
static int patnumber(lua_State *L, int i) {
  switch (lua_type(L, i)) {
  case LUA_TNUMBER: return 1;
  case LUA_TSTRING: return lua_tostring(L, i)[0] != '*' && lua_isnumber(L, i);
  default: return 0;
  }
}

/*-------------------------------------------------------------------------*\
* receive(s, pattern, prefix, token [, waited]): buffer.c
* buffer_meth_receive rules. WAIT: the WAIT marker and, for a native
* client, the number of the handle the operation waits on, which its
* retry passes back as waited (asok__handlefor)
\*-------------------------------------------------------------------------*/
static int sock_receive(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  size_t plen, n = 0, len = 0;
  const char *prefix = luaL_optlstring(L, 3, "", &plen);
  const char *data = NULL;
  int pattern, rc;
  asok_token tok = asok__checktoken(L, 4);
  if (!patnumber(L, 2)) {
    const char *p = luaL_optstring(L, 2, "*l");
    if (p[0] == '*' && p[1] == 'l') pattern = ASOK_LINE;
    else if (p[0] == '*' && p[1] == 'a') pattern = ASOK_ALL;
    else return luaL_argerror(L, 2, "invalid receive pattern");
  } else {
    double d = lua_tonumber(L, 2);
    size_t wanted;
    luaL_argcheck(L, d >= 0, 2, "invalid receive pattern");
#if defined(__x86_64__)
    /* LuaSocket casts the number to size_t; from 2^64 up (inf included)
     * that is undefined, and amd64 gives 0: it returns "" (or the prefix) */
    if (d >= 18446744073709551616.0) wanted = 0;
    else
#endif
    wanted = d >= (double) (SIZE_MAX / 2) ? SIZE_MAX / 2 : (size_t) d;
    if (plen != 0 && wanted <= plen) { /* the prefix already has it all */
      lua_pushlstring(L, prefix, plen);
      lua_pushnil(L);
      lua_pushnil(L);
      return 3;
    }
    pattern = ASOK_COUNT;
    n = wanted - plen;
  }
  {
    /* a closed native client's: what it had buffered; a native client's
     * operation that waited on its handle before a setfd: that one's */
    int waited, b;
    unsigned long long wgen; /* the handle it waited on (waited) */
    asok_sock *h = asok__handlefor(L, s, 5, &waited, &wgen);
    for (;;) {
      unsigned long long gen;
      if (h == NULL) {
        rc = asok__gone(s, tok);
        if (!waited) rc = asok__nohandle(s); /* a bad fd's error for a new call */
      } else {
        rc = asok_receive(h, pattern, n, tok, &data, &len);
        if (!waited) rc = asok__onkept(s, h, rc, pattern == ASOK_ALL);
      }
      if (waited) rc = asok__cutrc(s, wgen, rc, pattern == ASOK_ALL); /* its fd closed under it */
      if (rc != ASOK_EWAIT) break;
      gen = asok__genof(s, h);
      /* a caller that cannot yield waits here, and retries (block.c) on
       * the handle it waited on, as the glue's retry would */
      if ((b = asok__block(L, s->lp, tok)) == 0) return asok__pushwait(L) + asok__pushwaited(L, s, gen);
      if (b < 0) return lua_error(L);
      h = reblocked(s, gen, &waited);
      wgen = gen;
    }
  }
  /* one copy: asok's buffer -> string (pushdata.c), then the prefix (an
   * argument, a string by now) in front: what the concatenation allocates
   * no longer matters */
  asok__pushdata(L, s->lp, data, len);
  if (plen != 0) {
    lua_pushvalue(L, 3);
    lua_insert(L, -2);
    lua_concat(L, 2);                   /* result */
  }
  if (rc == ASOK_OK) {
    lua_pushnil(L);
    lua_pushnil(L);                     /* result, nil, nil */
  } else {
    lua_pushnil(L);
    lua_pushstring(L, asok__errstr(rc));
    lua_pushvalue(L, -3);               /* result, nil, err, partial */
  }
  return 3;
}

/*-------------------------------------------------------------------------*\
* send(s, data, i, j, token [, waited]): buffer.c buffer_meth_send
* rules, atomic (WAIT and waited: as receive's)
\*-------------------------------------------------------------------------*/
static int sock_send(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  size_t size = 0, sent = 0;
  const char *data = luaL_checklstring(L, 2, &size);
  long start = (long) luaL_optnumber(L, 3, 1);
  long end = (long) luaL_optnumber(L, 4, -1);
  asok_token tok = asok__checktoken(L, 5);
  int rc = ASOK_OK;
  if (start < 0) start = (long) (size + start + 1);
  if (end < 0) end = (long) (size + end + 1);
  if (start < 1) start = (long) 1;
  if (end > (long) size) end = (long) size;
  if (start <= end) {
    /* a closed native client's: what a cut-short send had sent (and as
     * receive's, the handle a send waited on before a setfd) */
    int waited, b;
    unsigned long long wgen; /* (as receive's) */
    asok_sock *h = asok__handlefor(L, s, 6, &waited, &wgen);
    for (;;) {
      unsigned long long gen;
      if (!waited && asok__keptonly(s, h)) h = NULL; /* kept for a waiter's count only */
      if (h == NULL) {
        rc = asok__gone(s, tok);
        if (!waited) rc = asok__nohandle(s);
      } else {
        rc = asok_send(h, data + start - 1, (size_t) (end - start + 1), tok, &sent);
      }
      if (waited) rc = asok__cutrc(s, wgen, rc, 0);
      s->sending = rc == ASOK_EWAIT;
      if (rc != ASOK_EWAIT) break;
      gen = asok__genof(s, h);
      /* a caller that cannot yield waits here, and retries (block.c) on
       * the handle it waited on, as the glue's retry would */
      if ((b = asok__block(L, s->lp, tok)) == 0) return asok__pushwait(L) + asok__pushwaited(L, s, gen);
      if (b < 0) return lua_error(L);
      h = reblocked(s, gen, &waited);
      wgen = gen;
    }
    s->sent += sent;
  }
  if (rc != ASOK_OK) {
    lua_pushnil(L);
    lua_pushstring(L, asok__errstr(rc));
    lua_pushnumber(L, (lua_Number) (sent + start - 1));
  } else {
    lua_pushnumber(L, (lua_Number) (sent + start - 1));
    lua_pushnil(L);
    lua_pushnil(L);
  }
  return 3;
}

/*-------------------------------------------------------------------------*\
* wait(s, "r"|"w", token): readiness for I/O done by LuaSocket itself
* (accept, connect), in its turn among s's operations, timed as they are
* (asok.select's looks go through waitset.c).
* Returns true and whether it waited here (a caller that cannot yield
* blocks in this call, block.c: false means s was ready at once, no one
* queued before it), WAIT, or nil, err.
\*-------------------------------------------------------------------------*/
static int sock_wait(lua_State *L) {
  static const char *const dirs[] = {"r", "w", NULL};
  lsock *s = asok__checksock(L, 1);
  int dir = luaL_checkoption(L, 2, NULL, dirs) == 0 ? ASOK_READ : ASOK_WRITE;
  asok_token tok = asok__checktoken(L, 3);
  int rc, b, waited = 0;
  for (;;) {
    rc = isopen(s) ? asok_wait(s->h, dir, tok) : asok__gone(s, tok);
    if (rc != ASOK_EWAIT) break;
    if ((b = asok__block(L, s->lp, tok)) == 0) return asok__pushwait(L);
    if (b < 0) return lua_error(L);
    waited = 1;
  }
  if (rc != ASOK_OK) return pusherror(L, rc);
  lua_pushboolean(L, 1);
  lua_pushboolean(L, waited);
  return 2;
}

/*-------------------------------------------------------------------------*\
* pause(s, seconds, token): parks token for seconds, as the loop's sleep,
* but bound to s: closing s makes it ready at once (an accept backing off
* after EMFILE must not outlive its listener's close by the back-off).
* Returns WAIT, or nil, "closed" if s is closed (if the binding cannot be
* recorded, out of memory, a plain sleep); nothing once the pause is over
* where the caller cannot yield (it waited here: block.c). pause(s, nil,
* token): token's pause is over (it came back). A token whose coroutine
* was closed while it waited stays recorded until s closes (made ready
* then, for no one).
\*-------------------------------------------------------------------------*/
static int sock_pause(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  asok_token tok = asok__checktoken(L, 3);
  double secs;
  int rc, b;
  if (lua_isnoneornil(L, 2)) {
    unpause(s, tok);
    return 0;
  }
  secs = luaL_checknumber(L, 2);
  luaL_argcheck(L, !isnan(secs), 2, "number expected, got NaN");
  if (!isopen(s)) return pusherror(L, ASOK_ECLOSED);
  rc = asok_sleep(s->lp->loop, secs, tok);
  if (rc != ASOK_OK) return luaL_error(L, "asok.accept: %s", asok_strerror(rc));
  {
    asok_token *p = (asok_token *) asok__grow(s->paused, &s->cpaused, s->npaused, sizeof *p, 4);
    if (p != NULL) {
      s->paused = p;
      s->paused[s->npaused++] = tok;
    }
  }
  if ((b = asok__block(L, s->lp, tok)) == 0) return asok__pushwait(L);
  unpause(s, tok);                       /* over, or abandoned (b < 0) */
  if (b < 0) return lua_error(L);
  return 0;
}

/* unpause forgets s's pause of token tok (it came back, or was abandoned). */
static void unpause(lsock *s, asok_token tok) {
  int i;
  for (i = 0; i < s->npaused; i++) {
    if (s->paused[i] == tok) {
      s->paused[i] = s->paused[--s->npaused];
      break;
    }
  }
}

/*-------------------------------------------------------------------------*\
* close(s): asok_close, waking every token parked on s. Idempotent.
\*-------------------------------------------------------------------------*/
static int sock_close(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  /* the LuaSocket object's fd number can come back at once (its next
   * socket after a close, a connect to another family): fd() must not
   * match it. A native client's fd is its own (client.c closes it). */
  asok__sockclose(s, asok__udtag(L, 1) == ASOK_TAG_SOCK);
  return 0;
}

/* asok__sockclose (binding.h). */
void asok__sockclose(lsock *s, int forget) {
  if (isopen(s)) {
    int i;
    asok_close(s->h);
    for (i = 0; i < s->npaused; i++) { /* the paused end now: their retry sees 'closed' */
      asok__cancel(s->lp, s->paused[i]);
      asok_sleep(s->lp->loop, 0, s->paused[i]);
    }
  }
  s->npaused = 0;
  if (forget) s->fd = -1;
}

/*-------------------------------------------------------------------------*\
* settimeout(s, t, mode): LuaSocket's timeout_meth_settimeout, asok side
\*-------------------------------------------------------------------------*/
static int sock_settimeout(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  double t = luaL_optnumber(L, 2, -1);
  const char *mode = luaL_optstring(L, 3, "b");
  switch (*mode) {
    case 'b': s->block = t; break;
    case 'r': case 't': s->total = t; break;
    default: return luaL_argerror(L, 3, "invalid timeout mode");
  }
  if (isopen(s)) asok__settimeout(s);
  lua_pushnumber(L, 1);
  return 1;
}

/* asok__settimeout hands s's timeouts to asok. A NaN one (LuaSocket keeps
 * it, and gettimeout shows it) times out at once in LuaSocket: 0 here. */
void asok__settimeout(lsock *s) {
  double b = s->block, t = s->total;
  asok_settimeout(s->h, b != b ? 0 : b, t != t ? 0 : t);
}

/*-------------------------------------------------------------------------*\
* setlimit(s, n): asok_setlimit (n >= 0, checked by the glue; 0: none)
\*-------------------------------------------------------------------------*/
static int sock_setlimit(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  lua_Number n = luaL_checknumber(L, 2);
  luaL_argcheck(L, n >= 0, 2, "non-negative number expected");
  if (isopen(s))
    asok_setlimit(s->h, n >= 9007199254740992.0 ? (size_t) 9007199254740992.0 : (size_t) n);
  lua_pushnumber(L, 1);
  return 1;
}

/*-------------------------------------------------------------------------*\
* gettimeout(s): block, total (LuaSocket's order)
\*-------------------------------------------------------------------------*/
static int sock_gettimeout(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  lua_pushnumber(L, s->block);
  lua_pushnumber(L, s->total);
  return 2;
}

/*-------------------------------------------------------------------------*\
* getstats(s): received, sent, age (buffer.c buffer_meth_getstats)
\*-------------------------------------------------------------------------*/
static int sock_getstats(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  /* LuaSocket's counters are size_t: a negative setstats wraps around */
  lua_pushnumber(L, (lua_Number) (s->received + asok__received(s)));
  lua_pushnumber(L, (lua_Number) s->sent);
  lua_pushnumber(L, asok__now() - s->birthday);
  return 3;
}

/* tosize is LuaSocket's (long) cast of a setstats count (buffer.c), as
 * amd64 makes it (out of long's range, NaN too: LONG_MIN), stored in its
 * size_t counter, without the cast's undefined behaviour. */
static size_t tosize(lua_Number d) {
  if (d > -9223372036854775808.0 && d < 9223372036854775808.0) return (size_t) (long) d;
  return (size_t) 1 << 63;
}

/*-------------------------------------------------------------------------*\
* setstats(s, received, sent, age): buffer.c buffer_meth_setstats
\*-------------------------------------------------------------------------*/
static int sock_setstats(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  size_t got = asok__received(s);
  s->received = tosize(luaL_optnumber(L, 2, (lua_Number) (s->received + got))) - got;
  s->sent = tosize(luaL_optnumber(L, 3, (lua_Number) s->sent));
  if (lua_isnumber(L, 4)) s->birthday = asok__now() - lua_tonumber(L, 4);
  lua_pushnumber(L, 1);
  return 1;
}

/*-------------------------------------------------------------------------*\
* buffered(s): true if asok holds received bytes that no waiting receive
* holds as its partial result (LuaSocket's dirty(): asok_buffered)
\*-------------------------------------------------------------------------*/
static int sock_buffered(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  size_t n = 0;
  if (isopen(s) && asok_buffered(s->h, &n) != ASOK_OK) n = 0;
  lua_pushboolean(L, n > 0);
  return 1;
}

/*-------------------------------------------------------------------------*\
* held(s): how many received bytes asok holds for s, a waiting receive's
* partial included (asok_held; on a native client's closed handle kept
* for its data too): asok._debug.held, for tests
\*-------------------------------------------------------------------------*/
static int sock_held(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  asok_sock *h = asok__readh(s);
  size_t n = 0;
  if (h == NULL || asok_held(h, &n) != ASOK_OK) n = 0;
  lua_pushinteger(L, (lua_Integer) n);
  return 1;
}

/*-------------------------------------------------------------------------*\
* unread(s, data): puts bytes LuaSocket had buffered in front of asok's
\*-------------------------------------------------------------------------*/
static int sock_unread(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int rc = isopen(s) ? asok_unread(s->h, data, len) : ASOK_ECLOSED;
  if (rc != ASOK_OK) return pusherror(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/*-------------------------------------------------------------------------*\
* fd(s): the fd s was wrapped with; and, for a native client that setfd
* gave an fd asok cannot register, why (LuaSocket's message)
\*-------------------------------------------------------------------------*/
static int sock_fd(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  int rc = asok__nohandle(s);
  lua_pushinteger(L, s->fd);
  if (s->h != NULL || rc == ASOK_ECLOSED) return 1;
  lua_pushstring(L, asok__errstr(rc));  /* a native client's unregistrable fd */
  return 2;
}

/*-------------------------------------------------------------------------*\
* shutdown(s, how): after LuaSocket's own shutdown of s's fd ("receive",
* "send" or "both", as checked there), asok_shutdown again, so that a send
* waiting on s learns of it (shutdown(2) once more changes nothing; its
* errors are ignored, as LuaSocket's are)
\*-------------------------------------------------------------------------*/
static int sock_shutdown(lua_State *L) {
  static const char *const how[] = {"receive", "send", "both", NULL};
  lsock *s = asok__checksock(L, 1);
  int h = luaL_checkoption(L, 2, "both", how);
  if (isopen(s)) asok_shutdown(s->h, h);
  return 0;
}

/*-------------------------------------------------------------------------*\
* same(s, fd): whether fd is still the socket s was wrapped with: the same
* number and, where s knows it, the same socket (device and inode), not a
* new one LuaSocket made on that number after destroying s's (connect and
* bind may: inet_tryconnect, inet_trybind).
\*-------------------------------------------------------------------------*/
static int sock_same(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  lua_Integer fd = luaL_checkinteger(L, 2);
  struct stat st;
  int same = s->fd >= 0 && s->fd == fd;
  if (same && s->ino != 0)
    same = fstat((int) fd, &st) == 0 && (unsigned long long) st.st_dev == s->dev &&
           (unsigned long long) st.st_ino == s->ino;
  lua_pushboolean(L, same);
  return 1;
}

/* freesock releases s's handle (asok_sock_free: closes and wakes first)
 * and its paused tokens' list, once; skipped once the loop is gone, since
 * asok_loop_free already released every socket of the loop. */
static void freesock(lsock *s) {
  if (isopen(s)) asok_sock_free(s->h);
  s->h = NULL;
  free(s->paused);
  s->paused = NULL;
  s->npaused = s->cpaused = 0;
}

/*-------------------------------------------------------------------------*\
* free(s): what s's __gc does, now, for the patched __gc of the LuaSocket
* object s is the handle of (glue/core.lua's patch, after its close of s),
* which runs a collection before s's own. Lua 5.1 drops a finalizer whose call meets a
* memory error (lgc.c's GCTM marks the userdata finalized, then calls it
* unprotected: growing the stack or the CallInfo array for the call
* fails), and s's was then never run: its handle stayed in asok for good
* (tests/oom). Either finalizer now frees it. An asok.sock only, anything
* else is left alone (no error from a finalizer): a native client's __gc,
* its only one, also closes the fd it owns.
\*-------------------------------------------------------------------------*/
static int sock_free(lua_State *L) {
  if (asok__udtag(L, 1) == ASOK_TAG_SOCK) freesock((lsock *) lua_touserdata(L, 1));
  return 0;
}

/*-------------------------------------------------------------------------*\
* __gc: freesock
\*-------------------------------------------------------------------------*/
static int sock_gc(lua_State *L) {
  freesock(asok__checksock(L, 1));
  return 0;
}

/*-------------------------------------------------------------------------*\
* __tostring: "asok.sock{fd}: 0x..." (or "closed")
\*-------------------------------------------------------------------------*/
static int sock_tostring(lua_State *L) {
  lsock *s = asok__checksock(L, 1);
  if (isopen(s)) lua_pushfstring(L, "asok.sock{%d}: %p", s->fd, (void *) s);
  else lua_pushfstring(L, "asok.sock{closed}: %p", (void *) s);
  return 1;
}

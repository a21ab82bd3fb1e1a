/*=========================================================================*\
* waitset.c - the waits of asok.select with socket sets (glue/select.lua),
* a whole set per call: one asok_waitset (one poll(2) in asok) for its
* sockets and one poll(2) here for its other fds (pipes, ttys, files),
* where a wait per entry made a poll(2) each.
*
* A select's n entries have the tokens base .. base + n - 1 (the glue takes
* them in one block: P.newtokens), entry i token base + i - 1; the read
* set's come first (1 .. nr), then the write set's.
\*=========================================================================*/
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

/* the states waitset gives each entry (st[i]) */
#define ST_NOTREADY 0 /* not ready, not parked (a poll, or an error) */
#define ST_READY 1    /* ready now (or closed: its I/O answers at once) */
#define ST_PARKED 2   /* its token waits in asok for the socket */

/* lloop.slot[i - 1], where entry i's answer is: k >= 0, reqs[k]; -1 - k,
 * pfds[k]; SLOT_GONE, none (a handle gone: ready) */
#define SLOT_GONE INT_MIN

/* checklp returns the loop userdata at i (raises if it is not one, or freed). */
static lloop *checklp(lua_State *L, int i) {
  lloop *lp = (lloop *) luaL_checkudata(L, i, ASOK_LOOP_MT);
  if (lp->loop == NULL) luaL_argerror(L, i, "asok loop already freed");
  return lp;
}

/* room makes lp's scratch arrays hold n entries; 0 if out of memory (the
 * arrays as they were, or some larger: cwait stays). */
static int room(lloop *lp, int n) {
  asok_waitreq *r;
  struct pollfd *p;
  asok_token *t;
  int *k;
  if (n <= lp->cwait) return 1;
  r = (asok_waitreq *) realloc(lp->reqs, (size_t) n * sizeof *r);
  if (r != NULL) lp->reqs = r;
  p = r ? (struct pollfd *) realloc(lp->pfds, (size_t) n * sizeof *p) : NULL;
  if (p != NULL) lp->pfds = p;
  t = p ? (asok_token *) realloc(lp->toks, (size_t) n * sizeof *t) : NULL;
  if (t != NULL) lp->toks = t;
  k = t ? (int *) realloc(lp->slot, (size_t) n * sizeof *k) : NULL;
  if (k == NULL) return 0;
  lp->slot = k;
  lp->cwait = n;
  return 1;
}

/* checkrange reads the block base .. base + n - 1 of tokens (at i, i + 1). */
static asok_token checkrange(lua_State *L, int i, int *n) {
  asok_token base = asok__checktoken(L, i);
  lua_Integer k = luaL_checkinteger(L, i + 1);
  luaL_argcheck(L, k >= 0 && k <= ASOK_SETMAX && base + (asok_token) k < ((asok_token) 1 << 53), i + 1,
                "invalid count");
  *n = (int) k;
  return base;
}

/* pollfds polls the np fds of pf once without waiting, or each alone if
 * that fails (more fds than RLIMIT_NOFILE); a failed poll leaves its
 * revents 0 (not ready). Each poll counts in lp->fdpolls (once, however
 * many times a signal interrupted it). */
static void pollfds(lloop *lp, struct pollfd *pf, int np) {
  int rc, i;
  for (i = 0; i < np; i++) pf[i].revents = 0;
  lp->fdpolls++;
  do rc = poll(pf, (nfds_t) np, 0);
  while (rc < 0 && errno == EINTR);
  if (rc >= 0) return;
  for (i = 0; i < np; i++) {
    lp->fdpolls++;
    do rc = poll(&pf[i], 1, 0);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) pf[i].revents = 0;
  }
}

/* fdready says what select(2) says of fd's poll answer p: a hang-up or an
 * error is readable, an error writable (a pipe's read end at EOF is not
 * writable); a closed fd (POLLNVAL) ends the wait. */
static int fdready(const struct pollfd *p) {
  short want = p->events == POLLIN ? POLLIN | POLLHUP | POLLERR | POLLNVAL : POLLOUT | POLLERR | POLLNVAL;
  return (p->revents & want) != 0;
}

/* isopen: s has a live handle on a live loop. */
static int isopen(lsock *s) {
  return s->h != NULL && s->lp != NULL && s->lp->loop != NULL;
}

/* moved says whether entry i, on native client s (at the stack's top),
 * has another handle than when the select began: setfd gave it one (or
 * its own fd again), or it was closed. gens (a stack index) holds each
 * such entry's handle number (lsock's hgen), noted at the select's first
 * waitset (first: then it is noted, and the entry has not moved); the
 * handle it waited on is gone, as a LuaSocket object's is at its setfd,
 * so it is ready, as a closed one. One table read an entry, no Lua call:
 * the glue's look at each native client cost two C calls an arm. */
static int moved(lua_State *L, int gens, int i, lsock *s, int first) {
  int gone;
  if (first) {
    lua_pushnumber(L, (lua_Number) s->hgen);
    lua_rawseti(L, gens, i);
    return 0;
  }
  lua_rawgeti(L, gens, i);
  gone = lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) != (lua_Number) s->hgen;
  lua_pop(L, 1);
  return gone;
}

/* waitstate turns wait's result rc into an entry's state: parked, or
 * ready for a socket closed (a select must not wait for it forever: its
 * receive or send answers 'closed' at once; as the message says: a handle
 * gone with its loop too), else not ready. */
static int waitstate(int rc) {
  if (rc == ASOK_EWAIT) return ST_PARKED;
  if (rc == ASOK_OK || strcmp(asok__errstr(rc), "closed") == 0) return ST_READY;
  return ST_NOTREADY;
}

/*-------------------------------------------------------------------------*\
* waitset(loop, base, n, nr, hs, fds, st, gens): for each entry i of 1 ..
* n, asks whether it is ready now, else parks its token as a look
* (ASOK_LOOK: untimed, it waits however long the select waits, whatever
* the socket's timeouts; woken with every other select's look on the
* socket, and holding back none of its receives, accepts or sends): hs[i]
* is the asok.sock or native client it waits on, or false for fd fds[i],
* which asok cannot register (not a socket: polled). Read if i <= nr,
* else write. st[i] becomes 0 (not ready), 1 (ready) or 2 (parked).
* gens[i]: the handle number of a native client's entry, noted at the
* first call (st empty), for the later ones (moved: a client setfd or a
* close gave another handle since is ready). Returns how many are ready.
* Raises on a bad argument or out of memory, before any wait is made
* (st's keys 1 .. n and gens' are made then: its states are written
* without an allocation).
\*-------------------------------------------------------------------------*/
int asok__prim_waitset(lua_State *L) {
  lloop *lp = checklp(L, 1);
  int n, nr, i, nq = 0, np = 0, nready = 0, rc;
  asok_token base = checkrange(L, 2, &n);
  nr = (int) luaL_checkinteger(L, 4);
  luaL_checktype(L, 5, LUA_TTABLE);
  luaL_checktype(L, 6, LUA_TTABLE);
  luaL_checktype(L, 7, LUA_TTABLE);
  luaL_checktype(L, 8, LUA_TTABLE);
  if (!room(lp, n)) return luaL_error(L, "not enough memory");
  /* the requests, checked before any is made: slot[i - 1] says where
   * entry i's answer will be (SLOT_GONE: none, it is ready) */
  for (i = 1; i <= n; i++) {
    int read = i <= nr, first;
    /* st[i] made now if new (the first call: 0, nothing parked yet), so
     * that writing the states below allocates nothing: a memory error
     * there, after the waits, would leave tokens parked that st does not
     * show, which unwait then never cancels (parked for no one, each
     * delivered later as a mark that nothing takes) */
    lua_rawgeti(L, 7, i);
    first = lua_isnil(L, -1);
    if (first) {
      lua_pushinteger(L, ST_NOTREADY);
      lua_rawseti(L, 7, i);
    }
    lua_pop(L, 1);
    lua_rawgeti(L, 5, i);
    if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
      lua_rawgeti(L, 6, i);
      lp->pfds[np].fd = (int) luaL_checkinteger(L, -1);
      lp->pfds[np].events = read ? POLLIN : POLLOUT;
      lp->slot[i - 1] = -1 - np++;
      lua_pop(L, 1);
    } else {
      lsock *s = asok__checksock(L, -1);
      if (asok__udtag(L, -1) == ASOK_TAG_CLIENT && moved(L, 8, i, s, first)) {
        /* the handle it waited on is gone: ready, as gone's below */
        asok__gone(s, base + (asok_token) (i - 1));
        lp->slot[i - 1] = SLOT_GONE;
      } else if (isopen(s)) {
        lp->reqs[nq].sock = s->h;
        lp->reqs[nq].dir = (read ? ASOK_READ : ASOK_WRITE) | ASOK_LOOK;
        lp->reqs[nq].token = base + (asok_token) (i - 1);
        lp->slot[i - 1] = nq++;
      } else {
        /* its handle is gone (freed at its close): closed without asok,
         * as wait's (asok__gone: the delivery the close may still owe the
         * token is dropped), so ready */
        asok__gone(s, base + (asok_token) (i - 1));
        lp->slot[i - 1] = SLOT_GONE;
      }
    }
    lua_pop(L, 1);
  }
  if (np > 0) pollfds(lp, lp->pfds, np);
  rc = nq > 0 ? asok_waitset(lp->loop, lp->reqs, (size_t) nq) : ASOK_OK;
  if (rc == ASOK_EFORKED) return asok__forked(L);
  if (rc != ASOK_OK) return luaL_error(L, "asok.select: %s", asok_strerror(rc));
  /* the states, in the entries' order */
  for (i = 1; i <= n; i++) {
    int k = lp->slot[i - 1], state;
    if (k == SLOT_GONE) state = ST_READY;
    else if (k < 0) state = fdready(&lp->pfds[-1 - k]) ? ST_READY : ST_NOTREADY;
    else state = waitstate(lp->reqs[k].rc);
    if (state == ST_READY) nready++;
    lua_pushinteger(L, state);
    lua_rawseti(L, 7, i);
  }
  lua_pushinteger(L, nready);
  return 1;
}

/*-------------------------------------------------------------------------*\
* unwait(loop, base, n, st, waiting): ends the waits of a select's entries
* 1 .. n (states st, from waitset): the parked tokens are cancelled (else
* delivered later for no one), and every token of the block is dropped from
* waiting[] and from the batch step fetched but has not dispatched yet
* (a delivery there would mark waiting[t] false for a park that never
* comes: asok.select() without a timeout walks them each step). One pass
* over that batch for the whole block.
\*-------------------------------------------------------------------------*/
int asok__prim_unwait(lua_State *L) {
  lloop *lp = checklp(L, 1);
  int n, i, j, nc = 0, batch;
  asok_token base = checkrange(L, 2, &n);
  luaL_checktype(L, 4, LUA_TTABLE);
  luaL_checktype(L, 5, LUA_TTABLE);
  /* out of memory: one asok_cancel each (an error here would leave the
   * tokens parked for no one: unwait runs on error paths) */
  batch = room(lp, n);
  for (i = 1; i <= n; i++) {
    asok_token t = base + (asok_token) (i - 1);
    lua_rawgeti(L, 4, i);
    if (lua_tointeger(L, -1) == ST_PARKED) {
      if (batch) lp->toks[nc++] = t;
      else asok_cancel(lp->loop, t);
    }
    lua_pop(L, 1);
    /* waiting[t] = nil where set (Lua 5.1 to 5.3 would add a key for
     * nil: memory, and maybe a memory error, here) */
    asok__pushtoken(L, t);
    lua_pushvalue(L, -1);
    lua_rawget(L, 5);
    if (!lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      lua_rawset(L, 5);
    } else {
      lua_pop(L, 2);
    }
  }
  if (nc > 0) asok_cancelset(lp->loop, lp->toks, (size_t) nc);
  for (i = j = lp->qh; i < lp->qt; i++)
    if (lp->q[i] - base >= (asok_token) n) lp->q[j++] = lp->q[i];
  lp->qt = j;
  for (i = j = 0; i < lp->ndeferred; i++)
    if (lp->deferred[i] - base >= (asok_token) n) lp->deferred[j++] = lp->deferred[i];
  lp->ndeferred = j;
  return 0;
}

/*-------------------------------------------------------------------------*\
* polls(loop): the poll(2) calls made to see whether fds were ready (the
* loop's in asok: asok_debug_polls; and waitset's own for fds asok cannot
* register), and asok_select's epoll_wait(2) calls (asok._debug.polls,
* for tests that count the syscalls of a select).
\*-------------------------------------------------------------------------*/
int asok__prim_polls(lua_State *L) {
  lloop *lp = checklp(L, 1);
  uint64_t polls = 0, waits = 0;
  if (asok_debug_polls(lp->loop, &polls, &waits) != ASOK_OK) polls = waits = 0;
  lua_pushinteger(L, (lua_Integer) (polls + lp->fdpolls));
  lua_pushinteger(L, (lua_Integer) waits);
  return 2;
}

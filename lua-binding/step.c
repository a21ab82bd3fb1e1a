/*=========================================================================*\
* step.c - the reactor's step: one asok_select pass and the resume of the
* coroutine of every ready token, in C.
*
* The glue's step (glue/core.lua) calls it. The ready tokens wait in the
* loop userdata's queue (lloop.q[qh .. qt-1]) until dispatched: one queue
* for every nesting of step (a blocking call inside a coroutine that step
* resumed runs step again), so a nested step dispatches the rest of the
* outer batch before it asks asok_select for more, and an error that cuts
* a step short leaves the rest queued for the next one.
*
* Running the per-token work here (take the token, clear waiting[t],
* resume) keeps debug hooks out of it: a hook's error (lua.c's Ctrl-C,
* caught by the program) can no longer fall between taking a token and
* resuming its coroutine, which then waited for ever. It also saves the Lua
* loop and coroutine.resume's wrapping per wake-up. What is not the common
* case (a coroutine not suspended in a yield: closed, running, normal; a
* resume that failed) is returned to the glue's step, whose function
* 'other' does what Lua's coroutine.resume path did.
\*=========================================================================*/
#include <dlfcn.h>
#include <stdint.h>

#include "binding.h"

#ifndef LUA_OK
#define LUA_OK 0 /* 5.1 names it 0 */
#endif

#if LUA_VERSION_NUM == 501
/* PUC 5.1's coroutine.resume hands the resumer's C-call level to the
 * coroutine (lua_setlevel) so that nested resumes still hit "C stack
 * overflow" before the C stack does. LuaJIT has no such function (asok.so
 * for 5.1 serves both): looked up once, at load. */
typedef void (*setlevel_fn)(lua_State *from, lua_State *to);
static setlevel_fn setlevel;
static int setlevel_known;
#endif

/* resumeco resumes suspended coroutine co from L with the nargs values
 * on top of co's stack, as coroutine.resume does, and drops what it
 * yields or returns. Returns lua_resume's status; on an error the message
 * stays on co's stack. */
static int resumeco(lua_State *L, lua_State *co, int nargs) {
  int rc;
#if LUA_VERSION_NUM >= 504
  int nres = 0;
  rc = lua_resume(co, L, nargs, &nres);
  if (rc == LUA_OK || rc == LUA_YIELD) lua_pop(co, nres);
#elif LUA_VERSION_NUM >= 502
  rc = lua_resume(co, L, nargs);
  if (rc == LUA_OK || rc == LUA_YIELD) lua_settop(co, 0);
#else
  if (!setlevel_known) {
    setlevel = (setlevel_fn) dlsym(RTLD_DEFAULT, "lua_setlevel");
    setlevel_known = 1;
  }
  if (setlevel != NULL) setlevel(L, co);
  rc = lua_resume(co, nargs);
  if (rc == 0 || rc == LUA_YIELD) lua_settop(co, 0);
#endif
  return rc;
}

/* asok__unqueue (binding.h). */
void asok__unqueue(lloop *lp, asok_token t) {
  int i, j;
  for (i = j = lp->qh; i < lp->qt; i++)
    if (lp->q[i] != t) lp->q[j++] = lp->q[i];
  lp->qt = j;
  for (i = j = 0; i < lp->ndeferred; i++) /* and a delivery kept for later */
    if (lp->deferred[i] != t) lp->deferred[j++] = lp->deferred[i];
  lp->ndeferred = j;
}

/* asok__cancel (binding.h). */
void asok__cancel(lloop *lp, asok_token t) {
  if (lp->loop == NULL) return;
  asok_cancel(lp->loop, t);
  asok__unqueue(lp, t);
}

/* isdead says whether coroutine co is dead, as coroutine.status says. */
static int isdead(lua_State *co) {
  lua_Debug ar;
  int st = lua_status(co);
  if (st == LUA_YIELD) return 0;
  if (st != LUA_OK) return 1;                 /* died of an error */
  if (lua_getstack(co, 0, &ar) > 0) return 0; /* running or normal */
  return lua_gettop(co) == 0;                 /* ended, or not started */
}

/* defer keeps token t for a later step (lloop.deferred): its coroutine is
 * the one running this step, from a hook or a finalizer that fired in its
 * park between noting itself in waiting[t] (or in its select group) and
 * yielding; resumed from here it would fail, and cancelled (the glue's
 * 'other') it would then yield and wait for ever. Out of memory: the
 * token is lost as before (the glue's 'other' path). Returns 1 if kept. */
static int defer(lloop *lp, asok_token t) {
  asok_token *d = (asok_token *) asok__grow(lp->deferred, &lp->cdeferred, lp->ndeferred,
                                            sizeof *d, 8);
  if (d == NULL) return 0;
  lp->deferred = d;
  lp->deferred[lp->ndeferred++] = t;
  return 1;
}

/* undefer moves the deferred tokens whose coroutine is no longer the one
 * running this step (L) into the empty dispatch queue (waiting: index 3);
 * a token no one waits for any more (its coroutine was resumed by someone
 * else, which cleared waiting[t]) is dropped, not marked delivered. */
static void undefer(lua_State *L, lloop *lp) {
  int i, kept = 0;
  lp->qh = lp->qt = 0;
  for (i = 0; i < lp->ndeferred; i++) {
    asok_token t = lp->deferred[i];
    lua_State *co;
    int gone;
    asok__pushtoken(L, t);
    lua_rawget(L, 3);
    gone = lua_isnil(L, -1) || lua_isboolean(L, -1);
    if (lua_istable(L, -1)) lua_getfield(L, -1, "co");
    co = lua_tothread(L, -1);
    lua_settop(L, 5);
    if (gone) continue;
    if (co == L || lp->qt == ASOK_SELECT_BATCH) lp->deferred[kept++] = t;
    else lp->q[lp->qt++] = t;
  }
  lp->ndeferred = kept;
}

/* notewait: with waiting at 1 and token t at 2, the note both note and
 * noteself make: 0 if step delivered t before (waiting[t] is false: a
 * hook or finalizer ran the reactor between the operation's wait and
 * here; waiting[t] is cleared), else tbl[t] = v (tbl, v: the stack
 * indexes into and v) and 1. Leaves the stack as it found it. */
static int notewait(lua_State *L, int into, int v) {
  int delivered;
  lua_pushvalue(L, 2);
  lua_rawget(L, 1);
  delivered = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_pushvalue(L, 2);
  if (delivered) {
    lua_pushnil(L);
    lua_rawset(L, 1);
    return 0;
  }
  lua_pushvalue(L, v);
  lua_rawset(L, into);
  return 1;
}

/*-------------------------------------------------------------------------*\
* note(waiting, t, tbl, v): the glue's park notes its wait for token t:
* tbl[t] = v (waiting[t] = the coroutine, or blocking[t] = true) and true,
* unless step delivered t before: then waiting[t] is cleared and it
* returns false (no wait). One C function, so that no hook runs between
* the look and the note (a delivery there was lost).
\*-------------------------------------------------------------------------*/
int asok__prim_note(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 4);
  lua_pushboolean(L, notewait(L, 3, 4));
  return 1;
}

/*-------------------------------------------------------------------------*\
* noteself(waiting, t, parents): the glue's park in its common case, in
* one call: the running coroutine co is not the main thread, can yield by
* the glue's rule (asok__parkable) and runs on its own (parents[co] is
* nil: no driver waits on its behalf). Then what note(waiting, t, waiting,
* co) does: false if step delivered t before (waiting[t] is cleared),
* else waiting[t] = co and co. Nothing (nil) in any other case, with
* nothing changed: park goes its general way. Under LuaJIT this saves
* park's coroutine.running and coroutine.isyieldable, neither of which
* its JIT compiles: each was a trace exit and a stitch per park.
\*-------------------------------------------------------------------------*/
int asok__prim_noteself(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  if (lua_pushthread(L) || !asok__parkable(L)) return 0; /* 4: co */
  lua_pushvalue(L, 4);
  lua_rawget(L, 3);
  if (!lua_isnil(L, -1)) return 0; /* a driver's: park's general way */
  lua_pop(L, 1);
  if (!notewait(L, 1, 4)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  return 1; /* co, at 4 */
}

/* grouptoken reads field k of the select group at 7 as a token into *t:
 * 0 if it is not one (absent, false). */
static int grouptoken(lua_State *L, const char *k, asok_token *t) {
  lua_Number v;
  lua_getfield(L, 7, k);
  v = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
  lua_pop(L, 1);
  if (!(v >= 1 && v < 9007199254740992.0)) return 0;
  *t = (asok_token) v;
  return 1;
}

/* dropnoted cancels token u if waiting (at 3) notes it under the select
 * group at 7, and drops that note: a parked look is no longer delivered,
 * a delivery step has fetched is not dispatched. */
static void dropnoted(lua_State *L, lloop *lp, asok_token u) {
  asok__pushtoken(L, u);
  lua_pushvalue(L, -1);
  lua_rawget(L, 3);
  if (lua_rawequal(L, -1, 7)) {
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawset(L, 3);              /* waiting[u] = nil */
    asok__cancel(lp, u);
  } else {
    lua_pop(L, 2);
  }
}

/* dropgroup ends the waits of the select group at 7, whose select will
 * never retry them (its coroutine dead, or no longer reached by its
 * owner's resume): token t, which step is handling, and every token of
 * the group's block (w.base .. w.base + w.n - 1) and its timeout's
 * (w.stok) that waiting still notes under it (dropnoted). Each stayed
 * parked until its own delivery, and a delivered one for ever.
 * The stack is left as it was. */
static void dropgroup(lua_State *L, lloop *lp, asok_token t) {
  asok_token base, n, stok, i;
  asok__cancel(lp, t);
  if (grouptoken(L, "base", &base) && grouptoken(L, "n", &n) && n <= ASOK_SETMAX)
    for (i = 0; i < n; i++) dropnoted(L, lp, base + i);
  if (grouptoken(L, "stok", &stok)) dropnoted(L, lp, stok);
}

/* wakegroup handles token t (at index 6) of select group w (the table at
 * 7; asok.select with sets, glue/select.lua): marked fired, its coroutine
 * (w.co), if any, taken and resumed once. A group whose select can no
 * longer go on has its waits ended at once (dropgroup), as that select
 * would have ended them: its owner coroutine is dead (closed while it
 * waited), or its select's coroutine (inner, run by a driver, the owner)
 * is, or the owner's resume came back without reaching the select (w.back
 * unset: a driver between them was closed, Lua 5.4, and the select's
 * coroutine is left suspended for whoever resumes it next, which arms its
 * waits anew). Each such token stayed parked until then (a delivered
 * one for ever). Returns the number of values it left on the
 * stack for step to return (0: done): co, nil, failed [, err] where the
 * coroutine was not a suspended one or its resume failed. */
static int wakegroup(lua_State *L, lloop *lp, asok_token t) {
  lua_State *co, *owner, *inner;
  int nret = 0, lost = 0;
  lua_pushboolean(L, 1);
  lua_setfield(L, 7, "fired");
  lua_getfield(L, 7, "inner");    /* the select's coroutine under a driver */
  inner = lua_tothread(L, -1);    /* (anchored by the group at 7) */
  lua_pop(L, 1);
  lua_getfield(L, 7, "owner");    /* 8 */
  lua_getfield(L, 7, "co");       /* 9 */
  owner = lua_tothread(L, 8);
  if (!lua_isnil(L, 9)) {
    lua_pushnil(L);
    lua_setfield(L, 7, "co");
    co = lua_tothread(L, 9);
    if (co != NULL && co == L && defer(lp, t)) { /* see defer */
      lua_pushvalue(L, 9);
      lua_setfield(L, 7, "co");
      lua_pushvalue(L, 6);
      lua_pushvalue(L, 7);
      lua_rawset(L, 3);           /* waiting[t] = w again */
      return 0;
    }
    if (co != NULL && co != L && lua_status(co) == LUA_YIELD) {
      int rc = resumeco(L, co, 0);
      if (rc != LUA_OK && rc != LUA_YIELD) {
        lua_pushvalue(L, 9);
        lua_pushnil(L);
        lua_pushboolean(L, 1);
        lua_xmove(co, L, 1);
        nret = 4;
      } else {
        lua_getfield(L, 7, "back");
        lost = !lua_toboolean(L, -1);
        lua_pop(L, 1);
      }
    } else {
      lua_pushvalue(L, 9);
      lua_pushnil(L);
      lua_pushboolean(L, 0);
      nret = 3;
    }
  }
  if (owner != NULL && (lost || isdead(owner) || (inner != NULL && isdead(inner)))) dropgroup(L, lp, t);
  return nret;
}

/* step(loop, timeout, waiting, blocking): if no ready token is queued
 * and timeout is a number, waits up to timeout seconds (negative: no
 * limit) for a batch; then, for each queued token t in order: waiting[t],
 * if set, is cleared and its coroutine resumed, or its select group woken
 * (wakegroup); else a true blocking[t] becomes false (the blocked call
 * that waits for it sees it); if neither is set, waiting[t] becomes false:
 * delivered before its park (the glue's park and select take it). A native client's operation parked in C
 * (park.c) is retried here first: still waiting, it stays parked
 * (waiting[t] set again); else its coroutine is resumed with the results. Returns nothing once the queue is empty, or
 * at the first token whose coroutine is not a suspended one or whose
 * resume failed: w, t (nil: a select group's coroutine), failed [, err],
 * for the glue's 'other' to handle, in Lua (a call from here would take
 * one more C level: at the C-call limit, the report of a "C stack
 * overflow" would overflow too); the glue then calls step again, with a
 * nil timeout, for the rest of the queue.
 * Raises "asok.select: <err>" if asok_select fails. */
int asok__prim_step(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  int wait = !lua_isnoneornil(L, 2);
  double timeout = wait ? luaL_checknumber(L, 2) : 0;
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  if (lp->loop == NULL) return luaL_argerror(L, 1, "asok loop already freed");
  lua_settop(L, 5);
  if (lp->ndeferred > 0 && lp->qh >= lp->qt) undefer(L, lp);
  if (wait && lp->qh >= lp->qt) {
    int n = asok_select(lp->loop, timeout, lp->q, ASOK_SELECT_BATCH);
    if (n == ASOK_EFORKED) return asok__forked(L);
    if (n < 0) {
      lua_pushfstring(L, "asok.select: %s", asok__errstr(n));
      return lua_error(L);
    }
    lp->qh = 0;
    lp->qt = n;
  }
  while (lp->qh < lp->qt) {
    asok_token t = lp->q[lp->qh++]; /* first: a nested step goes on after it */
    lua_State *co;
    asok__pushtoken(L, t);       /* 6: t */
    lua_pushvalue(L, 6);
    lua_rawget(L, 3);            /* 7: waiting[t] */
    if (lua_isnil(L, 7)) {
      lua_pushvalue(L, 6);
      lua_rawget(L, 4);          /* 8: blocking[t] */
      if (lua_toboolean(L, 8)) {
        lua_pushvalue(L, 6);
        lua_pushboolean(L, 0);
        lua_rawset(L, 4);
      } else if (lua_isnil(L, 8)) {
        /* no one waits for t yet: its operation parked in asok, and a
         * finalizer or hook ran this step before the glue's park noted
         * the coroutine; noted as delivered (false), for that park */
        lua_pushvalue(L, 6);
        lua_pushboolean(L, 0);
        lua_rawset(L, 3);        /* waiting[t] = false */
      }
      lua_settop(L, 5);
      continue;
    }
    if (lua_isboolean(L, 7)) {   /* delivered early already */
      lua_settop(L, 5);
      continue;
    }
    lua_pushvalue(L, 6);
    lua_pushnil(L);
    lua_rawset(L, 3);            /* waiting[t] = nil */
    if (lua_istable(L, 7)) {
      int nret = wakegroup(L, lp, t);
      if (nret > 0) return nret;
      lua_settop(L, 5);
      continue;
    }
    co = lua_tothread(L, 7);
    if (co != NULL && co == L && defer(lp, t)) { /* see defer */
      lua_pushvalue(L, 6);
      lua_pushvalue(L, 7);
      lua_rawset(L, 3);          /* waiting[t] = co again */
      lua_settop(L, 5);
      continue;
    }
    if (co != NULL && co != L && lua_status(co) == LUA_YIELD) {
      /* an operation parked in C (park.c) is retried here, and its
       * coroutine resumed with the results; -1: it waits on */
      int nargs = t >= ASOK_CLOW ? asok__finishop(L, lp, t, co) : 0;
      int rc;
      if (nargs < 0) {
        lua_pushvalue(L, 6);
        lua_pushvalue(L, 7);
        lua_rawset(L, 3);        /* waiting[t] = co again */
        lua_settop(L, 5);
        continue;
      }
      rc = resumeco(L, co, nargs);
      if (rc == LUA_OK || rc == LUA_YIELD) {
        lua_settop(L, 5);
        continue;
      }
      lua_pushvalue(L, 7);
      lua_pushvalue(L, 6);
      lua_pushboolean(L, 1);
      lua_xmove(co, L, 1);       /* the error */
      return 4;
    }
    lua_pushvalue(L, 7);
    lua_pushvalue(L, 6);
    lua_pushboolean(L, 0);
    return 3;
  }
  return 0;
}

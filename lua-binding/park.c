/*=========================================================================*\
* park.c - stream receives and sends, parked in C.
*
* The receive and send of native clients (glue/client.lua) and the glue's
* stream receives and sends on LuaSocket objects' handles (streamreceive
* and streamsend, glue/stream.lua: wrappers, asok.receive, asok.send) call
* these C functions first, on PUC Lua (not under LuaJIT, whose JIT
* compiles the glue's own path). The common case never runs the glue's
* park: the operation ends at once, or it parks here: a record
* (lloop.rec), waiting[t] = the coroutine, lua_yield. When asok_select
* hands the token back, step (step.c) retries the operation from the
* record and resumes the coroutine with the OK marker and the results,
* which the yielded C function then returns (a C function's yield resumes
* as its return, on every Lua).
*
* Where the caller cannot yield at all (the main thread, a non-yieldable C
* boundary) the operation waits here too, blocked (block.c), and ends here.
* The rest goes back to the glue, which does what it did before:
*   TOK                   checks and errors: not asok's stream socket, another
*                         pattern, a prefix, i or j, data not a string;
*                         or no C token left (the glue takes its own);
*   TOK, t [, h]          the operation waits on token t but the
*                         coroutine cannot park here (a driver waits for
*                         it: asok.coroutine, asok.xpcall on 5.1; where
*                         block.c cannot tell that it cannot yield); h:
*                         the number of a native client's handle it waits
*                         on, for the glue's retry (sock.c, asok__handlefor);
*   anything else         (5.1) someone else resumed the parked
*                         coroutine: unpark() hands the glue its token
*                         (and h).
*                         On 5.2+ such a resume retries the operation in
*                         the continuation (resumed), which ends it or
*                         parks it again: the glue never sees it.
* A token handed to the glue by a coroutine (not the main thread, which
* never dies) is noted here in the glue's glueheld[t] = co first, before
* any Lua code runs (hold): the reap gives it back once co is dead. A
* memory error noting it gives the operation up (its token cancelled and
* freed) before it is raised: the operation, queued on its socket with
* nobody to go on with it, held the socket's turn until the reap, and
* the token was never given back.
* Tokens parked here are ASOK_CLOW + i, then ASOK_CBASE + i (binding.h),
* from a LIFO free list, so that the send after a receive reuses the
* receive's token (asok_send's C path wants that).
\*=========================================================================*/
#include <stdlib.h>
#include <string.h>

#include "binding.h"

/* a record handed to the glue (TOK, unpark): held until cfree */
#define CREC_GLUE 3

/* upvalues of the C methods (fastops) */
#define UP_WAIT lua_upvalueindex(1)
#define UP_OK lua_upvalueindex(2)
#define UP_TOK lua_upvalueindex(3)
#define UP_LOOP lua_upvalueindex(4)
#define UP_WAITING lua_upvalueindex(5)
#define UP_PARENTS lua_upvalueindex(6)
#define UP_ERR lua_upvalueindex(7)
#define UP_HELD lua_upvalueindex(8)

/*=========================================================================*\
* Internal function prototypes
\*=========================================================================*/
static int taketok(lloop *lp);
static void puttok(lloop *lp, int i);
static asok_token tokof(int i);
static int indexof(lloop *lp, lua_Number t);
static int fastpattern(lua_State *L, int i, int *pattern, size_t *n);
static int pushreceived(lua_State *L, lloop *lp, int rc, const char *data, size_t len);
static int pushsent(lua_State *L, lsock *s, int rc, size_t sent, long start);
static int pushsentres(lua_State *L, int rc, size_t sent, long start);
static int pushfinished(lua_State *L);
static int park(lua_State *L, lloop *lp, int i, const crec *op);
static int setheld(lua_State *L);
static void hold(lua_State *L, lloop *lp, int i, int held);
static void dropnote(lua_State *L, int held);
#if LUA_VERSION_NUM >= 502
static int resumed(lua_State *L, int i);
static void setwaiting(lua_State *L, asok_token t, int on);
#endif
static int ownedby(lua_State *L, lloop *lp, int i, int waiting);
static int giveback(lua_State *L, lloop *lp, int i, int waiting);
static int isours(lua_State *L, int i);
static int fast_receive(lua_State *L);
static int fast_send(lua_State *L);
static void pushmethod(lua_State *L, lua_CFunction f);
static int prim_fastops(lua_State *L);
static int prim_unpark(lua_State *L);
static int prim_cfree(lua_State *L);
static int prim_cparked(lua_State *L);

/* park primitives, handed to the glue */
const luaL_Reg asok__parkfuncs[] = {
    {"fastops", prim_fastops},
    {"unpark",  prim_unpark},
    {"cfree",   prim_cfree},
    {"cparked", prim_cparked},
    {NULL,      NULL}
};

/*-------------------------------------------------------------------------*\
* Tokens and records
\*-------------------------------------------------------------------------*/
/* taketok returns the index of a free record, held (CREC_GLUE), or -1
 * when ASOK_CMAX are in use or memory is short. */
static int taketok(lloop *lp) {
  int i;
  if (lp->nfree > 0) {
    i = lp->cfree[--lp->nfree];
  } else {
    if (lp->cused == lp->ccap) {
      int cap = lp->ccap > 0 ? lp->ccap * 2 : 256;
      crec *r;
      int *f;
      if (lp->ccap >= ASOK_CMAX) return -1;
      if (cap > ASOK_CMAX) cap = ASOK_CMAX;
      r = (crec *) realloc(lp->rec, (size_t) cap * sizeof(*r));
      if (r == NULL) return -1;
      lp->rec = r;
      f = (int *) realloc(lp->cfree, (size_t) cap * sizeof(*f));
      if (f == NULL) return -1;
      lp->cfree = f;
      memset(r + lp->ccap, 0, (size_t) (cap - lp->ccap) * sizeof(*r));
      lp->ccap = cap;
    }
    i = lp->cused++;
  }
  lp->rec[i].kind = CREC_GLUE;
  return i;
}

/* puttok frees record i and its token (once: a free one is left alone). */
static void puttok(lloop *lp, int i) {
  if (lp->rec[i].kind == 0) return;
  memset(&lp->rec[i], 0, sizeof(lp->rec[i]));
  lp->cfree[lp->nfree++] = i;
}

/* tokof returns the token of record i (binding.h). */
static asok_token tokof(int i) {
  if (i < ASOK_CLOWN) return (asok_token) ASOK_CLOW + (asok_token) i;
  return (asok_token) ASOK_CBASE + (asok_token) i;
}

/* indexof returns the record index of token t, or -1 if t is not one of
 * lp's C tokens. */
static int indexof(lloop *lp, lua_Number t) {
  lua_Number i;
  if (t >= ASOK_CLOW && t < ASOK_CLOW + ASOK_CLOWN) i = t - ASOK_CLOW;
  else if (t >= ASOK_CBASE + ASOK_CLOWN) i = t - ASOK_CBASE;
  else return -1;
  if (!(i < (lua_Number) lp->cused) || i != (lua_Number) (int) i) return -1;
  return (int) i;
}

/* asok__freeparked (binding.h): at the loop's __gc. */
void asok__freeparked(lloop *lp) {
  free(lp->rec);
  free(lp->cfree);
  lp->rec = NULL;
  lp->cfree = NULL;
  lp->cused = lp->ccap = lp->nfree = 0;
}

/*-------------------------------------------------------------------------*\
* Results, as sock.c's receive and send push them
\*-------------------------------------------------------------------------*/
/* fastpattern reads receive's pattern at i when it is nil, "*l...",
 * "*a..." or a number >= 0 (buffer.c's rules, sock.c's count); 0 for
 * anything else (the glue checks it and raises LuaSocket's error). */
static int fastpattern(lua_State *L, int i, int *pattern, size_t *n) {
  switch (lua_type(L, i)) {
  case LUA_TNONE:
  case LUA_TNIL:
    *pattern = ASOK_LINE;
    return 1;
  case LUA_TSTRING: {
    const char *p = lua_tostring(L, i);
    if (p[0] != '*' || (p[1] != 'l' && p[1] != 'a')) return 0;
    *pattern = p[1] == 'l' ? ASOK_LINE : ASOK_ALL;
    return 1;
  }
  case LUA_TNUMBER: {
    double d = (double) lua_tonumber(L, i);
    if (!(d >= 0)) return 0;
#if defined(__x86_64__)
    if (d >= 18446744073709551616.0) *n = 0; /* sock.c: amd64's cast */
    else
#endif
    *n = d >= (double) (SIZE_MAX / 2) ? SIZE_MAX / 2 : (size_t) d;
    *pattern = ASOK_COUNT;
    return 1;
  }
  default:
    return 0;
  }
}

/* pushreceived pushes receive's results for return code rc: data, nil,
 * nil, or nil, err, partial. The data first: it lives in asok's memory
 * until the next call on the loop. Returns 3. */
static int pushreceived(lua_State *L, lloop *lp, int rc, const char *data, size_t len) {
  asok__pushdata(L, lp, data, len);
  if (rc == ASOK_OK) {
    lua_pushnil(L);
    lua_pushnil(L);
    return 3;
  }
  lua_pushnil(L);
  lua_insert(L, -2);
  lua_pushstring(L, asok__errstr(rc));
  lua_insert(L, -2);
  return 3;
}

/* pushsent counts what a finished send of s sent and pushes its results
 * (pushsentres). Returns 3. */
static int pushsent(lua_State *L, lsock *s, int rc, size_t sent, long start) {
  s->sent += sent;
  return pushsentres(L, rc, sent, start);
}

/* pushsentres pushes a finished send's results: last index, nil, nil, or
 * nil, err, last index (LuaSocket's i-based count). Returns 3. */
static int pushsentres(lua_State *L, int rc, size_t sent, long start) {
  if (rc != ASOK_OK) {
    lua_pushnil(L);
    lua_pushstring(L, asok__errstr(rc));
    lua_pushnumber(L, (lua_Number) ((long) sent + start - 1));
  } else {
    lua_pushnumber(L, (lua_Number) ((long) sent + start - 1));
    lua_pushnil(L);
    lua_pushnil(L);
  }
  return 3;
}

/*-------------------------------------------------------------------------*\
* Parking
\*-------------------------------------------------------------------------*/
/* A parked C method's frame keeps arguments 1 and 2 (the socket, a send's
 * data: record i points into both) while it waits: PARKTOP. On Lua 5.2+
 * it yields with a continuation (resumed), which sees the resume before
 * any Lua code runs: someone else's resume (coroutine.resume by user code)
 * retries the operation there, and it ends or parks again, so that no
 * record outlives the frame that anchors its data, whatever the glue's
 * code meets next (a debug hook's error, a value whose __eq raises). On
 * 5.1 the C function returns the resume's values and the glue calls
 * unpark: a hook's error there kills the coroutine (5.1 cannot yield
 * across pcall, so none catches it), and step ignores a dead coroutine's
 * record. */
#define PARKTOP 2
#if LUA_VERSION_NUM >= 503
static int parkedk(lua_State *L, int status, lua_KContext ctx) {
  (void) status;
  return resumed(L, (int) ctx);
}
#define YIELDPARKED(L, i) lua_yieldk(L, 1, (lua_KContext) (i), parkedk)
#elif LUA_VERSION_NUM == 502
static int parkedk(lua_State *L) {
  int ctx = 0;
  lua_getctx(L, &ctx);
  return resumed(L, ctx);
}
#define YIELDPARKED(L, i) lua_yieldk(L, 1, (i), parkedk)
#else
#define YIELDPARKED(L, i) lua_yield(L, 1)
#endif

/* setheld(glueheld, t, co): glueheld[t] = co (hold runs it protected). */
static int setheld(lua_State *L) {
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 0;
}

/* hold notes record i's token, which the glue takes over, as the running
 * coroutine's in the glue's glueheld (at stack index held), unless that is
 * the main thread. The note may need memory: it runs protected, and an
 * error there gives the operation up first (cancelled in asok, so that
 * its socket's queue goes on; the record freed), then is raised. The call
 * runs with L's debug hook off, as finishop's: its events are asok's, and
 * a hook's error at setheld's return came after the note, which then
 * named a token given back (the next operation's: the reap, once the
 * coroutine was dead, cancelled that one and freed its record, and its
 * coroutine waited for ever). A note made anyway is dropped with the
 * token (an existing key: no allocation). A hook set meanwhile is kept,
 * as block.c's abandon keeps it. Four stack slots, within the
 * LUA_MINSTACK a C function is given. */
static void hold(lua_State *L, lloop *lp, int i, int held) {
  asok_savedhook hk;
  int rc;
  if (lua_pushthread(L)) {               /* the main thread: not noted */
    lua_pop(L, 1);
    return;
  }
  lua_pop(L, 1);
  asok__hookoff(L, &hk);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->holdref); /* made once: 5.1's pushcfunction allocates */
  lua_pushvalue(L, held);
  asok__pushtoken(L, tokof(i));
  lua_pushthread(L);
  rc = lua_pcall(L, 3, 0, 0);
  asok__hookon(L, &hk);
  if (rc == 0) return;
  asok__cancel(lp, tokof(i));
  puttok(lp, i);
  asok__pushtoken(L, tokof(i));
  dropnote(L, held);
  lua_error(L);
}

/* dropnote clears held[t] (held: a stack index), t the key on top of the
 * stack (popped), where it is set: an existing key, no allocation (5.1 to
 * 5.3 would add one for nil). Two stack slots more. */
static void dropnote(lua_State *L, int held) {
  lua_pushvalue(L, -1);
  lua_rawget(L, held);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_rawset(L, held);
}

/* park parks the operation op of record i (its token parked in asok) for
 * the running coroutine: waiting[t] = it, then a yield of WAIT (what the
 * glue's park yields). Where the coroutine cannot park here it returns
 * TOK, t to the glue instead, and the number of a native client's handle
 * it waits on. */
static int park(lua_State *L, lloop *lp, int i, const crec *op) {
  asok_token t = tokof(i);
  int ismain;
  lua_settop(L, PARKTOP);
  ismain = lua_pushthread(L);
  if (ismain || !asok__canyield(L)) goto glue;
  lua_pushvalue(L, -1);
  lua_rawget(L, UP_PARENTS);             /* a driver resumes it instead */
  if (!lua_isnil(L, -1)) {
    lua_pop(L, 1);
    goto glue;
  }
  lua_pop(L, 1);
  asok__pushtoken(L, t);
  lua_insert(L, -2);
  lua_rawset(L, UP_WAITING);             /* waiting[t] = co */
  lp->rec[i] = *op;
  lp->rec[i].co = L;
  lua_pushvalue(L, UP_WAIT);
  return YIELDPARKED(L, i);
glue:
  lua_pop(L, 1);
  hold(L, lp, i, UP_HELD);
  lua_pushvalue(L, UP_TOK);
  asok__pushtoken(L, t);
  return 2 + asok__pushwaited(L, op->s, op->gen); /* for sock.c's retry */
}

/* ownedby says whether record i holds an operation the running coroutine
 * parked here and still waits on: waiting[t] (waiting: the table's index)
 * is it, so not a stale record at a reused address, nor one step has
 * taken. */
static int ownedby(lua_State *L, lloop *lp, int i, int waiting) {
  crec *r;
  int mine;
  if (i < 0 || i >= lp->cused) return 0;
  r = &lp->rec[i];
  if ((r->kind != CREC_RECEIVE && r->kind != CREC_SEND) || r->co != L) return 0;
  asok__pushtoken(L, tokof(i));
  lua_rawget(L, waiting);
  mine = lua_tothread(L, -1) == L;
  lua_pop(L, 1);
  return mine;
}

/* giveback hands record i's operation, parked by the running coroutine,
 * back to the glue (someone else resumed it; 5.1, prim_unpark): its record
 * becomes the glue's, waiting[t] is cleared (waiting: the table's stack
 * index; a delivery of t already queued is then skipped by step, and the
 * glue's retry parks t anew). Pushes t, and the number of a native
 * client's handle it waits on (for sock.c's retry), and returns how many
 * values it pushed, or returns 0 when record i is not the running
 * coroutine's parked operation. */
static int giveback(lua_State *L, lloop *lp, int i, int waiting) {
  crec *r = &lp->rec[i];
  lsock *s = r->s;
  unsigned long long gen = r->gen;
  if (!ownedby(L, lp, i, waiting)) return 0;
  memset(r, 0, sizeof(*r));
  r->kind = CREC_GLUE;
  asok__pushtoken(L, tokof(i));
  lua_pushvalue(L, -1);
  lua_pushnil(L);
  lua_rawset(L, waiting);                /* waiting[t] = nil */
  return 1 + (s != NULL ? asok__pushwaited(L, s, gen) : 0);
}

#if LUA_VERSION_NUM >= 502
/* resumed: the parked method's coroutine resumed (5.2+, the continuation
 * of record i's yield). Step resumes it with OK or ERR and the results:
 * they are the method's. Anyone else's resume retries the operation here,
 * as step would (asok__finishop): done, the method returns its results;
 * else it parks again, yielding WAIT to that resumer, as the glue's park
 * does. No Lua code runs in between: an error there (a debug hook's, a
 * value's __eq in the glue's test) would leave the operation queued in
 * asok, its socket's turn held, with no one to go on with it. */
static int resumed(lua_State *L, int i) {
  lloop *lp = (lloop *) lua_touserdata(L, UP_LOOP);
  int n = lua_gettop(L) - PARKTOP;
  if (n >= 1 && (lua_rawequal(L, PARKTOP + 1, UP_OK) || lua_rawequal(L, PARKTOP + 1, UP_ERR)))
    return n;
  lua_settop(L, PARKTOP);
  if (!ownedby(L, lp, i, UP_WAITING)) {  /* not parked here (any more): the glue's */
    lua_pushvalue(L, UP_TOK);
    return 1;
  }
  /* waiting[t] = nil first, as step clears it before its retry: making
   * the results may run a finalizer in this coroutine, whose own call may
   * take t (given back by then) and wait on it blocking */
  setwaiting(L, tokof(i), 0);
  n = asok__finishop(L, lp, tokof(i), L);
  if (n < 0) {                           /* it waits on (nothing ran): parked again */
    setwaiting(L, tokof(i), 1);
    lua_pushvalue(L, UP_WAIT);
    return YIELDPARKED(L, i);
  }
  if (n == 0) {                          /* not found: cannot be, after ownedby */
    lua_pushvalue(L, UP_TOK);
    return 1;
  }
  return n;
}

/* setwaiting sets waiting[t] to the running coroutine (on) or nil. */
static void setwaiting(lua_State *L, asok_token t, int on) {
  asok__pushtoken(L, t);
  if (on) lua_pushthread(L);
  else lua_pushnil(L);
  lua_rawset(L, UP_WAITING);
}
#endif

/* finished is an operation step finished, for pushfinished. */
typedef struct finished {
  lloop *lp;
  int receive, rc;
  const char *data; /* receive: the result, in asok's memory */
  size_t len;       /* receive: its length; send: what was sent */
  long start;       /* send: its first index */
} finished;

/* pushfinished(f): the OK marker and the results of finished operation f
 * (a light userdata). Run protected by asok__finishop: an error making
 * them (memory, a finalizer's) must not escape from step, which has
 * already taken the data and given the token back. Returns 4. */
static int pushfinished(lua_State *L) {
  finished *f = (finished *) lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, f->lp->okref);
  if (f->receive) return 1 + pushreceived(L, f->lp, f->rc, f->data, f->len);
  return 1 + pushsentres(L, f->rc, f->len, f->start);
}

/* asok__finishop (binding.h): step's retry of a C-parked operation. The
 * results are made on L's stack and moved to co's (lua_xmove makes no
 * garbage): a collection step they start, and its finalizers, run in L,
 * not in the suspended coroutine. They are made under lua_pcall, with L's
 * debug hook off (its events, and its errors, are L's, and the call is
 * asok's): an error making them, a memory error or a finalizer's (the
 * data taken from asok, the token given back), resumes co with the ERR
 * marker and the error instead, which the glue raises in co, as
 * LuaSocket's receive raises what its allocation meets in its caller
 * (its data is lost there too); nothing is left waiting. */
int asok__finishop(lua_State *L, lloop *lp, asok_token t, lua_State *co) {
  int i = lp->rec != NULL ? indexof(lp, (lua_Number) t) : -1;
  crec *r;
  asok_sock *h;
  finished f;
  asok_savedhook hk;
  int rc;
  if (i < 0) return 0;
  r = &lp->rec[i];
  if ((r->kind != CREC_RECEIVE && r->kind != CREC_SEND) || r->co != co) return 0;
  h = asok__cutshort(r->s, r->gen); /* not a handle setfd gave the client since */
  luaL_checkstack(L, 4, NULL);
  lua_checkstack(co, 4);                 /* a C function's LUA_MINSTACK holds them */
  f.lp = lp;
  f.receive = r->kind == CREC_RECEIVE;
  f.data = NULL;
  f.len = 0;
  f.start = r->start;
  if (f.receive) {
    f.rc = h != NULL ? asok_receive(h, r->pattern, r->n, t, &f.data, &f.len) : asok__gone(r->s, t);
    f.rc = asok__cutrc(r->s, r->gen, f.rc, r->pattern == ASOK_ALL); /* its fd closed under it */
    if (f.rc == ASOK_EWAIT) return -1;
  } else {
    lsock *s = r->s;
    f.rc = h != NULL ? asok_send(h, r->data, r->n, t, &f.len) : asok__gone(s, t);
    f.rc = asok__cutrc(s, r->gen, f.rc, 0);
    s->sending = f.rc == ASOK_EWAIT;
    if (f.rc == ASOK_EWAIT) return -1;
    s->sent += f.len;
  }
  puttok(lp, i);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->pushref); /* made once: 5.1's pushcfunction allocates */
  lua_pushlightuserdata(L, &f);
  asok__hookoff(L, &hk);                 /* the call's hook events are L's own */
  rc = lua_pcall(L, 1, 4, 0);
  asok__hookon(L, &hk);
  if (rc != 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->errref);
    lua_insert(L, -2);                   /* ERR, the error */
    lua_pushnil(L);
    lua_pushnil(L);
  }
  lua_xmove(L, co, 4);
  return 4;
}

/* isours says whether the value at i is a native client or the handle of
 * a LuaSocket stream object (the glue's streamreceive and streamsend). */
static int isours(lua_State *L, int i) {
  int tag = asok__udtag(L, i);
  return tag == ASOK_TAG_CLIENT || tag == ASOK_TAG_SOCK;
}

/*-------------------------------------------------------------------------*\
* receive(s [, pattern [, prefix]]): sock.c's receive, parking here; s is a
* native client or a LuaSocket stream object's handle
\*-------------------------------------------------------------------------*/
static int fast_receive(lua_State *L) {
  lloop *lp = (lloop *) lua_touserdata(L, UP_LOOP);
  const char *data = NULL;
  size_t n = 0, len = 0;
  int pattern, i, rc;
  lsock *s;
  asok_sock *h;
  crec op;
  if (!isours(L, 1) || !lua_isnoneornil(L, 3) || !fastpattern(L, 2, &pattern, &n)) {
    lua_pushvalue(L, UP_TOK);
    return 1;
  }
  s = (lsock *) lua_touserdata(L, 1);
  h = asok__readh(s);
  if (h == NULL) {
    lua_pushvalue(L, UP_OK);
    return 1 + pushreceived(L, lp, asok__nohandle(s), NULL, 0);
  }
  if (lp->loop == NULL || (i = taketok(lp)) < 0) {
    lua_pushvalue(L, UP_TOK);
    return 1;
  }
  rc = asok_receive(h, pattern, n, tokof(i), &data, &len);
  if (rc != ASOK_EWAIT) rc = asok__onkept(s, h, rc, pattern == ASOK_ALL);
  while (rc == ASOK_EWAIT) {             /* a caller that cannot yield waits here */
    unsigned long long gen = asok__genof(s, h); /* (before a setfd in the wait) */
    int b = asok__block(L, lp, tokof(i));
    if (b == 0) break;                   /* it can: parked below */
    if (b < 0) return lua_error(L);      /* abandoned: record i given back */
    h = asok__cutshort(s, gen);          /* the retry's handle, as step's (finishop) */
    rc = h != NULL ? asok_receive(h, pattern, n, tokof(i), &data, &len) : asok__gone(s, tokof(i));
    rc = asok__cutrc(s, gen, rc, pattern == ASOK_ALL);
  }
  if (rc != ASOK_EWAIT) {
    puttok(lp, i);
    lua_pushvalue(L, UP_OK);
    return 1 + pushreceived(L, lp, rc, data, len);
  }
  memset(&op, 0, sizeof(op));
  op.kind = CREC_RECEIVE;
  op.s = s;
  op.gen = asok__genof(s, h);
  op.pattern = pattern;
  op.n = n;
  return park(L, lp, i, &op);
}

/*-------------------------------------------------------------------------*\
* send(s, data): sock.c's send of a whole string, parking here (s: as
* receive's)
\*-------------------------------------------------------------------------*/
static int fast_send(lua_State *L) {
  lloop *lp = (lloop *) lua_touserdata(L, UP_LOOP);
  size_t size = 0, sent = 0;
  const char *data;
  int i, rc;
  lsock *s;
  asok_sock *h;
  crec op;
  if (!isours(L, 1) || lua_type(L, 2) != LUA_TSTRING || !lua_isnoneornil(L, 3) ||
      !lua_isnoneornil(L, 4)) {
    lua_pushvalue(L, UP_TOK);
    return 1;
  }
  s = (lsock *) lua_touserdata(L, 1);
  data = lua_tolstring(L, 2, &size);
  lua_pushvalue(L, UP_OK);
  if (size == 0) return 1 + pushsent(L, s, ASOK_OK, 0, 1); /* i > j: nothing to send */
  h = asok__readh(s);
  if (h == NULL || asok__keptonly(s, h)) {
    s->sending = 0;
    return 1 + pushsent(L, s, asok__nohandle(s), 0, 1);
  }
  if (lp->loop == NULL || (i = taketok(lp)) < 0) {
    lua_pushvalue(L, UP_TOK);
    return 1;
  }
  rc = asok_send(h, data, size, tokof(i), &sent);
  s->sending = rc == ASOK_EWAIT;
  while (rc == ASOK_EWAIT) {             /* a caller that cannot yield waits here */
    unsigned long long gen = asok__genof(s, h); /* (before a setfd in the wait) */
    int b = asok__block(L, lp, tokof(i));
    if (b == 0) break;                   /* it can: parked below */
    if (b < 0) return lua_error(L);      /* abandoned: record i given back */
    h = asok__cutshort(s, gen);          /* the retry's handle, as step's (finishop) */
    rc = h != NULL ? asok_send(h, data, size, tokof(i), &sent) : asok__gone(s, tokof(i));
    rc = asok__cutrc(s, gen, rc, 0);
    s->sending = rc == ASOK_EWAIT;
  }
  if (rc != ASOK_EWAIT) {
    puttok(lp, i);
    return 1 + pushsent(L, s, rc, sent, 1);
  }
  lua_pop(L, 1);                         /* OK */
  memset(&op, 0, sizeof(op));
  op.kind = CREC_SEND;
  op.s = s;
  op.gen = asok__genof(s, h);
  op.data = data;
  op.n = size;
  op.start = 1;
  return park(L, lp, i, &op);
}

/*-------------------------------------------------------------------------*\
* Glue primitives
\*-------------------------------------------------------------------------*/
/* pushmethod pushes f with fastops' upvalues (UP_*): WAIT (2), OK (6),
 * TOK (7), the loop (1), waiting (3), parents (4), ERR (8), glueheld (5). */
static void pushmethod(lua_State *L, lua_CFunction f) {
  static const int from[] = {2, 6, 7, 1, 3, 4, 8, 5};
  int k;
  for (k = 0; k < 8; k++) lua_pushvalue(L, from[k]);
  lua_pushcclosure(L, f, 8);
}

/* fastops(loop, WAIT, waiting, parents, glueheld): the C methods receive
 * and send, and their OK, TOK and ERR markers (private tables; step
 * resumes with OK). glueheld: the glue's table of the C tokens it holds
 * for a coroutine (hold). Nothing under LuaJIT: its JIT compiles the
 * glue's receive and send, and a C method measured no faster there
 * (bench/README.md). */
static int prim_fastops(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  if (asok__isjit()) return 0; /* LuaJIT compiles the glue's path: no gain */
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  luaL_checktype(L, 5, LUA_TTABLE);
  lua_settop(L, 5);
  lua_newtable(L);                       /* 6: OK */
  lua_newtable(L);                       /* 7: TOK */
  lua_newtable(L);                       /* 8: ERR */
  if (lp->okref == LUA_NOREF) {
    lua_pushvalue(L, 6);
    lp->okref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 8);
    lp->errref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, pushfinished);
    lp->pushref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, setheld);
    lp->holdref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {                               /* one set of markers per loop */
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->okref);
    lua_replace(L, 6);
    lua_rawgeti(L, LUA_REGISTRYINDEX, lp->errref);
    lua_replace(L, 8);
  }
  pushmethod(L, fast_receive);           /* 9 */
  pushmethod(L, fast_send);              /* 10 */
  lua_pushvalue(L, 6);
  lua_pushvalue(L, 7);
  lua_pushvalue(L, 8);
  return 5;                              /* receive, send, OK, TOK, ERR */
}

/* unpark(loop, waiting, glueheld): the token of the running coroutine's
 * operation parked in C, now the glue's (someone else resumed it), noted
 * in glueheld as the coroutine's (hold), and the number of a native
 * client's handle it waits on (for sock.c's retry); or nothing.
 * waiting[t] is cleared, as the glue's park clears it when someone else
 * resumes: a delivery of t already queued is then skipped by step, and
 * the glue's retry parks t anew. O(C tokens): only a foreign resume pays
 * it. */
static int prim_unpark(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  int i;
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  if (lp->holdref == LUA_NOREF) return luaL_error(L, "asok: unpark before fastops");
  for (i = 0; i < lp->cused; i++) {
    int n = giveback(L, lp, i, 2);
    if (n > 0) {
      hold(L, lp, i, 3);
      return n;
    }
  }
  return 0;
}

/* cfree(loop, t [, parked [, glueheld]]): gives C token t back (the
 * glue's operation with it ended, or was abandoned); any other token, or
 * a free one, is ignored. With parked true, only an operation parked in
 * C is (its coroutine no longer waits there), not a token the glue holds.
 * With glueheld (the glue's notes of the tokens it holds, hold), t's note
 * goes in the same call: no hook's error between the two (a call or
 * return event of a C function) can leave the note of a token given back
 * (the reap, once its coroutine was dead, gave back the token of the
 * operation that took it next) or a token held with no note (it never
 * came back). */
static int prim_cfree(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  int i = lp->rec != NULL ? indexof(lp, luaL_checknumber(L, 2)) : -1;
  if (lua_istable(L, 4)) {
    lua_settop(L, 4);
    lua_pushvalue(L, 2);
    dropnote(L, 4);
  }
  if (i < 0) return 0;
  if (lua_toboolean(L, 3) && lp->rec[i].kind != CREC_RECEIVE && lp->rec[i].kind != CREC_SEND)
    return 0;
  puttok(lp, i);
  return 0;
}

/* cparked(loop): C tokens in use (parked or held by the glue), for tests. */
static int prim_cparked(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  lua_pushinteger(L, lp->cused - lp->nfree);
  return 1;
}

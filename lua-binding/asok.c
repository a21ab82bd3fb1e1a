/*=========================================================================*\
* asok.c - luaopen_asok: the module entry point, the per-state loop and
* the reactor primitives (sleep, clock; step.c has step) of the asok Lua
* binding.
*
* The user-facing module is written in Lua (glue/*.lua, embedded at build
* time as asok_glue.h): it keeps the retry loop and the coroutine
* bookkeeping where yielding works on every Lua version. This file hands it
* a table of C primitives; none of them yields.
\*=========================================================================*/
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

#include "binding.h"
#include "asok_glue.h" /* generated: asok_glue_chunks[], the glue/*.lua chunks */

#define ASOK_MODULE_KEY "asok.module" /* registry: this state's module */

/*=========================================================================*\
* Internal function prototypes
\*=========================================================================*/
static lloop *checkloop(lua_State *L, int i);
static int loop_gc(lua_State *L);
static int loop_tostring(lua_State *L);
static int prim_cancel(lua_State *L);
static int prim_unqueue(lua_State *L);
static int prim_handles(lua_State *L);
static int prim_pickups(lua_State *L);
static int prim_rxmem(lua_State *L);
static int prim_cmem(lua_State *L);
static int prim_loop(lua_State *L);
static int prim_meta(lua_State *L);
static int prim_newsock(lua_State *L);
static int prim_now(lua_State *L);
static int prim_sleep(lua_State *L);
static void newmeta(lua_State *L, const char *name, const luaL_Reg *meta);

LUALIB_API int luaopen_asok(lua_State *L) __attribute__((visibility("default")));

/* reactor primitives, handed to the glue (WAIT marker as upvalue 1) */
static const luaL_Reg loopfuncs[] = {
    {"cancel",  prim_cancel},
    {"unqueue", prim_unqueue},
    {"handles", prim_handles},
    {"pickups", prim_pickups},
    {"rxmem",   prim_rxmem},
    {"cmem",    prim_cmem},
    {"copies",  asok__prim_copies},
    {"loop",    prim_loop},
    {"meta",    prim_meta},
    {"newsock", prim_newsock},
    {"resolve", asok__prim_resolve},
    {"service", asok__prim_service},
    {"now",     prim_now},
    {"waitset", asok__prim_waitset},
    {"unwait",  asok__prim_unwait},
    {"polls",   asok__prim_polls},
    {"step",    asok__prim_step},
    {"note",    asok__prim_note},
    {"noteself", asok__prim_noteself},
    {"sleep",   prim_sleep},
    {NULL,      NULL}
};

/* loop userdata metamethods */
static const luaL_Reg loopmeta[] = {
    {"__gc",       loop_gc},
    {"__tostring", loop_tostring},
    {NULL,         NULL}
};

/*=========================================================================*\
* Shared helpers (binding.h)
\*=========================================================================*/
/* asok__forked (binding.h): raises asok_strerror(ASOK_EFORKED) as it is,
 * from whichever call of the glue met it (sleep, the reactor's step): the
 * text says what is wrong, a function name would not be the user's. */
int asok__forked(lua_State *L) {
  lua_pushstring(L, asok_strerror(ASOK_EFORKED));
  return lua_error(L);
}

/* asok__errstr: asok_strerror, except that a handle gone with its loop
 * reads as LuaSocket's "closed". */
const char *asok__errstr(int rc) {
  return rc == ASOK_EBADHANDLE ? "closed" : asok_strerror(rc);
}

/* asok__checktoken: tokens are positive integers below 2^53 (exact in a
 * Lua 5.1 double), chosen by the glue. */
asok_token asok__checktoken(lua_State *L, int i) {
  lua_Number t = luaL_checknumber(L, i);
  luaL_argcheck(L, t >= 1 && t < 9007199254740992.0, i, "invalid token");
  return (asok_token) t;
}

/* asok__pushtoken (binding.h): an integer on 5.3+, a double before. */
void asok__pushtoken(lua_State *L, asok_token t) {
#if LUA_VERSION_NUM >= 503
  lua_pushinteger(L, (lua_Integer) t);
#else
  lua_pushnumber(L, (lua_Number) t);
#endif
}

/* asok__pushwait: the WAIT marker is upvalue 1 of every primitive. */
int asok__pushwait(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  return 1;
}

/*=========================================================================*\
* Loop
\*=========================================================================*/
/* checkloop returns the loop userdata at i (raises if it is not one). */
static lloop *checkloop(lua_State *L, int i) {
  lloop *lp = (lloop *) luaL_checkudata(L, i, ASOK_LOOP_MT);
  if (lp->loop == NULL) luaL_argerror(L, i, "asok loop already freed");
  return lp;
}

/* loop(): this state's loop userdata, created on first use and anchored in
 * the registry so that it outlives every socket until lua_close. */
static int prim_loop(lua_State *L) {
  lloop *lp;
  int rc;
  lua_getfield(L, LUA_REGISTRYINDEX, ASOK_LOOP_KEY);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  lp = (lloop *) lua_newuserdata(L, sizeof(lloop));
  lp->loop = NULL;
  lp->qh = lp->qt = 0;
  lp->rec = NULL;
  lp->cfree = NULL;
  lp->cused = lp->ccap = lp->nfree = 0;
  lp->okref = lp->errref = lp->pushref = lp->holdref = LUA_NOREF;
  lp->copies = NULL;
  lp->ncopies = lp->ccopies = 0;
  lp->deferred = NULL;
  lp->ndeferred = lp->cdeferred = 0;
  lp->reqs = NULL;
  lp->pfds = NULL;
  lp->toks = NULL;
  lp->slot = NULL;
  lp->cwait = 0;
  lp->fdpolls = 0;
  lp->blockref = lp->unblockref = LUA_NOREF;
  lp->ownersref = LUA_NOREF;
  luaL_getmetatable(L, ASOK_LOOP_MT);
  lua_setmetatable(L, -2);
  rc = asok_loop_new(&lp->loop);
  if (rc != ASOK_OK) {
    lp->loop = NULL;
    return luaL_error(L, "asok: cannot create loop: %s", asok_strerror(rc));
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, ASOK_LOOP_KEY);
  return 1;
}

/* __gc of the loop: asok_loop_free releases its sockets too. */
static int loop_gc(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  if (lp->loop != NULL) asok_loop_free(lp->loop);
  lp->loop = NULL;
  asok__freeparked(lp);
  asok__freecopies(lp);
  free(lp->deferred);
  lp->deferred = NULL;
  lp->ndeferred = lp->cdeferred = 0;
  free(lp->reqs);
  free(lp->pfds);
  free(lp->toks);
  free(lp->slot);
  lp->reqs = NULL;
  lp->pfds = NULL;
  lp->toks = NULL;
  lp->slot = NULL;
  lp->cwait = 0;
  return 0;
}

/* __tostring of the loop. */
static int loop_tostring(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  lua_pushfstring(L, "asok.loop%s: %p", lp->loop ? "" : "{freed}", (void *) lp);
  return 1;
}

/* newsock(loop, fd [, t, k]): registers LuaSocket's fd (not owned) with
 * asok. Returns the socket userdata (a closed one for fd -1, LuaSocket's
 * closed or not yet created socket), or nil, err. With t and k, a
 * registered one is stored as t[k] first (raw): the glue records it with
 * no Lua code in between, which a hook's error could cut short (the fd
 * registered with epoll by a handle nobody holds). k should be in t
 * already (false), so that the store needs no memory. */
static int prim_newsock(lua_State *L) {
  lloop *lp = checkloop(L, 1);
  int fd = (int) luaL_checkinteger(L, 2);
  int store = !lua_isnoneornil(L, 3);
  lsock *s;
  if (store) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 4);
  s = (lsock *) lua_newuserdata(L, sizeof(lsock));
  int rc = ASOK_OK;
  s->h = NULL;
  s->lp = lp;
  s->fd = fd;
  s->block = -1;
  s->total = -1;
  s->received = 0;
  s->sent = 0;
  s->birthday = asok__now();
  s->owns = 0;
  s->family = 0;
  s->closed_h = NULL;
  s->hgen = s->closed_gen = 0;
  s->fdgone = 0;
  s->gonegen = 0;
  s->sending = 0;
  s->paused = NULL;
  s->npaused = s->cpaused = 0;
  s->rates[0] = s->rates[1] = 0;
  s->dev = s->ino = 0;
  if (fd >= 0) {
    struct stat st;
    if (fstat(fd, &st) == 0) s->dev = st.st_dev, s->ino = st.st_ino;
  }
  luaL_getmetatable(L, ASOK_SOCK_MT);
  lua_setmetatable(L, -2);
  if (fd >= 0) rc = asok__wrapfd(lp->loop, fd, &s->h); /* else: closed */
  if (rc != ASOK_OK) {
    s->h = NULL;
    lua_pushnil(L);
    lua_pushstring(L, asok__errstr(rc));
    return 2;
  }
  if (store) {
    lua_pushvalue(L, 4);
    lua_pushvalue(L, 5);
    lua_rawset(L, 3);
  }
  return 1;
}

/*=========================================================================*\
* Reactor primitives
\*=========================================================================*/
/* sleep(loop, seconds, token [, own]): parks token for seconds. Returns
 * WAIT; with own (asok.sleep's own sleep, not a wait of the glue's), true
 * once the sleep is over where the caller cannot yield (it waited here:
 * block.c). */
static int prim_sleep(lua_State *L) {
  lloop *lp = checkloop(L, 1);
  double secs = luaL_checknumber(L, 2);
  asok_token tok = asok__checktoken(L, 3);
  int rc, b;
  luaL_argcheck(L, !isnan(secs), 2, "number expected, got NaN");
  rc = asok_sleep(lp->loop, secs, tok);
  if (rc == ASOK_EFORKED) return asok__forked(L);
  if (rc != ASOK_OK) return luaL_error(L, "asok.sleep: %s", asok_strerror(rc));
  if (!lua_toboolean(L, 4) || (b = asok__block(L, lp, tok)) == 0) return asok__pushwait(L);
  if (b < 0) return lua_error(L);
  lua_pushboolean(L, 1);
  return 1;
}

/* cancel(loop, token): forgets a parked token (abandoned operation),
 * and its delivery if step fetched one it has not dispatched yet. */
static int prim_cancel(lua_State *L) {
  lloop *lp = checkloop(L, 1);
  asok__cancel(lp, asok__checktoken(L, 2));
  return 0;
}

/* unqueue(loop, token): drops token's delivery if step fetched one it has
 * not dispatched yet (a token asok no longer holds: a select's own, its
 * wait answered at once). */
static int prim_unqueue(lua_State *L) {
  lloop *lp = checkloop(L, 1);
  asok__unqueue(lp, asok__checktoken(L, 2));
  return 0;
}

/* handles(): asok_debug_handles, the live asok handles of the process
 * (asok._debug.handles, for leak checks in tests). */
static int prim_handles(lua_State *L) {
  lua_pushinteger(L, asok_debug_handles());
  return 1;
}

/* rxmem(): asok_debug_rxmem, the bytes of receive memory allocated in the
 * process (asok._debug.rxmem, for leak checks in tests). */
static int prim_rxmem(lua_State *L) {
  lua_pushinteger(L, (lua_Integer) asok_debug_rxmem());
  return 1;
}

/* cmem(): the bytes of C heap (malloc) in use in the process, every arena
 * and mmap'd block counted (glibc's mallinfo2), or nothing where there is
 * no mallinfo2 (asok._debug.cmem: tests that the binding's C memory does
 * not grow with something; Lua's own objects count where its allocator
 * is malloc's, as lua.c's is, not LuaJIT's own). */
static int prim_cmem(lua_State *L) {
#ifdef HAVE_MALLINFO2
  struct mallinfo2 m = mallinfo2();
  lua_pushinteger(L, (lua_Integer) (m.uordblks + m.hblkhd));
  return 1;
#else
  (void) L;
  return 0;
#endif
}

/* pickups(): asok_debug_in_c, this thread's calls answered in C: the
 * receives answered by the retry asok_select armed, the sends after them
 * and the receives after them that parked (asok._debug.pickups, for tests
 * and benchmarks). */
static int prim_pickups(lua_State *L) {
  uint64_t takes = 0, sends = 0, parks = 0;
  asok_debug_in_c(&takes, &sends, &parks);
  lua_pushinteger(L, (lua_Integer)takes);
  lua_pushinteger(L, (lua_Integer)sends);
  lua_pushinteger(L, (lua_Integer)parks);
  return 3;
}

/* meta(name): the registry metatable of a LuaSocket class, or nil. */
static int prim_meta(lua_State *L) {
  luaL_getmetatable(L, luaL_checkstring(L, 1));
  return 1;
}

/* asok__now: CLOCK_MONOTONIC in seconds. */
double asok__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* now(): a monotonic clock in seconds (for asok.select's deadline). */
static int prim_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number) asok__now());
  return 1;
}

/*=========================================================================*\
* Module
\*=========================================================================*/
/* newmeta creates (or reuses) the registry metatable name with meta. */
static void newmeta(lua_State *L, const char *name, const luaL_Reg *meta) {
  luaL_newmetatable(L, name);
  luaL_setfuncs(L, meta, 0);
  lua_pushliteral(L, "asok internal");
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

/* luaopen_asok checks the library version, builds the primitives table
 * and runs the embedded glue chunks in order, each as chunk(M, P, C): the
 * module they fill, their shared private state, the primitives. One module per
 * lua_State: a second load returns the same table. */
LUALIB_API int luaopen_asok(lua_State *L) {
  unsigned v = asok_version();
  size_t i;
  if ((v >> 16) != ASOK_VERSION_MAJOR)
    return luaL_error(L, "asok: libasok %s is incompatible with this module "
                      "(built for %s): major versions differ",
                      asok_version_string(), ASOK_VERSION_STRING);
  lua_getfield(L, LUA_REGISTRYINDEX, ASOK_MODULE_KEY);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  newmeta(L, ASOK_LOOP_MT, loopmeta);
  newmeta(L, ASOK_SOCK_MT, asok__sockmeta);
  asok__newclientmeta(L);
  asok__tagmeta(L, ASOK_SOCK_MT, ASOK_TAG_SOCK);
  asok__tagmeta(L, ASOK_CLIENT_MT, ASOK_TAG_CLIENT);
  lua_newtable(L);                      /* M: the module */
  lua_newtable(L);                      /* M, P: the chunks' private state */
  lua_newtable(L);                      /* M, P, C: the primitives */
  lua_newtable(L);                      /* M, P, C, WAIT */
  lua_setfield(L, -2, "WAIT");
  lua_getfield(L, -1, "WAIT");
  luaL_setfuncs(L, loopfuncs, 1);
  lua_getfield(L, -1, "WAIT");
  luaL_setfuncs(L, asok__sockfuncs, 1);
  lua_getfield(L, -1, "WAIT");
  luaL_setfuncs(L, asok__udpfuncs, 1);
  lua_getfield(L, -1, "WAIT");
  luaL_setfuncs(L, asok__throttlefuncs, 1);
  lua_getfield(L, -1, "WAIT");
  luaL_setfuncs(L, asok__clientfuncs, 1);
  luaL_setfuncs(L, asok__familyfuncs, 0);
  luaL_setfuncs(L, asok__owntimeoutfuncs, 0);
  luaL_setfuncs(L, asok__hookfuncs, 0);
  luaL_setfuncs(L, asok__fdasidefuncs, 0);
  luaL_setfuncs(L, asok__ownzerofuncs, 0);
  luaL_setfuncs(L, asok__parkfuncs, 0);
  luaL_setfuncs(L, asok__blockfuncs, 0);
  asok__addyieldable(L);
  lua_pushstring(L, asok_version_string());
  lua_setfield(L, -2, "libversion");
  for (i = 0; i < sizeof(asok_glue_chunks) / sizeof(asok_glue_chunks[0]); i++) {
    if (luaL_loadbuffer(L, (const char *) asok_glue_chunks[i].data,
                        asok_glue_chunks[i].size, asok_glue_chunks[i].name) != 0)
      return lua_error(L);
    lua_pushvalue(L, -4);
    lua_pushvalue(L, -4);
    lua_pushvalue(L, -4);
    lua_call(L, 3, 0);                  /* chunk(M, P, C) */
  }
  lua_pop(L, 2);                        /* M */
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, ASOK_MODULE_KEY);
  return 1;
}

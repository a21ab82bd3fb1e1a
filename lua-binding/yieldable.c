/*=========================================================================*\
* yieldable.c - coroutine.isyieldable for Lua 5.1 and 5.2, which lack it.
*
* Lua 5.3+ and LuaJIT tell the glue whether the running coroutine can
* yield (coroutine.isyieldable). On 5.1 and 5.2 a yield across a C
* boundary - pcall on 5.1, socket.protect (socket.http, smtp, ftp), a
* metamethod on 5.1, table.sort's comparator, a require'd chunk - raises
* "attempt to yield across ... C-call boundary" and kills the coroutine.
* With this probe the glue blocks there instead (it runs the reactor until
* the operation is done, as in the main thread), so such code works, with
* other coroutines served meanwhile.
*
* The probe reads the counter that lua_yield itself checks: on 5.1
* nCcalls > baseCcalls, on 5.2 nny > 0. Neither is in the public API, so
* the probe mirrors the head of PUC Lua's struct lua_State (unchanged
* through 5.1.0-5.1.5 and 5.2.0-5.2.4) and checks every read against the
* public API first (stack bounds, lua_gettop, the CallInfo array). Where
* the layout does not match (LuaJIT, which has coroutine.isyieldable, a
* patched or 32-bit NaN-packed build), no probe is installed and the glue
* keeps its old rule: inside a coroutine, yield.
\*=========================================================================*/
#include <dlfcn.h>
#include <stddef.h>

#include "binding.h"

#if LUA_VERSION_NUM == 501 || LUA_VERSION_NUM == 502

#define PROBE_EXTRA_STACK 5 /* EXTRA_STACK of lstate.h (5.1 and 5.2) */
#define PROBE_MAXCCALLS 256 /* above LUAI_MAXCCALLS (200) plus its error margin */

/* tvalue mirrors TValue without the NaN trick: Value and a type tag. */
typedef struct tvalue {
  union { void *p; double n; int b; } value;
  int tt;
} tvalue;

#if LUA_VERSION_NUM == 501
/* state51 mirrors the head of 5.1's struct lua_State (lstate.h). */
typedef struct state51 {
  void *next; unsigned char tt, marked;  /* CommonHeader */
  unsigned char status;
  tvalue *top, *base;
  void *l_G, *ci;
  const void *savedpc;
  tvalue *stack_last, *stack;
  void *end_ci, *base_ci;
  int stacksize, size_ci;
  unsigned short nCcalls, baseCcalls;
} state51;

/* ci51 mirrors 5.1's CallInfo: only its size is used (end_ci's check). */
typedef struct ci51 {
  tvalue *base, *func, *top;
  const void *savedpc;
  int nresults, tailcalls;
} ci51;

/* layoutok checks state51 against what the public API says of L. */
static int layoutok(lua_State *L) {
  const state51 *s = (const state51 *) L;
  if (s->stack == NULL || s->stacksize <= PROBE_EXTRA_STACK) return 0;
  if (s->stack_last != s->stack + s->stacksize - PROBE_EXTRA_STACK - 1) return 0;
  if (s->base < s->stack || s->top < s->base || s->top > s->stack_last) return 0;
  if (s->top - s->base != lua_gettop(L)) return 0;
  if (s->base_ci == NULL || s->size_ci < 2) return 0;
  if ((const ci51 *) s->end_ci != (const ci51 *) s->base_ci + (s->size_ci - 1)) return 0;
  if ((const ci51 *) s->ci < (const ci51 *) s->base_ci ||
      (const ci51 *) s->ci > (const ci51 *) s->end_ci) return 0;
  return s->baseCcalls <= s->nCcalls && s->nCcalls <= PROBE_MAXCCALLS;
}

/* canyield is lua_yield's own test (ldo.c): no C call since the resume. */
static int canyield(lua_State *L) {
  const state51 *s = (const state51 *) L;
  return s->nCcalls <= s->baseCcalls;
}
#else
/* state52 mirrors the head of 5.2's struct lua_State (lstate.h). */
typedef struct state52 {
  void *next; unsigned char tt, marked;  /* CommonHeader */
  unsigned char status;
  tvalue *top;
  void *l_G;
  struct { tvalue *func, *top; } *ci;    /* CallInfo starts func, top */
  const void *oldpc;
  tvalue *stack_last, *stack;
  int stacksize;
  unsigned short nny, nCcalls;
} state52;

/* layoutok checks state52 against what the public API says of L. */
static int layoutok(lua_State *L) {
  const state52 *s = (const state52 *) L;
  if (s->stack == NULL || s->stacksize <= PROBE_EXTRA_STACK || s->ci == NULL) return 0;
  if (s->stack_last != s->stack + s->stacksize - PROBE_EXTRA_STACK) return 0;
  if (s->top < s->stack || s->top > s->stack_last) return 0;
  if (s->ci->func < s->stack || s->ci->func >= s->top) return 0;
  if (s->top - (s->ci->func + 1) != lua_gettop(L)) return 0;
  return s->nCcalls <= PROBE_MAXCCALLS;
}

/* canyield is lua_yieldk's own test (ldo.c): no non-yieldable call. */
static int canyield(lua_State *L) {
  return ((const state52 *) L)->nny == 0;
}
#endif

/* isyieldable([co]): true when the running coroutine (or coroutine co,
 * one that resumed the running one: its counters are as at that resume)
 * can yield; on a thread whose layout does not check out, true (the glue's
 * rule without the probe). */
static int prim_isyieldable(lua_State *L) {
  lua_State *co = lua_isthread(L, 1) ? lua_tothread(L, 1) : L;
  /* a suspended one (a driver parked in asok while someone else resumes
   * the coroutine it drives) can yield again once asok resumes it; its
   * counters say otherwise (5.2's lua_resume leaves nny at 1) */
  if (co != L && lua_status(co) == LUA_YIELD) lua_pushboolean(L, 1);
  else lua_pushboolean(L, !layoutok(co) || canyield(co));
  return 1;
}

/* asok__addyieldable sets C.isyieldable in the primitives table at the
 * top of the stack when this interpreter is PUC Lua 5.1/5.2 and its
 * lua_State checks out on L. */
void asok__addyieldable(lua_State *L) {
  if (asok__isjit()) return;
  if (!layoutok(L)) return;
  lua_pushcfunction(L, prim_isyieldable);
  lua_setfield(L, -2, "isyieldable");
}

/* asok__canyield (binding.h): the probe (lua_yield's own test); 0 where
 * the layout does not check out or in LuaJIT (unknown). */
int asok__canyield(lua_State *L) {
  if (asok__isjit()) return 0; /* unknown: LuaJIT's layout is not probed */
  return layoutok(L) && canyield(L);
}

/* jityieldable is LuaJIT's lua_isyieldable (2.1 exports it; looked up
 * once), or NULL. */
typedef int (*isyieldable_fn)(lua_State *L);
static isyieldable_fn jityieldable(void) {
  static int known;
  static isyieldable_fn f;
  if (!known) {
    f = (isyieldable_fn) dlsym(RTLD_DEFAULT, "lua_isyieldable");
    known = 1;
  }
  return f;
}

/* asok__parkable (binding.h): on LuaJIT its lua_isyieldable (what
 * coroutine.isyieldable says), on PUC 5.1 and 5.2 the probe (what
 * C.isyieldable says where the glue has it); 0 where neither is known. */
int asok__parkable(lua_State *L) {
  int ismain = lua_pushthread(L);
  lua_pop(L, 1);
  if (ismain) return 0;
  if (asok__isjit()) {
    isyieldable_fn f = jityieldable();
    return f != NULL && f(L);
  }
  return asok__canyield(L);
}

/* asok__cannotyield (binding.h): the main thread; on LuaJIT its own
 * lua_isyieldable (coroutine.isyieldable's), on PUC 5.1 and 5.2 the probe
 * where the layout checks out. */
int asok__cannotyield(lua_State *L) {
  int ismain = lua_pushthread(L);
  lua_pop(L, 1);
  if (ismain) return 1;
  if (asok__isjit()) {
    isyieldable_fn f = jityieldable();
    return f != NULL && !f(L);
  }
  return layoutok(L) && !canyield(L);
}

#endif

/* asok__isjit (binding.h): LuaJIT exports luaJIT_setmode (looked up once). */
int asok__isjit(void) {
#if LUA_VERSION_NUM == 501
  static int known, isjit;
  if (!known) {
    isjit = dlsym(RTLD_DEFAULT, "luaJIT_setmode") != NULL;
    known = 1;
  }
  return isjit;
#else
  return 0;
#endif
}

#if !(LUA_VERSION_NUM == 501 || LUA_VERSION_NUM == 502)

/* 5.3+ has coroutine.isyieldable. */
void asok__addyieldable(lua_State *L) { (void) L; }

/* asok__canyield (binding.h): lua_isyieldable. */
int asok__canyield(lua_State *L) { return lua_isyieldable(L); }

/* asok__parkable (binding.h): lua_isyieldable (coroutine.isyieldable's
 * answer; false in the main thread). */
int asok__parkable(lua_State *L) { return lua_isyieldable(L); }

/* asok__cannotyield (binding.h): lua_isyieldable, false in the main
 * thread too. */
int asok__cannotyield(lua_State *L) { return !lua_isyieldable(L); }

#endif

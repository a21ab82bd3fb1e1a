/*=========================================================================*\
* pushdata.c - received bytes made a Lua string, safe from finalizers.
*
* What asok_receive and asok_receivefrom return lives in asok's memory
* until the next call on the loop (asok.h). On Lua 5.1, 5.2 and LuaJIT,
* lua_pushlstring runs a collection step before it copies, and a step runs
* finalizers; a finalizer that calls asok (a receive, asok.sleep, a
* blocking call: each runs the loop) may reuse that memory, and the string
* made would hold another socket's bytes. There the bytes are copied
* first into memory only this push uses: its C stack when they are few
* (a line), else one of the loop userdata's copy buffers (a push inside a
* finalizer of another push takes another one). 5.3 and 5.4 copy before
* they collect: the bytes go straight into the string.
*
* A push that an error ends (out of memory; a finalizer's error, which 5.1
* and LuaJIT pass on) never gives its buffer back. Each buffer notes the
* C stack address of the push that holds it; the stack grows down, so a
* push further in (a finalizer's) runs below every push still under way,
* and a buffer noted at or below the address of a new push was left by
* one that is gone: it is taken back then, not leaked.
\*=========================================================================*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

#if LUA_VERSION_NUM <= 502

/* ONSTACK: results up to this size are copied on the C stack */
#define ONSTACK 4096

/* OFFPAGE: a copy buffer starts this far past a page. What it copies from
 * (a long result in asok's buffers) starts on a page (capi/alloc.go,
 * alignFrom), and a memcpy whose destination lies a few bytes to a few
 * dozen past its source modulo 4096 runs several times slower on x86 (4
 * KiB aliasing: the stores and the loads after them look alike): half a
 * page keeps this copy, and the next one into the Lua string (wherever
 * the host's allocator put it), far from that (bench/README.md, "Where
 * the stream cell's extra CPU went"). */
#define OFFPAGE 2048

/* bigcopy returns the index of a copy buffer of lp's of at least n bytes
 * for the push whose C stack address is frame, noted as held by it, or -1
 * if out of memory. An index: a push inside this one may move the array. */
static int bigcopy(lloop *lp, size_t n, uintptr_t frame) {
  struct pushcopy *c = NULL;
  int i;
  for (i = 0; i < lp->ncopies; i++) {
    struct pushcopy *e = &lp->copies[i];
    if (e->frame != 0 && e->frame <= frame) e->frame = 0; /* its push is gone */
    if (e->frame == 0 && (c == NULL || (c->cap < n && e->cap > c->cap))) c = e;
  }
  if (c == NULL) {
    struct pushcopy *more =
        (struct pushcopy *) asok__grow(lp->copies, &lp->ccopies, lp->ncopies, sizeof *more, 2);
    if (more == NULL) return -1;
    lp->copies = more;
    c = &lp->copies[lp->ncopies++];
    c->p = NULL;
    c->base = NULL;
    c->cap = 0;
    c->frame = 0;
  }
  if (c->cap < n) { /* (its bytes are scratch: nothing to keep) */
    void *base;
    if (posix_memalign(&base, 4096, n + OFFPAGE) != 0) return -1;
    free(c->base);
    c->base = base;
    c->p = (char *) base + OFFPAGE;
    c->cap = n;
  }
  c->frame = frame;
  return (int) (c - lp->copies);
}

/*-------------------------------------------------------------------------*\
* asok__pushdata (binding.h; inline on 5.3 and 5.4)
\*-------------------------------------------------------------------------*/
void asok__pushdata(lua_State *L, lloop *lp, const char *data, size_t len) {
  if (len == 0) {
    lua_pushliteral(L, "");
  } else if (len <= ONSTACK) {
    char copy[ONSTACK];
    memcpy(copy, data, len);
    lua_pushlstring(L, copy, len);
  } else {
    char here;
    int i = lp != NULL ? bigcopy(lp, len, (uintptr_t) &here) : -1;
    char *copy;
    if (i < 0) { /* out of memory: as 5.3 does, unguarded */
      lua_pushlstring(L, data, len);
      return;
    }
    copy = lp->copies[i].p;
    memcpy(copy, data, len);
    lua_pushlstring(L, copy, len);
    lp->copies[i].frame = 0;
  }
}

#endif

/*-------------------------------------------------------------------------*\
* copies(loop): the copy buffers lp has (asok._debug.copies, for tests:
* bounded by how deep pushes nest, errors or not)
\*-------------------------------------------------------------------------*/
int asok__prim_copies(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  lua_pushinteger(L, (lua_Integer) lp->ncopies);
  return 1;
}

/*-------------------------------------------------------------------------*\
* asok__freecopies (binding.h)
\*-------------------------------------------------------------------------*/
void asok__freecopies(lloop *lp) {
  int i;
  for (i = 0; i < lp->ncopies; i++) free(lp->copies[i].base);
  free(lp->copies);
  lp->copies = NULL;
  lp->ncopies = lp->ccopies = 0;
}

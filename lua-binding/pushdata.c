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
* (a line), else the loop userdata's spare buffer, or a malloc'd one when
* the spare is in use by a push further up (a finalizer's). 5.3 and 5.4
* copy before they collect: the bytes go straight into the string.
\*=========================================================================*/
#include <stdlib.h>
#include <string.h>

#include "binding.h"

#if LUA_VERSION_NUM <= 502

/* ONSTACK: results up to this size are copied on the C stack */
#define ONSTACK 4096

/* bigcopy returns memory for n bytes of lp's, for one push: lp's spare
 * buffer (grown as needed) unless a push further up holds it (*mine then
 * says to free the memory after the push), or NULL if out of memory. */
static char *bigcopy(lloop *lp, size_t n, int *mine) {
  *mine = 0;
  if (!lp->sparebusy) {
    if (lp->sparecap < n) {
      char *p = (char *) realloc(lp->spare, n);
      if (p == NULL) return NULL;
      lp->spare = p;
      lp->sparecap = n;
    }
    lp->sparebusy = 1;
    return lp->spare;
  }
  *mine = 1;
  return (char *) malloc(n);
}

#endif

/*-------------------------------------------------------------------------*\
* asok__pushdata (binding.h)
\*-------------------------------------------------------------------------*/
void asok__pushdata(lua_State *L, lloop *lp, const char *data, size_t len) {
#if LUA_VERSION_NUM <= 502
  if (len == 0) {
    lua_pushliteral(L, "");
  } else if (len <= ONSTACK) {
    char copy[ONSTACK];
    memcpy(copy, data, len);
    lua_pushlstring(L, copy, len);
  } else {
    int mine;
    char *copy = lp != NULL ? bigcopy(lp, len, &mine) : NULL;
    if (copy == NULL) { /* out of memory: as 5.3 does, unguarded */
      lua_pushlstring(L, data, len);
      return;
    }
    memcpy(copy, data, len);
    /* an error in the push (out of memory; a finalizer's error, which
     * 5.1 and LuaJIT pass on) leaves the spare marked busy, so later
     * pushes malloc their own copy, or leaks this one: rare, never
     * wrong */
    lua_pushlstring(L, copy, len);
    if (mine) free(copy);
    else lp->sparebusy = 0;
  }
#else
  (void) lp;
  lua_pushlstring(L, len > 0 ? data : "", len);
#endif
}

/*-------------------------------------------------------------------------*\
* asok__freespare (binding.h)
\*-------------------------------------------------------------------------*/
void asok__freespare(lloop *lp) {
  free(lp->spare);
  lp->spare = NULL;
  lp->sparecap = 0;
  lp->sparebusy = 0;
}

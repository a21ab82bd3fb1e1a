/* oomhost.c - runs a Lua script in a state whose allocator can be told to
 * fail, for tests/oom/test_oom.lua: asok in a Lua state that runs out of
 * memory.
 *
 * usage: oomhost_<abi> script.lua
 * The script gets two globals: oom_arm(n, k), after which the (n+1)th
 * growing allocation and the k-1 after it fail (k consecutive failures:
 * Lua 5.2+ retries a failed allocation once after an emergency
 * collection), and oom_disarm(). Exit status: 0 if the script ran to its
 * end, 1 if it raised, 2 on bad usage; a panic aborts.
 */
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static int armed;
static long left, failing;

/* alloc is the state's allocator: realloc, except that once armed, a
 * growing request fails when left has run out, failing times. */
static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void) ud;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (armed && (ptr == NULL || nsize > osize)) {
    if (left > 0) {
      left--;
    } else if (failing > 0) {
      failing--;
      return NULL;
    }
  }
  return realloc(ptr, nsize);
}

static int oom_arm(lua_State *L) {
  left = (long) luaL_checknumber(L, 1);
  failing = (long) luaL_checknumber(L, 2);
  armed = 1;
  return 0;
}

static int oom_disarm(lua_State *L) {
  (void) L;
  armed = 0;
  return 0;
}

static int panic(lua_State *L) {
  fprintf(stderr, "oomhost: PANIC: %s\n", lua_tostring(L, -1));
  abort();
  return 0;
}

int main(int argc, char **argv) {
  lua_State *L;
  int rc;
  if (argc != 2) {
    fprintf(stderr, "usage: %s script.lua\n", argv[0]);
    return 2;
  }
  L = lua_newstate(alloc, NULL);
  if (L == NULL) return 2;
  lua_atpanic(L, panic);
  luaL_openlibs(L);
  lua_pushcfunction(L, oom_arm);
  lua_setglobal(L, "oom_arm");
  lua_pushcfunction(L, oom_disarm);
  lua_setglobal(L, "oom_disarm");
  rc = luaL_loadfile(L, argv[1]);
  if (rc == 0) rc = lua_pcall(L, 0, 0, 0);
  if (rc != 0) fprintf(stderr, "oomhost: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
  armed = 0;
  lua_close(L);
  return rc == 0 ? 0 : 1;
}

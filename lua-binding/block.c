/*=========================================================================*\
* block.c - the wait of an operation whose caller cannot yield.
*
* Where the running code cannot yield (the main thread; a coroutine inside
* a C boundary that yields do not cross: a gsub callback, pcall on 5.1)
* an operation that must wait blocks, as LuaSocket's would, running the
* reactor meanwhile (the glue's blockwait: step until its token comes
* back). The primitives that start such operations (sock.c's receive,
* send, wait and pause, the datagram calls of udp.c, asok.sleep's sleep,
* park.c's C methods) wait through asok__block when asok answers
* ASOK_EWAIT, then retry the operation themselves. No Lua code of the
* caller runs between the operation's start and the protected wait, nor
* between the wait and the retry, so no debug hook's error there (lua.c's
* Ctrl-C, caught by the program) can leave the operation queued in asok,
* holding its socket's turn for ever: an error raised in the wait itself
* abandons the operation before it goes on. The glue's park still blocks
* where this cannot tell: a coroutine that could yield, run by a driver
* that cannot (asok.coroutine, asok.xpcall on 5.1, from the main thread).
\*=========================================================================*/
#include "binding.h"

/*=========================================================================*\
* Internal function prototypes
\*=========================================================================*/
static void abandon(lua_State *L, lloop *lp, asok_token t);
static int prim_blocker(lua_State *L);

/* block primitives, handed to the glue */
const luaL_Reg asok__blockfuncs[] = {
    {"blocker", prim_blocker},
    {NULL,      NULL}
};

/* abandon gives up the operation of token t after an error cut its wait
 * short: cancelled in asok first, in C (the socket's turn goes on
 * whatever happens next), then the glue's unblock (its marks in waiting
 * and blocking, a small or C token given back) with L's hook off, so that
 * a hook that raises again cannot cut that short too. A failure of
 * unblock itself (out of memory, out of C levels) is dropped: the error
 * on top of the stack, the one that cut the wait short, is what the
 * caller raises. A hook set meanwhile (lua.c's SIGINT handler sets one)
 * is kept. */
static void abandon(lua_State *L, lloop *lp, asok_token t) {
  asok_savedhook hk;
  asok__cancel(lp, t);
  if (lp->unblockref == LUA_NOREF) return;
  asok__hookoff(L, &hk);
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->unblockref);
  asok__pushtoken(L, t);
  if (lua_pcall(L, 1, 0, 0) != 0) lua_pop(L, 1);
  asok__hookon(L, &hk);
}

/* asok__block (binding.h). Two stack slots, within the LUA_MINSTACK a C
 * function is given. */
int asok__block(lua_State *L, lloop *lp, asok_token t) {
  if (lp == NULL || lp->blockref == LUA_NOREF || !asok__cannotyield(L)) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, lp->blockref);
  asok__pushtoken(L, t);
  if (lua_pcall(L, 1, 0, 0) == 0) return 1;
  abandon(L, lp, t);
  return -1;
}

/* blocker(loop, blockwait, unblock): the glue's blocked wait of a token
 * (blockwait(t): runs the reactor until t comes back) and its clean-up
 * after an error (unblock(t)), kept in the registry for asok__block. */
static int prim_blocker(lua_State *L) {
  lloop *lp = (lloop *) luaL_checkudata(L, 1, ASOK_LOOP_MT);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  lua_settop(L, 3);
  luaL_unref(L, LUA_REGISTRYINDEX, lp->unblockref);
  lp->unblockref = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_unref(L, LUA_REGISTRYINDEX, lp->blockref);
  lp->blockref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

/*=========================================================================*\
* throttle.c - the throttling primitive of the asok Lua binding.
*
* throttle(s, "r"|"w", bps): asok_throttle on the socket userdata (bps
* checked by the glue: nil/0 lifts the limit). Returns true, or nil, err.
\*=========================================================================*/
#include "binding.h"

/*=========================================================================*\
* Internal function prototypes
\*=========================================================================*/
static int sock_throttle(lua_State *L);

/* throttling primitives, handed to the glue (WAIT marker as upvalue 1) */
const luaL_Reg asok__throttlefuncs[] = {
    {"throttle", sock_throttle},
    {NULL,       NULL}
};

/*-------------------------------------------------------------------------*\
* throttle(s, dir, bps): limits receives ("r") or sends ("w") of s to bps
* bytes per second; 0 or nil lifts the limit.
\*-------------------------------------------------------------------------*/
static int sock_throttle(lua_State *L) {
  static const char *const dirs[] = {"r", "w", NULL};
  lsock *s = asok__checksock(L, 1);
  int dir = luaL_checkoption(L, 2, NULL, dirs) == 0 ? ASOK_READ : ASOK_WRITE;
  lua_Number bps = luaL_optnumber(L, 3, 0);
  int rc = ASOK_ECLOSED;
  luaL_argcheck(L, bps >= 0, 3, "non-negative number expected");
  if (s->h != NULL && s->lp != NULL && s->lp->loop != NULL)
    rc = asok_throttle(s->h, dir, (double) bps);
  if (rc == ASOK_OK) s->rates[dir == ASOK_READ ? 0 : 1] = (double) bps;
  if (rc != ASOK_OK) {
    lua_pushnil(L);
    lua_pushstring(L, asok__errstr(rc));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

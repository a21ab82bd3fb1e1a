/*=========================================================================*\
* hookoff.c - L's debug hook off around a step of asok's own.
*
* Some steps must not be cut short by a hook's error (lua.c's Ctrl-C) nor
* show the program hook events of asok's own calls: block.c's abandon,
* park.c's hold and push, fdaside.c, ownzero.c. They turn L's hook off
* and put it back after; a hook set meanwhile (lua.c's SIGINT handler
* sets one) is kept, not overwritten.
\*=========================================================================*/
#include "binding.h"

/* asok__hookoff (binding.h) */
void asok__hookoff(lua_State *L, asok_savedhook *h) {
  h->hook = lua_gethook(L);
  h->mask = h->count = 0;
  if (h->hook == NULL) return;
  h->mask = lua_gethookmask(L);
  h->count = lua_gethookcount(L);
  lua_sethook(L, NULL, 0, 0);
}

/* asok__hookon (binding.h) */
void asok__hookon(lua_State *L, const asok_savedhook *h) {
  if (h->hook != NULL && lua_gethook(L) == NULL) lua_sethook(L, h->hook, h->mask, h->count);
}

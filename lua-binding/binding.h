/*=========================================================================*\
* binding.h - internal declarations shared by the asok Lua binding's C files.
* Everything here is hidden: the module exports luaopen_asok only.
*
* The C primitives never yield (cqueues' rule). Every operation takes a
* token chosen by the Lua glue (glue/*.lua); when asok answers ASOK_EWAIT
* the C function returns the private WAIT marker (upvalue 1 of every
* function) and the glue parks the coroutine until asok_select hands the
* token back. The exceptions: the receive and send methods of native
* clients park in C themselves (park.c) and step retries them (step.c);
* where the caller cannot yield, the primitives wait themselves (block.c).
\*=========================================================================*/
#ifndef ASOK_BINDING_H
#define ASOK_BINDING_H

#include <poll.h>
#include <stdint.h>

#include <lua.h>
#include <lauxlib.h>

#include "asok.h"
#include "compat.h"

#pragma GCC visibility push(hidden)

#define ASOK_LOOP_MT "asok.loop"  /* metatable of the loop userdata */
#define ASOK_SOCK_MT "asok.sock"  /* metatable of the socket userdata */
#define ASOK_CLIENT_MT "asok.client" /* metatable of native accepted clients */
#define ASOK_LOOP_KEY "asok.loop.instance" /* registry: this state's loop */

#define ASOK_SELECT_BATCH 256 /* tokens fetched per asok_select (step.c) */

/* Tokens of the operations parked in C (park.c), for record i of
 * lloop.rec (i < ASOK_CMAX): ASOK_CLOW + i for the first ASOK_CLOWN, where
 * asok's token table is an array (core/tokens.go: below 2^17), between the
 * glue's small tokens (below 2^16) and its newtoken's (from 2^17); then
 * ASOK_CBASE + i, above every token the glue makes, exact in a 5.1 double. */
#define ASOK_CLOW 65536
#define ASOK_CLOWN 65536
#define ASOK_CBASE 4503599627370496.0 /* 2^52 */
#define ASOK_CMAX (1 << 20)

/* crec is a native client's receive or send parked in C (park.c): what
 * step needs to retry it for the coroutine co and resume co with its
 * results. s and data are anchored on co's stack (the arguments of the
 * yielded C method) while kind is not 0. */
typedef struct crec {
  lua_State *co;
  unsigned long long gen; /* the number of the handle it waits on (lsock's
                           * hgen; a native client's changes with setfd:
                           * asok__cutshort) */
  struct lsock *s;
  const char *data; /* a send's data, its i-th byte on */
  size_t n;         /* a receive's count (ASOK_COUNT), a send's length */
  long start;       /* a send's i (LuaSocket's result counts from it) */
  int kind;         /* 0: free; CREC_RECEIVE; CREC_SEND */
  int pattern;      /* a receive's ASOK_LINE, ASOK_ALL or ASOK_COUNT */
} crec;

#define CREC_RECEIVE 1
#define CREC_SEND 2

/* lloop is the loop userdata: one per lua_State, anchored in the registry,
 * freed by __gc (loop set to NULL afterwards). q[qh .. qt-1] are the ready
 * tokens asok_select handed out that step has not dispatched yet.
 * rec[0 .. cused-1] are the records of C tokens handed out so far (park.c),
 * cfree[0 .. nfree-1] the indices of those given back (a stack: the send
 * after a receive takes the receive's token, as asok_send's C path wants);
 * okref is the registry reference of the OK marker step resumes with,
 * errref that of the ERR marker (with a memory error that kept step from
 * making an operation's results: the glue raises it in the coroutine),
 * pushref that of the C function that makes them, run protected;
 * holdref that of the one that notes a C token the glue takes over
 * (park.c's hold), run protected too.
 * copies[0 .. ncopies-1] (of ccopies; malloc'd, freed at __gc) are where
 * a large result is copied before it becomes a string on 5.1, 5.2 and
 * LuaJIT (pushdata.c). */
typedef struct lloop {
  asok_loop *loop;
  int qh, qt;
  asok_token q[ASOK_SELECT_BATCH];
  crec *rec;
  int *cfree;
  int cused, ccap, nfree;
  int okref, errref, pushref, holdref;
  struct pushcopy *copies;
  int ncopies, ccopies;
  /* tokens step handed out while their coroutine was the one running the
   * step (a hook or a finalizer between its park's note and its yield):
   * dispatched again by a later step, once it has yielded (step.c) */
  asok_token *deferred;
  int ndeferred, cdeferred;
  /* asok.select's waits of a whole set (waitset.c): the requests and
   * pollfds of its last call, room for cwait of each (malloc'd, freed at
   * __gc); fdpolls counts the poll(2)s it made itself (asok._debug.polls) */
  asok_waitreq *reqs;
  struct pollfd *pfds;
  asok_token *toks; /* (the tokens unwait cancels) */
  int *slot;        /* (where each entry's answer is) */
  int cwait;
  uint64_t fdpolls;
  /* registry references of the glue's blockwait and unblock (block.c),
   * LUA_NOREF until the glue hands them over */
  int blockref, unblockref;
  /* registry reference of the glue's fdowners (fd -> the asok.sock or
   * native client watching it; core.lua), LUA_NOREF until the glue hands
   * it over: client.c records a client setfd wrapped there, and a
   * client's close finds there the other object's handle on its fd */
  int ownersref;
} lloop;

/* ASOK_SETMAX bounds the entries of one asok.select (waitset.c) */
#define ASOK_SETMAX (1 << 28)

/* pushcopy: a copy buffer of cap bytes at p, held by the push whose C
 * stack address is frame (0: free) */
struct pushcopy {
  char *p;      /* where the bytes go: base plus half a page (pushdata.c) */
  void *base;   /* what free(3) takes */
  size_t cap;
  uintptr_t frame;
};

/* lsock is the socket userdata. h is NULL once freed; lp points at the
 * state's loop userdata, which outlives it (registry anchor) or, during
 * lua_close, is at least still in memory with lp->loop NULL. */
typedef struct lsock {
  asok_sock *h;
  lloop *lp;
  int fd;       /* the fd it was wrapped with (LuaSocket's) */
  double block; /* asok timeouts, LuaSocket's two modes */
  double total;
  size_t received; /* getstats(): + asok__received(); sent: as counted */
  size_t sent;     /* (size_t as LuaSocket's: they wrap around) */
  double birthday; /* asok__now() at creation (or per setstats) */
  int owns;        /* 1: an asok.client, which closes fd (client.c) */
  int family;      /* an asok.client's AF_INET or AF_INET6 */
  int sending;         /* a send of it returned "wait" and has not ended */
  double rates[2];     /* an asok.client's throttles (bytes/s; receive,
                        * send; 0: none), for the next handle setfd or a
                        * reconnect gives it (a wrapper's are the glue's) */
  unsigned long long dev, ino; /* fd's socket when wrapped (fstat; ino 0:
                                * unknown): tells it from a new socket that
                                * LuaSocket made on the same fd number */
  asok_sock *closed_h; /* an asok.client's handle closed while a send
                        * waited or data was buffered: kept (closed) for
                        * that send's retry (what it had sent) and for
                        * receives of the buffered data, as LuaSocket's
                        * buffer outlives its close; freed at __gc */
  asok_token *paused;  /* sleeps bound to the socket (pause(), accepts
                        * backing off after EMFILE): its close makes these
                        * tokens ready at once; npaused of cpaused in use
                        * (malloc'd, freed at __gc) */
  int npaused, cpaused;
  int wraperr;         /* an asok.client that setfd gave an fd asok cannot
                        * register (a bad fd, epoll refusing it): why (an
                        * ASOK_* code or -errno); 0 otherwise */
  unsigned long long hgen;       /* the number of h among the handles an
                                  * asok.client has had (each release
                                  * counts one), for asok__cutshort */
  unsigned long long closed_gen; /* that of closed_h */
  int fdgone;          /* an asok.client whose fd another LuaSocket object
                        * (given it by setfd) closed (client.c's fdgone),
                        * until its setfd or close: the number is not its
                        * own any more (maybe another socket's by then),
                        * so its close and shutdown leave it alone; its
                        * new calls fail as LuaSocket's on the closed fd
                        * (wraperr: EBADF) */
  unsigned long long gonegen;    /* with fdgone: 1 + the number of the
                                  * handle that close cut short (0: none),
                                  * whose waiters end as LuaSocket's retry
                                  * on the closed fd (asok__cutrc) */
} lsock;

/* A native client's operation that waits through the glue (sock.c's
 * receive and send, park.c handing one over) goes on, after a setfd gave
 * the client a new handle, with the handle it waited on (ended as at a
 * close), not the new one. That handle travels with the operation: the
 * WAIT answer (TOK and the token, for one park.c hands over) carries its
 * number among the client's handles (lsock's hgen), and the glue passes
 * it back with each retry. The client keeps nothing per operation, so a
 * park costs the same whatever else waits on the client, and an operation
 * abandoned while it waited (coroutine.close) leaves nothing behind. A
 * number, not the handle's address: once the quarantine of freed handles
 * (capi/handles.go) lets that address go, a new handle of the client may
 * get it; and LuaJIT before its 2020 full-range lightuserdata rejects a
 * pointer past 47 bits (arm64's heap) as a light userdata. */

/* asok__handlefor: the handle the call of an operation on s goes on with,
 * given the number of the handle its last WAIT answer named (argument i:
 * nil for a new operation; a number that asok__pushwaited pushed; raises
 * on anything else): s's (asok__readh), unless s is a native client and
 * the operation waited: then asok__cutshort's for that number, which
 * goes to *gen (for asok__cutrc), and *waited is 1 (else 0). */
asok_sock *asok__handlefor(lua_State *L, lsock *s, int i, int *waited,
                           unsigned long long *gen);
/* asok__genof returns the number of handle h of s (asok__readh's: its
 * live one or the closed one it kept), for asok__cutshort. */
unsigned long long asok__genof(lsock *s, asok_sock *h);
/* asok__pushwaited pushes, for a native client s, the number gen of the
 * handle an operation on it waits on (for asok__handlefor), and returns
 * 1; nothing for another socket (0). */
int asok__pushwaited(lua_State *L, lsock *s, unsigned long long gen);
/* asok__cutrc returns the code an operation of s that waited on the
 * handle numbered gen ends with, given rc, its retry's (all: an ASOK_ALL
 * receive): rc, unless that handle was closed because another object
 * closed s's fd (lsock's fdgone, gonegen) and rc is that close's
 * (ASOK_ECLOSED; for all, the rest a closed handle ends '*a' with): then
 * LuaSocket's error for its retry on the closed fd, -EBADF ("Bad file
 * descriptor", what it had received or sent kept, as LuaSocket's). */
int asok__cutrc(lsock *s, unsigned long long gen, int rc, int all);
/* asok__sockclose closes s's handle (asok_close: every token parked on
 * it wakes, its pauses end at once), if it is still open; forget (an
 * asok.sock's): s answers fd -1 from now on (sock.c's close). */
void asok__sockclose(lsock *s, int forget);
/* asok__cutshort: the handle an operation of s that waited on the handle
 * numbered was goes on with: s's live one if that is still it; else the
 * closed one a native client kept with its buffered data (closed_h) if
 * that is it; else NULL (closed). */
asok_sock *asok__cutshort(lsock *s, unsigned long long was);

/* userdata tags: registry[metatable] = tag, for checks without strings */
#define ASOK_TAG_SOCK 1   /* asok.sock */
#define ASOK_TAG_CLIENT 2 /* asok.client */

/* asok__pushdata pushes the len bytes at data, a result of asok_receive
 * or asok_receivefrom on lp's loop, as a string; finalizers that the push
 * runs cannot change them (pushdata.c; 5.3 and 5.4 copy before they
 * collect: a plain push). lp may be NULL. */
#if LUA_VERSION_NUM <= 502
void asok__pushdata(lua_State *L, lloop *lp, const char *data, size_t len);
#else
static inline void asok__pushdata(lua_State *L, lloop *lp, const char *data, size_t len) {
  (void) lp;
  lua_pushlstring(L, len > 0 ? data : "", len);
}
#endif

/* asok__prim_copies is the copies(loop) primitive (pushdata.c): how many
 * copy buffers the loop has, for tests. */
int asok__prim_copies(lua_State *L);

/* asok__freecopies frees lp's copy buffers (loop __gc). */
void asok__freecopies(lloop *lp);

/* asok__grow returns array arr (malloc'd; *cap elements of size bytes)
 * with room for element n (n <= *cap): itself, or moved and doubled (to
 * first if it had none); NULL if out of memory (arr and *cap unchanged). */
void *asok__grow(void *arr, int *cap, int n, size_t size, int first);

/* asok__checksock returns the socket userdata at i: the handle of a
 * registered LuaSocket object or a native client (raises otherwise). */
lsock *asok__checksock(lua_State *L, int i);

/* asok__readh returns the handle receives and sends on s use: the live
 * one, else a closed native client's kept one (closed_h), else NULL. */
asok_sock *asok__readh(lsock *s);

/* asok__gone returns ASOK_ECLOSED for a call of tok on s whose handle is
 * gone, cancelling the delivery its close may still owe tok (sock.c). */
int asok__gone(lsock *s, asok_token tok);

/* asok__wrapfd is asok_wrap(loop, fd, 0, out) with LuaSocket's error for
 * an fd that is not a socket (-ENOTSOCK: "Socket operation on non-socket",
 * what its calls on such an fd fail with) instead of ASOK_EINVAL. */
int asok__wrapfd(asok_loop *loop, int fd, asok_sock **out);

/* asok__nohandle returns the code a new call on s (not an operation that
 * waited) ends with when s has no handle: the error that kept setfd from
 * registering a native client's fd (its receive and send fail as
 * LuaSocket's do on that fd: "Bad file descriptor"), else ASOK_ECLOSED. */
int asok__nohandle(lsock *s);

/* asok__keptonly says whether h is the closed handle a native client kept
 * (closed_h) while setfd gave it an fd asok cannot register: a new call's
 * send does not use it (only a waiter's retry, for its count); a new
 * receive serves its buffered data, then asok__onkept's error. */
int asok__keptonly(lsock *s, asok_sock *h);

/* asok__onkept returns the code for a new receive's result rc on h (all:
 * an ASOK_ALL receive): on a keptonly handle, LuaSocket's error on the bad
 * fd where the closed handle said 'closed' or ended '*a' with its rest;
 * else rc. */
int asok__onkept(lsock *s, asok_sock *h, int rc, int all);

/* asok__settimeout hands s's timeouts (block, total) to asok_settimeout. */
void asok__settimeout(lsock *s);

/* asok__udtag returns the tag of the userdata at i (0: not asok's). */
int asok__udtag(lua_State *L, int i);

/* asok__tagmeta tags the registry metatable name (registry[mt] = tag). */
void asok__tagmeta(lua_State *L, const char *name, int tag);

/* asok__received returns the bytes consumed by receives on s's live
 * handle and on the closed one a native client keeps (asok_received of
 * each; 0 without). */
size_t asok__received(lsock *s);

/* asok__clientfuncs are the native client primitives (client.c). */
extern const luaL_Reg asok__clientfuncs[];

/* asok__newclientmeta creates the asok.client metatable (client.c). */
void asok__newclientmeta(lua_State *L);

/* asok__errstr returns LuaSocket's message for an asok return code. */
const char *asok__errstr(int rc);

/* asok__forked raises "asok is not usable in a process forked after it
 * loaded" (asok_strerror(ASOK_EFORKED), no prefix): for the calls that
 * have no error return (asok.sleep, the reactor's step) in such a child. */
int asok__forked(lua_State *L);

/* asok__checktoken reads the token argument i (a positive integer). */
asok_token asok__checktoken(lua_State *L, int i);

/* asok__now returns a monotonic clock in seconds. */
double asok__now(void);

/* asok__pushwait pushes the private WAIT marker (upvalue 1); returns 1. */
int asok__pushwait(lua_State *L);

/* asok__sockfuncs are the socket primitives, registered by luaopen_asok. */
extern const luaL_Reg asok__sockfuncs[];

/* asok__udpfuncs are the datagram primitives (udp.c). */
extern const luaL_Reg asok__udpfuncs[];

/* asok__throttlefuncs are the throttling primitives (throttle.c). */
extern const luaL_Reg asok__throttlefuncs[];

/* asok__prim_resolve is the resolve(loop, host, family, token) primitive
 * (resolve.c), registered with the loop primitives. */
int asok__prim_resolve(lua_State *L);

/* asok__prim_service is the service(port) primitive (resolve.c): whether
 * getaddrinfo takes port as a TCP service. */
int asok__prim_service(lua_State *L);

/* asok__prim_waitset, asok__prim_unwait and asok__prim_polls are the
 * glue's C.waitset, C.unwait and C.polls (waitset.c): the waits of
 * asok.select with socket sets, a whole set per call, and the count of
 * the poll(2) calls that tests read. */
int asok__prim_waitset(lua_State *L);
int asok__prim_unwait(lua_State *L);
int asok__prim_polls(lua_State *L);

/* asok__prim_step is the glue's C.step (step.c): one asok_select pass and
 * the resume of every ready token's coroutine. */
int asok__prim_step(lua_State *L);

/* asok__cancel cancels token t in asok and drops it from the batch step
 * has not dispatched yet (lp->q): a delivery fetched before the cancel
 * would otherwise reach a waiter that no longer waits for it (a mark
 * waiting[t] = false no park takes, or a spurious wake of t's next
 * operation). step.c. */
void asok__cancel(lloop *lp, asok_token t);

/* asok__unqueue drops token t from the batch step has not dispatched yet
 * (lp->q) and from the deliveries it deferred (lp->deferred), without
 * asok: for a token asok no longer holds. step.c. */
void asok__unqueue(lloop *lp, asok_token t);

/* asok__prim_note is the glue's C.note (step.c): park's look for an early
 * delivery and its note of the wait, with no hook between them. */
int asok__prim_note(lua_State *L);

/* asok__prim_noteself is the glue's C.noteself (step.c): park's common
 * case (the running coroutine, yieldable, no driver) and its note in one
 * call. */
int asok__prim_noteself(lua_State *L);

/* asok__familyfuncs: unspec(), the family reset of a LuaSocket TCP
 * object that asok.connect uses between families (tcpfamily.c). */
extern const luaL_Reg asok__familyfuncs[];

/* asok__owntimeoutfuncs: tmfind() and tmat(), which read the timeouts of
 * a socket.unix stream object, a class without gettimeout (owntimeout.c). */
extern const luaL_Reg asok__owntimeoutfuncs[];

/* asok__hookfuncs: hook(), the C hooks of LuaSocket methods that asok
 * extends, with LuaSocket's own results and errors (hook.c). */
extern const luaL_Reg asok__hookfuncs[];

/* asok__hookoff turns L's debug hook off, saved in *h; asok__hookon puts
 * it back unless a hook was set meanwhile (kept). For steps of asok's own
 * that a hook's error must not cut short (hookoff.c). No allocation. */
typedef struct {
  lua_Hook hook;
  int mask, count;
} asok_savedhook;
void asok__hookoff(lua_State *L, asok_savedhook *h);
void asok__hookon(lua_State *L, const asok_savedhook *h);
/* asok__fdasidefuncs: fdaside(), a function run with a LuaSocket object's
 * fd set aside (-1) and put back, whatever it raised (fdaside.c). */
extern const luaL_Reg asok__fdasidefuncs[];
/* asok__ownzerofuncs: ownzero(), one of LuaSocket's own methods of an
 * object run at a zero block timeout, the object's own given back
 * whatever it raised (ownzero.c). */
extern const luaL_Reg asok__ownzerofuncs[];

/* asok__addyieldable sets C.isyieldable (the table on top of the stack)
 * on PUC Lua 5.1 and 5.2, which lack coroutine.isyieldable (yieldable.c). */
void asok__addyieldable(lua_State *L);

/* asok__parkfuncs: fastops(), which makes the C methods receive and send
 * of native clients that park in C (park.c). */
extern const luaL_Reg asok__parkfuncs[];

/* asok__finishop retries the C-parked operation of token t for step (in
 * L): -1 if it still waits, else the number of values (OK marker and the
 * operation's results) moved to coroutine co's stack to resume it with;
 * the record and token are free then. 0: t is not a C-parked operation
 * of co (park.c). */
int asok__finishop(lua_State *L, lloop *lp, asok_token t, lua_State *co);

/* asok__freeparked releases the C records and frees the memory of lp's
 * C tokens (loop __gc). */
void asok__freeparked(lloop *lp);

/* asok__canyield says whether L can certainly yield here (lua_yield's own
 * test); 0 when it cannot or it is unknown (yieldable.c). */
int asok__canyield(lua_State *L);

/* asok__parkable says whether the glue's park would yield in L by its
 * own rule (a coroutine, not the main thread, that coroutine.isyieldable,
 * or on PUC 5.1 and 5.2 C.isyieldable, says can yield); 0 when it cannot
 * or when the glue asks no function (PUC 5.1 or 5.2 whose layout the
 * probe does not know, a LuaJIT without lua_isyieldable): park's general
 * way decides then (yieldable.c). */
int asok__parkable(lua_State *L);

/* asok__cannotyield says whether L certainly cannot yield here: the main
 * thread, or a coroutine inside a C boundary that yields do not cross (a
 * gsub callback; pcall on 5.1). 0 when it can or it is unknown (PUC 5.1
 * or 5.2 whose layout the probe does not know, a LuaJIT without
 * lua_isyieldable): the glue's rule, yield inside a coroutine (yieldable.c). */
int asok__cannotyield(lua_State *L);

/* asok__block is the wait of an operation of token t that asok answered
 * ASOK_EWAIT, for the primitive that started it (block.c). Returns 0 when
 * L may yield (asok__cannotyield says no): the primitive returns WAIT, and
 * the glue parks as usual. Else it runs the glue's blocked wait (the
 * reactor, until t comes back) protected, and returns 1 once t is back:
 * the primitive retries the operation itself, no Lua code in between. On
 * an error raised meanwhile (a debug hook's: lua.c's Ctrl-C, caught by the
 * program; a memory error) t is abandoned (cancelled in asok, its marks
 * cleared, a small or C token given back) and -1 returned, the error on
 * top of the stack: the primitive raises it (lua_error) after its own
 * clean-up, touching no C token record (given back already). */
int asok__block(lua_State *L, lloop *lp, asok_token t);

/* asok__blockfuncs: blocker(), which hands block.c the glue's blocked
 * wait and its clean-up (block.c). */
extern const luaL_Reg asok__blockfuncs[];

/* asok__isjit says whether this module runs in LuaJIT (yieldable.c). */
int asok__isjit(void);

/* asok__pushtoken pushes token t as the glue's tables key it (an integer
 * on 5.3+; a double, exact below 2^53, on 5.1 and 5.2). */
void asok__pushtoken(lua_State *L, asok_token t);

/* asok__sockmeta are the socket userdata's metamethods. */
extern const luaL_Reg asok__sockmeta[];

#pragma GCC visibility pop

#endif /* ASOK_BINDING_H */

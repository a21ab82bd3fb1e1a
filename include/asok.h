/*
 * asok.h - the public C API of asok, an asynchronous socket library.
 *
 * asok is a single-threaded reactor (edge-triggered epoll, a timer heap,
 * non-blocking sockets) written in Go and exported through this hand-written
 * C header. It is "pull" style, like curl's multi interface: an operation
 * that cannot finish now parks a *token* of the caller's choosing and
 * returns ASOK_EWAIT; asok_select() later hands back the batch of tokens
 * whose socket became ready, whose deadline passed or whose socket closed;
 * the caller then calls the same operation again with the same token and
 * gets its answer. No callbacks: asok never calls into your code.
 *
 * Conventions (they hold for every function below unless it says otherwise)
 *  - Return value: 0 (ASOK_OK) on success, a negative code on failure.
 *    -1 .. -4095 are -errno values from the kernel; asok's own codes start at
 *    ASOK_EBASE. asok_strerror() turns any code into LuaSocket's string.
 *  - Results come back through *_out pointers, which must not be NULL unless
 *    stated; an out pointer is written only on success unless stated.
 *  - Handles (asok_loop *, asok_sock *) are opaque. NULL, freed, stale or
 *    wrong-type handles are detected and answered with ASOK_EBADHANDLE;
 *    they never crash the process. A freed handle's value is kept out of
 *    use until 65,536 more handles have been freed; after that a new loop
 *    or socket may get it, and the stale copy then names that one. A Go panic inside asok is caught and
 *    reported as ASOK_EINTERNAL.
 *  - Threads: a loop and its sockets belong to one thread at a time; calls
 *    on the same loop must not run concurrently. asok_loop_wake(),
 *    asok_version*(), asok_strerror(), asok_debug_handles(),
 *    asok_debug_rxmem(), asok_debug_panic(), asok_debug_pickups() and
 *    asok_debug_in_c() may be called from any thread at any time.
 *  - Tokens: any non-zero 64-bit value the caller chooses. A token is
 *    parked in at most one place and delivered by asok_select() at most once
 *    per park. A token whose operation a close cut short (asok_close,
 *    asok_sock_free) stays in use until asok_select() hands out that
 *    delivery, its retry on that socket gets ASOK_ECLOSED, or asok_cancel()
 *    drops it: parking it elsewhere meanwhile gives ASOK_EBUSY (a call on
 *    another closed socket gets ASOK_ECLOSED and leaves the delivery be).
 *    A receive's share of what the closed socket had buffered (asok_close)
 *    is kept for that receive's retry, the token's next asok_receive on
 *    that socket. A token taken up by another operation first (once it is
 *    free again: any call with it on another socket, asok_sleep, a name
 *    lookup, or a call on the closed socket other than asok_receive, such
 *    as asok_wait or asok_accept) abandons that receive: its share goes
 *    back as asok_cancel gives it back, and its next receive there is a
 *    new call. A token thus has at most one share. A call refused (bad
 *    arguments, ASOK_EBUSY) leaves the share be, and so does one on
 *    another closed socket while the close's delivery is still owed.
 *    Token 0 means "do not wait": an operation that would block
 *    behaves like LuaSocket with a zero timeout (ASOK_ETIMEOUT, partial
 *    result consumed). Small tokens (below 131,072) are found by index, the
 *    fastest: a loop then keeps 8 bytes per value up to the largest small
 *    token it has parked (1 MiB at most); reusing the tokens of finished
 *    operations keeps that small. Larger tokens go to a hash table.
 *  - Timeouts are in seconds (double). A negative value means no limit.
 *  - fork(): the Go runtime runs threads, and a child created by fork()
 *    has none of them (a call into Go there may wait for ever); it also
 *    shares the parent's epoll instance. In such a child (fork() after
 *    libasok loaded, exec or not) every function below returns
 *    ASOK_EFORKED at once and does nothing (asok_debug_rxmem() returns 0;
 *    asok_version*() and asok_strerror() work): the child cannot use asok,
 *    and closing or freeing a socket there cannot disturb the parent's
 *    loop. The child's copies of asok's own fds (asok_tcp_new,
 *    asok_udp_new, asok_accept) stay open until it closes them itself
 *    (their numbers: asok_sock_fd() before the fork) or exits; a socket
 *    asok_wrap'ped stays the caller's as always. Load asok after fork() in
 *    a process that forks workers.
 *  - Environment: when libasok loads it raises Go's GOMAXPROCS to at least 2
 *    unless the GOMAXPROCS variable is set (a single P held by the host's
 *    thread between calls makes Go's sysmon thread retake it after every
 *    gap: context switches that cost 15 % of the CPU under load).
 *    ASOK_GOMAXPROCS=n sets it to n instead; ASOK_GOMAXPROCS=0 leaves the
 *    Go runtime's own choice.
 *  - Scheduler: a thread that only calls into Go never passes through Go's
 *    scheduler, and after 10 ms sysmon would take it for a goroutine that
 *    runs too long and retake its P over and over (thousands of context
 *    switches a second). So asok_select(), and every 16th asok_receive()
 *    or asok_send(), yields to the Go scheduler once 5 ms have passed
 *    since the last yield: a few microseconds, about 200 times a second
 *    under load. Your thread sleeps for that moment; no other code runs on it.
 */
#ifndef ASOK_H
#define ASOK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Versions with the same major number are ABI compatible. */
#define ASOK_VERSION_MAJOR 0
#define ASOK_VERSION_MINOR 1
#define ASOK_VERSION_PATCH 0
#define ASOK_VERSION_STRING "0.1.0"
#define ASOK_VERSION_HEX \
  ((ASOK_VERSION_MAJOR << 16) | (ASOK_VERSION_MINOR << 8) | ASOK_VERSION_PATCH)

#if defined(__GNUC__)
#define ASOK_API __attribute__((visibility("default")))
#else
#define ASOK_API
#endif

/* Error codes. 0 is success, failures are negative: -errno for system
 * errors, ASOK_E* (below ASOK_EBASE) for asok's own. */
#define ASOK_EBASE (-10000)
#define ASOK_ERRNO_MAP(XX)                                                   \
  XX(CLOSED, "closed")            /* socket closed (locally or by the peer) */ \
  XX(TIMEOUT, "timeout")          /* deadline passed, or would block with token 0 */ \
  XX(WAIT, "wait")                /* not done yet: token parked, call again */ \
  XX(BADHANDLE, "invalid handle") /* NULL, freed, stale or wrong-type handle */ \
  XX(INVAL, "invalid argument")   /* a bad argument (pattern, address, ...) */ \
  XX(BUSY, "token in use")        /* token already parked elsewhere */        \
  XX(NOMEM, "out of memory")                                                 \
  XX(INTERNAL, "internal error")  /* a bug in asok */                       \
  XX(AI_NONAME, "host or service not provided, or not known") /* EAI_NONAME */ \
  XX(AI_AGAIN, "temporary failure in name resolution")     /* EAI_AGAIN */  \
  XX(AI_FAIL, "non-recoverable failure in name resolution") /* EAI_FAIL */  \
  XX(AI_ADDRFAMILY, "Address family for hostname not supported") /* EAI_ADDRFAMILY */ \
  XX(LIMIT, "receive limit exceeded") /* asok_setlimit: line or ALL too long */ \
  ASOK_SOCKS_ERRNO_MAP(XX)                                                   \
  XX(FORKED, "asok is not usable in a process forked after it loaded") /* fork() */

/* The outcomes of asok_socks4_connect/asok_socks5_connect other than
 * success and I/O errors: the proxy's refusal or an invalid reply. The
 * strings are the Lua binding's (asok.socks4_connect, asok.socks5_connect). */
#define ASOK_SOCKS_ERRNO_MAP(XX)                                             \
  XX(SOCKS4_REJECTED, "socks4: request rejected or failed") /* reply 91 */  \
  XX(SOCKS4_IDENTD, "socks4: request rejected: the proxy cannot reach the client's identd") \
  XX(SOCKS4_USERID, "socks4: request rejected: identd reports a different user id") \
  XX(SOCKS4_FAILED, "socks4: request failed (unknown reply code)")          \
  XX(SOCKS4_REPLY, "socks4: invalid reply (not a SOCKS4 proxy?)")           \
  XX(SOCKS5_FAILURE, "socks5: general SOCKS server failure") /* reply 1 */  \
  XX(SOCKS5_NOTALLOWED, "socks5: connection not allowed by ruleset")        \
  XX(SOCKS5_NETUNREACH, "socks5: network unreachable")                      \
  XX(SOCKS5_HOSTUNREACH, "socks5: host unreachable")                        \
  XX(SOCKS5_REFUSED, "socks5: connection refused") /* reply 5 */            \
  XX(SOCKS5_TTL, "socks5: TTL expired")                                     \
  XX(SOCKS5_COMMAND, "socks5: command not supported")                       \
  XX(SOCKS5_ADDRTYPE, "socks5: address type not supported") /* reply 8 */   \
  XX(SOCKS5_FAILED, "socks5: request failed (unknown reply code)")          \
  XX(SOCKS5_REPLY, "socks5: invalid reply (not a SOCKS5 proxy?)")           \
  XX(SOCKS5_ATYP, "socks5: invalid reply (address type)")                   \
  XX(SOCKS5_NOMETHOD, "socks5: no acceptable authentication method")        \
  XX(SOCKS5_NOAUTH, "socks5: no acceptable authentication method (the proxy wants a user name and password?)") \
  XX(SOCKS5_METHOD, "socks5: proxy chose an authentication method not offered") \
  XX(SOCKS5_AUTH, "socks5: authentication failed")

typedef enum asok_err {
  ASOK_OK = 0,
  ASOK_EFIRST_ = ASOK_EBASE - 1,
#define ASOK_ERR_ENTRY_(name, msg) ASOK_E##name,
  ASOK_ERRNO_MAP(ASOK_ERR_ENTRY_)
#undef ASOK_ERR_ENTRY_
  ASOK_ELAST_
} asok_err;
/* With ASOK_EBASE = -10000: ASOK_ECLOSED = -10000, ASOK_ETIMEOUT = -9999,
 * ASOK_EWAIT = -9998, ... (consecutive, increasing). */

typedef struct asok_loop asok_loop; /* opaque; never dereferenced by C */
typedef struct asok_sock asok_sock; /* opaque; never dereferenced by C */
typedef uint64_t asok_token;

/* Receive patterns (LuaSocket's "*l", "*a" and a byte count). */
enum asok_pattern {
  ASOK_LINE = 1, /* up to LF; every CR dropped; LF not returned */
  ASOK_ALL = 2,  /* until the peer closes */
  ASOK_COUNT = 3 /* exactly n bytes (n = 0: wait until data is available) */
};

/* Readiness directions for asok_wait() and asok_waitset(), and their
 * flags, or'ed into one:
 * ASOK_UNTIMED: the wait ignores the socket's timeouts (a select with a
 * deadline of its own, whatever timeout the socket has).
 * ASOK_LOOK: the wait is a look, as a select's (socket.select shows a
 * socket to every caller), not a turn: a plain wait queues with the
 * socket's operations of its direction (receives and accepts, or sends
 * and connects: first come, first served, and readiness wakes the first
 * only: for I/O the waiter then does, such as a TLS library's), where
 * every look on a socket is woken when it becomes ready in the look's
 * direction (or is closed), before the first queued operation, whatever
 * else waits there, and no look ever holds back an operation or another
 * look. A look is untimed (ASOK_UNTIMED changes nothing). A look's
 * readiness is select(2)'s: a hang-up (POLLHUP) makes s readable, not
 * writable (a unix stream socket shut down both ways whose send buffer
 * is full: a write look waits until the peer reads; a plain write wait
 * counts the hang-up, as the send it is for then fails); an error
 * (POLLERR) is both. A read look
 * counts what asok holds for s's next asok_receive (asok_buffered's
 * bytes: not the partial result a waiting receive holds) as ready, as
 * socket.select counts LuaSocket's buffer (dirty): it answers 0 then,
 * and is woken when a receive, or anything else that read s's fd, leaves
 * bytes there, or a waiting receive lets its partial go. */
enum asok_dir { ASOK_READ = 1, ASOK_WRITE = 2, ASOK_UNTIMED = 4, ASOK_LOOK = 8 };

/* The largest n asok_waitset() and asok_cancelset() take (INT_MAX): a
 * set's distinct sockets are fds, ints below the kernel's fs.nr_open
 * (itself at most INT_MAX), and one asok_select() hands back at most
 * INT_MAX tokens, so no real batch is larger; a larger n is a bad value
 * (a negative int or a 32-bit -1 converted to size_t), refused before
 * the array is read. An n within it is trusted, as any C length: the call
 * reads and writes n entries. */
#define ASOK_WAITSET_MAX 0x7fffffff

/* asok_wrap() flags. */
#define ASOK_OWNFD 1u /* asok closes the fd when the socket is closed */

/* ---- version and errors ------------------------------------------------ */

/* asok_version returns ASOK_VERSION_HEX of the library actually loaded.
 * Compare its major part with ASOK_VERSION_MAJOR to catch a header/library
 * mismatch. Any thread. */
ASOK_API unsigned asok_version(void);

/* asok_version_string returns "MAJOR.MINOR.PATCH" (static storage). */
ASOK_API const char *asok_version_string(void);

/* asok_strerror returns a static, never NULL, string for ANY int:
 *  0 -> "success"; ASOK_E* -> the strings above ("closed", "timeout", ...);
 *  -errno -> LuaSocket's string for that errno ("connection refused",
 *  "address already in use", ECONNRESET/ECONNABORTED/EPIPE -> "closed",
 *  ETIMEDOUT -> "timeout", otherwise strerror's text); anything else ->
 *  "unknown error". Never allocates. Any thread. */
ASOK_API const char *asok_strerror(int err);

/* asok_debug_handles returns how many asok handles (loops and sockets) are
 * alive in the process: 0 once everything was freed. For leak checks. */
ASOK_API int asok_debug_handles(void);

/* asok_debug_rxmem returns how many bytes of receive memory (the C memory
 * asok reads into: each loop's scratch buffer and pool, the sockets'
 * buffers) are allocated in the process: 0 once every loop was freed, and
 * bounded by the pools while loops run. For leak checks. Any thread. */
ASOK_API uint64_t asok_debug_rxmem(void);

/* asok_debug_panic makes asok panic inside its Go code, as a bug would: a
 * debugging aid that proves a panic never unwinds into (and kills) the
 * caller. Nothing is changed. Any thread.
 * Returns: ASOK_EINTERNAL, always. */
ASOK_API int asok_debug_panic(void);

/* asok_debug_pickups returns how many asok_receive() calls of the calling
 * thread were answered by the retry asok_select() armed, reading in C
 * without entering Go (see asok_select). For tests and benchmarks. Any
 * thread. */
ASOK_API uint64_t asok_debug_pickups(void);

/* asok_debug_in_c gives the calls of the calling thread that asok answered
 * in C without entering Go (see asok_select, "Armed retries"): receives
 * answered by an armed retry's read (as asok_debug_pickups()), sends made
 * after such a receive, and receives after one that found nothing and
 * returned ASOK_EWAIT. A NULL pointer is skipped. For tests and
 * benchmarks. Any thread. */
ASOK_API void asok_debug_in_c(uint64_t *takes, uint64_t *sends,
                              uint64_t *parks);

/* asok_debug_polls gives the readiness syscalls loop made: poll(2)s to see
 * whether a socket is ready (asok_wait, asok_waitset, a connect in
 * progress; one made again after a signal interrupted it counts once) and
 * epoll_wait(2)s (asok_select). A NULL pointer is skipped.
 * For tests that count the syscalls of an operation. Threads: loop's
 * thread.
 * Returns: 0; ASOK_EBADHANDLE. */
ASOK_API int asok_debug_polls(asok_loop *loop, uint64_t *polls, uint64_t *epoll_waits);

/* asok_debug_reads gives the recv(2) calls loop's stream receives made, in
 * Go and in C (the retries asok_select armed): every call, one made again
 * after a signal too. A NULL pointer is skipped. For tests that count the
 * syscalls of a receive. Threads: loop's thread.
 * Returns: 0; ASOK_EBADHANDLE. */
ASOK_API int asok_debug_reads(asok_loop *loop, uint64_t *reads);

/* ---- loop -------------------------------------------------------------- */

/* asok_loop_new creates a loop (an epoll instance, an eventfd for wake-ups,
 * a timer heap).
 *   loop_out: caller-owned output; free it with asok_loop_free().
 * Returns: 0; -errno (epoll_create1/eventfd failed); ASOK_EINVAL (NULL). */
ASOK_API int asok_loop_new(asok_loop **loop_out);

/* asok_loop_free closes every socket of the loop (closing the fds it owns;
 * parked tokens are dropped, not delivered), then frees the loop. All of its
 * asok_sock handles become invalid (later calls: ASOK_EBADHANDLE).
 * Ownership: consumes loop; a second free returns ASOK_EBADHANDLE.
 * Returns: 0; ASOK_EBADHANDLE. */
ASOK_API int asok_loop_free(asok_loop *loop);

/* asok_loop_fd gives the loop's epoll fd: it becomes readable when a
 * socket event or asok_loop_wake() gives asok_select() something to do,
 * so an asok loop can be nested in another event loop. The host's loop:
 *   1. t = asok_loop_timeout(): call it before EVERY wait, timers or not
 *      (it is 0 when tokens are ready without an event: after a close, a
 *      cancel, or a read an armed retry made that holds more than it took);
 *   2. wait until the fd is readable, for at most t (t < 0: no limit),
 *      ROUNDED UP to the wait's unit (a wait truncated to 0 ms spins until
 *      the timer is due; t may be as large as about 4.6e9 s: clamp it);
 *   3. asok_select(loop, 0, ...) and handle the tokens; back to 1.
 * Register the fd level-triggered (poll, select, epoll without EPOLLET,
 * libuv's uv_poll): one asok_select() takes a bounded batch of events and
 * leaves the rest pending on the fd, which an edge-triggered registration
 * would not report again.
 * Another thread that calls into the loop while the host waits on the fd
 * (its turn under the thread rule above) must call asok_loop_wake() after
 * its calls: what they make ready (a close's tokens, a sleep) does not make
 * the fd readable, and the host's t was computed before them.
 * Timers (timeouts, sleeps, throttles) do not make the fd readable: that
 * is what t is for. The fd stays owned by the loop: do not close it.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (fd_out NULL). */
ASOK_API int asok_loop_fd(asok_loop *loop, int *fd_out);

/* asok_loop_timeout gives how long the host may sleep before it must call
 * asok_select(): 0 if tokens are already ready, the time to the earliest
 * timer, or -1 if there is no timer. Pair it with asok_loop_fd() (see
 * there: before every wait, rounded up).
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (seconds_out NULL). */
ASOK_API int asok_loop_timeout(asok_loop *loop, double *seconds_out);

/* asok_loop_wake makes a blocked (or the next) asok_select() on loop return
 * at once. Thread-safe and async-signal-unsafe; cheap when repeated.
 * Returns: 0; ASOK_EBADHANDLE; -errno. */
ASOK_API int asok_loop_wake(asok_loop *loop);

/* asok_select waits up to timeout seconds (negative: no limit, 0: poll)
 * for tokens to become ready and copies at most max of them to tokens_out
 * (caller-owned array of max entries). Tokens not copied stay ready for the
 * next call. A token is ready when its socket became ready in its direction,
 * when its deadline (socket timeout or sleep) passed, or when its socket
 * closed. Returns early, with 0, after asok_loop_wake(), and only then (a
 * lookup asok_cancel abandoned ends without a trace when its answer
 * comes).
 * Armed retries: for a token it copies whose socket has a parked ASOK_LINE
 * or ASOK_COUNT receive (n > 0) and nothing buffered, asok_select arms the
 * retry: that receive's retry on this thread (same socket, pattern, n and
 * token) before the next asok_select makes its one read without entering
 * Go and, if the read holds the whole result (a line with no CR, or one
 * just before its LF), returns it: a receive that waits costs one Go call,
 * not two. Nothing else changes: what such a read got and did not return
 * stays buffered in the socket in its place, and a retry that differs,
 * comes from another thread or comes after another call on the socket or
 * the token goes through Go as usual. After such a retry returned its
 * result, and until another call on the socket or the token enters Go
 * (or the next asok_select), two more calls stay in C: an asok_send() on
 * the socket with the same token, if it is at most 8192 bytes, no other
 * send is queued on it, it is not throttled and the kernel takes all of it (else Go goes on from
 * that syscall's result); and one asok_receive() with the same token
 * (ASOK_LINE, or ASOK_COUNT with n > 0) that finds nothing, if the
 * retry's read emptied the socket, no other receive is queued and neither
 * timeout is 0: it returns ASOK_EWAIT, and the next asok_select parks it
 * in Go before it waits (its timeout counting from the call). A request-reply server thus enters Go once per
 * asok_select batch. asok_debug_in_c() counts these calls. Memory: each
 * loop has a 96 KiB table and a 128 KiB read buffer (a freed loop's are
 * kept for the next loop).
 * Returns: the number of tokens copied (>= 0); ASOK_EBADHANDLE;
 * ASOK_EINVAL (tokens_out NULL with max > 0, max < 0, max entries past
 * the end of the address space, or a NaN timeout);
 * -errno. */
ASOK_API int asok_select(asok_loop *loop, double timeout, asok_token *tokens_out, int max);

/* asok_sleep parks token until seconds have passed (<= 0: ready at the next
 * asok_select). Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (token 0 or NaN);
 * ASOK_EBUSY (token already parked). */
ASOK_API int asok_sleep(asok_loop *loop, double seconds, asok_token token);

/* asok_cancel removes a parked token from whatever it waits on (a socket
 * queue, a sleep); it will not be delivered. An operation it was part of is
 * abandoned (a partially sent buffer stays partially sent; the share of a
 * closed socket's buffered data a receive was owed goes back to the
 * receives after it, see asok_close, unless one of theirs has come out
 * or a call after the close has read past them: then it goes with the
 * operation, as bytes given back then would come out of stream order;
 * a token taken up by another operation gives its share back the same
 * way: Tokens, above).
 * Returns: 0 (removed or not parked); ASOK_EBADHANDLE. */
ASOK_API int asok_cancel(asok_loop *loop, asok_token token);

/* asok_cancelset cancels the n tokens at tokens, in order, as n calls of
 * asok_cancel would, in one call (the waits an asok_waitset parked).
 * Ownership: tokens is borrowed for the call. Threads: loop's thread.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (tokens NULL with n > 0, n
 * above ASOK_WAITSET_MAX, or an array that would run past the end of the
 * address space; no token is cancelled then). */
ASOK_API int asok_cancelset(asok_loop *loop, const asok_token *tokens, size_t n);

/* ---- sockets ----------------------------------------------------------- */

/* asok_wrap makes an existing socket fd asynchronous on loop: it is set
 * non-blocking and registered once with the loop's epoll. The kind (stream,
 * datagram, listening) is read from the fd.
 *   flags: ASOK_OWNFD to have asok close fd on asok_close()/asok_sock_free();
 *          without it the fd stays the caller's (close it yourself, AFTER
 *          asok_close()).
 *   sock_out: caller-owned output; free with asok_sock_free().
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (not a socket, unknown flags,
 * sock_out NULL); -errno. */
ASOK_API int asok_wrap(asok_loop *loop, int fd, unsigned flags, asok_sock **sock_out);

/* asok_tcp_new creates a non-blocking TCP socket owned by asok.
 *   family: 4 (IPv4) or 6 (IPv6).
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL; -errno. */
ASOK_API int asok_tcp_new(asok_loop *loop, int family, asok_sock **sock_out);

/* asok_bind binds s to a numeric address ("127.0.0.1", "::1", "*" or
 * "0.0.0.0" for any) and port (0: the kernel picks; see asok_getsockname).
 * SO_REUSEADDR is set, as LuaSocket's bind does. ip: borrowed.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_ECLOSED; ASOK_EINVAL; -errno. */
ASOK_API int asok_bind(asok_sock *s, const char *ip, int port);

/* asok_listen starts listening (backlog <= 0: 32, as LuaSocket).
 * Returns: 0; ASOK_EBADHANDLE; ASOK_ECLOSED; ASOK_EINVAL (s holds bytes
 * asok_unread put back, which a listener would never read); -errno. */
ASOK_API int asok_listen(asok_sock *s, int backlog);

/* asok_getsockname writes the local address of s: ip into ip_out (a caller
 * buffer of iplen bytes, 46 is always enough; always NUL-terminated) and the
 * port into *port_out. Only what the address needs is written, but the
 * whole of iplen must be a buffer C can have (as every length asok takes).
 * Returns: 0; ASOK_EBADHANDLE; ASOK_ECLOSED;
 * ASOK_EINVAL (ip_out or port_out NULL, buffer too small, iplen above
 * INT64_MAX or past the end of the address space, or s is not an IPv4 or
 * IPv6 socket: a unix socket has no ip and port; nothing is written);
 * -errno. */
ASOK_API int asok_getsockname(asok_sock *s, char *ip_out, size_t iplen, int *port_out);

/* asok_connect connects s to a numeric ip and port without blocking.
 * The first call starts the connection; if it cannot complete at once, the
 * token is parked until the socket is writable and ASOK_EWAIT is returned;
 * call again (same token) to get the outcome. ip: borrowed.
 * A socket whose connect failed cannot connect again (the kernel answers
 * -ECONNABORTED, "closed"): make a new one.
 * Returns: 0 (connected); ASOK_EWAIT; ASOK_ETIMEOUT (socket timeout passed,
 * or token 0 and still in progress); -ECONNREFUSED and other -errno;
 * ASOK_EBADHANDLE; ASOK_ECLOSED; ASOK_EINVAL (bad address). */
ASOK_API int asok_connect(asok_sock *s, const char *ip, int port, asok_token token);

/* asok_accept accepts one connection on listening socket s. The new socket
 * is non-blocking, owned by asok (ASOK_OWNFD) and registered on s's loop.
 *   client_out: caller-owned output; free with asok_sock_free().
 * Returns: 0; ASOK_EWAIT (token parked until a connection arrives);
 * ASOK_ETIMEOUT; ASOK_EBADHANDLE; ASOK_ECLOSED; -errno (e.g. -EMFILE). */
ASOK_API int asok_accept(asok_sock *s, asok_token token, asok_sock **client_out);

/* asok_receive reads one LuaSocket pattern from s (buffered inside asok):
 *   ASOK_LINE: a line, CRs dropped, LF consumed and not returned;
 *   ASOK_ALL: everything until the peer closes (success even when the
 *             peer closed, unless nothing at all was read);
 *   ASOK_COUNT: exactly n bytes; n = 0 returns "" once data is available.
 * Coroutine-style callers queue per socket in FIFO order: only the oldest
 * parked token reads; the others wait their turn. A parked token you no
 * longer retry keeps that turn: asok_cancel it (datagram receives too).
 * On return, *data and *len hold the result (on success) or the partial result
 * (on ASOK_ETIMEOUT, ASOK_ECLOSED or -errno), which is consumed. The bytes
 * live in asok-owned memory, valid until the next call on the same loop.
 * On ASOK_EWAIT, *len is 0 and nothing is consumed.
 * A retry may give another pattern or n than the call it retries: it is
 * the same call, under the retry's pattern and n from then on. It keeps
 * its place in s's queue and its start (its timeouts count from the first
 * call), and the bytes it waited with (its partial result) are read under
 * the new pattern, each byte returned once, in stream order: a line's
 * partial "abc" retried as ASOK_COUNT 2 returns "ab" at once and leaves
 * "c" to the next receive; retried as ASOK_COUNT 5 it waits for two more
 * bytes. A retry asok_select armed goes through Go then. After
 * asok_close, such a retry's share of what s had buffered (asok_close)
 * is worked out again under the new pattern, in its place (the shares
 * of the receives after it too, up to the first one already taken: no
 * byte moves across a share that came out); once a share after it has
 * come out, or a call made after the close has read past the shares,
 * what the new pattern leaves of them is read next, after those later
 * bytes (rather than lost).
 * Returns: 0; ASOK_EWAIT; ASOK_ETIMEOUT; ASOK_ECLOSED; -errno;
 * ASOK_EBADHANDLE; ASOK_EINVAL (bad pattern, NULL output, n above
 * INT64_MAX). */
ASOK_API int asok_receive(asok_sock *s, int pattern, size_t n, asok_token token,
                          const char **data, size_t *len);

/* asok_send writes all len bytes of data to s (MSG_NOSIGNAL: a dead peer
 * never raises SIGPIPE). If the kernel takes only part, the token is parked
 * until s is writable and ASOK_EWAIT is returned; call again with the SAME
 * data, len and token: asok remembers how much of it was sent. Sends from
 * different tokens on one socket are served whole, in FIFO order.
 *   data: borrowed for the call only (asok keeps no pointer to it).
 *   *sent: always written: the bytes of data sent so far by this operation
 *          (LuaSocket's "last index" on error).
 * A send of more than 8192 bytes (LuaSocket's step) to a stream peer that
 * has already closed hands the kernel 8192 bytes first, as LuaSocket
 * does: the peer's reset then fails the rest, and the result is
 * ASOK_ECLOSED with *sent = 8192 over loopback, LuaSocket's figures
 * (one poll(2) per such send checks the peer first).
 * Right after a receive its armed retry answered in C (asok_select), a
 * send of at most 8192 bytes with the same token may be made in C: same
 * results.
 * Returns: 0 (all sent); ASOK_EWAIT; ASOK_ETIMEOUT; ASOK_ECLOSED (EPIPE);
 * -errno (e.g. -ECONNRESET); ASOK_EBADHANDLE; ASOK_EINVAL (sent NULL,
 * data NULL with len > 0, or len above INT64_MAX or past the end of the
 * address space). */
ASOK_API int asok_send(asok_sock *s, const char *data, size_t len, asok_token token,
                       size_t *sent);

/* asok_wait parks token until s is readable (ASOK_READ) or writable
 * (ASOK_WRITE) - for I/O done by someone else on the fd (LuaSocket's own
 * accept and connect, TLS libraries). Returns 0 at once if s is ready now.
 * The wait times out as s's operations do, unless dir has ASOK_UNTIMED
 * (ASOK_READ | ASOK_UNTIMED): then it waits until s is ready or closed,
 * whatever its timeouts (asok_cancel the token to stop it). It waits its
 * turn among s's operations of its direction, unless dir has ASOK_LOOK
 * (ASOK_READ | ASOK_LOOK, for a select): then it is woken with every
 * other look on s, waits untimed, and holds back no one (enum asok_dir).
 * Either way the retry after the token came back returns 0 if s polls
 * ready (a read look: or asok_buffered's bytes are there), else ASOK_EWAIT
 * again (parked anew: another waiter may have taken what was there); a
 * look's retry must use ASOK_LOOK too (a token
 * parked as a look is ASOK_EBUSY to anything else, and the reverse).
 * Returns: 0; ASOK_EWAIT; ASOK_ETIMEOUT; ASOK_ECLOSED; ASOK_EBUSY (token
 * in use); ASOK_EBADHANDLE; ASOK_EINVAL (bad direction). */
ASOK_API int asok_wait(asok_sock *s, int dir, asok_token token);

/* asok_waitreq is one wait of asok_waitset: sock, dir and token as
 * asok_wait's; rc is set to its result. */
typedef struct asok_waitreq {
  asok_sock *sock;
  int dir;
  asok_token token;
  int rc; /* out */
} asok_waitreq;

/* asok_waitset makes the n waits of reqs on loop's sockets, in order, as
 * n calls of asok_wait would (each rc: that call's result), but with one
 * poll(2) over all their sockets where asok_wait makes one each: for a
 * select over many sockets, whose waits are looks (ASOK_READ | ASOK_LOOK,
 * ASOK_WRITE | ASOK_LOOK: two selects on one socket both see it ready,
 * and neither holds back its receives). The readiness each wait is answered with is
 * that of the moment of that poll; one that comes after it is an event
 * that asok_select delivers to the token parked for it, as for
 * asok_wait. A socket may appear in several waits (its read and write
 * waits share one pollfd). A sock that is NULL, freed or stale gets
 * ASOK_EBADHANDLE, one of another loop ASOK_EINVAL (their waits are not
 * made). Should the poll fail (n above RLIMIT_NOFILE distinct fds), each
 * wait polls its socket alone, as asok_wait.
 * Ownership: reqs is borrowed for the call. Threads: loop's thread.
 * Returns: 0 (every rc set); ASOK_EBADHANDLE (loop); ASOK_EINVAL (reqs
 * NULL with n > 0, n above ASOK_WAITSET_MAX, or an array that would run
 * past the end of the address space; reqs is not read then, no rc set). */
ASOK_API int asok_waitset(asok_loop *loop, asok_waitreq *reqs, size_t n);

/* asok_settimeout sets how long operations on s may wait, LuaSocket's way:
 * block limits each wait, total the whole call, both measured from the
 * start of the call on a monotonic clock (with both set, each wait lasts
 * at most block from its own start and ends when total does: LuaSocket's
 * getretry); negative: no limit (the default).
 * It applies to the operations already waiting on s too (LuaSocket has one
 * timeout per object), counted as above from their start, not from this
 * call (setting the same timeouts again changes nothing): a deadline that
 * has passed ends their waits at
 * once (a timeout set again before the next asok_select does not undo
 * it): asok_select delivers their tokens and their retry times out with
 * what they had. Untimed waits
 * (asok_wait with ASOK_UNTIMED) keep waiting. A deadline met late (the
 * host did not call asok_select for a while) first looks at s once more,
 * as LuaSocket's poll does after its timeout: a stream receive reads what
 * has arrived (to its pattern, the receive limit, the EOF or the error;
 * with both timeouts set, having read part of its pattern, it waits again
 * while total has time left, as LuaSocket's next wait of min(block, total
 * left) does), and any other operation whose fd is ready then is retried
 * rather than timed out (it times out if it would wait again).
 * A SOCKS handshake is several calls (each send and receive of it counts
 * anew), so it may take several times total.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (NaN). */
ASOK_API int asok_settimeout(asok_sock *s, double block, double total);

/* asok_unread puts data back in front of s's receive buffer, to be read
 * before anything else (for bytes read by someone else before wrapping,
 * such as LuaSocket's own buffer). A receive parked at the head of s's
 * queue has its token delivered: its retry reads the data.
 * After asok_shutdown (either direction) the data is still read first,
 * as LuaSocket's buffer is after its shutdown. A listening socket (by
 * asok_listen, as wrapped, or by a listen(2) of yours) never reads, and
 * its bytes would make a read look (a select) call it ready for ever: it
 * takes none, ASOK_EINVAL whatever len, as a datagram socket (the wrong
 * kind of socket for the call: no syscall is made, so no -errno applies;
 * recv(2) itself disagrees, -ENOTCONN on TCP, -EINVAL on unix); and
 * asok_listen refuses a socket holding unread bytes.
 * data: borrowed, copied.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_ECLOSED; ASOK_EINVAL (data NULL with
 * len > 0, len above INT64_MAX or past the end of the address space, a
 * datagram socket, a listening socket). */
ASOK_API int asok_unread(asok_sock *s, const char *data, size_t len);

/* asok_setlimit bounds what an ASOK_LINE or ASOK_ALL receive on s may
 * buffer (off by default, as in LuaSocket, which buffers without bound):
 * a line longer than n bytes (CRs counted, LF not), or more than n bytes
 * before the peer closes, makes asok_receive return ASOK_ELIMIT ("receive
 * limit exceeded") with those n bytes as the partial result (consumed;
 * the CRs among them dropped, as in any line, so it may be shorter);
 * the rest stays buffered for the next call. ASOK_COUNT is not limited.
 * A peer sending an endless line then costs at most about n + 64 KiB.
 * It applies to a receive already waiting on s too: one whose buffered
 * data is now over n is handed out by the next asok_select and its retry
 * returns ASOK_ELIMIT, as a receive made then would.
 *   n: 0 removes the limit.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (n > INT64_MAX). */
ASOK_API int asok_setlimit(asok_sock *s, size_t n);

/* asok_buffered gives the number of received bytes buffered in asok for
 * s that no waiting asok_receive holds: what a new asok_receive would get
 * at once, without reading the fd (LuaSocket's dirty(); a read look
 * counts the same). A receive that returned ASOK_EWAIT with a partial
 * result buffered (a line not ended yet, a count not reached, ASOK_ALL
 * before the end) holds that partial, as LuaSocket's receive keeps it in
 * the call's own buffer: it is not counted (0 while it waits), until the
 * receive ends (its result, or ASOK_ETIMEOUT with the partial: nothing
 * left) or lets it go (asok_cancel of its token, or the token waiting in
 * asok_wait instead, or ending there, or in asok_accept, with
 * ASOK_ETIMEOUT once its time is up: then it is the next receive's,
 * counted, and the read looks on s are woken). Only
 * the receive at the head of s's queue holds anything; one queued behind
 * it holds nothing until it is the head and has waited. Threads: the
 * loop's, as every call on s.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (n_out NULL). */
ASOK_API int asok_buffered(asok_sock *s, size_t *n_out);

/* asok_held gives the number of received bytes asok holds for s: those
 * asok_buffered counts and a waiting receive's partial result. What an
 * asok_close of s keeps, to be served to the receives waiting then and
 * to later ones until asok_sock_free (a host that frees a closed handle
 * at once when nothing is held loses nothing). Threads: the loop's, as
 * every call on s.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (n_out NULL). */
ASOK_API int asok_held(asok_sock *s, size_t *n_out);

/* asok_received gives the number of bytes asok_receive has consumed on
 * stream socket s since it was wrapped (LuaSocket's getstats() count: the
 * CRs and LF ending each line are included; bytes still buffered, or
 * dropped unread by asok_close, are not). Still answers after asok_close,
 * until asok_sock_free. Any thread that may call asok_receive on s.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (n_out NULL). */
ASOK_API int asok_received(asok_sock *s, uint64_t *n_out);

/* asok_sock_fd gives the fd of s (-1 once closed).
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (fd_out NULL). */
ASOK_API int asok_sock_fd(asok_sock *s, int *fd_out);

/* asok_shutdown shuts down the "receive" (0), "send" (1) or "both" (2)
 * directions of s (shutdown(2)). A send (or ASOK_WRITE wait) parked at the
 * head of s's queue is made ready by 1 and 2 (the kernel gives no event
 * for it on a unix stream socket whose buffer is full, and a throttled one
 * would wait for its next grant): its retry returns ASOK_ECLOSED with what
 * it had sent. Receives are woken by the kernel's event. Safe to call after
 * the fd was shut down by other code, to wake such a send.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_ECLOSED; ASOK_EINVAL; -errno. */
ASOK_API int asok_shutdown(asok_sock *s, int how);

/* asok_close closes s: it is removed from epoll (before the fd is closed),
 * the fd is closed if asok owns it, and EVERY token parked on s is made
 * ready; their retries return ASOK_ECLOSED. The handle stays valid until
 * asok_sock_free(): operations return ASOK_ECLOSED, except that receives
 * still get the data asok had buffered (as LuaSocket's buffer outlives
 * its close: whole patterns, then the rest as ASOK_ECLOSED's partial
 * result; ASOK_ALL returns the rest), the receives waiting at the close
 * first, in call order (each one's retry gets its share, whenever it
 * comes; one whose timeout had passed gets ASOK_ETIMEOUT with what it
 * had; a retry with another pattern or n, its share worked out again
 * under them: asok_receive; its token taken up by another operation
 * before its retry, on s or elsewhere, abandons it, the share given back
 * as asok_cancel's: Tokens, above), and a send the close cut short reports what it had sent (with
 * ASOK_ETIMEOUT if its timeout had passed before the close).
 * Idempotent. Returns: 0; ASOK_EBADHANDLE. */
ASOK_API int asok_close(asok_sock *s);

/* asok_sock_free closes s (as asok_close) and releases the handle, with
 * the data s still had buffered (its memory is given back).
 * Ownership: consumes s; a second free returns ASOK_EBADHANDLE.
 * Returns: 0; ASOK_EBADHANDLE. */
ASOK_API int asok_sock_free(asok_sock *s);

/* ---- datagram sockets (UDP) -------------------------------------------- */

/* Datagram sockets (asok_udp_new, or a SOCK_DGRAM fd given to asok_wrap)
 * move one datagram per operation, with LuaSocket's udp.c semantics; the
 * token, FIFO and timeout rules are those of the stream functions above.
 *  - asok_receive(s, ASOK_COUNT, n, ...) receives one datagram truncated
 *    to n bytes (the kernel discards the rest). An empty datagram is a
 *    valid result of length 0; n = 0 waits for a datagram, consumes it and
 *    returns length 0. Other patterns: ASOK_EINVAL. Datagrams have no
 *    partial results: on any failure *len is 0. On a connected socket, a
 *    refused peer (ICMP port unreachable) is -ECONNREFUSED.
 *  - asok_send(s, ...) sends data as one datagram to the connected peer:
 *    all len bytes or nothing (*sent is len or 0). -EMSGSIZE if too big.
 *  - ASOK_ECLOSED means the socket was closed locally (or EPIPE after a
 *    shutdown); LuaSocket reports it as "refused" for sends.
 *  - asok_unread on a datagram socket: ASOK_EINVAL. */

/* asok_udp_new creates a non-blocking UDP socket owned by asok.
 *   family: 4 (IPv4) or 6 (IPv6; the socket is IPV6_V6ONLY, as LuaSocket's).
 *   sock_out: caller-owned output; free with asok_sock_free().
 * Bind it with asok_bind, connect it (asok_connect completes at once for
 * UDP) to use asok_send/asok_receive.
 * Returns: 0; ASOK_EBADHANDLE; ASOK_EINVAL (family); -errno. */
ASOK_API int asok_udp_new(asok_loop *loop, int family, asok_sock **sock_out);

/* asok_receivefrom receives one datagram truncated to n bytes on datagram
 * socket s, and its sender. *data and *len are always written, errors
 * included: the datagram on success (asok-owned memory, valid until the
 * next call on the same loop), length 0 otherwise. On success only, the
 * sender's numeric ip is written to ip_out (a caller buffer of iplen >= 46
 * bytes, always NUL-terminated; "::ffff:a.b.c.d" for an IPv4 sender on a
 * dual-stack socket, "%zone" appended to a scoped IPv6 address, the
 * sender's path for a unix datagram socket; a longer address is truncated
 * to iplen - 1) and its port to *port_out (0 for unix sockets). n = 0
 * consumes a datagram.
 * Returns: 0; ASOK_EWAIT (token parked until a datagram arrives);
 * ASOK_ETIMEOUT; ASOK_ECLOSED; -errno (-ECONNREFUSED on a connected socket);
 * ASOK_EBADHANDLE; ASOK_EINVAL (not a datagram socket, NULL output, iplen
 * < 46, iplen above INT64_MAX or past the end of the address space, n
 * above INT64_MAX: ask for INT64_MAX to get any datagram whole; checked
 * before a datagram is taken, so it stays queued; ip_out and *port_out
 * are not written). */
ASOK_API int asok_receivefrom(asok_sock *s, size_t n, asok_token token, const char **data,
                              size_t *len, char *ip_out, size_t iplen, int *port_out);

/* asok_sendto sends len bytes of data as one datagram to numeric ip and
 * port (0..65535) on datagram socket s (connected or not). An IPv4 address
 * on a dual-stack IPv6 socket (an fd with IPV6_V6ONLY off given to
 * asok_wrap) is sent IPv4-mapped; asok_udp_new(loop, 6) sockets are
 * IPv6-only, so there it fails (-ENETUNREACH); a scoped IPv6 address
 * keeps its zone ("fe80::1%eth0" or "%2"; an unknown interface is
 * ASOK_EINVAL, as here and in asok_bind/asok_connect); names and "*" are ASOK_EINVAL
 * (resolve them first). On a unix datagram socket (a SOCK_DGRAM AF_UNIX
 * fd given to asok_wrap), ip is the receiver's path (shorter than 108
 * bytes; a leading '@' is a file name, not the abstract namespace) and
 * port is ignored. If the send buffer is full the token is parked until s
 * is writable and ASOK_EWAIT is returned; call again with the same
 * arguments. A unix receiver whose queue is full parks the token too: it
 * is retried every millisecond (the kernel signals no writability for it).
 * data and ip: borrowed for the call only.
 *   *sent: always written: len once sent, else 0.
 * Returns: 0; ASOK_EWAIT; ASOK_ETIMEOUT; ASOK_ECLOSED; -errno (-EMSGSIZE,
 * -ECONNREFUSED, -ENOENT for a unix path, -EINVAL for an empty one...);
 * ASOK_EBADHANDLE; ASOK_EINVAL (bad address, port or path, not a datagram
 * socket, sent or ip NULL, data NULL with len > 0, len above INT64_MAX or
 * past the end of the address space). */
ASOK_API int asok_sendto(asok_sock *s, const char *data, size_t len, const char *ip, int port,
                         asok_token token, size_t *sent);

/* ---- throttling -------------------------------------------------------- */

/* asok_throttle limits direction dir of s (ASOK_READ: what asok_receive /
 * asok_receivefrom read from the kernel; ASOK_WRITE: what asok_send /
 * asok_sendto write) to bps bytes per second, on the loop's monotonic
 * clock, with a token bucket that starts empty and holds at most a quarter
 * second of budget. A stream operation without budget parks its token on a
 * timer (not on the socket's readiness, so a throttled socket never slows
 * the others) until 1/50 s of budget is there, then reads or writes at most
 * the budget; a datagram goes whole once the bucket is out of debt and its
 * size is charged. Socket timeouts still apply (ASOK_ETIMEOUT with the
 * partial result). Changing or lifting the limit wakes an operation parked
 * on the old one. Asok's own buffered data is not throttled again.
 *   bps: bytes per second, rounded to an integer >= 1 and capped at 2^34;
 *        0 or +INFINITY lifts the limit (the default).
 * Returns: 0; ASOK_EBADHANDLE; ASOK_ECLOSED; ASOK_EINVAL (bad dir, NaN or
 * negative bps). */
ASOK_API int asok_throttle(asok_sock *s, int dir, double bps);

/* ---- name resolution --------------------------------------------------- */

/* asok_resolve gives the addresses of host without blocking the loop. A
 * name is looked up by the system resolver on a thread of its own (never
 * the loop's); its result is posted back to the loop, which wakes up. A
 * numeric host ("127.0.0.1", "::1", "fe80::1%eth0", inet_aton forms such
 * as "127.1") answers at once.
 *   host:   borrowed for the call only.
 *   family: 0 (any), 4 (IPv4 only) or 6 (IPv6 only).
 *   out:    a caller buffer of outlen bytes. On success it holds the
 *           addresses, preferred first, as numeric strings each ending in
 *           NUL, then an empty string: "127.0.0.1\0::1\0\0" (IPv4 ones are
 *           never v4-mapped). Walk it with: for (p = out; *p; p += strlen(p) + 1).
 *   len_out: may be NULL; on 0 and -ERANGE, the bytes the list needs
 *           (final NUL included).
 * The first call with a name parks token and returns ASOK_EWAIT;
 * asok_select() hands token back when the answer is in; call again with
 * the same token, host and family to get it (the loop then forgets it).
 * If outlen is too small the answer is kept: -ERANGE, *len_out = the size
 * needed; call again with the same token and a larger buffer (a kept
 * answer does not make the token busy: do not park it elsewhere first, or
 * asok_cancel it to drop the answer).
 * asok_cancel(token) abandons a lookup (its late result is dropped).
 * Token 0 never waits: a name gives ASOK_ETIMEOUT. A lookup is bounded by
 * the resolver's own timeouts and by 30 s; asok_loop_free() with lookups
 * in flight is safe (their results are dropped when they end).
 * Threads: like every loop call (the loop's thread only).
 * Returns: 0; ASOK_EWAIT; ASOK_ETIMEOUT; ASOK_EAI_NONAME (no such host, or
 * no address of that family); ASOK_EAI_AGAIN (name server timeout or
 * temporary failure); ASOK_EAI_FAIL (other resolver failure);
 * ASOK_EAI_ADDRFAMILY (a numeric host of the other family); -ERANGE;
 * ASOK_EBUSY (token parked elsewhere, or resolving another host/family);
 * ASOK_EINVAL (host NULL, out NULL with outlen > 0, outlen above
 * INT64_MAX or past the end of the address space, bad family; checked
 * before any lookup starts: the token is not parked, out and *len_out are
 * not written, a kept answer stays kept); ASOK_EBADHANDLE. The
 * ASOK_EAI_* strings are LuaSocket's. */
ASOK_API int asok_resolve(asok_loop *loop, const char *host, int family, asok_token token,
                          char *out, size_t outlen, size_t *len_out);

/* ---- SOCKS proxies ----------------------------------------------------- */

/* asok_socks4_connect asks the SOCKS4 proxy s is connected to (asok_connect
 * to the proxy first) to CONNECT to ip:port, as user. It sends the request
 * and reads the 8-byte reply with asok's own send and receive under token:
 * ASOK_EWAIT while waiting; call again with the SAME arguments and token
 * (as asok_send). Exactly the reply is consumed: bytes the proxy sends
 * after it stay buffered for the next asok_receive. The socket's timeouts
 * apply to each send and receive of the handshake; token 0 never waits.
 *   ip:   an IPv4 literal ("10.0.0.1"); borrowed for the call only.
 *   port: 0..65535.
 *   user: the user id, up to 255 bytes; NULL for none. Borrowed.
 * A handshake that returned ASOK_EWAIT belongs to its token until it ends:
 * another token gets ASOK_EBUSY. After asok_cancel of its token the stream
 * is mid-handshake: close it.
 * Returns: 0 (the proxy granted the connection; s now talks to ip:port);
 * ASOK_EWAIT; ASOK_ESOCKS4_* (refused or an invalid reply);
 * ASOK_ETIMEOUT; ASOK_ECLOSED; -errno; ASOK_EBADHANDLE; ASOK_EBUSY;
 * ASOK_EINVAL (ip NULL or not IPv4, port out of range, user too long, s not
 * a stream socket or a listening one, a retry with other arguments;
 * an unconnected stream socket fails as asok_send does: ASOK_ECLOSED). */
ASOK_API int asok_socks4_connect(asok_sock *s, const char *ip, int port, const char *user,
                                 asok_token token);

/* asok_socks5_connect asks the SOCKS5 proxy s is connected to to CONNECT
 * to host:port (RFC 1928), with the same retry, buffering, timeout and
 * token rules as asok_socks4_connect. With a user it offers RFC 1929
 * user/password authentication besides "none" (the proxy picks). The bound
 * address of the reply is read and dropped.
 *   host: an IPv4 or IPv6 literal ("::1" or "[::1]") sent as an address,
 *         else a name of 1..255 bytes the proxy resolves. Borrowed.
 *   port: 0..65535.
 *   user, password: up to 255 bytes each; user NULL or "" for no
 *         authentication; password NULL is "" (a password without a user
 *         is ASOK_EINVAL: it would not be sent). Borrowed.
 * Returns: 0 (granted); ASOK_EWAIT; ASOK_ESOCKS5_* (refused, no acceptable
 * method, authentication failed, invalid reply); ASOK_ETIMEOUT;
 * ASOK_ECLOSED; -errno; ASOK_EBADHANDLE; ASOK_EBUSY; ASOK_EINVAL (host
 * NULL, empty or longer than 255 bytes, port out of range, user or
 * password too long, a password without a user, s not a stream socket or a listening one, a retry
 * with other arguments; an unconnected stream socket fails as asok_send
 * does: ASOK_ECLOSED). */
ASOK_API int asok_socks5_connect(asok_sock *s, const char *host, int port, const char *user,
                                 const char *password, asok_token token);

#ifdef __cplusplus
}
#endif
#endif /* ASOK_H */

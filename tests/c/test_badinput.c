/* test_badinput.c - hostile C callers: a forced Go panic comes back as
 * ASOK_EINTERNAL (the process lives on), handles and tokens of another
 * loop, zero and SIZE_MAX lengths, infinite and out-of-range numbers, a
 * NULL out-pointer on every function that has one, set sizes past
 * ASOK_WAITSET_MAX, arrays and output buffers past the end of the
 * address space, sockets of the wrong kind, direction flags out of range,
 * and tokens in use. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"
#include "pair.h"


/* test_panic: a Go panic is caught at the export, every time, and the
 * library keeps working. */
static void test_panic(void) {
  asok_loop *loop;
  int i, fd;
  for (i = 0; i < 3; i++) CHECK_EQ(asok_debug_panic(), ASOK_EINTERNAL);
  CHECK_STREQ(asok_strerror(asok_debug_panic()), "internal error");
  CHECK_EQ(asok_loop_new(&loop), 0);
  CHECK_EQ(asok_loop_fd(loop, &fd), 0);
  CHECK(fd >= 0);
  CHECK_EQ(asok_loop_free(loop), 0);
}

/* test_other_loop: tokens and handles of loop b mean nothing to loop a. */
static void test_other_loop(void) {
  asok_loop *a, *b;
  asok_sock *s, *c;
  asok_token t[4];
  CHECK_EQ(asok_loop_new(&a), 0);
  CHECK_EQ(asok_loop_new(&b), 0);
  pair(b, &s, &c);
  CHECK_EQ(asok_sleep(b, 0, 40), 0);
  CHECK_EQ(asok_cancel(a, 40), 0);          /* not a's token: no effect */
  CHECK_EQ(asok_select(a, 0, t, 4), 0);     /* b's ready token stays b's */
  CHECK_EQ(asok_select(b, 0, t, 4), 1);
  CHECK_EQ(t[0], 40);
  CHECK_EQ(asok_sleep(a, 0, 40), 0);        /* same token, other loop: fine */
  CHECK_EQ(asok_select(a, 0, t, 4), 1);
  CHECK_EQ(asok_select(a, 0, NULL, 0), 0);
  /* b's socket where a loop is wanted, a's loop where a socket is wanted */
  CHECK_EQ(asok_select((asok_loop *)s, 0, t, 4), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sleep((asok_loop *)s, 0, 41), ASOK_EBADHANDLE);
  CHECK_EQ(asok_wrap((asok_loop *)c, 0, 0, &c), ASOK_EBADHANDLE);
  CHECK_EQ(asok_send((asok_sock *)a, "x", 1, 0, &(size_t){0}), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_free(b), 0);           /* s and c go with b */
  CHECK_EQ(asok_close(s), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free(c), ASOK_EBADHANDLE);
  CHECK_EQ(asok_select(a, 0, t, 4), 0);     /* a is unaffected */
  CHECK_EQ(asok_loop_free(a), 0);
}

/* test_lengths: zero, SIZE_MAX and other extreme sizes and numbers. */
static void test_lengths(asok_loop *loop) {
  asok_sock *a, *b;
  const char *d = NULL;
  size_t n = 99, sent = 99;
  char ip[46];
  int port, rc;
  pair(loop, &a, &b);
  CHECK_EQ(asok_send(a, "x", 0, 5, &sent), 0);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_send(a, NULL, 0, 5, &sent), 0);
  CHECK_EQ(asok_send(a, "x", SIZE_MAX, 5, &sent), ASOK_EINVAL);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_send(a, "x", (size_t)INT64_MAX + 1, 5, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_unread(b, "x", SIZE_MAX), ASOK_EINVAL);
  CHECK_EQ(asok_unread(b, NULL, 0), 0);
  CHECK_EQ(asok_unread(b, NULL, 5), ASOK_EINVAL);
  CHECK_EQ(asok_buffered(b, &n), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_receive(b, ASOK_COUNT, SIZE_MAX, 6, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(b, ASOK_COUNT, 0, 0, &d, &n), ASOK_ETIMEOUT);
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_receive(b, INT_MIN, 1, 6, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(b, INT_MAX, 1, 6, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_send(a, "abc", 3, 7, &sent), 0);
  rc = asok_receive(b, ASOK_COUNT, 3, 8, &d, &n);
  if (rc == ASOK_EWAIT) {
    drive(loop, 8);
    rc = asok_receive(b, ASOK_COUNT, 3, 8, &d, &n);
  }
  CHECK_EQ(rc, 0);
  CHECK_EQ(n, 3);
  CHECK(memcmp(d, "abc", 3) == 0);
  CHECK_EQ(asok_getsockname(a, ip, 0, &port), ASOK_EINVAL);
  /* a capacity above INT64_MAX, which no buffer at ip can have
   * (test_out_spans: INT64_MAX is taken, asok writes only what it needs) */
  CHECK_EQ(asok_getsockname(a, ip, SIZE_MAX, &port), ASOK_EINVAL);
  CHECK_EQ(asok_settimeout(a, INFINITY, -INFINITY), 0);
  CHECK_EQ(asok_settimeout(a, 1e300, DBL_MAX), 0);
  CHECK_EQ(asok_sleep(loop, INFINITY, 50), 0);
  CHECK_EQ(asok_sleep(loop, -INFINITY, 51), 0);
  CHECK_EQ(asok_sleep(loop, 1e300, 52), 0);
  drive(loop, 51);
  CHECK_EQ(asok_cancel(loop, 50), 0);
  CHECK_EQ(asok_cancel(loop, 52), 0);
  CHECK_EQ(asok_cancel(loop, UINT64_MAX), 0);
  CHECK_EQ(asok_sleep(loop, 0, UINT64_MAX), 0);
  drive(loop, UINT64_MAX);
  CHECK_EQ(asok_loop_wake(loop), 0);
  CHECK_EQ(asok_select(loop, -INFINITY, NULL, 0), 0); /* no limit, woken */
  CHECK_EQ(asok_shutdown(a, INT_MIN), ASOK_EINVAL);
  CHECK_EQ(asok_wait(a, INT_MAX, 9), ASOK_EINVAL);
  CHECK_EQ(asok_connect(a, "127.0.0.1", -1, 9), ASOK_EINVAL);
  CHECK_EQ(asok_connect(a, "127.0.0.1", 65536, 9), ASOK_EINVAL);
  CHECK_EQ(asok_listen(b, INT_MIN), -22 /* -EINVAL: connected */);
  CHECK_EQ(asok_wrap(loop, -1, 0, &a), ASOK_EINVAL);
  CHECK_EQ(asok_wrap(loop, INT_MAX, 0, &a), -9 /* -EBADF */);
  CHECK_EQ(asok_wrap(loop, 0, ~0u, &a), ASOK_EINVAL);
  CHECK_EQ(asok_tcp_new(loop, INT_MIN, &a), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(b), 0);
}

/* test_limit: asok_setlimit arguments, and a line past the limit comes
 * back as ASOK_ELIMIT with its first n bytes; the rest stays buffered. */
static void test_limit(asok_loop *loop) {
  asok_sock *a, *b;
  const char *d = NULL;
  size_t n = 0, sent = 0;
  int rc;
  CHECK_EQ(asok_setlimit(NULL, 5), ASOK_EBADHANDLE);
  pair(loop, &a, &b);
  CHECK_EQ(asok_setlimit(b, SIZE_MAX), ASOK_EINVAL);
  CHECK_EQ(asok_setlimit(b, 4), 0);
  CHECK_EQ(asok_send(a, "abcdefgh\nok\n", 12, 0, &sent), 0);
  rc = asok_receive(b, ASOK_LINE, 0, 60, &d, &n);
  if (rc == ASOK_EWAIT) {
    drive(loop, 60);
    rc = asok_receive(b, ASOK_LINE, 0, 60, &d, &n);
  }
  CHECK_EQ(rc, ASOK_ELIMIT);
  CHECK_STREQ(asok_strerror(rc), "receive limit exceeded");
  CHECK_EQ(n, 4);
  CHECK(memcmp(d, "abcd", 4) == 0);
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 0, &d, &n), 0); /* 4 bytes: within */
  CHECK_EQ(n, 4);
  CHECK(memcmp(d, "efgh", 4) == 0);
  CHECK_EQ(asok_setlimit(b, 0), 0);
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 0, &d, &n), 0);
  CHECK_EQ(n, 2);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
}

/* test_null_outs: every out-pointer NULL on a live handle, and NULL
 * handles with NULL outs: ASOK_EINVAL or ASOK_EBADHANDLE, never a crash. */
static void test_null_outs(asok_loop *loop) {
  asok_sock *a, *b;
  asok_token t;
  const char *d;
  size_t n;
  char ip[46];
  int port, fds[2];
  pair(loop, &a, &b);
  CHECK_EQ(asok_loop_new(NULL), ASOK_EINVAL);
  CHECK_EQ(asok_loop_fd(loop, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_loop_timeout(loop, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_select(loop, 0, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_select(loop, 0, &t, INT_MIN), ASOK_EINVAL);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  CHECK_EQ(asok_wrap(loop, fds[0], 0, NULL), ASOK_EINVAL);
  close(fds[0]);
  close(fds[1]);
  CHECK_EQ(asok_tcp_new(loop, 4, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_bind(a, NULL, 0), ASOK_EINVAL);
  CHECK_EQ(asok_connect(a, NULL, 1, 3), ASOK_EINVAL);
  CHECK_EQ(asok_getsockname(a, NULL, sizeof ip, &port), ASOK_EINVAL);
  CHECK_EQ(asok_getsockname(a, ip, sizeof ip, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_accept(a, 3, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 3, NULL, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 3, &d, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_send(a, "x", 1, 3, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_buffered(a, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_sock_fd(a, NULL), ASOK_EINVAL);
  /* NULL handle and NULL outs together: the handle is checked first */
  CHECK_EQ(asok_loop_fd(NULL, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_timeout(NULL, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_select(NULL, 0, NULL, 5), ASOK_EBADHANDLE);
  CHECK_EQ(asok_wrap(NULL, 0, 0, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_tcp_new(NULL, 4, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_getsockname(NULL, NULL, 0, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_accept(NULL, 3, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_receive(NULL, ASOK_LINE, 0, 3, NULL, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_send(NULL, NULL, 1, 3, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_buffered(NULL, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_fd(NULL, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_bind(NULL, NULL, 0), ASOK_EBADHANDLE);
  CHECK_EQ(asok_connect(NULL, NULL, 0, 0), ASOK_EBADHANDLE);
  CHECK_EQ(asok_unread(NULL, NULL, SIZE_MAX), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
}

/* TOP is an address 64 bytes below the end of the address space: an
 * array there of more than 64 bytes would wrap. */
#define TOP ((void *)(uintptr_t)-64)

/* test_set_bounds: asok_waitset and asok_cancelset refuse an n above
 * ASOK_WAITSET_MAX (a negative int or a 32-bit -1 converted to size_t)
 * without reading the array: it is a PROT_NONE page here, whose first
 * read would kill the process. An array that would wrap the address
 * space is refused too (it was ASOK_EINTERNAL, a caught panic). */
static void test_set_bounds(asok_loop *loop) {
  long pg = sysconf(_SC_PAGESIZE);
  void *p = mmap(NULL, (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  size_t bad[] = {(size_t)ASOK_WAITSET_MAX + 1, (size_t)UINT32_MAX, (size_t)1 << 40,
                  ((size_t)1 << 40) + 1, (size_t)INT64_MAX, SIZE_MAX};
  size_t i;
  CHECK(p != MAP_FAILED);
  CHECK_EQ(ASOK_WAITSET_MAX, INT_MAX);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_EQ(asok_waitset(loop, (asok_waitreq *)p, bad[i]), ASOK_EINVAL);
    CHECK_EQ(asok_cancelset(loop, (asok_token *)p, bad[i]), ASOK_EINVAL);
  }
  CHECK_EQ(asok_waitset(loop, (asok_waitreq *)p, 0), 0);
  CHECK_EQ(asok_cancelset(loop, (asok_token *)p, 0), 0);
  CHECK_EQ(asok_waitset(loop, (asok_waitreq *)TOP, 3), ASOK_EINVAL);
  CHECK_EQ(asok_cancelset(loop, (asok_token *)TOP, 9), ASOK_EINVAL);
  CHECK_EQ(asok_waitset(NULL, (asok_waitreq *)p, SIZE_MAX), ASOK_EBADHANDLE);
  CHECK_EQ(asok_cancelset(NULL, (asok_token *)p, SIZE_MAX), ASOK_EBADHANDLE);
  CHECK_EQ(munmap(p, (size_t)pg), 0);
}

/* test_spans: a buffer whose length runs past the end of the address
 * space is ASOK_EINVAL, not a panic caught as ASOK_EINTERNAL ("a bug in
 * asok"); *sent is written all the same. */
static void test_spans(asok_loop *loop) {
  asok_sock *a, *b, *u;
  size_t sent = 99;
  pair(loop, &a, &b);
  CHECK_EQ(asok_udp_new(loop, 4, &u), 0);
  CHECK_EQ(asok_send(a, TOP, 65, 3, &sent), ASOK_EINVAL);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_unread(b, TOP, 65), ASOK_EINVAL);
  sent = 99;
  CHECK_EQ(asok_sendto(u, TOP, 65, "127.0.0.1", 9, 3, &sent), ASOK_EINVAL);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_select(loop, 0, (asok_token *)TOP, 9), ASOK_EINVAL);
  CHECK_EQ(asok_buffered(b, &sent), 0);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
  CHECK_EQ(asok_sock_free(u), 0);
}

/* NEARTOP is an address 4 bytes below the end of the address space: an
 * output buffer there of more than 4 bytes would wrap. */
#define NEARTOP ((char *)(uintptr_t)-4)

/* test_out_spans: the buffers asok writes (asok_getsockname's and
 * asok_receivefrom's ip_out, asok_resolve's out) are refused as the
 * arrays it reads are: a length above INT64_MAX or past the end of the
 * address space is ASOK_EINVAL before the operation starts and before
 * anything is written (it was ASOK_EINTERNAL, a caught panic, and
 * asok_receivefrom had consumed the datagram by then). asok_select's
 * tokens_out and asok_waitset's reqs are test_spans' and test_set_bounds'. */
static void test_out_spans(asok_loop *loop) {
  asok_sock *a, *b, *u, *v;
  const char *d = "x";
  char ip[64];
  size_t n = 99, need = 99;
  int port = 7, uport, rc;
  pair(loop, &a, &b);
  CHECK_EQ(asok_getsockname(a, NEARTOP, 46, &port), ASOK_EINVAL);
  CHECK_EQ(asok_getsockname(a, TOP, 65, &port), ASOK_EINVAL);
  CHECK_EQ(asok_getsockname(a, ip, (size_t)INT64_MAX + 1, &port), ASOK_EINVAL);
  CHECK_EQ(port, 7);                                 /* nothing written */
  /* the largest length asok takes, INT64_MAX, ends within the address
   * space from ip (user space is far below 2^63): taken, and asok writes
   * only what it needs */
  CHECK_EQ(asok_getsockname(a, ip, (size_t)INT64_MAX, &port), 0);
  CHECK_STREQ(ip, "127.0.0.1");
  /* receivefrom: refused before it takes the datagram, which stays */
  CHECK_EQ(asok_udp_new(loop, 4, &u), 0);
  CHECK_EQ(asok_bind(u, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_getsockname(u, ip, sizeof ip, &uport), 0);
  CHECK_EQ(asok_udp_new(loop, 4, &v), 0);
  CHECK_EQ(asok_sendto(v, "dg", 2, "127.0.0.1", uport, 0, &n), 0);
  rc = asok_wait(u, ASOK_READ, 100);
  if (rc == ASOK_EWAIT) {
    drive(loop, 100);
    rc = asok_wait(u, ASOK_READ, 100);
  }
  CHECK_EQ(rc, 0);
  port = 7;
  CHECK_EQ(asok_receivefrom(u, 9, 0, &d, &n, NEARTOP, 46, &port), ASOK_EINVAL);
  CHECK(d == NULL);                                  /* always written */
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_receivefrom(u, 9, 0, &d, &n, ip, (size_t)INT64_MAX + 6, &port), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(u, 9, 0, &d, &n, ip, SIZE_MAX, &port), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(u, 9, 101, &d, &n, TOP, 65, &port), ASOK_EINVAL);
  CHECK_EQ(port, 7);
  CHECK_EQ(asok_sleep(loop, 0, 101), 0);             /* 101 was not parked */
  drive(loop, 101);
  CHECK_EQ(asok_receivefrom(u, 9, 0, &d, &n, ip, sizeof ip, &port), 0);
  EXPECT(0, d, n, "dg");                             /* still there */
  CHECK_STREQ(ip, "127.0.0.1");
  /* resolve: a numeric host answers at once, a name would park */
  need = 99;
  CHECK_EQ(asok_resolve(loop, "127.0.0.1", 0, 0, NEARTOP, 46, &need), ASOK_EINVAL);
  CHECK_EQ(need, 99);
  CHECK_EQ(asok_resolve(loop, "127.0.0.1", 0, 0, ip, (size_t)INT64_MAX + 1, &need), ASOK_EINVAL);
  CHECK_EQ(asok_resolve(loop, "localhost", 0, 102, TOP, 65, &need), ASOK_EINVAL);
  CHECK_EQ(need, 99);
  CHECK_EQ(asok_sleep(loop, 0, 102), 0);             /* no lookup parked it */
  drive(loop, 102);
  CHECK_EQ(asok_resolve(loop, "127.0.0.1", 0, 0, ip, (size_t)INT64_MAX, &need), 0);
  CHECK_EQ(need, 11);
  CHECK_STREQ(ip, "127.0.0.1");
  CHECK_EQ(asok_resolve(loop, "127.0.0.1", 0, 0, TOP, 0, &need), -ERANGE); /* no buffer */
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
  CHECK_EQ(asok_sock_free(u), 0);
  CHECK_EQ(asok_sock_free(v), 0);
}

/* unixlistener wraps a listening AF_UNIX stream socket (abstract name). */
static asok_sock *unixlistener(asok_loop *loop) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  asok_sock *s;
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(fd >= 0);
  snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "asok-badinput-%d", (int)getpid());
  CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  CHECK_EQ(listen(fd, 4), 0);
  CHECK_EQ(asok_wrap(loop, fd, ASOK_OWNFD, &s), 0);
  return s;
}

/* test_unread_kinds: asok_unread on each kind of socket. A listener
 * (asok_listen's, a wrapped unix one, or one listen(2)ed by its owner
 * after the wrap) never reads: ASOK_EINVAL whatever len, as a datagram
 * socket, and a read look on it still waits (the bytes it took before
 * called it ready for ever); asok_listen refuses a socket holding unread
 * bytes. After a shutdown, in either direction, unread bytes are read
 * first (LuaSocket's buffer outlives its shutdown too); closed: ECLOSED. */
static void test_unread_kinds(asok_loop *loop) {
  asok_sock *l, *a, *b, *u;
  const char *d;
  size_t n = 99;
  int port, fd;
  l = listener(loop, &port);
  CHECK_EQ(asok_unread(l, "x", 1), ASOK_EINVAL);
  CHECK_EQ(asok_unread(l, "", 0), ASOK_EINVAL);
  CHECK_EQ(asok_buffered(l, &n), 0);
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_wait(l, ASOK_READ | ASOK_LOOK, 70), ASOK_EWAIT);
  CHECK_EQ(asok_cancel(loop, 70), 0);
  CHECK_EQ(asok_sock_free(l), 0);
  l = unixlistener(loop);
  CHECK_EQ(asok_unread(l, "x", 1), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(l), 0);
  CHECK_EQ(asok_tcp_new(loop, 4, &l), 0);            /* listen(2) behind asok */
  CHECK_EQ(asok_bind(l, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_sock_fd(l, &fd), 0);
  CHECK_EQ(listen(fd, 4), 0);
  CHECK_EQ(asok_unread(l, "x", 1), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(l), 0);
  CHECK_EQ(asok_tcp_new(loop, 4, &l), 0);            /* unread, then listen */
  CHECK_EQ(asok_bind(l, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_unread(l, "ab", 2), 0);
  CHECK_EQ(asok_listen(l, 0), ASOK_EINVAL);
  CHECK_EQ(asok_buffered(l, &n), 0);
  CHECK_EQ(n, 2);
  CHECK_EQ(asok_sock_free(l), 0);
  CHECK_EQ(asok_udp_new(loop, 4, &u), 0);
  CHECK_EQ(asok_unread(u, "x", 1), ASOK_EINVAL);
  CHECK_EQ(asok_unread(u, "", 0), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(u), 0);
  pair(loop, &a, &b);
  CHECK_EQ(asok_shutdown(b, 0), 0);                  /* receive direction */
  CHECK_EQ(asok_unread(b, "ab\ncd", 5), 0);
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 0, &d, &n), 0);
  EXPECT(0, d, n, "ab");
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 0, &d, &n), ASOK_ECLOSED);
  CHECK_EQ(n, 2);                                    /* the partial line */
  CHECK(memcmp(d, "cd", 2) == 0);
  CHECK_EQ(asok_shutdown(a, 1), 0);                  /* send direction */
  CHECK_EQ(asok_unread(a, "ef\n", 3), 0);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 0, &d, &n), 0);
  EXPECT(0, d, n, "ef");
  CHECK_EQ(asok_close(a), 0);
  CHECK_EQ(asok_unread(a, "x", 1), ASOK_ECLOSED);
  CHECK_EQ(asok_unread(a, "", 0), ASOK_ECLOSED);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
}

/* test_kinds: the calls asok.h says a kind of socket does not have are
 * ASOK_EINVAL; the kernel's answer where it decides (-errno). */
static void test_kinds(asok_loop *loop) {
  asok_sock *l, *a, *b, *u, *x = NULL;
  const char *d;
  size_t n;
  char ip[64];
  int port, peer;
  l = listener(loop, &port);
  pair(loop, &a, &b);
  CHECK_EQ(asok_udp_new(loop, 4, &u), 0);
  CHECK_EQ(asok_bind(u, "127.0.0.1", 0), 0);
  /* SOCKS: a stream socket, not a listening one */
  CHECK_EQ(asok_socks4_connect(l, "1.2.3.4", 1, NULL, 3), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(l, "h", 1, NULL, NULL, 3), ASOK_EINVAL);
  CHECK_EQ(asok_socks4_connect(u, "1.2.3.4", 1, NULL, 3), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(u, "h", 1, NULL, NULL, 3), ASOK_EINVAL);
  /* datagram calls on stream sockets, stream patterns on datagrams */
  CHECK_EQ(asok_receivefrom(a, 1, 3, &d, &n, ip, sizeof ip, &port), ASOK_EINVAL);
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_receivefrom(l, 1, 3, &d, &n, ip, sizeof ip, &port), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(a, "x", 1, "127.0.0.1", 9, 3, &n), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(l, "x", 1, "127.0.0.1", 9, 3, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(u, ASOK_LINE, 0, 3, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(u, ASOK_ALL, 0, 3, &d, &n), ASOK_EINVAL);
  /* a unix socket has no ip and port */
  x = newpair(loop, &peer);
  CHECK_EQ(asok_getsockname(x, ip, sizeof ip, &port), ASOK_EINVAL);
  CHECK_EQ(asok_bind(x, "127.0.0.1", 0), ASOK_EINVAL);
  CHECK_EQ(asok_connect(x, "127.0.0.1", 1, 3), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(x), 0);
  close(peer);
  /* the kernel's answers: accept on a stream, a datagram socket; receive
   * on a listener (no coroutine ever waits there) */
  x = NULL;
  CHECK_EQ(asok_accept(a, 3, &x), -EINVAL);
  CHECK_EQ(asok_accept(u, 3, &x), -EOPNOTSUPP);
  CHECK(x == NULL);
  CHECK_EQ(asok_receive(l, ASOK_LINE, 0, 3, &d, &n), -ENOTCONN);
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_listen(u, 0), -EOPNOTSUPP);
  CHECK_EQ(asok_sock_free(l), 0);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
  CHECK_EQ(asok_sock_free(u), 0);
}

/* test_flags: directions out of range for asok_wait and asok_throttle. */
static void test_flags(asok_loop *loop) {
  asok_sock *a, *b;
  int bad[] = {0, 16, ASOK_READ | 16, ASOK_READ | ASOK_WRITE, ASOK_LOOK,
               ASOK_UNTIMED | ASOK_LOOK, -1, INT_MIN | ASOK_READ, INT_MAX};
  size_t i;
  pair(loop, &a, &b);
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_EQ(asok_wait(a, bad[i], 80), ASOK_EINVAL);
    CHECK_EQ(asok_throttle(a, bad[i], 10), ASOK_EINVAL);
  }
  CHECK_EQ(asok_throttle(a, ASOK_READ | ASOK_LOOK, 10), ASOK_EINVAL);
  CHECK_EQ(asok_throttle(a, ASOK_WRITE | ASOK_UNTIMED, 10), ASOK_EINVAL);
  CHECK_EQ(asok_wait(a, ASOK_READ | ASOK_LOOK | ASOK_UNTIMED, 80), ASOK_EWAIT);
  CHECK_EQ(asok_cancel(loop, 80), 0);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
}

/* test_tokens: a parked token is ASOK_EBUSY anywhere else until its
 * retry ends it, delivered or not; cancelled, it is free again (and a
 * second cancel is 0); another loop's tokens are its own. */
static void test_tokens(asok_loop *loop) {
  asok_loop *other;
  asok_sock *a, *b, *c;
  asok_token t[4];
  const char *d;
  size_t n;
  int peer;
  pair(loop, &a, &b);
  c = newpair(loop, &peer);
  CHECK_EQ(asok_loop_new(&other), 0);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 90, &d, &n), ASOK_EWAIT);
  for (int delivered = 0; delivered < 2; delivered++) {
    CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 90, &d, &n), ASOK_EBUSY);
    CHECK_EQ(asok_send(a, "x", 1, 90, &n), ASOK_EBUSY);
    CHECK_EQ(n, 0);
    CHECK_EQ(asok_sleep(loop, 0, 90), ASOK_EBUSY);
    CHECK_EQ(asok_wait(c, ASOK_READ, 90), ASOK_EBUSY);
    CHECK_EQ(asok_wait(c, ASOK_READ | ASOK_LOOK, 90), ASOK_EBUSY);
    CHECK_EQ(asok_sleep(other, 0, 90), 0);          /* another loop's 90 */
    CHECK_EQ(asok_cancel(other, 90), 0);
    if (!delivered) {
      CHECK_EQ(asok_send(b, "hi\n", 3, 0, &n), 0);
      drive(loop, 90);
    }
  }
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 90, &d, &n), 0); /* the retry */
  EXPECT(0, d, n, "hi");
  CHECK_EQ(asok_sleep(loop, 0, 90), 0);             /* free again */
  CHECK_EQ(asok_cancel(loop, 90), 0);
  CHECK_EQ(asok_cancel(loop, 90), 0);
  CHECK_EQ(asok_select(loop, 0, t, 4), 0);          /* cancelled: not delivered */
  CHECK_EQ(asok_wait(c, ASOK_READ, 90), ASOK_EWAIT);
  CHECK_EQ(asok_cancel(loop, 90), 0);
  CHECK_EQ(asok_loop_free(other), 0);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
  CHECK_EQ(asok_sock_free(c), 0);
  close(peer);
}

/* test_socks_turn: a SOCKS handshake that returned ASOK_EWAIT is its
 * token's until it ends: another token is ASOK_EBUSY, a retry with other
 * arguments (or the other protocol) ASOK_EINVAL, and neither disturbs
 * it: the right retry gets the proxy's grant. */
static void test_socks_turn(asok_loop *loop) {
  asok_sock *c;
  const unsigned char grant[8] = {0, 90, 0, 80, 1, 2, 3, 4};
  char req[64];
  int peer, rc;
  c = newpair(loop, &peer);
  rc = asok_socks4_connect(c, "1.2.3.4", 80, "u", 95);
  CHECK_EQ(rc, ASOK_EWAIT);                          /* the reply is not there */
  CHECK_EQ(read(peer, req, sizeof req), 8 + 2);       /* the request went */
  CHECK_EQ(asok_socks4_connect(c, "1.2.3.4", 80, "u", 96), ASOK_EBUSY);
  CHECK_EQ(asok_socks4_connect(c, "1.2.3.5", 80, "u", 95), ASOK_EINVAL);
  CHECK_EQ(asok_socks4_connect(c, "1.2.3.4", 81, "u", 95), ASOK_EINVAL);
  CHECK_EQ(asok_socks4_connect(c, "1.2.3.4", 80, NULL, 95), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(c, "1.2.3.4", 80, NULL, NULL, 95), ASOK_EINVAL);
  CHECK_EQ(write(peer, grant, sizeof grant), (ssize_t)sizeof grant);
  drive(loop, 95);
  CHECK_EQ(asok_socks4_connect(c, "1.2.3.4", 80, "u", 95), 0);
  CHECK_EQ(asok_sock_free(c), 0);
  close(peer);
}

/* test_outs_on_error: the outputs asok.h says are always written are
 * written on a bad handle too; a second wrap of an fd is -EEXIST; a
 * handle of the wrong type on the calls the other tests leave out. */
static void test_outs_on_error(asok_loop *loop) {
  asok_sock *a, *w = NULL;
  const char *d = "x";
  size_t n = 99, sent = 99;
  char ip[46];
  int port = 7, fd, peer;
  CHECK_EQ(asok_sendto(NULL, "x", 1, "127.0.0.1", 9, 0, &sent), ASOK_EBADHANDLE);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_receivefrom(NULL, 1, 0, &d, &n, ip, sizeof ip, &port), ASOK_EBADHANDLE);
  CHECK(d == NULL);
  CHECK_EQ(n, 0);
  CHECK_EQ(port, 7); /* on success only */
  a = newpair(loop, &peer);
  CHECK_EQ(asok_sock_fd(a, &fd), 0);
  CHECK_EQ(asok_wrap(loop, fd, 0, &w), -EEXIST);
  CHECK(w == NULL);
  /* a socket where a loop goes and back, on the debug and count calls */
  CHECK_EQ(asok_debug_polls((asok_loop *)a, NULL, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_received((asok_sock *)loop, &(uint64_t){0}), ASOK_EBADHANDLE);
  CHECK_EQ(asok_setlimit((asok_sock *)loop, 5), ASOK_EBADHANDLE);
  CHECK_EQ(asok_throttle((asok_sock *)loop, ASOK_READ, 5), ASOK_EBADHANDLE);
  CHECK_EQ(asok_cancelset((asok_loop *)a, NULL, 0), ASOK_EBADHANDLE);
  CHECK_EQ(asok_waitset((asok_loop *)a, NULL, 0), ASOK_EBADHANDLE);
  CHECK_EQ(asok_resolve((asok_loop *)a, "127.0.0.1", 0, 1, ip, sizeof ip, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_udp_new((asok_loop *)a, 4, &w), ASOK_EBADHANDLE);
  CHECK_EQ(asok_socks4_connect((asok_sock *)loop, "1.2.3.4", 1, NULL, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free(a), 0);
  close(peer);
}

int main(void) {
  asok_loop *loop;
  int base = asok_debug_handles();
  test_panic();
  test_other_loop();
  CHECK_EQ(asok_loop_new(&loop), 0);
  test_lengths(loop);
  test_null_outs(loop);
  test_limit(loop);
  test_set_bounds(loop);
  test_spans(loop);
  test_out_spans(loop);
  test_unread_kinds(loop);
  test_kinds(loop);
  test_flags(loop);
  test_tokens(loop);
  test_socks_turn(loop);
  test_outs_on_error(loop);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_panic(), ASOK_EINTERNAL);
  CHECK_EQ(asok_debug_handles(), base);
  printf("badinput ok\n");
  return 0;
}

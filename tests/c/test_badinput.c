/* test_badinput.c - hostile C callers: a forced Go panic comes back as
 * ASOK_EINTERNAL (the process lives on), handles and tokens of another
 * loop, zero and SIZE_MAX lengths, infinite and out-of-range numbers, and a
 * NULL out-pointer on every function that has one. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <sys/socket.h>
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
  CHECK_EQ(asok_getsockname(a, ip, SIZE_MAX, &port), 0); /* writes only what it needs */
  CHECK_STREQ(ip, "127.0.0.1");
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

int main(void) {
  asok_loop *loop;
  int base = asok_debug_handles();
  test_panic();
  test_other_loop();
  CHECK_EQ(asok_loop_new(&loop), 0);
  test_lengths(loop);
  test_null_outs(loop);
  test_limit(loop);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_panic(), ASOK_EINTERNAL);
  CHECK_EQ(asok_debug_handles(), base);
  printf("badinput ok\n");
  return 0;
}

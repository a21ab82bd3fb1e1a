/* test_errors.c - every way to misuse the API is answered with a code:
 * NULL, stale, freed and wrong-type handles, closed sockets, bad arguments;
 * asok_strerror covers every int. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"
#include "pair.h"


/* test_strerror: the table, LuaSocket's strings, and arbitrary ints. */
static void test_strerror(void) {
  int ints[] = {INT_MIN, INT_MAX, 12345, 1, -4095, -4096, ASOK_EBASE - 1,
                ASOK_ELAST_, -9000, -20000};
  size_t i;
  int e;
#define XX(name, msg) CHECK_STREQ(asok_strerror(ASOK_E##name), msg);
  ASOK_ERRNO_MAP(XX)
#undef XX
  CHECK_STREQ(asok_strerror(0), "success");
  CHECK_STREQ(asok_strerror(ASOK_ECLOSED), "closed");
  CHECK_STREQ(asok_strerror(ASOK_ETIMEOUT), "timeout");
  CHECK_STREQ(asok_strerror(-ECONNREFUSED), "connection refused");
  CHECK_STREQ(asok_strerror(-EADDRINUSE), "address already in use");
  CHECK_STREQ(asok_strerror(-EISCONN), "already connected");
  CHECK_STREQ(asok_strerror(-EACCES), "permission denied");
  CHECK_STREQ(asok_strerror(-ECONNRESET), "closed");
  CHECK_STREQ(asok_strerror(-ECONNABORTED), "closed");
  CHECK_STREQ(asok_strerror(-EPIPE), "closed");
  CHECK_STREQ(asok_strerror(-ETIMEDOUT), "timeout");
  CHECK_STREQ(asok_strerror(-ENOENT), "No such file or directory");
  CHECK_STREQ(asok_strerror(12345), "unknown error");
  CHECK_STREQ(asok_strerror(INT_MIN), "unknown error");
  CHECK_STREQ(asok_strerror(INT_MAX), "unknown error");
  CHECK_STREQ(asok_strerror(-4096), "unknown error");
  CHECK_STREQ(asok_strerror(ASOK_ELAST_), "unknown error");
  for (i = 0; i < sizeof ints / sizeof ints[0]; i++)
    CHECK(asok_strerror(ints[i]) != NULL && asok_strerror(ints[i])[0]);
  for (e = -1; e >= -200; e--)
    CHECK(asok_strerror(e) != NULL && asok_strerror(e)[0]);
}

/* test_null_handles: NULL is never dereferenced. */
static void test_null_handles(void) {
  asok_sock *s = NULL;
  asok_token t;
  const char *d;
  size_t n;
  double sec;
  int fd, port;
  char ip[46];
  CHECK_EQ(asok_loop_new(NULL), ASOK_EINVAL);
  CHECK_EQ(asok_loop_free(NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_fd(NULL, &fd), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_timeout(NULL, &sec), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_wake(NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_select(NULL, 0, &t, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sleep(NULL, 0, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_cancel(NULL, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_wrap(NULL, 0, 0, &s), ASOK_EBADHANDLE);
  CHECK_EQ(asok_tcp_new(NULL, 4, &s), ASOK_EBADHANDLE);
  CHECK(s == NULL);
  CHECK_EQ(asok_bind(NULL, "127.0.0.1", 0), ASOK_EBADHANDLE);
  CHECK_EQ(asok_listen(NULL, 0), ASOK_EBADHANDLE);
  CHECK_EQ(asok_getsockname(NULL, ip, sizeof ip, &port), ASOK_EBADHANDLE);
  CHECK_EQ(asok_connect(NULL, "127.0.0.1", 1, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_accept(NULL, 1, &s), ASOK_EBADHANDLE);
  CHECK_EQ(asok_receive(NULL, ASOK_LINE, 0, 1, &d, &n), ASOK_EBADHANDLE);
  n = 99;
  CHECK_EQ(asok_send(NULL, "x", 1, 1, &n), ASOK_EBADHANDLE);
  CHECK_EQ(n, 0); /* *sent is always written */
  CHECK_EQ(asok_wait(NULL, ASOK_READ, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_settimeout(NULL, 1, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_unread(NULL, "x", 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_buffered(NULL, &n), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_fd(NULL, &fd), ASOK_EBADHANDLE);
  CHECK_EQ(asok_shutdown(NULL, 2), ASOK_EBADHANDLE);
  CHECK_EQ(asok_close(NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free(NULL), ASOK_EBADHANDLE);
}

/* test_wrong_type: a loop where a socket goes and back, and garbage. */
static void test_wrong_type(asok_loop *loop) {
  asok_sock *s, *fake = (asok_sock *)loop;
  asok_loop *fakeloop;
  int local = 0, fd;
  size_t n;
  CHECK_EQ(asok_tcp_new(loop, 4, &s), 0);
  fakeloop = (asok_loop *)s;
  CHECK_EQ(asok_bind(fake, "127.0.0.1", 0), ASOK_EBADHANDLE);
  CHECK_EQ(asok_buffered(fake, &n), ASOK_EBADHANDLE);
  CHECK_EQ(asok_close(fake), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free(fake), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_fd(fakeloop, &fd), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_wake(fakeloop), ASOK_EBADHANDLE);
  CHECK_EQ(asok_tcp_new(fakeloop, 4, &s), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_free(fakeloop), ASOK_EBADHANDLE);
  CHECK_EQ(asok_close((asok_sock *)&local), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_free((asok_loop *)&local), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_fd(loop, &fd), 0); /* both survived */
  CHECK_EQ(asok_sock_fd(s, &fd), 0);
  CHECK(fd >= 0);
  CHECK_EQ(asok_sock_free(s), 0);
}

/* test_closed: a closed socket answers ASOK_ECLOSED until freed. */
static void test_closed(asok_loop *loop) {
  asok_sock *s, *c;
  const char *d;
  size_t n;
  int fd, port;
  char ip[46];
  CHECK_EQ(asok_tcp_new(loop, 4, &s), 0);
  CHECK_EQ(asok_close(s), 0);
  CHECK_EQ(asok_close(s), 0); /* idempotent */
  CHECK_EQ(asok_bind(s, "127.0.0.1", 0), ASOK_ECLOSED);
  CHECK_EQ(asok_listen(s, 0), ASOK_ECLOSED);
  CHECK_EQ(asok_getsockname(s, ip, sizeof ip, &port), ASOK_ECLOSED);
  CHECK_EQ(asok_connect(s, "127.0.0.1", 1, 3), ASOK_ECLOSED);
  CHECK_EQ(asok_accept(s, 3, &c), ASOK_ECLOSED);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 3, &d, &n), ASOK_ECLOSED);
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_send(s, "x", 1, 3, &n), ASOK_ECLOSED);
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_wait(s, ASOK_READ, 3), ASOK_ECLOSED);
  CHECK_EQ(asok_unread(s, "x", 1), ASOK_ECLOSED);
  CHECK_EQ(asok_shutdown(s, 2), ASOK_ECLOSED);
  CHECK_EQ(asok_sock_fd(s, &fd), 0);
  CHECK_EQ(fd, -1);
  CHECK_EQ(asok_sock_free(s), 0);
  CHECK_EQ(asok_sock_free(s), ASOK_EBADHANDLE); /* double free harmless */
  CHECK_EQ(asok_close(s), ASOK_EBADHANDLE);     /* stale */
  CHECK_EQ(asok_sock_fd(s, &fd), ASOK_EBADHANDLE);
}

/* test_einval: bad arguments on live handles. */
static void test_einval(asok_loop *loop) {
  asok_sock *a, *b, *s;
  asok_token t;
  const char *d;
  size_t n;
  int fds[2], port;
  char ip[46];
  CHECK_EQ(asok_select(loop, 0, &t, -1), ASOK_EINVAL);
  CHECK_EQ(asok_select(loop, 0, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_select(loop, NAN, &t, 1), ASOK_EINVAL);
  CHECK_EQ(asok_select(loop, 0, NULL, 0), 0);
  CHECK_EQ(asok_sleep(loop, 1, 0), ASOK_EINVAL);
  CHECK_EQ(asok_sleep(loop, NAN, 5), ASOK_EINVAL);
  CHECK_EQ(asok_loop_fd(loop, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_loop_timeout(loop, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_tcp_new(loop, 5, &s), ASOK_EINVAL);
  CHECK_EQ(asok_tcp_new(loop, 4, NULL), ASOK_EINVAL);
  CHECK_EQ(pipe(fds), 0);
  CHECK_EQ(asok_wrap(loop, fds[0], 0, &s), ASOK_EINVAL); /* not a socket */
  close(fds[0]);
  close(fds[1]);

  pair(loop, &a, &b);
  CHECK_EQ(asok_bind(a, NULL, 0), ASOK_EINVAL);
  CHECK_EQ(asok_connect(a, NULL, 1, 4), ASOK_EINVAL);
  CHECK_EQ(asok_tcp_new(loop, 4, &s), 0);
  CHECK_EQ(asok_bind(s, "not an address", 0), ASOK_EINVAL);
  CHECK_EQ(asok_connect(s, "999.1.1.1", 80, 4), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(s), 0);
  CHECK_EQ(asok_getsockname(a, ip, 4, &port), ASOK_EINVAL); /* too small */
  CHECK_EQ(asok_getsockname(a, NULL, 46, &port), ASOK_EINVAL);
  CHECK_EQ(asok_getsockname(a, ip, sizeof ip, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_receive(a, 0, 0, 4, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(a, 4, 0, 4, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 4, NULL, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 4, &d, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_send(a, "x", 1, 4, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_send(a, NULL, 1, 4, &n), ASOK_EINVAL);
  CHECK_EQ(asok_wait(a, 0, 4), ASOK_EINVAL);
  CHECK_EQ(asok_wait(a, 3, 4), ASOK_EINVAL);
  CHECK_EQ(asok_wait(a, ASOK_UNTIMED, 4), ASOK_EINVAL); /* no direction */
  CHECK_EQ(asok_wait(a, 3 | ASOK_UNTIMED, 4), ASOK_EINVAL);
  CHECK_EQ(asok_settimeout(a, NAN, -1), ASOK_EINVAL);
  CHECK_EQ(asok_settimeout(a, -1, NAN), ASOK_EINVAL);
  CHECK_EQ(asok_shutdown(a, 7), ASOK_EINVAL);
  CHECK_EQ(asok_shutdown(a, -1), ASOK_EINVAL);
  CHECK_EQ(asok_accept(a, 4, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_buffered(a, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_sock_fd(a, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
}

/* test_busy: a token parks in one place only. */
static void test_busy(asok_loop *loop) {
  asok_token t;
  CHECK_EQ(asok_sleep(loop, 100, 77), 0);
  CHECK_EQ(asok_sleep(loop, 100, 77), ASOK_EBUSY);
  CHECK_EQ(asok_cancel(loop, 77), 0);
  CHECK_EQ(asok_cancel(loop, 77), 0); /* not parked: still fine */
  CHECK_EQ(asok_select(loop, 0, &t, 1), 0); /* cancelled: never delivered */
  CHECK_EQ(asok_sleep(loop, 0, 77), 0);
  drive(loop, 77);
}

/* test_refused: a connection to a closed port gives "connection refused". */
static void test_refused(asok_loop *loop) {
  asok_sock *lsn, *s;
  int port, rc;
  lsn = listener(loop, &port);
  CHECK_EQ(asok_sock_free(lsn), 0); /* the port is now closed */
  CHECK_EQ(asok_tcp_new(loop, 4, &s), 0);
  rc = asok_connect(s, "127.0.0.1", port, 11);
  if (rc == ASOK_EWAIT) {
    drive(loop, 11);
    rc = asok_connect(s, "127.0.0.1", port, 11);
  }
  CHECK_EQ(rc, -ECONNREFUSED);
  CHECK_STREQ(asok_strerror(rc), "connection refused");
  CHECK_EQ(asok_sock_free(s), 0);
}

/* test_timeout_and_close: "timeout" for token 0 and for a socket timeout;
 * closing wakes the parked token, whose retry says "closed". */
static void test_timeout_and_close(asok_loop *loop) {
  asok_sock *a, *b;
  const char *d;
  size_t n = 99;
  pair(loop, &a, &b);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 0, &d, &n), ASOK_ETIMEOUT);
  CHECK_EQ(n, 0);
  CHECK_STREQ(asok_strerror(ASOK_ETIMEOUT), "timeout");
  CHECK_EQ(asok_settimeout(a, 0.05, -1), 0);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 21, &d, &n), ASOK_EWAIT);
  CHECK_EQ(n, 0);
  drive(loop, 21);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 21, &d, &n), ASOK_ETIMEOUT);

  CHECK_EQ(asok_settimeout(a, -1, -1), 0);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 22, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_close(a), 0);
  drive(loop, 22);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 22, &d, &n), ASOK_ECLOSED);
  CHECK_STREQ(asok_strerror(ASOK_ECLOSED), "closed");
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
}

/* test_loop_free: freeing a loop frees its sockets; all go stale. */
static void test_loop_free(void) {
  asok_loop *loop;
  asok_sock *a, *b;
  size_t n;
  int base = asok_debug_handles();
  CHECK_EQ(asok_loop_new(&loop), 0);
  pair(loop, &a, &b);
  CHECK_EQ(asok_debug_handles(), base + 3);
  CHECK_EQ(asok_receive(a, ASOK_ALL, 0, 5, &(const char *){0}, &n), ASOK_EWAIT);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), base);
  CHECK_EQ(asok_buffered(a, &n), ASOK_EBADHANDLE);
  CHECK_EQ(asok_close(b), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free(a), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_free(loop), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_wake(loop), ASOK_EBADHANDLE);
}

int main(void) {
  asok_loop *loop;
  test_strerror();
  test_null_handles();
  CHECK_EQ(asok_loop_new(&loop), 0);
  test_wrong_type(loop);
  test_closed(loop);
  test_einval(loop);
  test_busy(loop);
  test_refused(loop);
  test_timeout_and_close(loop);
  CHECK_EQ(asok_debug_handles(), 1);
  CHECK_EQ(asok_loop_free(loop), 0);
  test_loop_free();
  CHECK_EQ(asok_debug_handles(), 0);
  printf("errors ok\n");
  return 0;
}

/* test_socks.c - asok_socks5_connect and asok_socks4_connect against a
 * fake proxy written with asok in the test: it checks each request byte
 * for byte, answers canned replies, then plays the target (echo) for a
 * round trip through the granted connection. Also a refused SOCKS5
 * request, a rejected SOCKS4 one, argument checks and the error strings. */
#include <string.h>

#include "asok.h"
#include "pair.h"

static asok_loop *loop;

/* expect receives exactly len bytes on s (token 20) and compares them. */
static void expect(asok_sock *s, const char *want, size_t len) {
  const char *data;
  size_t n;
  int rc = asok_receive(s, ASOK_COUNT, len, 20, &data, &n);
  if (rc == ASOK_EWAIT) {
    drive(loop, 20);
    rc = asok_receive(s, ASOK_COUNT, len, 20, &data, &n);
  }
  CHECK_EQ(rc, 0);
  CHECK_EQ(n, len);
  CHECK(memcmp(data, want, len) == 0);
}

/* reply sends len bytes on s (token 21; small, never parks). */
static void reply(asok_sock *s, const char *data, size_t len) {
  size_t sent;
  CHECK_EQ(asok_send(s, data, len, 21, &sent), 0);
  CHECK_EQ(sent, len);
}

/* socks5 runs one call of the client's SOCKS5 handshake on c (token 10,
 * port 80) and returns its result. */
static int socks5(asok_sock *c, const char *host, const char *user, const char *pw) {
  return asok_socks5_connect(c, host, 80, user, pw, 10);
}

/* test_granted: user/password, a name, then a round trip. */
static void test_granted(void) {
  asok_sock *c, *p;
  const char *data;
  size_t n;
  pair(loop, &c, &p);
  CHECK_EQ(socks5(c, "example.org", "al", "pw"), ASOK_EWAIT);
  expect(p, "\5\2\0\2", 4);
  reply(p, "\5\2", 2);
  drive(loop, 10);
  CHECK_EQ(socks5(c, "example.org", "al", "pw"), ASOK_EWAIT);
  expect(p, "\1\2al\2pw", 7);
  reply(p, "\1\0", 2);
  drive(loop, 10);
  CHECK_EQ(socks5(c, "example.org", "al", "pw"), ASOK_EWAIT);
  expect(p, "\5\1\0\3\13example.org\0\120", 18);
  /* the reply, then the target's first bytes in the same segment */
  reply(p, "\5\0\0\1\1\2\3\4\0\120hello", 15);
  drive(loop, 10);
  CHECK_EQ(socks5(c, "example.org", "al", "pw"), 0);
  CHECK_EQ(asok_buffered(c, &n), 0);
  CHECK_EQ(n, 5); /* exactly the reply was consumed */
  CHECK_EQ(asok_receive(c, ASOK_COUNT, 5, 10, &data, &n), 0);
  CHECK(n == 5 && memcmp(data, "hello", 5) == 0);
  reply(c, "ping", 4); /* round trip through the "proxy" */
  expect(p, "ping", 4);
  reply(p, "pong", 4);
  expect(c, "pong", 4);
  CHECK_EQ(asok_sock_free(c), 0);
  CHECK_EQ(asok_sock_free(p), 0);
}

/* test_refused: SOCKS5 reply 5 and SOCKS4 reply 91. */
static void test_refused(void) {
  asok_sock *c, *p;
  int rc;
  pair(loop, &c, &p);
  CHECK_EQ(socks5(c, "::1", NULL, NULL), ASOK_EWAIT);
  expect(p, "\5\1\0", 3);
  reply(p, "\5\0", 2);
  drive(loop, 10);
  CHECK_EQ(socks5(c, "::1", NULL, NULL), ASOK_EWAIT);
  expect(p, "\5\1\0\4\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1\0\120", 22);
  reply(p, "\5\5\0\1\0\0\0\0\0\0", 10);
  drive(loop, 10);
  rc = socks5(c, "::1", NULL, NULL);
  CHECK_EQ(rc, ASOK_ESOCKS5_REFUSED);
  CHECK_STREQ(asok_strerror(rc), "socks5: connection refused");
  CHECK_EQ(asok_sock_free(c), 0);
  CHECK_EQ(asok_sock_free(p), 0);

  pair(loop, &c, &p);
  CHECK_EQ(asok_socks4_connect(c, "10.0.0.1", 8080, "bob", 11), ASOK_EWAIT);
  expect(p, "\4\1\37\220\12\0\0\1bob", 12); /* the literal's NUL ends the user id */
  reply(p, "\0\133\0\0\0\0\0\0", 8);
  drive(loop, 11);
  rc = asok_socks4_connect(c, "10.0.0.1", 8080, "bob", 11);
  CHECK_EQ(rc, ASOK_ESOCKS4_REJECTED);
  CHECK_STREQ(asok_strerror(rc), "socks4: request rejected or failed");
  CHECK_EQ(asok_sock_free(c), 0);
  CHECK_EQ(asok_sock_free(p), 0);
}

/* test_args: bad arguments and handles, and the new codes' numbering. */
static void test_args(void) {
  asok_sock *c, *p;
  char longname[300];
  memset(longname, 'x', 256);
  longname[256] = 0;
  pair(loop, &c, &p);
  CHECK_EQ(asok_socks4_connect(c, NULL, 80, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks4_connect(c, "::1", 80, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks4_connect(c, "1.2.3.4", 70000, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks4_connect(c, "1.2.3.4", 80, longname, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(c, NULL, 80, NULL, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(c, "", 80, NULL, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(c, longname, 80, NULL, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(c, "h", -1, NULL, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(c, "h", 80, "u", longname, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(c, "h", 80, NULL, "pw", 1), ASOK_EINVAL); /* a password not sent */
  CHECK_EQ(asok_socks5_connect(c, "h", 80, "", "pw", 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(NULL, "h", 80, NULL, NULL, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_socks4_connect(NULL, "1.2.3.4", 80, NULL, 1), ASOK_EBADHANDLE);
  /* token 0 never waits: the silent proxy is a timeout */
  CHECK_EQ(asok_socks4_connect(c, "1.2.3.4", 80, NULL, 0), ASOK_ETIMEOUT);
  CHECK_EQ(asok_sock_free(c), 0);
  CHECK_EQ(asok_sock_free(p), 0);
  CHECK_EQ(ASOK_ESOCKS4_REJECTED, ASOK_ELIMIT + 1);
  CHECK_STREQ(asok_strerror(ASOK_ESOCKS5_AUTH), "socks5: authentication failed");
  CHECK_EQ(ASOK_EFORKED, ASOK_ESOCKS5_AUTH + 1); /* added last: the codes before keep their values */
  CHECK_STREQ(asok_strerror(ASOK_EFORKED + 1), "unknown error");
  CHECK_STREQ(asok_strerror(ASOK_ELIMIT), "receive limit exceeded");
}

int main(void) {
  CHECK_EQ(asok_loop_new(&loop), 0);
  test_granted();
  test_refused();
  test_args();
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  return 0;
}

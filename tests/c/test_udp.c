/* test_udp.c - datagram sockets through the C API: asok_udp_new,
 * asok_sendto/asok_receivefrom over IPv4 and IPv6, truncation, empty
 * datagrams, receive(0), connected send/receive, a socket timeout that
 * expires through asok_select, a refused connected peer, close waking a
 * parked reader, argument errors, unix datagram sockets addressed by path,
 * and no handle left behind. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"

static asok_loop *loop;

/* bound makes a UDP socket of family bound to ip:0 and returns its port. */
static asok_sock *bound(int family, const char *ip, int *port) {
  asok_sock *s;
  char got[64];
  CHECK_EQ(asok_udp_new(loop, family, &s), 0);
  CHECK_EQ(asok_bind(s, ip, 0), 0);
  CHECK_EQ(asok_getsockname(s, got, sizeof got, port), 0);
  CHECK_STREQ(got, ip);
  CHECK(*port > 0);
  return s;
}

/* sendto sends one datagram with token 0. */
static void sendto0(asok_sock *s, const char *msg, size_t len, const char *ip, int port) {
  size_t sent = 99;
  CHECK_EQ(asok_sendto(s, msg, len, ip, port, 0, &sent), 0);
  CHECK_EQ(sent, len);
}

/* wait_token runs asok_select until tok is delivered (5 s at most). */
static void wait_token(asok_token tok) {
  asok_token got[16];
  int i, n, tries;
  for (tries = 0; tries < 50; tries++) {
    n = asok_select(loop, 0.1, got, 16);
    CHECK(n >= 0);
    for (i = 0; i < n; i++)
      if (got[i] == tok) return;
  }
  CHECK(!"token never delivered");
}

/* exchange runs the receive-side checks for one address family. */
static void exchange(int family, const char *ip) {
  int aport, bport, port = 0;
  asok_sock *a = bound(family, ip, &aport), *b = bound(family, ip, &bport);
  const char *data;
  size_t len;
  char from[64];
  sendto0(b, "hello", 5, ip, aport);
  sendto0(b, "0123456789", 10, ip, aport);
  sendto0(b, "", 0, ip, aport);
  sendto0(b, "eaten", 5, ip, aport);
  sendto0(b, "last", 4, ip, aport);
  CHECK_EQ(asok_receivefrom(a, 8192, 1, &data, &len, from, sizeof from, &port), 0);
  CHECK_EQ(len, 5);
  CHECK(memcmp(data, "hello", 5) == 0);
  CHECK_STREQ(from, ip);
  CHECK_EQ(port, bport);
  /* truncation: the rest of the datagram is gone */
  CHECK_EQ(asok_receive(a, ASOK_COUNT, 3, 1, &data, &len), 0);
  CHECK_EQ(len, 3);
  CHECK(memcmp(data, "012", 3) == 0);
  /* an empty datagram is a result */
  CHECK_EQ(asok_receivefrom(a, 100, 1, &data, &len, from, sizeof from, &port), 0);
  CHECK_EQ(len, 0);
  /* n = 0 consumes one datagram */
  CHECK_EQ(asok_receive(a, ASOK_COUNT, 0, 1, &data, &len), 0);
  CHECK_EQ(len, 0);
  CHECK_EQ(asok_receive(a, ASOK_COUNT, 100, 1, &data, &len), 0);
  CHECK_EQ(len, 4);
  CHECK(memcmp(data, "last", 4) == 0);
  /* nothing left: token 0 times out, a token parks */
  CHECK_EQ(asok_receive(a, ASOK_COUNT, 100, 0, &data, &len), ASOK_ETIMEOUT);
  CHECK_EQ(len, 0);
  CHECK_EQ(asok_receivefrom(a, 100, 7, &data, &len, from, sizeof from, &port), ASOK_EWAIT);
  sendto0(b, "late", 4, ip, aport);
  wait_token(7);
  CHECK_EQ(asok_receivefrom(a, 100, 7, &data, &len, from, sizeof from, &port), 0);
  CHECK_EQ(len, 4);
  CHECK_EQ(port, bport);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
}

/* connected: send/receive on a connected socket, then a refused peer. */
static void connected(void) {
  int sport, cport = 0;
  asok_sock *srv = bound(4, "127.0.0.1", &sport), *c;
  const char *data;
  size_t len, sent;
  char from[64];
  int rc;
  CHECK_EQ(asok_udp_new(loop, 4, &c), 0);
  CHECK_EQ(asok_connect(c, "127.0.0.1", sport, 1), 0);
  CHECK_EQ(asok_send(c, "ping", 4, 1, &sent), 0);
  CHECK_EQ(sent, 4);
  CHECK_EQ(asok_receivefrom(srv, 100, 2, &data, &len, from, sizeof from, &cport), 0);
  CHECK_EQ(len, 4);
  sendto0(srv, "pong", 4, from, cport);
  CHECK_EQ(asok_receive(c, ASOK_COUNT, 100, 3, &data, &len), 0);
  CHECK_EQ(len, 4);
  CHECK(memcmp(data, "pong", 4) == 0);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 3, &data, &len), ASOK_EINVAL);
  /* the peer goes away: the ICMP error fails (or wakes) the reader */
  CHECK_EQ(asok_sock_free(srv), 0);
  CHECK_EQ(asok_send(c, "x", 1, 4, &sent), 0);
  rc = asok_receive(c, ASOK_COUNT, 100, 5, &data, &len);
  if (rc == ASOK_EWAIT) { /* else the ICMP error was there already */
    wait_token(5);
    rc = asok_receive(c, ASOK_COUNT, 100, 5, &data, &len);
  }
  CHECK_EQ(rc, -ECONNREFUSED);
  CHECK_STREQ(asok_strerror(-ECONNREFUSED), "connection refused");
  CHECK_EQ(asok_sock_free(c), 0);
}

/* timeouts: a block timeout expires through asok_select; close wakes. */
static void timeouts(void) {
  int port;
  asok_sock *u = bound(4, "127.0.0.1", &port);
  const char *data;
  size_t len;
  char from[64];
  CHECK_EQ(asok_settimeout(u, 0.05, -1), 0);
  CHECK_EQ(asok_receive(u, ASOK_COUNT, 10, 11, &data, &len), ASOK_EWAIT);
  wait_token(11);
  CHECK_EQ(asok_receive(u, ASOK_COUNT, 10, 11, &data, &len), ASOK_ETIMEOUT);
  CHECK_EQ(len, 0);
  CHECK_EQ(asok_settimeout(u, -1, -1), 0);
  CHECK_EQ(asok_receivefrom(u, 10, 12, &data, &len, from, sizeof from, &port), ASOK_EWAIT);
  CHECK_EQ(asok_close(u), 0);
  wait_token(12);
  CHECK_EQ(asok_receivefrom(u, 10, 12, &data, &len, from, sizeof from, &port), ASOK_ECLOSED);
  CHECK_EQ(asok_sock_free(u), 0);
}

/* errors: argument checks of the new functions. */
static void errors(void) {
  int port, p;
  asok_sock *u = bound(4, "127.0.0.1", &port), *t, *bad;
  const char *data;
  size_t len, sent = 99;
  char small[8], from[64];
  CHECK_EQ(asok_udp_new(loop, 5, &bad), ASOK_EINVAL);
  CHECK_EQ(asok_udp_new(loop, 4, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_udp_new(NULL, 4, &bad), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sendto(u, "x", 1, "localhost", port, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_sendto(u, "x", 1, "::1", port, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(u, "x", 1, "127.0.0.1", 70000, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(u, "x", 1, NULL, port, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(u, 10, 1, &data, &len, small, sizeof small, &p), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(u, 10, 1, &data, &len, from, sizeof from, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_unread(u, "x", 1), ASOK_EINVAL);
  CHECK_EQ(asok_tcp_new(loop, 4, &t), 0);
  CHECK_EQ(asok_receivefrom(t, 10, 1, &data, &len, from, sizeof from, &p), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(t, "x", 1, "127.0.0.1", port, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(t), 0);
  CHECK_EQ(asok_sock_free(u), 0);
  CHECK_EQ(asok_sendto(u, "x", 1, "127.0.0.1", port, 0, &sent), ASOK_EBADHANDLE);
}

/* unixdgram wraps a new unix datagram fd, bound to path unless NULL. */
static asok_sock *unixdgram(const char *path) {
  asok_sock *s;
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  CHECK(fd >= 0);
  if (path) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    CHECK(strlen(path) < sizeof a.sun_path);
    strcpy(a.sun_path, path);
    CHECK_EQ(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
  }
  CHECK_EQ(asok_wrap(loop, fd, ASOK_OWNFD, &s), 0);
  return s;
}

/* unix_paths: asok_sendto to a path (port ignored), asok_receivefrom
 * writes the sender's path ("" for an unbound one) and port 0, a missing
 * path is -ENOENT, a path of 108 bytes ASOK_EINVAL. */
static void unix_paths(void) {
  char pa[64], pb[64], from[128], longpath[120];
  const char *data;
  size_t len, sent;
  int port = -1;
  asok_sock *a, *b, *c;
  snprintf(pa, sizeof pa, "/tmp/asok_test_udp_%d.a", (int) getpid());
  snprintf(pb, sizeof pb, "/tmp/asok_test_udp_%d.b", (int) getpid());
  unlink(pa);
  unlink(pb);
  a = unixdgram(pa);
  b = unixdgram(pb);
  c = unixdgram(NULL);
  sendto0(b, "hello", 5, pa, 0);
  sendto0(c, "anon", 4, pa, 1234);
  CHECK_EQ(asok_receivefrom(a, 100, 1, &data, &len, from, sizeof from, &port), 0);
  CHECK_EQ(len, 5);
  CHECK(memcmp(data, "hello", 5) == 0);
  CHECK_STREQ(from, pb);
  CHECK_EQ(port, 0);
  CHECK_EQ(asok_receivefrom(a, 100, 1, &data, &len, from, sizeof from, &port), 0);
  CHECK_EQ(len, 4);
  CHECK_STREQ(from, "");
  CHECK_EQ(asok_sendto(b, "x", 1, "/tmp/asok_test_udp_no_such_path", 0, 1, &sent), -ENOENT);
  CHECK_EQ(sent, 0);
  memset(longpath, 'p', 108);
  longpath[0] = '/';
  longpath[108] = '\0';
  CHECK_EQ(asok_sendto(b, "x", 1, longpath, 0, 1, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
  CHECK_EQ(asok_sock_free(c), 0);
  unlink(pa);
  unlink(pb);
}

int main(void) {
  asok_sock *probe;
  CHECK_EQ(asok_loop_new(&loop), 0);
  exchange(4, "127.0.0.1");
  /* IPv6 when the host has ::1 */
  if (asok_udp_new(loop, 6, &probe) == 0) {
    int ok = asok_bind(probe, "::1", 0) == 0;
    CHECK_EQ(asok_sock_free(probe), 0);
    if (ok) exchange(6, "::1");
    else fprintf(stderr, "test_udp: no ::1, IPv6 part skipped\n");
  }
  connected();
  timeouts();
  errors();
  unix_paths();
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  printf("test_udp: ok\n");
  return 0;
}

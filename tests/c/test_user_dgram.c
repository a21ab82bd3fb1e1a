/* test_user_dgram.c - a user's UDP and unix sockets from asok.h alone, and every
 * documented error path: bad handles, NULL pointers, zero lengths, huge
 * lengths where asok.h gives a limit. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <sys/un.h>
#include <unistd.h>

#include "pair.h"

static void none(asok_loop *l) {
  asok_token t = 0;
  CHECK_EQ(asok_select(l, 0, &t, 1), 0);
}

static void drive1(asok_loop *l, asok_token want) {
  asok_token t = 0;
  int k = asok_select(l, 10, &t, 1);
  CHECK_EQ(k, 1);
  CHECK_EQ(t, want);
}

static void udp(asok_loop *l) {
  asok_sock *a, *b, *c6, *x;
  char ip[46], small[45];
  int pa, pb, port, rc;
  const char *d;
  size_t n, sent;

  CHECK_EQ(asok_udp_new(l, 5, &x), ASOK_EINVAL);
  CHECK_EQ(asok_udp_new(l, 4, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_udp_new(NULL, 4, &x), ASOK_EBADHANDLE);
  CHECK_EQ(asok_udp_new(l, 4, &a), 0);
  CHECK_EQ(asok_udp_new(l, 4, &b), 0);
  CHECK_EQ(asok_bind(a, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_bind(b, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_bind(b, NULL, 0), ASOK_EINVAL);
  CHECK_EQ(asok_getsockname(a, ip, sizeof ip, &pa), 0);
  CHECK_EQ(asok_getsockname(b, ip, sizeof ip, &pb), 0);
  CHECK_EQ(asok_getsockname(a, ip, 0, &pa), ASOK_EINVAL);
  CHECK_EQ(asok_getsockname(a, NULL, 46, &pa), ASOK_EINVAL);
  CHECK_EQ(asok_getsockname(a, ip, sizeof ip, NULL), ASOK_EINVAL);

  /* receivefrom: a parked token, then the datagram and its sender */
  port = -1;
  strcpy(ip, "junk");
  CHECK_EQ(asok_receivefrom(a, 100, 1, &d, &n, ip, sizeof ip, &port), ASOK_EWAIT);
  CHECK_EQ(n, 0);
  CHECK_EQ(port, -1); /* written on success only */
  CHECK_EQ(asok_sendto(b, "hello", 5, "127.0.0.1", pa, 2, &sent), 0);
  CHECK_EQ(sent, 5);
  drive1(l, 1);
  CHECK_EQ(asok_receivefrom(a, 100, 1, &d, &n, ip, sizeof ip, &port), 0);
  EXPECT(0, d, n, "hello");
  CHECK_STREQ(ip, "127.0.0.1");
  CHECK_EQ(port, pb);
  /* truncation to n, n = 0 consumes, an empty datagram */
  CHECK_EQ(asok_sendto(b, "abcdef", 6, "127.0.0.1", pa, 0, &sent), 0);
  CHECK_EQ(asok_sendto(b, "zzz", 3, "127.0.0.1", pa, 0, &sent), 0);
  CHECK_EQ(asok_sendto(b, "", 0, "127.0.0.1", pa, 0, &sent), 0);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_sendto(b, NULL, 0, "127.0.0.1", pa, 0, &sent), 0); /* empty: NULL ok? */
  usleep(10000);
  CHECK_EQ(asok_receivefrom(a, 3, 0, &d, &n, ip, sizeof ip, &port), 0);
  EXPECT(0, d, n, "abc");
  CHECK_EQ(asok_receivefrom(a, 0, 0, &d, &n, ip, sizeof ip, &port), 0);
  CHECK_EQ(n, 0); /* "zzz" consumed */
  CHECK_EQ(asok_receivefrom(a, 10, 0, &d, &n, ip, sizeof ip, &port), 0);
  CHECK_EQ(n, 0); /* the empty datagram */
  CHECK_EQ(asok_receivefrom(a, 10, 0, &d, &n, ip, sizeof ip, &port), 0);
  CHECK_EQ(n, 0); /* the NULL, 0 one */
  n = 7;
  CHECK_EQ(asok_receivefrom(a, 10, 0, &d, &n, ip, sizeof ip, &port), ASOK_ETIMEOUT);
  CHECK_EQ(n, 0);
  /* the documented argument errors */
  CHECK_EQ(asok_receivefrom(a, 10, 0, &d, &n, small, sizeof small, &port), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(a, 10, 0, NULL, &n, ip, sizeof ip, &port), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(a, 10, 0, &d, NULL, ip, sizeof ip, &port), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(a, 10, 0, &d, &n, NULL, sizeof ip, &port), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(a, 10, 0, &d, &n, ip, sizeof ip, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(a, (size_t)INT64_MAX + 1, 0, &d, &n, ip, sizeof ip, &port),
           ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(a, SIZE_MAX, 0, &d, &n, ip, sizeof ip, &port), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(NULL, 10, 0, &d, &n, ip, sizeof ip, &port), ASOK_EBADHANDLE);
  /* INT64_MAX: any datagram whole */
  CHECK_EQ(asok_sendto(b, "whole", 5, "127.0.0.1", pa, 0, &sent), 0);
  CHECK_EQ(asok_receivefrom(a, INT64_MAX, 3, &d, &n, ip, sizeof ip, &port) == ASOK_EWAIT
               ? (drive1(l, 3), asok_receivefrom(a, INT64_MAX, 3, &d, &n, ip, sizeof ip, &port))
               : 0,
           0);
  EXPECT(0, d, n, "whole");

  CHECK_EQ(asok_sendto(b, "x", 1, "localhost", pa, 0, &sent), ASOK_EINVAL); /* names */
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_sendto(b, "x", 1, "*", pa, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(b, "x", 1, "127.0.0.1", 65536, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(b, "x", 1, "127.0.0.1", -1, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(b, "x", 1, NULL, pa, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(b, NULL, 1, "127.0.0.1", pa, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(b, "x", 1, "127.0.0.1", pa, 0, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(b, "x", 1, "fe80::1%nosuchif0", pa, 0, &sent), ASOK_EINVAL);
  static char huge[70000];
  CHECK_EQ(asok_sendto(b, huge, sizeof huge, "127.0.0.1", pa, 0, &sent), -EMSGSIZE);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_sendto(b, huge, (size_t)INT64_MAX + 1, "127.0.0.1", pa, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_send(b, huge, (size_t)INT64_MAX + 1, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_unread(b, huge, (size_t)INT64_MAX + 1), ASOK_EINVAL);

  /* connected: send/receive; the pattern rules; unread refused */
  CHECK_EQ(asok_connect(b, "127.0.0.1", pa, 4), 0); /* at once for UDP */
  CHECK_EQ(asok_send(b, "one", 3, 5, &sent), 0);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 6, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(a, ASOK_ALL, 0, 6, &d, &n), ASOK_EINVAL);
  rc = asok_receive(a, ASOK_COUNT, 2, 6, &d, &n);
  if (rc == ASOK_EWAIT) {
    drive1(l, 6);
    rc = asok_receive(a, ASOK_COUNT, 2, 6, &d, &n);
  }
  EXPECT(rc, d, n, "on");
  CHECK_EQ(asok_unread(a, "x", 1), ASOK_EINVAL);
  CHECK_EQ(asok_send(b, huge, sizeof huge, 7, &sent), -EMSGSIZE);
  CHECK_EQ(sent, 0);
  /* refused: the peer is gone (ICMP port unreachable) */
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_send(b, "two", 3, 0, &sent), 0);
  rc = asok_receive(b, ASOK_COUNT, 10, 8, &d, &n);
  if (rc == ASOK_EWAIT) {
    drive1(l, 8);
    rc = asok_receive(b, ASOK_COUNT, 10, 8, &d, &n);
  }
  CHECK_EQ(rc, -ECONNREFUSED);
  CHECK_STREQ(asok_strerror(rc), "connection refused");
  CHECK_EQ(n, 0);
  /* closed: a parked receive wakes with ECLOSED, length 0 */
  CHECK_EQ(asok_receivefrom(b, 10, 9, &d, &n, ip, sizeof ip, &port), ASOK_EWAIT);
  CHECK_EQ(asok_close(b), 0);
  drive1(l, 9);
  n = 5;
  CHECK_EQ(asok_receivefrom(b, 10, 9, &d, &n, ip, sizeof ip, &port), ASOK_ECLOSED);
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_sendto(b, "x", 1, "127.0.0.1", pa, 0, &sent), ASOK_ECLOSED);
  CHECK_EQ(asok_sock_free(b), 0);

  /* IPv6-only: an IPv4 destination fails */
  if (asok_udp_new(l, 6, &c6) == 0) {
    if (asok_bind(c6, "::1", 0) == 0) {
      CHECK_EQ(asok_sendto(c6, "x", 1, "127.0.0.1", 9, 0, &sent), -ENETUNREACH);
      CHECK_EQ(asok_getsockname(c6, ip, sizeof ip, &port), 0);
      CHECK_STREQ(ip, "::1");
    }
    CHECK_EQ(asok_sock_free(c6), 0);
  }
  none(l);
}

static void unixsocks(asok_loop *l) {
  char dir[] = "/tmp/asok-dgram-XXXXXX", pa[128], pb[128], ip[128];
  int fa, fb, port, fds[2];
  asok_sock *a, *b, *ss, *x;
  const char *d;
  size_t n, sent;
  struct sockaddr_un un = {.sun_family = AF_UNIX};

  CHECK(mkdtemp(dir) != NULL);
  snprintf(pa, sizeof pa, "%s/a", dir);
  snprintf(pb, sizeof pb, "%s/b", dir);
  fa = socket(AF_UNIX, SOCK_DGRAM, 0);
  fb = socket(AF_UNIX, SOCK_DGRAM, 0);
  strcpy(un.sun_path, pa);
  CHECK_EQ(bind(fa, (struct sockaddr *)&un, sizeof un), 0);
  strcpy(un.sun_path, pb);
  CHECK_EQ(bind(fb, (struct sockaddr *)&un, sizeof un), 0);
  CHECK_EQ(asok_wrap(l, fa, ASOK_OWNFD, &a), 0);
  CHECK_EQ(asok_wrap(l, fb, 0, &b), 0); /* fb stays ours */
  CHECK_EQ(asok_getsockname(a, ip, 46, &port), ASOK_EINVAL);
  port = -1;
  CHECK_EQ(asok_receivefrom(a, 100, 1, &d, &n, ip, sizeof ip, &port), ASOK_EWAIT);
  CHECK_EQ(asok_sendto(b, "u1", 2, pa, 0, 0, &sent), 0);
  drive1(l, 1);
  CHECK_EQ(asok_receivefrom(a, 100, 1, &d, &n, ip, sizeof ip, &port), 0);
  EXPECT(0, d, n, "u1");
  CHECK_STREQ(ip, pb);
  CHECK_EQ(port, 0);
  /* the sender's path truncated to iplen - 1 */
  char ip46[46];
  CHECK_EQ(asok_sendto(b, "u2", 2, pa, 0, 0, &sent), 0);
  rc_again:;
  int rc = asok_receivefrom(a, 100, 2, &d, &n, ip46, sizeof ip46, &port);
  if (rc == ASOK_EWAIT) {
    drive1(l, 2);
    goto rc_again;
  }
  EXPECT(rc, d, n, "u2");
  CHECK_EQ(strlen(ip46), strlen(pb) < 45 ? strlen(pb) : 45);
  /* paths: too long, missing, '@' is a file name */
  char longp[200];
  memset(longp, 'p', sizeof longp);
  longp[0] = '/';
  longp[108] = 0;
  CHECK_EQ(asok_sendto(b, "x", 1, longp, 0, 0, &sent), ASOK_EINVAL);
  longp[107] = 0; /* 107 bytes: fits, but does not exist */
  CHECK_EQ(asok_sendto(b, "x", 1, longp, 0, 0, &sent), -ENOENT);
  CHECK_EQ(asok_sendto(b, "x", 1, "@nosuch-asok", 0, 0, &sent), -ENOENT);
  CHECK_EQ(asok_sendto(b, "x", 1, "", 0, 0, &sent), -EINVAL); /* the kernel's, as LuaSocket */
  CHECK_EQ(asok_unread(a, "x", 1), ASOK_EINVAL);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
  CHECK_EQ(fcntl(fb, F_GETFD), 0); /* not owned: still open */
  CHECK_EQ(close(fb), 0);
  CHECK(fcntl(fa, F_GETFD) < 0); /* owned: closed */
  unlink(pa);
  unlink(pb);
  rmdir(dir);

  /* unix stream: ip/port calls refuse it; the rest works */
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  CHECK_EQ(asok_wrap(l, fds[0], ASOK_OWNFD, &ss), 0);
  CHECK_EQ(asok_getsockname(ss, ip, 46, &port), ASOK_EINVAL);
  CHECK_EQ(asok_receivefrom(ss, 10, 0, &d, &n, ip, sizeof ip, &port), ASOK_EINVAL);
  CHECK_EQ(asok_sendto(ss, "x", 1, "/tmp/x", 0, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_send(ss, "s\r\n", 3, 0, &sent), 0);
  char buf[8];
  CHECK_EQ(read(fds[1], buf, 3), 3);
  CHECK_EQ(write(fds[1], "t\r\n", 3), 3);
  CHECK_EQ(asok_receive(ss, ASOK_LINE, 0, 3, &d, &n) == ASOK_EWAIT
               ? (drive1(l, 3), asok_receive(ss, ASOK_LINE, 0, 3, &d, &n))
               : 0,
           0);
  EXPECT(0, d, n, "t");
  CHECK_EQ(asok_wrap(l, fds[0], 99, &x), ASOK_EINVAL); /* unknown flags */
  CHECK_EQ(asok_sock_free(ss), 0);
  close(fds[1]);
}

/* errors: every documented argument error of the stream and loop calls */
static void errors(asok_loop *l) {
  asok_sock *s, *x;
  int peer, fd, pfd[2], port;
  const char *d;
  size_t n, sent;
  double t;
  asok_token tk[2];
  uint64_t u;

  CHECK_EQ(asok_loop_new(NULL), ASOK_EINVAL);
  CHECK_EQ(asok_loop_fd(l, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_loop_fd(NULL, &fd), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_timeout(l, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_select(l, 0, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_select(l, 0, NULL, 0), 0);
  CHECK_EQ(asok_select(l, 0, tk, -1), ASOK_EINVAL);
  CHECK_EQ(asok_select(l, NAN, tk, 1), ASOK_EINVAL);
  CHECK_EQ(asok_select(NULL, 0, tk, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_debug_polls(NULL, &u, &u), ASOK_EBADHANDLE);
  CHECK_EQ(asok_debug_polls(l, NULL, NULL), 0);
  CHECK_EQ(asok_wrap(l, -1, 0, &x), ASOK_EINVAL);
  CHECK_EQ(pipe(pfd), 0);
  CHECK_EQ(asok_wrap(l, pfd[0], 0, &x), ASOK_EINVAL); /* not a socket */
  close(pfd[0]);
  close(pfd[1]);
  CHECK_EQ(asok_tcp_new(l, 5, &x), ASOK_EINVAL);
  CHECK_EQ(asok_tcp_new(l, 4, NULL), ASOK_EINVAL);

  s = newpair(l, &peer);
  CHECK_EQ(asok_wrap(l, peer, 0, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_receive(s, 0, 0, 1, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(s, 4, 0, 1, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 1, NULL, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 1, &d, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_receive(s, ASOK_COUNT, (size_t)INT64_MAX + 1, 1, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(s, ASOK_COUNT, SIZE_MAX, 1, &d, &n), ASOK_EINVAL);
  CHECK_EQ(asok_receive(s, ASOK_COUNT, 0, 0, &d, &n), ASOK_ETIMEOUT); /* n = 0, nothing */
  CHECK_EQ(n, 0);
  CHECK_EQ(asok_send(s, "x", 1, 0, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_send(s, NULL, 1, 0, &sent), ASOK_EINVAL);
  CHECK_EQ(asok_send(s, NULL, 0, 0, &sent), 0);
  CHECK_EQ(sent, 0);
  CHECK_EQ(asok_send(s, "", 0, 0, &sent), 0);
  CHECK_EQ(asok_wait(s, 0, 1), ASOK_EINVAL);
  CHECK_EQ(asok_wait(s, ASOK_UNTIMED, 1), ASOK_EINVAL);
  CHECK_EQ(asok_wait(s, 3, 1), ASOK_EINVAL);
  CHECK_EQ(asok_wait(s, -1, 1), ASOK_EINVAL);
  CHECK_EQ(asok_settimeout(s, NAN, 1), ASOK_EINVAL);
  CHECK_EQ(asok_settimeout(s, 1, NAN), ASOK_EINVAL);
  CHECK_EQ(asok_settimeout(s, INFINITY, -INFINITY), 0);
  CHECK_EQ(asok_setlimit(s, (size_t)INT64_MAX + 1), ASOK_EINVAL);
  CHECK_EQ(asok_setlimit(s, INT64_MAX), 0);
  CHECK_EQ(asok_setlimit(s, 0), 0);
  CHECK_EQ(asok_buffered(s, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_received(s, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_sock_fd(s, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_unread(s, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_unread(s, NULL, 0), 0);
  CHECK_EQ(asok_unread(s, "", 0), 0);
  CHECK_EQ(asok_shutdown(s, 3), ASOK_EINVAL);
  CHECK_EQ(asok_shutdown(s, -1), ASOK_EINVAL);
  CHECK_EQ(asok_throttle(s, 0, 10), ASOK_EINVAL);
  CHECK_EQ(asok_throttle(s, ASOK_READ | ASOK_WRITE, 10), ASOK_EINVAL);
  CHECK_EQ(asok_throttle(s, ASOK_READ, NAN), ASOK_EINVAL);
  CHECK_EQ(asok_throttle(s, ASOK_READ, -1), ASOK_EINVAL);
  CHECK_EQ(asok_throttle(s, ASOK_READ, INFINITY), 0);
  CHECK_EQ(asok_throttle(s, ASOK_WRITE, 1e300), 0); /* capped */
  CHECK_EQ(asok_throttle(s, ASOK_WRITE, 0), 0);
  CHECK_EQ(asok_bind(s, "127.0.0.1", 0), ASOK_EINVAL); /* a unix socket */
  CHECK_EQ(asok_connect(s, "bad", 1, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks4_connect(s, NULL, 1, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks4_connect(s, "::1", 1, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks4_connect(s, "1.2.3.4", 70000, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(s, NULL, 1, NULL, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(s, "", 1, NULL, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(s, "h", 1, NULL, "pw", 1), ASOK_EINVAL);
  char u256[300];
  memset(u256, 'u', 256);
  u256[256] = 0;
  CHECK_EQ(asok_socks4_connect(s, "1.2.3.4", 1, u256, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(s, u256, 1, NULL, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_socks5_connect(s, "h", 1, u256, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_resolve(l, NULL, 0, 1, (char[8]){0}, 8, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_resolve(l, "127.0.0.1", 0, 1, NULL, 8, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_resolve(l, "127.0.0.1", 5, 1, (char[8]){0}, 8, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_resolve(l, "127.0.0.1", 6, 1, (char[8]){0}, 8, NULL), ASOK_EAI_ADDRFAMILY);
  size_t need = 0;
  CHECK_EQ(asok_resolve(l, "127.0.0.1", 0, 1, (char[4]){0}, 4, &need), -ERANGE);
  CHECK_EQ(need, 11);
  CHECK_EQ(asok_resolve(l, "127.0.0.1", 0, 1, NULL, 0, &need), -ERANGE);
  CHECK_EQ(asok_resolve(NULL, "127.0.0.1", 0, 1, NULL, 0, &need), ASOK_EBADHANDLE);
  CHECK_EQ(asok_cancel(l, 1), 0);
  CHECK_EQ(asok_waitset(l, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_waitset(l, NULL, 0), 0);
  CHECK_EQ(asok_waitset(NULL, NULL, 0), ASOK_EBADHANDLE);
  CHECK_EQ(asok_listen(s, 0), -EINVAL); /* a connected unix stream */

  /* a closed socket: ECLOSED where documented; still answers some */
  CHECK_EQ(asok_close(s), 0);
  CHECK_EQ(asok_close(s), 0); /* idempotent */
  CHECK_EQ(asok_sock_fd(s, &fd), 0);
  CHECK_EQ(fd, -1);
  CHECK_EQ(asok_bind(s, "127.0.0.1", 0), ASOK_ECLOSED);
  CHECK_EQ(asok_listen(s, 0), ASOK_ECLOSED);
  CHECK_EQ(asok_getsockname(s, (char[46]){0}, 46, &port), ASOK_ECLOSED);
  CHECK_EQ(asok_unread(s, "x", 1), ASOK_ECLOSED);
  CHECK_EQ(asok_shutdown(s, 2), ASOK_ECLOSED);
  CHECK_EQ(asok_throttle(s, ASOK_READ, 5), ASOK_ECLOSED);
  CHECK_EQ(asok_send(s, "x", 1, 0, &sent), ASOK_ECLOSED);
  CHECK_EQ(asok_received(s, &u), 0);
  CHECK_EQ(asok_buffered(s, &n), 0);
  CHECK_EQ(asok_sock_free(s), 0);
  /* a freed one: EBADHANDLE everywhere */
  CHECK_EQ(asok_close(s), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free(s), ASOK_EBADHANDLE);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 1, &d, &n), ASOK_EBADHANDLE);
  CHECK_EQ(asok_send(s, "x", 1, 1, &sent), ASOK_EBADHANDLE);
  CHECK_EQ(asok_wait(s, ASOK_READ, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_settimeout(s, 1, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_received(s, &u), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_fd(s, &fd), ASOK_EBADHANDLE);
  CHECK_EQ(asok_throttle(s, ASOK_READ, 5), ASOK_EBADHANDLE);
  CHECK_EQ(asok_accept(s, 1, &x), ASOK_EBADHANDLE);
  /* wrong type: a loop passed as a socket, a socket as a loop */
  CHECK_EQ(asok_sock_free((asok_sock *)l), ASOK_EBADHANDLE);
  asok_sock *live = newpair(l, &peer);
  CHECK_EQ(asok_loop_free((asok_loop *)live), ASOK_EBADHANDLE);
  CHECK_EQ(asok_select((asok_loop *)live, 0, tk, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_timeout((asok_loop *)live, &t), ASOK_EBADHANDLE);
  CHECK_EQ(asok_receive((asok_sock *)l, ASOK_LINE, 0, 1, &d, &n), ASOK_EBADHANDLE);
  /* garbage handle values */
  CHECK_EQ(asok_sock_free((asok_sock *)(uintptr_t)1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free((asok_sock *)(uintptr_t)0xdeadbeef), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_free((asok_loop *)(uintptr_t)-1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free(live), 0);
  close(peer);

  /* accept: a listener's ops; accept on a non-listener */
  asok_sock *lsn = listener(l, &port);
  CHECK_EQ(asok_accept(lsn, 1, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_accept(lsn, 0, &x), ASOK_ETIMEOUT);
  CHECK_EQ(asok_unread(lsn, "x", 1), ASOK_EINVAL); /* a listener never reads */
  CHECK_EQ(asok_sock_free(lsn), 0);
  none(l);
}

int main(void) {
  asok_loop *l;
  alarm(60);
  CHECK_EQ(asok_loop_new(&l), 0);
  udp(l);
  unixsocks(l);
  errors(l);
  CHECK_EQ(asok_loop_free(l), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  CHECK_EQ(asok_debug_rxmem(), 0);
  printf("dgram: ok\n");
  return 0;
}

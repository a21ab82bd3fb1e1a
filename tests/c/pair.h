/* pair.h - connected asok sockets for the C tests: drive() waits for one
 * token, newpair() wraps a socketpair, listener() listens on 127.0.0.1,
 * pair() connects two sockets, recv_is() checks one receive. */
#ifndef ASOK_PAIR_H
#define ASOK_PAIR_H
#include <string.h>
#include <sys/socket.h>

#include "asok.h"
#include "check.h"

/* newpair wraps one end of a fresh AF_UNIX stream pair on loop (owned)
 * and gives the other end, a raw blocking fd, in *peer. */
static inline asok_sock *newpair(asok_loop *loop, int *peer) {
  int fds[2];
  asok_sock *s;
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  CHECK_EQ(asok_wrap(loop, fds[0], ASOK_OWNFD, &s), 0);
  *peer = fds[1];
  return s;
}

/* drive waits for token on loop (up to 10 s) and checks it came back. */
static inline void drive(asok_loop *loop, asok_token token) {
  asok_token t = 0;
  CHECK_EQ(asok_select(loop, 10, &t, 1), 1);
  CHECK_EQ(t, token);
}

/* listener makes a listening socket on 127.0.0.1 and gives its port. */
static inline asok_sock *listener(asok_loop *loop, int *port) {
  asok_sock *s;
  char ip[46];
  CHECK_EQ(asok_tcp_new(loop, 4, &s), 0);
  CHECK_EQ(asok_bind(s, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_listen(s, 0), 0);
  CHECK_EQ(asok_getsockname(s, ip, sizeof ip, port), 0);
  return s;
}

/* pair connects two sockets of loop, through tokens 1 (connect) and 2. */
static inline void pair(asok_loop *loop, asok_sock **a, asok_sock **b) {
  asok_sock *lsn;
  int port, rc;
  lsn = listener(loop, &port);
  CHECK_EQ(asok_tcp_new(loop, 4, a), 0);
  rc = asok_connect(*a, "127.0.0.1", port, 1);
  if (rc == ASOK_EWAIT) {
    drive(loop, 1);
    rc = asok_connect(*a, "127.0.0.1", port, 1);
  }
  CHECK_EQ(rc, 0);
  rc = asok_accept(lsn, 2, b);
  if (rc == ASOK_EWAIT) {
    drive(loop, 2);
    rc = asok_accept(lsn, 2, b);
  }
  CHECK_EQ(rc, 0);
  CHECK_EQ(asok_sock_free(lsn), 0);
}

/* recv_is checks one asok_receive's code and bytes. */
static inline void recv_is(asok_sock *s, int pattern, size_t n, asok_token tok, int rc,
                           const char *want) {
  const char *d = NULL;
  size_t len = 99;
  CHECK_EQ(asok_receive(s, pattern, n, tok, &d, &len), rc);
  CHECK_EQ(len, strlen(want));
  CHECK(len == 0 || memcmp(d, want, len) == 0);
}
#endif

/* test_lookhup.c - a look's readiness is select(2)'s (asok.h, enum
 * asok_dir): a unix stream socket shut down both ways whose send buffer is
 * full polls POLLHUP without POLLOUT; a write look on it waits (alone and
 * in asok_waitset, where a read look on it is ready), and stays parked
 * without a delivery while nothing changes (no spin: each asok_select
 * hands out no token), until the peer reads and the send buffer frees:
 * then the look comes back and its retry is ready. A plain write wait
 * counts the hang-up at once (the send it is for then fails). */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "pair.h"

int main(void) {
  asok_loop *loop;
  asok_sock *s;
  int fds[2], i, n;
  int small = 4096;
  char chunk[4096] = {0};
  asok_token t[4];
  struct pollfd pfd;

  CHECK_EQ(asok_loop_new(&loop), 0);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  CHECK_EQ(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  CHECK_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
  while (write(fds[0], chunk, sizeof chunk) > 0) {
  }
  CHECK_EQ(shutdown(fds[0], SHUT_RDWR), 0);
  pfd.fd = fds[0];
  pfd.events = POLLIN | POLLOUT;
  CHECK_EQ(poll(&pfd, 1, 0), 1);
  CHECK(pfd.revents & POLLHUP);
  CHECK(!(pfd.revents & POLLOUT)); /* the set-up: hung up, not writable */
  CHECK_EQ(asok_wrap(loop, fds[0], ASOK_OWNFD, &s), 0);

  /* alone: the write look parks, the read look is ready */
  CHECK_EQ(asok_wait(s, ASOK_WRITE | ASOK_LOOK, 1), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), 0);

  /* in a waitset: the same */
  {
    asok_waitreq r[2] = {{s, ASOK_READ | ASOK_LOOK, 3, 1}, {s, ASOK_WRITE | ASOK_LOOK, 4, 1}};
    CHECK_EQ(asok_waitset(loop, r, 2), 0);
    CHECK_EQ(r[0].rc, 0);
    CHECK_EQ(r[1].rc, ASOK_EWAIT);
  }

  /* parked, nothing changes: no token comes back, however often the loop
   * steps (the hang-up's events do not wake it over and over) */
  for (i = 0; i < 5; i++) CHECK_EQ(asok_select(loop, 0.01, t, 4), 0);
  CHECK_EQ(asok_wait(s, ASOK_WRITE | ASOK_LOOK, 1), ASOK_EWAIT); /* still not */

  /* a plain write wait counts the hang-up (ready; the send then fails) */
  CHECK_EQ(asok_wait(s, ASOK_WRITE, 5), 0);

  /* the peer reads everything: the send buffer frees, both looks come
   * back, and their retries are ready */
  n = 0;
  CHECK_EQ(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
  while (read(fds[1], chunk, sizeof chunk) > 0) n++;
  CHECK(n > 0);
  CHECK_EQ(asok_select(loop, 10, t, 4), 2);
  CHECK((t[0] == 1 && t[1] == 4) || (t[0] == 4 && t[1] == 1));
  CHECK_EQ(asok_wait(s, ASOK_WRITE | ASOK_LOOK, 1), 0);
  CHECK_EQ(asok_wait(s, ASOK_WRITE | ASOK_LOOK, 4), 0);

  CHECK_EQ(asok_sock_free(s), 0);
  close(fds[1]);
  CHECK_EQ(asok_loop_free(loop), 0);
  return 0;
}

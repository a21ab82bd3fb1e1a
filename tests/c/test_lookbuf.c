/* test_lookbuf.c - a read look (ASOK_READ | ASOK_LOOK) counts the bytes
 * asok holds for the socket's next asok_receive as ready, as
 * socket.select counts LuaSocket's buffer: a receive that left them there,
 * having emptied the fd, made the look's retry park with the data there
 * (its retry answered in C, as an armed retry: asok_debug_in_c), and one
 * made before asok_select saw the arrival took its edge with it (nothing
 * woke the look). Both now: the retry returns 0, the look comes back. A
 * receive that leaves nothing wakes no look. */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "pair.h"

/* readable waits until fd has data (at most 5 s). */
static void readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  CHECK_EQ(poll(&p, 1, 5000), 1);
}

/* line checks that a receive's result (rc, d, len) is the line want. */
#define LINE(rc, d, len, want) \
  do { \
    CHECK_EQ(rc, 0); \
    CHECK((len) == strlen(want) && memcmp(d, want, len) == 0); \
  } while (0)

int main(void) {
  asok_loop *loop;
  asok_sock *s;
  int fd, peer, rc;
  asok_token t[8];
  const char *d;
  size_t len;
  uint64_t takes0, takes;

  CHECK_EQ(asok_loop_new(&loop), 0);
  {
    int fds[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    CHECK_EQ(asok_wrap(loop, fds[0], ASOK_OWNFD, &s), 0);
    fd = fds[0];
    peer = fds[1];
  }

  /* a receive and a look brought back together; the receive's retry,
   * made first and answered in C, takes one line and keeps the next: the
   * look's retry finds it */
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 3, &d, &len), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 1), ASOK_EWAIT);
  CHECK_EQ(write(peer, "a\nb\n", 4), 4);
  CHECK_EQ(asok_select(loop, 10, t, 8), 2);
  CHECK_EQ(t[0], 1);
  CHECK_EQ(t[1], 3);
  asok_debug_in_c(&takes0, NULL, NULL);
  rc = asok_receive(s, ASOK_LINE, 0, 3, &d, &len);
  LINE(rc, d, len, "a");
  asok_debug_in_c(&takes, NULL, NULL);
  CHECK_EQ(takes, takes0 + 1);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 1), 0);
  CHECK_EQ(asok_buffered(s, &len), 0);
  CHECK_EQ(len, 2);
  /* a new look, and a polling one, see it too */
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), 0);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 0), 0);
  rc = asok_receive(s, ASOK_LINE, 0, 4, &d, &len);
  LINE(rc, d, len, "b");

  /* a look, then a receive made once the data arrived, before any
   * asok_select: it leaves a line, and the look comes back */
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 1), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), ASOK_EWAIT);
  CHECK_EQ(write(peer, "c\nd\n", 4), 4);
  readable(fd);
  rc = asok_receive(s, ASOK_LINE, 0, 0, &d, &len);
  LINE(rc, d, len, "c");
  CHECK_EQ(asok_select(loop, 0, t, 8), 2);
  CHECK_EQ(t[0], 1);
  CHECK_EQ(t[1], 2);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 1), 0);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), 0);
  rc = asok_receive(s, ASOK_LINE, 0, 0, &d, &len);
  LINE(rc, d, len, "d");

  /* a receive that takes it all leaves the look waiting; the next data
   * brings it */
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 1), ASOK_EWAIT);
  CHECK_EQ(write(peer, "e\n", 2), 2);
  readable(fd);
  rc = asok_receive(s, ASOK_LINE, 0, 0, &d, &len);
  LINE(rc, d, len, "e");
  CHECK_EQ(asok_select(loop, 0, t, 8), 0);
  CHECK_EQ(write(peer, "f\n", 2), 2);
  CHECK_EQ(asok_select(loop, 10, t, 8), 1);
  CHECK_EQ(t[0], 1);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 1), 0);

  CHECK_EQ(asok_sock_free(s), 0);
  close(peer);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  puts("lookbuf ok");
  return 0;
}

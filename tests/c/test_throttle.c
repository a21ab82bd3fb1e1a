/* test_throttle.c - asok_throttle through the C API: argument errors, and
 * a throttled send of 12,000 bytes at 20,000 B/s over a socketpair that
 * takes about 0.6 s (checked with a generous lower bound only) while an
 * unthrottled pair on the same loop moves far more meanwhile. */
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"

#define SLOW 12000
#define RATE 20000.0

/* now returns CLOCK_MONOTONIC seconds. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

int main(void) {
  asok_loop *loop;
  asok_sock *slow, *fast;
  int sp[2], fp[2], rc;
  static char data[SLOW], buf[65536];
  size_t sent = 0, fastmoved = 0, fsent;
  long slowread = 0;
  double t0, el;
  asok_token got[8];
  memset(data, 's', sizeof data);
  CHECK_EQ(asok_loop_new(&loop), 0);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fp), 0);
  CHECK_EQ(asok_wrap(loop, sp[0], ASOK_OWNFD, &slow), 0);
  CHECK_EQ(asok_wrap(loop, fp[0], ASOK_OWNFD, &fast), 0);
  /* arguments */
  CHECK_EQ(asok_throttle(slow, 3, 1000), ASOK_EINVAL);
  CHECK_EQ(asok_throttle(slow, ASOK_WRITE, -1), ASOK_EINVAL);
  CHECK_EQ(asok_throttle(slow, ASOK_WRITE, 0.0 / 0.0), ASOK_EINVAL);
  CHECK_EQ(asok_throttle(NULL, ASOK_WRITE, 1000), ASOK_EBADHANDLE);
  CHECK_EQ(asok_throttle(slow, ASOK_READ, 0), 0);
  CHECK_EQ(asok_throttle(slow, ASOK_WRITE, RATE), 0);
  /* the throttled send parks on its timer; the fast pair runs meanwhile */
  t0 = now();
  rc = asok_send(slow, data, SLOW, 1, &sent);
  while (rc == ASOK_EWAIT) {
    size_t left;
    ssize_t k;
    rc = asok_send(fast, buf, sizeof buf, 0, &fsent); /* token 0: never parks */
    CHECK(rc == 0 || rc == ASOK_ETIMEOUT);
    fastmoved += fsent;
    for (left = fsent; left > 0; left -= (size_t) k) {
      k = read(fp[1], buf, left < sizeof buf ? left : sizeof buf);
      CHECK(k > 0);
    }
    CHECK(asok_select(loop, 0.001, got, 8) >= 0);
    rc = asok_send(slow, data, SLOW, 1, &sent);
    CHECK(now() - t0 < 10);
  }
  CHECK_EQ(rc, 0);
  CHECK_EQ(sent, SLOW);
  el = now() - t0;
  /* 12,000 bytes at 20,000 B/s from an empty bucket: 0.6 s, never less
   * than 0.5 s; far more moved on the unthrottled pair meanwhile */
  CHECK(el > 0.5);
  CHECK(fastmoved > 10 * SLOW);
  while (slowread < SLOW) {
    ssize_t k = read(sp[1], buf, sizeof buf);
    CHECK(k > 0);
    slowread += k;
  }
  CHECK_EQ(slowread, SLOW);
  CHECK_EQ(asok_throttle(slow, ASOK_WRITE, 0), 0);
  CHECK_EQ(asok_close(slow), 0);
  CHECK_EQ(asok_throttle(slow, ASOK_WRITE, 1000), ASOK_ECLOSED);
  CHECK_EQ(asok_sock_free(slow), 0);
  CHECK_EQ(asok_sock_free(fast), 0);
  CHECK_EQ(asok_loop_free(loop), 0);
  close(sp[1]);
  close(fp[1]);
  CHECK_EQ(asok_debug_handles(), 0);
  printf("test_throttle: ok (%.2f s, %zu bytes on the fast pair)\n", el, fastmoved);
  return 0;
}

/* test_looks.c - ASOK_LOOK, a select's waits: two looks and a receive on
 * one socket all come back from the one asok_select that sees the data
 * (the looks first); a look holds back no receive made after it;
 * asok_waitset's looks, two on one socket, come back together and
 * asok_cancelset drops them; a close brings every look back (its retry:
 * ASOK_ECLOSED); asok_cancel drops a look and wakes no one; a look ignores
 * the socket's timeouts; its token is busy for anything else; bad
 * directions. */
#include <unistd.h>

#include "pair.h"

int main(void) {
  asok_loop *loop;
  asok_sock *s, *o, *c, *z;
  int peer, opeer, cpeer, zpeer;
  asok_token t[8];
  const char *d;
  size_t len;

  CHECK_EQ(asok_loop_new(&loop), 0);
  s = newpair(loop, &peer);
  o = newpair(loop, &opeer);
  c = newpair(loop, &cpeer);
  z = newpair(loop, &zpeer);

  /* two looks and a receive: one asok_select brings all three, the looks
   * first; the looks' retries find s ready, the receive reads its line */
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 1), ASOK_EWAIT);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 3, &d, &len), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), ASOK_EWAIT);
  CHECK_EQ(asok_select(loop, 0, t, 8), 0);
  CHECK_EQ(write(peer, "x\n", 2), 2);
  CHECK_EQ(asok_select(loop, 10, t, 8), 3);
  CHECK_EQ(t[0], 1);
  CHECK_EQ(t[1], 2);
  CHECK_EQ(t[2], 3);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 1), 0);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), 0);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 3, &d, &len), 0);
  CHECK(len == 1 && d[0] == 'x');

  /* a look holds back no receive: one made after it reads at once; the
   * look, cancelled, wakes no one */
  CHECK_EQ(asok_wait(o, ASOK_READ | ASOK_LOOK, 4), ASOK_EWAIT);
  CHECK_EQ(write(opeer, "y\n", 2), 2);
  CHECK_EQ(asok_receive(o, ASOK_LINE, 0, 5, &d, &len), 0);
  CHECK(len == 1 && d[0] == 'y');
  CHECK_EQ(asok_cancel(loop, 4), 0);

  /* asok_waitset's looks: two on s, one on o, all parked; data on s brings
   * both of s's; asok_cancelset drops all three */
  {
    asok_waitreq r[3] = {{s, ASOK_READ | ASOK_LOOK, 6, 1},
                         {s, ASOK_READ | ASOK_LOOK, 7, 1},
                         {o, ASOK_READ | ASOK_LOOK, 8, 1}};
    asok_token toks[3] = {6, 7, 8};
    CHECK_EQ(asok_waitset(loop, r, 3), 0);
    CHECK_EQ(r[0].rc, ASOK_EWAIT);
    CHECK_EQ(r[1].rc, ASOK_EWAIT);
    CHECK_EQ(r[2].rc, ASOK_EWAIT);
    CHECK_EQ(write(peer, "w", 1), 1);
    CHECK_EQ(asok_select(loop, 10, t, 8), 2);
    CHECK_EQ(t[0], 6);
    CHECK_EQ(t[1], 7);
    CHECK_EQ(asok_waitset(loop, r, 3), 0); /* the retries */
    CHECK_EQ(r[0].rc, 0);
    CHECK_EQ(r[1].rc, 0);
    CHECK_EQ(r[2].rc, ASOK_EWAIT);
    CHECK_EQ(asok_cancelset(loop, toks + 2, 1), 0);
    CHECK_EQ(write(opeer, "v", 1), 1);
    CHECK_EQ(asok_select(loop, 0.05, t, 8), 0);
  }

  /* a close brings every look back, and a queued receive; the looks'
   * retries say closed */
  CHECK_EQ(asok_wait(c, ASOK_READ | ASOK_LOOK, 9), ASOK_EWAIT);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 10, &d, &len), ASOK_EWAIT);
  CHECK_EQ(asok_wait(c, ASOK_READ | ASOK_LOOK, 11), ASOK_EWAIT);
  CHECK_EQ(asok_close(c), 0);
  CHECK_EQ(asok_select(loop, 0, t, 8), 3);
  CHECK_EQ(asok_wait(c, ASOK_READ | ASOK_LOOK, 9), ASOK_ECLOSED);
  CHECK_EQ(asok_wait(c, ASOK_READ | ASOK_LOOK, 11), ASOK_ECLOSED);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 10, &d, &len), ASOK_ECLOSED);

  /* untimed: a zero timeout times a plain wait out, not a look */
  CHECK_EQ(asok_settimeout(z, 0, 0), 0);
  CHECK_EQ(asok_wait(z, ASOK_READ, 12), ASOK_ETIMEOUT);
  CHECK_EQ(asok_wait(z, ASOK_READ | ASOK_LOOK, 12), ASOK_EWAIT);
  CHECK_EQ(asok_select(loop, 0.05, t, 8), 0);
  /* the look's token is busy for anything else */
  CHECK_EQ(asok_wait(z, ASOK_READ, 12), ASOK_EBUSY);
  CHECK_EQ(asok_wait(z, ASOK_WRITE | ASOK_LOOK, 12), ASOK_EBUSY);
  CHECK_EQ(asok_receive(z, ASOK_LINE, 0, 12, &d, &len), ASOK_EBUSY);
  CHECK_EQ(asok_sleep(loop, 1, 12), ASOK_EBUSY);
  CHECK_EQ(asok_wait(z, ASOK_READ | ASOK_LOOK | ASOK_UNTIMED, 12), ASOK_EWAIT);
  /* bad directions */
  CHECK_EQ(asok_wait(z, ASOK_LOOK, 13), ASOK_EINVAL);
  CHECK_EQ(asok_wait(z, 3 | ASOK_LOOK, 13), ASOK_EINVAL);
  CHECK_EQ(asok_wait(z, 16 | ASOK_READ | ASOK_LOOK, 13), ASOK_EINVAL);
  CHECK_EQ(asok_cancel(loop, 12), 0);
  CHECK_EQ(write(zpeer, "u", 1), 1);
  CHECK_EQ(asok_select(loop, 0.05, t, 8), 0);

  CHECK_EQ(asok_sock_free(s), 0);
  CHECK_EQ(asok_sock_free(o), 0);
  CHECK_EQ(asok_sock_free(c), 0);
  CHECK_EQ(asok_sock_free(z), 0);
  close(peer);
  close(opeer);
  close(cpeer);
  close(zpeer);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  puts("looks ok");
  return 0;
}

/* test_shares.c - a closed socket's shares and the tokens used elsewhere
 * (asok.h, asok_close and Tokens): a receive waiting at asok_close gets
 * its share of what the socket had buffered at its retry, the token's
 * next receive there. Once the close's delivery is handed out the token
 * is free: taken up by another operation (on another socket, a sleep, or
 * a call other than a receive on the closed socket) it abandons that
 * receive, whose share goes back as asok_cancel gives it back (to the
 * receives after it); its later receive there is a new call. Before, the
 * share stayed for that receive, so the receives after it skipped its
 * bytes, and a token with shares on two closed sockets lost the first to
 * asok_cancel. While the delivery is owed, a call elsewhere is refused
 * (ASOK_EBUSY) and the share stays. */
#include <string.h>
#include <unistd.h>

#include "pair.h"

/* closed_lines parks line receives of tokens 1 and 2 on a new socket,
 * unreads data in front and closes it; with handout, asok_select hands
 * the close's deliveries out. */
static asok_sock *closed_lines(asok_loop *loop, const char *data, int handout) {
  asok_sock *s;
  asok_token t[4];
  int peer;
  s = newpair(loop, &peer);
  recv_is(s, ASOK_LINE, 0, 1, ASOK_EWAIT, "");
  recv_is(s, ASOK_LINE, 0, 2, ASOK_EWAIT, "");
  CHECK_EQ(asok_unread(s, data, strlen(data)), 0);
  CHECK_EQ(asok_close(s), 0);
  close(peer);
  if (handout) {
    CHECK_EQ(asok_select(loop, 0, t, 4), 2);
    CHECK_EQ(t[0], 1);
    CHECK_EQ(t[1], 2);
  }
  return s;
}

/* test_elsewhere: token 1, handed out, receives on another socket: its
 * share ("A") is the next receive's (token 2 got "B" before, "A" never
 * came out but to token 1's later receive). */
static void test_elsewhere(asok_loop *loop) {
  asok_sock *x, *y;
  int peer;
  x = closed_lines(loop, "A\nB\n", 1);
  y = newpair(loop, &peer);
  recv_is(y, ASOK_LINE, 0, 1, ASOK_EWAIT, "");
  recv_is(x, ASOK_LINE, 0, 2, 0, "A");
  recv_is(x, ASOK_LINE, 0, 3, 0, "B");
  recv_is(x, ASOK_LINE, 0, 4, ASOK_ECLOSED, "");
  CHECK_EQ(asok_cancel(loop, 1), 0);
  CHECK_EQ(asok_sock_free(x), 0);
  CHECK_EQ(asok_sock_free(y), 0);
  close(peer);
}

/* test_two_closes: token 1's receive on Y closes with a share too, and
 * is cancelled: neither share is left, X's went to the receive after it
 * (it stayed before: asok_cancel dropped Y's only, token 2 got "B", and
 * "A" came out at token 1's next receive on X). */
static void test_two_closes(asok_loop *loop) {
  asok_sock *x, *y;
  asok_token t[4];
  int peer;
  x = closed_lines(loop, "A\nB\n", 1);
  y = newpair(loop, &peer);
  recv_is(y, ASOK_LINE, 0, 1, ASOK_EWAIT, "");
  CHECK_EQ(asok_unread(y, "Y\n", 2), 0);
  CHECK_EQ(asok_close(y), 0);
  CHECK_EQ(asok_select(loop, 0, t, 4), 1);
  CHECK_EQ(t[0], 1);
  CHECK_EQ(asok_cancel(loop, 1), 0);
  recv_is(x, ASOK_LINE, 0, 2, 0, "A");
  recv_is(x, ASOK_LINE, 0, 3, 0, "B");
  recv_is(x, ASOK_LINE, 0, 1, ASOK_ECLOSED, "");
  recv_is(y, ASOK_LINE, 0, 3, 0, "Y");
  CHECK_EQ(asok_sock_free(x), 0);
  CHECK_EQ(asok_sock_free(y), 0);
  close(peer);
}

/* test_other_op: token 1 called on the closed socket with asok_wait, or
 * handed out and asok_sleep'ing: another operation, its share given
 * back; its next receive there is a new call (it got "A" before). */
static void test_other_op(asok_loop *loop) {
  asok_sock *x;
  asok_token t[4];
  int handout;
  for (handout = 0; handout < 2; handout++) {
    x = closed_lines(loop, "A\nB\n", handout);
    if (handout) {
      CHECK_EQ(asok_sleep(loop, 0, 1), 0);
    } else {
      CHECK_EQ(asok_wait(x, ASOK_READ, 1), ASOK_ECLOSED);
    }
    recv_is(x, ASOK_LINE, 0, 2, 0, "A");
    recv_is(x, ASOK_LINE, 0, 1, 0, "B"); /* not its old share: the next bytes */
    recv_is(x, ASOK_LINE, 0, 3, ASOK_ECLOSED, "");
    if (handout) {
      drive(loop, 1); /* the sleep */
    }
    CHECK_EQ(asok_select(loop, 0, t, 4), 0);
    CHECK_EQ(asok_sock_free(x), 0);
  }
}

/* test_refused: before the close's delivery is handed out, token 1 is
 * its receive's: a receive on an open socket is ASOK_EBUSY, and the
 * share stays for its retry. */
static void test_refused(asok_loop *loop) {
  asok_sock *x, *y;
  asok_token t[4];
  int peer;
  x = closed_lines(loop, "A\nB\n", 0);
  y = newpair(loop, &peer);
  recv_is(y, ASOK_LINE, 0, 1, ASOK_EBUSY, "");
  CHECK_EQ(asok_select(loop, 0, t, 4), 2);
  recv_is(x, ASOK_LINE, 0, 2, 0, "B");
  recv_is(x, ASOK_LINE, 0, 1, 0, "A");
  CHECK_EQ(asok_sock_free(x), 0);
  CHECK_EQ(asok_sock_free(y), 0);
  close(peer);
}

int main(void) {
  asok_loop *loop;
  asok_token t[4];
  int base = asok_debug_handles();
  CHECK_EQ(asok_loop_new(&loop), 0);
  test_elsewhere(loop);
  test_two_closes(loop);
  test_other_op(loop);
  test_refused(loop);
  CHECK_EQ(asok_select(loop, 0, t, 4), 0); /* nothing left over */
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), base);
  printf("shares ok\n");
  return 0;
}

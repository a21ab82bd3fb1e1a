/* test_retry.c - asok_receive retried with its token but another pattern
 * or count (asok.h, asok_receive): the retry is the same call, under the
 * pattern and count it gives from then on. It keeps its place in the
 * socket's queue, and the bytes it waited with (its partial) are read
 * under the new pattern: every byte comes out once, in stream order.
 * That holds for a retry asok_select armed (it goes through Go), and
 * after asok_close, where the call's share of the buffered bytes is
 * worked out again under the new pattern, in its place: it was given
 * back, so the receive after it got those bytes first and, once a call
 * made after the close had read the rest, they were lost. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pair.h"

/* partial parks a receive of pattern (count n) under tok on s and has the
 * peer send data, which the receive's retry keeps as its partial. */
static void partial(asok_loop *loop, asok_sock *s, int peer, int pattern, size_t n,
                    asok_token tok, const char *data) {
  const char *d;
  size_t len = 99;
  CHECK_EQ(asok_receive(s, pattern, n, tok, &d, &len), ASOK_EWAIT);
  CHECK_EQ(write(peer, data, strlen(data)), (long long)strlen(data));
  drive(loop, tok);
  CHECK_EQ(asok_receive(s, pattern, n, tok, &d, &len), ASOK_EWAIT);
  CHECK_EQ(len, 0);
}

/* held checks asok_held and asok_buffered of s. */
static void held(asok_sock *s, size_t h, size_t buffered) {
  size_t n = 99;
  CHECK_EQ(asok_held(s, &n), 0);
  CHECK_EQ(n, h);
  CHECK_EQ(asok_buffered(s, &n), 0);
  CHECK_EQ(n, buffered);
}

/* test_open: on an open socket, a partial taken under one pattern is
 * read under the retry's: a smaller count at once (the rest is the next
 * receive's), a larger count, a line or "*a" waiting on with it. */
static void test_open(asok_loop *loop) {
  asok_sock *s;
  int peer;
  s = newpair(loop, &peer);
  /* a line's partial, a count of 2: at once, "c" left for a new receive */
  partial(loop, s, peer, ASOK_LINE, 0, 1, "abc");
  held(s, 3, 0);
  recv_is(s, ASOK_COUNT, 2, 1, 0, "ab");
  held(s, 1, 1);
  recv_is(s, ASOK_LINE, 0, 2, ASOK_EWAIT, "");
  CHECK_EQ(write(peer, "\n", 1), 1);
  drive(loop, 2);
  recv_is(s, ASOK_LINE, 0, 2, 0, "c");
  /* a line's partial, a count of 5: the call waits on with it */
  partial(loop, s, peer, ASOK_LINE, 0, 3, "abc");
  recv_is(s, ASOK_COUNT, 5, 3, ASOK_EWAIT, "");
  held(s, 3, 0);
  CHECK_EQ(write(peer, "de\n", 3), 3);
  drive(loop, 3);
  recv_is(s, ASOK_COUNT, 5, 3, 0, "abcde");
  held(s, 1, 1);
  recv_is(s, ASOK_LINE, 0, 0, 0, "");                 /* the "\n" */
  /* a count's partial, a line: waits, then the line, the rest buffered */
  partial(loop, s, peer, ASOK_COUNT, 10, 4, "ab");
  recv_is(s, ASOK_LINE, 0, 4, ASOK_EWAIT, "");
  CHECK_EQ(write(peer, "c\nrest", 6), 6);
  drive(loop, 4);
  recv_is(s, ASOK_LINE, 0, 4, 0, "abc");
  held(s, 4, 4);
  recv_is(s, ASOK_COUNT, 4, 0, 0, "rest");
  /* a line's partial, "*a": the end of the stream ends it whole */
  partial(loop, s, peer, ASOK_LINE, 0, 5, "xyz");
  recv_is(s, ASOK_ALL, 0, 5, ASOK_EWAIT, "");
  CHECK_EQ(shutdown(peer, SHUT_WR), 0);
  drive(loop, 5);
  recv_is(s, ASOK_ALL, 0, 5, 0, "xyz");
  CHECK_EQ(asok_sock_free(s), 0);
  close(peer);
}

/* test_place: the retry keeps its place ahead of a receive queued after
 * it: it reads its own bytes first. */
static void test_place(asok_loop *loop) {
  asok_sock *s;
  int peer;
  s = newpair(loop, &peer);
  partial(loop, s, peer, ASOK_LINE, 0, 1, "ab");
  recv_is(s, ASOK_LINE, 0, 2, ASOK_EWAIT, "");         /* queued behind */
  recv_is(s, ASOK_COUNT, 1, 1, 0, "a");
  drive(loop, 2);                                    /* the next head: "b" */
  recv_is(s, ASOK_LINE, 0, 2, ASOK_EWAIT, "");
  CHECK_EQ(write(peer, "\n", 1), 1);
  drive(loop, 2);
  recv_is(s, ASOK_LINE, 0, 2, 0, "b");
  CHECK_EQ(asok_sock_free(s), 0);
  close(peer);
}

/* test_armed: a retry asok_select armed for a line, made as a count,
 * goes through Go and takes the count; the line's rest comes next. */
static void test_armed(asok_loop *loop) {
  asok_sock *s;
  int peer;
  s = newpair(loop, &peer);
  recv_is(s, ASOK_LINE, 0, 1, ASOK_EWAIT, "");
  CHECK_EQ(write(peer, "xyz\n", 4), 4);
  drive(loop, 1);                                    /* armed for the line */
  recv_is(s, ASOK_COUNT, 2, 1, 0, "xy");
  recv_is(s, ASOK_LINE, 0, 1, 0, "z");
  held(s, 0, 0);
  CHECK_EQ(asok_sock_free(s), 0);
  close(peer);
}

/* test_closed: after asok_close, a waiter's retry with another pattern
 * gets its own bytes under it, in call order; also once a call made
 * after the close read what the shares left (they were lost then: "A\n"
 * never came out, tok 1 got "" and ASOK_ECLOSED). */
static void test_closed(asok_loop *loop) {
  asok_sock *s;
  int peer, restread;
  for (restread = 0; restread < 2; restread++) {
    s = newpair(loop, &peer);
    recv_is(s, ASOK_LINE, 0, 1, ASOK_EWAIT, "");
    recv_is(s, ASOK_LINE, 0, 2, ASOK_EWAIT, "");
    CHECK_EQ(asok_unread(s, "A\nB\nC\n", 6), 0);
    CHECK_EQ(asok_close(s), 0);
    if (restread) recv_is(s, ASOK_LINE, 0, 3, 0, "C");
    recv_is(s, ASOK_COUNT, 2, 1, 0, "A\n");
    recv_is(s, ASOK_LINE, 0, 2, 0, "B");
    if (!restread) recv_is(s, ASOK_LINE, 0, 3, 0, "C");
    recv_is(s, ASOK_LINE, 0, 4, ASOK_ECLOSED, "");
    CHECK_EQ(asok_sock_free(s), 0);
    close(peer);
  }
}

int main(void) {
  asok_loop *loop;
  asok_token t[4];
  int base = asok_debug_handles();
  CHECK_EQ(asok_loop_new(&loop), 0);
  test_open(loop);
  test_place(loop);
  test_armed(loop);
  test_closed(loop);
  CHECK_EQ(asok_select(loop, 0, t, 4), 0);          /* nothing left over */
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), base);
  printf("retry ok\n");
  return 0;
}

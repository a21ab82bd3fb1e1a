/* test_partial.c - the partial result of a receive that waits (a line not
 * ended, a count not reached) is that receive's, as LuaSocket keeps it in
 * the receive call's own buffer: asok_buffered (dirty()) leaves it out and
 * a read look waits, where both counted it (the look answered 0 at once,
 * and every asok_select delivered it again, for as long as the receive
 * waited). asok_held counts it. The rest arriving wakes the look and the
 * receive; a receive that lets its partial go (asok_cancel, or its token
 * ending in asok_wait once its time is up) makes it the next receive's:
 * counted, and the look woken. */
#include <string.h>
#include <unistd.h>

#include "pair.h"

/* partial parks a receive of pattern (count n) under tok on s and has the
 * peer send data, which the receive's retry keeps as its partial. */
static void partial(asok_loop *loop, asok_sock *s, int peer, int pattern, size_t n,
                    asok_token tok, const char *data) {
  const char *d;
  size_t len;
  CHECK_EQ(asok_receive(s, pattern, n, tok, &d, &len), ASOK_EWAIT);
  CHECK_EQ(write(peer, data, strlen(data)), (long long) strlen(data));
  drive(loop, tok);
  CHECK_EQ(asok_receive(s, pattern, n, tok, &d, &len), ASOK_EWAIT);
}

/* counts checks asok_buffered and asok_held of s. */
static void counts(asok_sock *s, size_t buffered, size_t held) {
  size_t n = 99;
  CHECK_EQ(asok_buffered(s, &n), 0);
  CHECK_EQ(n, buffered);
  n = 99;
  CHECK_EQ(asok_held(s, &n), 0);
  CHECK_EQ(n, held);
}

int main(void) {
  asok_loop *loop;
  asok_sock *s;
  int peer, i, pats[2] = {ASOK_LINE, ASOK_COUNT};
  size_t cnts[2] = {0, 10}, len;
  const char *rests[2] = {"def\n", "defghij"}, *wants[2] = {"abcdef", "abcdefghij"}, *d;
  asok_token t[8];

  CHECK_EQ(asok_loop_new(&loop), 0);
  s = newpair(loop, &peer);

  /* a line and a count waiting with "abc": the look waits, 100 selects
   * deliver nothing; the rest wakes both, the receive gets it whole, and
   * the look's retry finds nothing and waits again */
  for (i = 0; i < 2; i++) {
    int k, woken = 0;
    partial(loop, s, peer, pats[i], cnts[i], 1, "abc");
    counts(s, 0, 3);
    CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 0), ASOK_ETIMEOUT);
    CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), ASOK_EWAIT);
    for (k = 0; k < 100; k++) woken += asok_select(loop, 0, t, 8);
    CHECK_EQ(woken, 0);
    CHECK_EQ(write(peer, rests[i], strlen(rests[i])), (long long) strlen(rests[i]));
    CHECK_EQ(asok_select(loop, 10, t, 8), 2);
    CHECK_EQ(t[0], 2); /* the look first */
    CHECK_EQ(t[1], 1);
    EXPECT(asok_receive(s, pats[i], cnts[i], 1, &d, &len), d, len, wants[i]);
    counts(s, 0, 0);
    CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), ASOK_EWAIT);
    CHECK_EQ(asok_cancel(loop, 2), 0);
  }

  /* two receives: the second, queued, holds nothing; once the head took
   * its line, the rest is the second's as it waits with it */
  partial(loop, s, peer, ASOK_LINE, 0, 1, "abc");
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 3, &d, &len), ASOK_EWAIT);
  counts(s, 0, 3);
  CHECK_EQ(write(peer, "def\nxy", 6), 6);
  drive(loop, 1);
  EXPECT(asok_receive(s, ASOK_LINE, 0, 1, &d, &len), d, len, "abcdef");
  counts(s, 2, 2); /* the second has not waited with it yet */
  drive(loop, 3);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 3, &d, &len), ASOK_EWAIT);
  counts(s, 0, 2);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), ASOK_EWAIT);

  /* the receive cancelled: its partial is the next receive's, the look
   * is woken (no event would) and its retry finds it */
  CHECK_EQ(asok_cancel(loop, 3), 0);
  counts(s, 2, 2);
  CHECK_EQ(asok_select(loop, 0, t, 8), 1);
  CHECK_EQ(t[0], 2);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), 0);
  CHECK_EQ(write(peer, "z\n", 2), 2);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 4, &d, &len), ASOK_EWAIT);
  counts(s, 0, 2); /* (its own now) */
  drive(loop, 4);
  EXPECT(asok_receive(s, ASOK_LINE, 0, 4, &d, &len), d, len, "xyz");
  counts(s, 0, 0);

  /* a receive whose time is up, its token then moved to asok_wait: the
   * wait answers ASOK_ETIMEOUT, and the partial is the next receive's:
   * counted, and the look woken (it was not: no event would come) */
  partial(loop, s, peer, ASOK_LINE, 0, 5, "abc");
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), ASOK_EWAIT);
  CHECK_EQ(asok_settimeout(s, 0.01, -1), 0); /* (the waiting receive's too) */
  drive(loop, 5);                            /* expired */
  CHECK_EQ(asok_settimeout(s, -1, -1), 0);
  counts(s, 0, 3);
  CHECK_EQ(asok_wait(s, ASOK_READ, 5), ASOK_ETIMEOUT);
  counts(s, 3, 3);
  CHECK_EQ(asok_select(loop, 0, t, 8), 1);
  CHECK_EQ(t[0], 2);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 2), 0);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 6, &d, &len), ASOK_EWAIT);
  counts(s, 0, 3);
  CHECK_EQ(write(peer, "\n", 1), 1);
  drive(loop, 6);
  EXPECT(asok_receive(s, ASOK_LINE, 0, 6, &d, &len), d, len, "abc");
  counts(s, 0, 0);

  /* asok_held's argument errors */
  CHECK_EQ(asok_held(s, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_held(NULL, &len), ASOK_EBADHANDLE);

  CHECK_EQ(asok_sock_free(s), 0);
  close(peer);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  puts("partial ok");
  return 0;
}

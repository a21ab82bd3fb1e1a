/* test_waitset.c - asok_waitset: the waits of many sockets with one
 * poll(2) (asok_debug_polls counts it), each with asok_wait's result; an
 * arrival after the batch wakes its parked token; asok_cancelset ends
 * them; bad handles, another loop's socket and bad arguments. */
#include <unistd.h>

#include "pair.h"

#define N 64

/* polls returns loop's poll(2) count. */
static uint64_t polls(asok_loop *loop) {
  uint64_t p = 0;
  CHECK_EQ(asok_debug_polls(loop, &p, NULL), 0);
  return p;
}

int main(void) {
  asok_loop *loop, *other;
  asok_sock *s[N], *o, *freed;
  int peer[N], opeer, fpeer, i;
  asok_waitreq r[N + 4];
  asok_token t = 0;
  uint64_t p0, ep;

  CHECK_EQ(asok_loop_new(&loop), 0);
  CHECK_EQ(asok_loop_new(&other), 0);
  for (i = 0; i < N; i++) s[i] = newpair(loop, &peer[i]);
  o = newpair(other, &opeer);
  freed = newpair(loop, &fpeer);
  CHECK_EQ(asok_sock_free(freed), 0);
  CHECK_EQ(write(peer[5], "x", 1), 1);
  CHECK_EQ(write(peer[40], "y", 1), 1);

  for (i = 0; i < N; i++) r[i] = (asok_waitreq){s[i], ASOK_READ | ASOK_UNTIMED, 100 + i, 1};
  r[N] = (asok_waitreq){s[3], ASOK_WRITE, 99, 1};       /* writable: at once */
  r[N + 1] = (asok_waitreq){o, ASOK_READ, 98, 1};       /* another loop's */
  r[N + 2] = (asok_waitreq){freed, ASOK_READ, 97, 1};   /* freed */
  r[N + 3] = (asok_waitreq){s[6], 3, 96, 1};            /* bad direction */
  p0 = polls(loop);
  CHECK_EQ(asok_waitset(loop, r, N + 4), 0);
  CHECK_EQ(polls(loop) - p0, 1); /* one poll(2) for N + 1 waits */
  for (i = 0; i < N; i++) CHECK_EQ(r[i].rc, (i == 5 || i == 40) ? 0 : ASOK_EWAIT);
  CHECK_EQ(r[N].rc, 0);
  CHECK_EQ(r[N + 1].rc, ASOK_EINVAL);
  CHECK_EQ(r[N + 2].rc, ASOK_EBADHANDLE);
  CHECK_EQ(r[N + 3].rc, ASOK_EINVAL);
  CHECK_EQ(polls(other), 0); /* the other loop's socket left alone */

  /* an arrival after the batch: its token comes, and its retry is ready */
  CHECK_EQ(write(peer[17], "z", 1), 1);
  CHECK_EQ(asok_debug_polls(loop, NULL, &ep), 0);
  CHECK_EQ(asok_select(loop, 10, &t, 1), 1);
  CHECK_EQ(t, 117);
  CHECK_EQ(asok_debug_polls(loop, NULL, &p0), 0);
  CHECK(p0 > ep); /* epoll_waits counted */
  p0 = polls(loop);
  CHECK_EQ(asok_waitset(loop, r, N), 0);
  CHECK_EQ(polls(loop) - p0, 1);
  for (i = 0; i < N; i++) CHECK_EQ(r[i].rc, (i == 5 || i == 17 || i == 40) ? 0 : ASOK_EWAIT);
  /* one by one, asok_wait says the same (one poll each) */
  for (i = 0; i < N; i++) CHECK_EQ(asok_wait(s[i], ASOK_READ | ASOK_UNTIMED, 100 + i), r[i].rc);
  CHECK_EQ(polls(loop) - p0, 1 + N);
  /* asok_cancelset ends them all: no delivery afterwards */
  {
    asok_token toks[N];
    for (i = 0; i < N; i++) toks[i] = 100 + i;
    CHECK_EQ(asok_cancelset(loop, toks, N), 0);
    CHECK_EQ(write(peer[20], "w", 1), 1);
    CHECK_EQ(asok_select(loop, 0.05, &t, 1), 0);
    CHECK_EQ(asok_wait(s[20], ASOK_READ, 100), 0); /* the token is free */
    CHECK_EQ(asok_cancelset(NULL, toks, 1), ASOK_EBADHANDLE);
    CHECK_EQ(asok_cancelset(loop, NULL, 1), ASOK_EINVAL);
    CHECK_EQ(asok_cancelset(loop, NULL, 0), 0);
  }

  /* a closed socket's wait: closed, no poll */
  CHECK_EQ(asok_close(s[0]), 0);
  r[0] = (asok_waitreq){s[0], ASOK_READ, 1, 1};
  p0 = polls(loop);
  CHECK_EQ(asok_waitset(loop, r, 1), 0);
  CHECK_EQ(r[0].rc, ASOK_ECLOSED);
  CHECK_EQ(polls(loop), p0);

  /* bad arguments */
  CHECK_EQ(asok_waitset(NULL, r, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_waitset(loop, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_waitset(loop, NULL, 0), 0);
  CHECK_EQ(asok_waitset(loop, r, (size_t) -1), ASOK_EINVAL);
  CHECK_EQ(asok_debug_polls(NULL, NULL, NULL), ASOK_EBADHANDLE);
  CHECK_EQ(asok_debug_polls(loop, NULL, NULL), 0);

  for (i = 0; i < N; i++) {
    CHECK_EQ(asok_sock_free(s[i]), 0);
    close(peer[i]);
  }
  CHECK_EQ(asok_sock_free(o), 0);
  close(opeer);
  close(fpeer);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_loop_free(other), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  puts("waitset ok");
  return 0;
}

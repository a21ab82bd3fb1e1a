/* test_rxmem.c - receive memory comes back: a socket freed with unread
 * data (buffered, unread, or kept by asok_close for receives after it)
 * gives its buffer back, and asok_loop_free frees what a socket closed
 * but never freed kept (asok_debug_rxmem). */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"
#include "pair.h"

#define N 500

/* firstline receives "a" from s, whose peer sent "a\nb\n". */
static void firstline(asok_loop *loop, asok_sock *s) {
  const char *d;
  size_t len;
  int rc = asok_receive(s, ASOK_LINE, 0, 7, &d, &len);
  if (rc == ASOK_EWAIT) {
    drive(loop, 7);
    rc = asok_receive(s, ASOK_LINE, 0, 7, &d, &len);
  }
  CHECK_EQ(rc, 0);
  CHECK(len == 1 && d[0] == 'a');
}

int main(void) {
  asok_loop *loop;
  asok_sock *s;
  int peer, i;
  uint64_t mem;
  CHECK_EQ(asok_debug_rxmem(), 0);
  CHECK_EQ(asok_loop_new(&loop), 0);
  for (i = 0; i < N; i++) {
    s = newpair(loop, &peer);
    CHECK_EQ(write(peer, "a\nb\n", 4), 4);
    firstline(loop, s);
    if (i % 3 == 0) CHECK_EQ(asok_close(s), 0); /* kept for receives after it */
    if (i % 3 == 2) CHECK_EQ(asok_unread(s, "xyz", 3), 0);
    CHECK_EQ(asok_sock_free(s), 0);
    close(peer);
  }
  mem = asok_debug_rxmem();
  if (mem >= N * 4096 / 4) fprintf(stderr, "%llu bytes of receive memory\n", (unsigned long long) mem);
  CHECK(mem < N * 4096 / 4); /* the pool, not one buffer per socket */
  s = newpair(loop, &peer); /* closed with "b\n" unread, never freed */
  CHECK_EQ(write(peer, "a\nb\n", 4), 4);
  firstline(loop, s);
  CHECK_EQ(asok_close(s), 0);
  close(peer);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_rxmem(), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  printf("rxmem ok\n");
  return 0;
}

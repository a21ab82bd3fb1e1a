/* test_pickup.c - a receive that waits is answered by its retry without a
 * second call into Go when asok_select armed it (the retry reads in C;
 * asok_debug_pickups counts those), and nothing is lost or reordered when
 * the retry does not come, comes with other arguments or from another
 * thread, or something else touches the socket first. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"
#include "pair.h"

/* park starts a receive under token and wants it parked. */
static void park(asok_sock *s, int pattern, size_t n, asok_token token) {
  const char *d;
  size_t len = 99;
  CHECK_EQ(asok_receive(s, pattern, n, token, &d, &len), ASOK_EWAIT);
  CHECK_EQ(len, 0);
}

/* put writes a string from the peer's raw fd. */
static void put(int fd, const char *s) {
  CHECK_EQ(write(fd, s, strlen(s)), (long long)strlen(s));
}

/* other_thread is the retry of token 15 on another thread (the loop
 * handed over between two calls): the table is the selecting thread's,
 * so the retry goes through Go, and still gets its line. */
static asok_sock *other_sock;
static void *other_thread(void *arg) {
  const char *d;
  size_t len;
  int rc = asok_receive(other_sock, ASOK_LINE, 0, 15, &d, &len);
  (void)arg;
  EXPECT(rc, d, len, "thread");
  CHECK_EQ(asok_debug_pickups(), 0);
  return NULL;
}

int main(void) {
  asok_loop *loop, *loop2;
  asok_sock *s, *t;
  const char *d;
  size_t len;
  uint64_t got, p0;
  int peer, peer2, rc;

  CHECK_EQ(asok_loop_new(&loop), 0);
  s = newpair(loop, &peer);

  /* taken: the retry reads in C, does not enter Go; the rest is buffered */
  p0 = asok_debug_pickups();
  park(s, ASOK_LINE, 0, 7);
  put(peer, "hello\r\nworld\n");
  drive(loop, 7);
  rc = asok_receive(s, ASOK_LINE, 0, 7, &d, &len);
  EXPECT(rc, d, len, "hello");
  CHECK_EQ(asok_debug_pickups(), p0 + 1);
  CHECK_EQ(asok_received(s, &got), 0);
  CHECK_EQ(got, 7);
  CHECK_EQ(asok_buffered(s, &len), 0);
  CHECK_EQ(len, 6);
  rc = asok_receive(s, ASOK_LINE, 0, 7, &d, &len); /* the token reused */
  EXPECT(rc, d, len, "world");

  /* no retry before the next asok_select: disarmed, Go reads it */
  park(s, ASOK_LINE, 0, 8);
  put(peer, "abc\n");
  drive(loop, 8);
  CHECK_EQ(asok_select(loop, 0, NULL, 0), 0);
  rc = asok_receive(s, ASOK_LINE, 0, 8, &d, &len);
  EXPECT(rc, d, len, "abc");
  CHECK_EQ(asok_debug_pickups(), p0 + 1);

  /* a retry with another count goes through Go, and gets the right bytes */
  park(s, ASOK_COUNT, 3, 9);
  put(peer, "123456");
  drive(loop, 9);
  rc = asok_receive(s, ASOK_COUNT, 4, 9, &d, &len);
  EXPECT(rc, d, len, "1234");
  rc = asok_receive(s, ASOK_COUNT, 2, 9, &d, &len);
  EXPECT(rc, d, len, "56");
  CHECK_EQ(asok_debug_pickups(), p0 + 1);

  /* another token's receive first: it queues behind the head, whose
   * retry still gets the first line */
  park(s, ASOK_COUNT, 2, 10);
  park(s, ASOK_COUNT, 2, 11);
  put(peer, "aabb");
  drive(loop, 10);
  CHECK_EQ(asok_receive(s, ASOK_COUNT, 2, 11, &d, &len), ASOK_EWAIT);
  rc = asok_receive(s, ASOK_COUNT, 2, 10, &d, &len);
  EXPECT(rc, d, len, "aa");
  drive(loop, 11);
  rc = asok_receive(s, ASOK_COUNT, 2, 11, &d, &len);
  EXPECT(rc, d, len, "bb");

  /* a line with an inner CR is left to Go (it needs a copy): same answer */
  p0 = asok_debug_pickups();
  park(s, ASOK_LINE, 0, 12);
  put(peer, "a\rb\r\n");
  drive(loop, 12);
  rc = asok_receive(s, ASOK_LINE, 0, 12, &d, &len);
  EXPECT(rc, d, len, "ab");
  CHECK_EQ(asok_debug_pickups(), p0);

  /* the retry on another thread */
  park(s, ASOK_LINE, 0, 15);
  put(peer, "thread\n");
  drive(loop, 15);
  {
    pthread_t th;
    other_sock = s;
    CHECK_EQ(pthread_create(&th, NULL, other_thread, NULL), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
  }

  /* closed with a retry armed: the retry says closed */
  park(s, ASOK_LINE, 0, 13);
  put(peer, "bye\n");
  drive(loop, 13);
  CHECK_EQ(asok_close(s), 0);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 13, &d, &len), ASOK_ECLOSED);
  CHECK_EQ(asok_sock_free(s), 0);
  close(peer);

  /* the loop freed with a retry armed: its handles are gone, never
   * answered from the table (which the next loop reuses) */
  s = newpair(loop, &peer);
  park(s, ASOK_LINE, 0, 14);
  put(peer, "late\n");
  drive(loop, 14);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 14, &d, &len), ASOK_EBADHANDLE);
  close(peer);
  CHECK_EQ(asok_loop_new(&loop2), 0);
  t = newpair(loop2, &peer2);
  p0 = asok_debug_pickups();
  park(t, ASOK_LINE, 0, 14);
  put(peer2, "new\n");
  drive(loop2, 14);
  rc = asok_receive(t, ASOK_LINE, 0, 14, &d, &len);
  EXPECT(rc, d, len, "new");
  CHECK_EQ(asok_debug_pickups(), p0 + 1);
  CHECK_EQ(asok_receive(t, ASOK_LINE, 0, 14, NULL, &len), ASOK_EINVAL);
  CHECK_EQ(asok_loop_free(loop2), 0);
  close(peer2);
  CHECK_EQ(asok_debug_handles(), 0);
  return 0;
}

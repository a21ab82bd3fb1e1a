/* test_longline.c - a 64 KiB line over TCP, received by the retry
 * asok_select armed (the C pickup), takes three recv(2) calls, counted by
 * asok_debug_reads: the read of LuaSocket's first 8 KiB, a MSG_PEEK of up
 * to 64 KiB and a MSG_TRUNC of what LuaSocket's next 8 KiB reads would
 * take (docs/reliability.md item 59), where 8 KiB reads took nine. What
 * stays buffered, and in the kernel, is what LuaSocket's reads leave.
 * Each line starts on a page, in Go's buffer and in C's: the kernel's copy
 * of a peek ran several times slower 16 bytes past one (capi/alloc.go,
 * alignFrom). */
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"
#include "pair.h"

#define LINE 65536

/* sendall writes len bytes of data on fd (non-blocking: waits for room). */
static void sendall(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t k = send(fd, data, len, MSG_NOSIGNAL);
    if (k < 0) {
      struct pollfd p = {fd, POLLOUT, 0};
      CHECK(poll(&p, 1, 10000) == 1);
      continue;
    }
    data += k;
    len -= (size_t)k;
  }
}

/* queued returns the bytes in fd's receive queue. */
static int queued(int fd) {
  int q = -1;
  CHECK_EQ(ioctl(fd, FIONREAD, &q), 0);
  return q;
}

/* waitq waits until fd's receive queue holds n bytes. */
static void waitq(int fd, int n) {
  int i;
  for (i = 0; i < 10000 && queued(fd) < n; i++) usleep(1000);
  CHECK(queued(fd) >= n);
}

/* line returns a line of LINE bytes of c and its '\n', then tail. */
static char *line(char c, const char *tail, size_t *len) {
  size_t t = strlen(tail);
  char *p = malloc(LINE + 1 + t);
  CHECK(p != NULL);
  memset(p, c, LINE);
  p[LINE] = '\n';
  memcpy(p + LINE + 1, tail, t);
  *len = LINE + 1 + t;
  return p;
}

/* reads returns loop's recv(2) count. */
static uint64_t reads(asok_loop *loop) {
  uint64_t r = 0;
  CHECK_EQ(asok_debug_reads(loop, &r), 0);
  return r;
}

/* islong checks a received line: LINE bytes of c. */
static void islong(int rc, const char *d, size_t len, char c) {
  size_t i;
  CHECK_EQ(rc, 0);
  CHECK_EQ(len, LINE);
  for (i = 0; i < len; i++) CHECK(d[i] == c);
}

int main(void) {
  asok_loop *loop;
  asok_sock *a, *b;
  const char *d;
  size_t len, n;
  uint64_t r0, p0;
  int fa, fb, rc, big = 1 << 20;
  char *s, *tail;

  CHECK_EQ(asok_loop_new(&loop), 0);
  pair(loop, &a, &b);
  CHECK_EQ(asok_sock_fd(a, &fa), 0);
  CHECK_EQ(asok_sock_fd(b, &fb), 0);
  CHECK_EQ(setsockopt(fb, SOL_SOCKET, SO_RCVBUF, &big, sizeof big), 0);

  /* a first long line, in Go (nothing parked): b's last line is long */
  s = line('a', "", &n);
  sendall(fa, s, n);
  free(s);
  waitq(fb, (int)n);
  rc = asok_receive(b, ASOK_LINE, 0, 3, &d, &len);
  islong(rc, d, len, 'a');
  CHECK_EQ((uintptr_t)d % 4096, 0);

  /* the next one, by the armed retry: three reads, all in C; the peek
   * saw everything (less than it asked): all of it taken, 5 bytes left
   * buffered (LuaSocket: eight full reads, then one of 6) */
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 4, &d, &len), ASOK_EWAIT);
  s = line('b', "tail\n", &n);
  sendall(fa, s, n);
  free(s);
  waitq(fb, (int)n);
  drive(loop, 4);
  r0 = reads(loop);
  p0 = asok_debug_pickups();
  rc = asok_receive(b, ASOK_LINE, 0, 4, &d, &len);
  islong(rc, d, len, 'b');
  CHECK_EQ((uintptr_t)d % 4096, 0);
  CHECK_EQ(reads(loop) - r0, 3);
  CHECK_EQ(asok_debug_pickups() - p0, 1);
  CHECK_EQ(asok_buffered(b, &len), 0);
  CHECK_EQ(len, 5);
  CHECK_EQ(queued(fb), 0);
  recv_is(b, ASOK_LINE, 0, 4, 0, "tail");

  /* with more behind it than the peek asks for: 8 KiB + 64 KiB taken,
   * 8,191 bytes buffered, the rest in the kernel, the next line whole */
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 5, &d, &len), ASOK_EWAIT);
  tail = malloc(30002);
  CHECK(tail != NULL);
  memset(tail, 'y', 30000);
  tail[30000] = '\n';
  tail[30001] = 0;
  s = line('c', tail, &n);
  sendall(fa, s, n);
  free(s);
  waitq(fb, (int)n);
  drive(loop, 5);
  r0 = reads(loop);
  p0 = asok_debug_pickups();
  rc = asok_receive(b, ASOK_LINE, 0, 5, &d, &len);
  islong(rc, d, len, 'c');
  CHECK_EQ((uintptr_t)d % 4096, 0);
  CHECK_EQ(reads(loop) - r0, 3);
  CHECK_EQ(asok_debug_pickups() - p0, 1);
  CHECK_EQ(asok_buffered(b, &len), 0);
  CHECK_EQ(len, 8192 + 65536 - (LINE + 1));
  CHECK_EQ(queued(fb), (int)(n - 8192 - 65536));
  tail[30000] = 0;
  recv_is(b, ASOK_LINE, 0, 5, 0, tail);
  free(tail);

  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  return 0;
}

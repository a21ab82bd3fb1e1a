/* test_follow.c - what follows a receive answered by its armed retry, still
 * in C (asok_debug_in_c counts it): a send with the same token that the
 * kernel takes whole, and the next receive with the token that finds
 * nothing and parks. Everything else goes through Go, and the results are
 * those Go gives: a send longer than LuaSocket's 8192-byte step is Go's,
 * a send C's syscall could not finish goes on from there, a send error is
 * the kernel's, a parked receive is woken by data, close or
 * its timeout and removed by cancel. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"
#include "pair.h"

/* counts holds asok_debug_in_c's counters. */
struct counts {
  uint64_t takes, sends, parks;
};

static struct counts now(void) {
  struct counts c;
  asok_debug_in_c(&c.takes, &c.sends, &c.parks);
  return c;
}

/* since checks the counters moved by takes, sends and parks since c. */
static void since(struct counts c, uint64_t takes, uint64_t sends,
                  uint64_t parks) {
  struct counts n = now();
  CHECK_EQ(n.takes - c.takes, takes);
  CHECK_EQ(n.sends - c.sends, sends);
  CHECK_EQ(n.parks - c.parks, parks);
}

static void put(int fd, const char *s) {
  CHECK_EQ(write(fd, s, strlen(s)), (long long)strlen(s));
}

/* get reads exactly strlen(want) bytes from fd and compares them. */
static void get(int fd, const char *want) {
  char buf[256];
  size_t n = strlen(want), got = 0;
  while (got < n) {
    ssize_t k = read(fd, buf + got, n - got);
    CHECK(k > 0);
    got += (size_t)k;
  }
  CHECK(memcmp(buf, want, n) == 0);
}

/* taken parks a line receive of token on s, has the peer write line and
 * a LF, and checks that the retry is answered in C with line. */
static void taken(asok_loop *loop, asok_sock *s, int peer, asok_token token,
                  const char *line) {
  const char *d;
  size_t len;
  char buf[128];
  struct counts c;
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, token, &d, &len), ASOK_EWAIT);
  snprintf(buf, sizeof buf, "%s\n", line);
  put(peer, buf);
  drive(loop, token);
  c = now();
  EXPECT(asok_receive(s, ASOK_LINE, 0, token, &d, &len), d, len, line);
  since(c, 1, 0, 0);
}

/* drain reads n bytes from the peer on a thread and checks them. */
struct drain {
  int fd;
  const char *want;
  size_t n;
};
static void *drainer(void *arg) {
  struct drain *dr = arg;
  char *buf = malloc(65536);
  size_t got = 0;
  CHECK(buf != NULL);
  while (got < dr->n) {
    ssize_t k = read(dr->fd, buf, 65536);
    CHECK(k > 0);
    CHECK(memcmp(buf, dr->want + got, (size_t)k) == 0);
    got += (size_t)k;
  }
  free(buf);
  return NULL;
}

int main(void) {
  asok_loop *loop;
  asok_sock *s, *a, *b;
  const char *d;
  size_t len, sent;
  int peer, rc;
  uint64_t got;
  struct counts c;

  CHECK_EQ(asok_loop_new(&loop), 0);
  s = newpair(loop, &peer);

  /* request-reply: the reply and the next receive stay in C */
  taken(loop, s, peer, 7, "ping");
  c = now();
  CHECK_EQ(asok_send(s, "pong\n", 5, 7, &sent), 0);
  CHECK_EQ(sent, 5);
  CHECK_EQ(asok_send(s, "more\n", 5, 7, &sent), 0);
  get(peer, "pong\nmore\n");
  len = 99;
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 7, &d, &len), ASOK_EWAIT);
  CHECK_EQ(len, 0);
  since(c, 0, 2, 1);
  /* parked in C: the same token again is Go's answer, still waiting */
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 7, &d, &len), ASOK_EWAIT);
  put(peer, "next\n");
  drive(loop, 7);
  c = now();
  EXPECT(asok_receive(s, ASOK_LINE, 0, 7, &d, &len), d, len, "next");
  since(c, 1, 0, 0);

  /* parked in C (another pattern), then the data comes: asok_select
   * parks it in Go first */
  c = now();
  CHECK_EQ(asok_receive(s, ASOK_COUNT, 3, 7, &d, &len), ASOK_EWAIT);
  since(c, 0, 0, 1);
  put(peer, "abc");
  drive(loop, 7);
  EXPECT(asok_receive(s, ASOK_COUNT, 3, 7, &d, &len), d, len, "abc");
  since(c, 1, 0, 1);
  CHECK_EQ(asok_received(s, &got), 0);
  CHECK_EQ(got, 13);

  /* the take left a line buffered: the next receive is Go's, and gets it */
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 19, &d, &len), ASOK_EWAIT);
  put(peer, "one\ntwo\n");
  drive(loop, 19);
  EXPECT(asok_receive(s, ASOK_LINE, 0, 19, &d, &len), d, len, "one");
  c = now();
  EXPECT(asok_receive(s, ASOK_LINE, 0, 19, &d, &len), d, len, "two");
  since(c, 0, 0, 0);
  /* a count of 0 is not parked in C */
  taken(loop, s, peer, 19, "three");
  c = now();
  CHECK_EQ(asok_receive(s, ASOK_COUNT, 0, 19, &d, &len), ASOK_EWAIT);
  since(c, 0, 0, 0);
  CHECK_EQ(asok_cancel(loop, 19), 0);

  /* a send with another token goes through Go and ends the sends in C
   * (they could overtake it); then the token's send goes through Go,
   * which settles the retry: the next receive parks in Go */
  taken(loop, s, peer, 8, "x");
  c = now();
  CHECK_EQ(asok_send(s, "y\n", 2, 9, &sent), 0);
  CHECK_EQ(asok_send(s, "z\n", 2, 8, &sent), 0);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 8, &d, &len), ASOK_EWAIT);
  since(c, 0, 0, 0);
  get(peer, "y\nz\n");
  put(peer, "x2\n");
  drive(loop, 8);
  c = now();
  EXPECT(asok_receive(s, ASOK_LINE, 0, 8, &d, &len), d, len, "x2");
  since(c, 1, 0, 0);
  /* another call on the socket first: what follows is Go's */
  CHECK_EQ(asok_buffered(s, &len), 0);
  c = now();
  CHECK_EQ(asok_send(s, "w\n", 2, 8, &sent), 0);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 8, &d, &len), ASOK_EWAIT);
  since(c, 0, 0, 0);
  get(peer, "w\n");
  CHECK_EQ(asok_cancel(loop, 8), 0);

  /* a send longer than LuaSocket's step (8192) is Go's from the start (it
   * checks whether the peer has closed first); taken in part, it goes on
   * in Go until whole */
  {
    size_t big = 8u << 20, i;
    char *data = malloc(big);
    pthread_t th;
    struct drain dr;
    CHECK(data != NULL);
    for (i = 0; i < big; i++) data[i] = (char)(i * 7 + i / 4096);
    taken(loop, s, peer, 10, "big");
    dr.fd = peer;
    dr.want = data;
    dr.n = big;
    c = now();
    rc = asok_send(s, data, big, 10, &sent);
    since(c, 0, 0, 0);
    CHECK_EQ(rc, ASOK_EWAIT);
    CHECK(sent > 0 && sent < big);
    CHECK_EQ(pthread_create(&th, NULL, drainer, &dr), 0);
    while (rc == ASOK_EWAIT) {
      drive(loop, 10);
      rc = asok_send(s, data, big, 10, &sent);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(sent, big);
    CHECK_EQ(pthread_join(th, NULL), 0);
    free(data);
  }

  /* a send of one step that the kernel refuses (the buffer filled behind
   * asok's back) goes on in Go from C's EAGAIN, and whole in order */
  {
    size_t fill = 0, total, i;
    char *want = malloc(16u << 20), step[8192];
    pthread_t th;
    struct drain dr;
    ssize_t k;
    int fd;
    CHECK(want != NULL);
    CHECK_EQ(asok_sock_fd(s, &fd), 0);
    taken(loop, s, peer, 10, "full");
    memset(step, 'f', sizeof step);
    while ((k = send(fd, step, sizeof step, MSG_DONTWAIT)) > 0) {
      CHECK(fill + (size_t)k <= (16u << 20) - sizeof step);
      memset(want + fill, 'f', (size_t)k);
      fill += (size_t)k;
    }
    CHECK_EQ(errno, EAGAIN);
    for (i = 0; i < sizeof step; i++) step[i] = (char)('a' + i % 26);
    memcpy(want + fill, step, sizeof step);
    total = fill + sizeof step;
    c = now();
    rc = asok_send(s, step, sizeof step, 10, &sent);
    since(c, 0, 0, 0);
    CHECK_EQ(rc, ASOK_EWAIT);
    CHECK_EQ(sent, 0);
    dr.fd = peer;
    dr.want = want;
    dr.n = total;
    CHECK_EQ(pthread_create(&th, NULL, drainer, &dr), 0);
    while (rc == ASOK_EWAIT) {
      drive(loop, 10);
      rc = asok_send(s, step, sizeof step, 10, &sent);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(sent, sizeof step);
    CHECK_EQ(pthread_join(th, NULL), 0);
    free(want);
  }

  /* a timeout of 0: the next receive is not parked in C but times out */
  CHECK_EQ(asok_settimeout(s, -1, -1), 0);
  taken(loop, s, peer, 11, "t");
  CHECK_EQ(asok_settimeout(s, 0, -1), 0); /* settles first */
  c = now();
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 11, &d, &len), ASOK_ETIMEOUT);
  since(c, 0, 0, 0);
  CHECK_EQ(asok_settimeout(s, 0.05, -1), 0);
  taken(loop, s, peer, 11, "u");
  c = now();
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 11, &d, &len), ASOK_EWAIT);
  since(c, 0, 0, 1);
  drive(loop, 11); /* its own timeout, 50 ms */
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 11, &d, &len), ASOK_ETIMEOUT);
  /* the timeout counts from the park in C, not from the next select: the
   * host busy for longer than it, the next select times it out at once */
  taken(loop, s, peer, 11, "v");
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 11, &d, &len), ASOK_EWAIT);
  usleep(150000);
  {
    asok_token tk = 0;
    CHECK_EQ(asok_select(loop, 0.02, &tk, 1), 1);
    CHECK_EQ(tk, 11);
  }
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 11, &d, &len), ASOK_ETIMEOUT);
  CHECK_EQ(asok_settimeout(s, -1, -1), 0);

  /* parked in C, then cancelled: never delivered */
  taken(loop, s, peer, 12, "c");
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 12, &d, &len), ASOK_EWAIT);
  CHECK_EQ(asok_cancel(loop, 12), 0);
  put(peer, "after\n");
  CHECK_EQ(asok_select(loop, 0.02, NULL, 0), 0);
  EXPECT(asok_receive(s, ASOK_LINE, 0, 13, &d, &len), d, len, "after");

  /* parked in C, then closed: delivered, closed */
  taken(loop, s, peer, 14, "bye");
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 14, &d, &len), ASOK_EWAIT);
  CHECK_EQ(asok_close(s), 0);
  drive(loop, 14);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 14, &d, &len), ASOK_ECLOSED);
  CHECK_EQ(asok_send(s, "x", 1, 14, &sent), ASOK_ECLOSED);
  CHECK_EQ(asok_sock_free(s), 0);
  close(peer);

  /* the peer gone: the send's error is the kernel's, through Go */
  s = newpair(loop, &peer);
  taken(loop, s, peer, 15, "gone");
  close(peer);
  c = now();
  CHECK_EQ(asok_send(s, "x\n", 2, 15, &sent), ASOK_ECLOSED); /* EPIPE */
  CHECK_EQ(sent, 0);
  since(c, 0, 0, 0);
  CHECK_EQ(asok_sock_free(s), 0);

  /* TCP, the peer reset: -ECONNRESET as Go's own send would give */
  pair(loop, &a, &b);
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 16, &d, &len), ASOK_EWAIT);
  CHECK_EQ(asok_send(a, "q\n", 2, 17, &sent), 0);
  drive(loop, 16);
  EXPECT(asok_receive(b, ASOK_LINE, 0, 16, &d, &len), d, len, "q");
  {
    struct linger lg = {1, 0};
    int fd;
    CHECK_EQ(asok_sock_fd(a, &fd), 0);
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(asok_close(a), 0); /* RST */
  }
  usleep(20000);
  CHECK_EQ(asok_send(b, "r\n", 2, 16, &sent), -ECONNRESET);
  CHECK_EQ(asok_send(b, "r\n", 2, 16, &sent), ASOK_ECLOSED);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);

  /* parked in C, then the loop freed: nothing left behind */
  s = newpair(loop, &peer);
  taken(loop, s, peer, 18, "end");
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 18, &d, &len), ASOK_EWAIT);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_send(s, "x", 1, 18, &sent), ASOK_EBADHANDLE);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 18, &d, &len), ASOK_EBADHANDLE);
  close(peer);
  CHECK_EQ(asok_debug_handles(), 0);
  return 0;
}

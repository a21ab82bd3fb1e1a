/* test_loopfd.c - nesting an asok loop in a host loop: poll() the
 * asok_loop_fd while a token waits, then asok_select(loop, 0, ...) hands it
 * back; asok_loop_timeout paces timers; asok_loop_wake from another thread
 * wakes a blocked asok_select and a host poll(), and may race with
 * asok_loop_free. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"

/* poll_fd polls fd for input, retrying on EINTR (Go's SIGURG). */
static int poll_fd(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  int rc;
  do rc = poll(&p, 1, ms);
  while (rc < 0 && errno == EINTR);
  CHECK(rc >= 0);
  return rc;
}

/* now_s reads the monotonic clock (generous tolerances only). */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* test_nested_accept: a parked accept token wakes the host's poll(). */
static void test_nested_accept(asok_loop *loop, int efd) {
  asok_sock *lsn, *c;
  asok_token tok = 0;
  struct sockaddr_in sa;
  char ip[46];
  int port, fd;

  CHECK_EQ(asok_tcp_new(loop, 4, &lsn), 0);
  CHECK_EQ(asok_bind(lsn, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_listen(lsn, 0), 0);
  CHECK_EQ(asok_getsockname(lsn, ip, sizeof ip, &port), 0);
  CHECK_EQ(asok_accept(lsn, 42, &c), ASOK_EWAIT);
  CHECK_EQ(asok_select(loop, 0, &tok, 1), 0);

  fd = socket(AF_INET, SOCK_STREAM, 0); /* a plain blocking client */
  CHECK(fd >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  CHECK_EQ(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
  CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);

  CHECK_EQ(poll_fd(efd, 10000), 1); /* the epoll fd became readable */
  CHECK_EQ(asok_select(loop, 0, &tok, 1), 1);
  CHECK_EQ(tok, 42);
  CHECK_EQ(asok_accept(lsn, 42, &c), 0);
  CHECK_EQ(asok_sock_free(c), 0);
  CHECK_EQ(asok_sock_free(lsn), 0);
  close(fd);
}

/* test_timeout_pacing: the host sleeps asok_loop_timeout(), then polls. */
static void test_timeout_pacing(asok_loop *loop, int efd) {
  asok_token toks[4];
  double t;

  CHECK_EQ(asok_select(loop, 0, toks, 4), 0); /* drain stale events */
  CHECK_EQ(asok_loop_timeout(loop, &t), 0);
  CHECK(t == -1); /* no timers */
  CHECK_EQ(asok_sleep(loop, 0.05, 7), 0);
  CHECK_EQ(asok_loop_timeout(loop, &t), 0);
  CHECK(t > 0 && t <= 0.05);
  CHECK_EQ(poll_fd(efd, (int)ceil(t * 1000) + 1), 0);
  CHECK_EQ(asok_select(loop, 0, toks, 4), 1);
  CHECK_EQ(toks[0], 7);

  /* Ready tokens not copied out make the timeout 0. */
  CHECK_EQ(asok_sleep(loop, 0, 8), 0);
  CHECK_EQ(asok_sleep(loop, 0, 9), 0);
  CHECK_EQ(asok_select(loop, 0, toks, 1), 1);
  CHECK_EQ(asok_loop_timeout(loop, &t), 0);
  CHECK(t == 0);
  CHECK_EQ(asok_select(loop, 0, toks + 1, 1), 1);
  CHECK((toks[0] == 8 && toks[1] == 9) || (toks[0] == 9 && toks[1] == 8));
  CHECK_EQ(asok_loop_timeout(loop, &t), 0);
  CHECK(t == -1);
}

/* waker calls asok_loop_wake after a short pause, from its own thread. */
static void *waker(void *loop) {
  usleep(100 * 1000);
  CHECK_EQ(asok_loop_wake(loop), 0);
  return NULL;
}

/* test_wake: another thread wakes a blocked asok_select, then a poll(). */
static void test_wake(asok_loop *loop, int efd) {
  pthread_t th;
  asok_token tok;
  double t0;

  CHECK_EQ(asok_loop_wake(loop), 0); /* wakes the next select at once */
  CHECK_EQ(asok_loop_wake(loop), 0);
  CHECK_EQ(asok_select(loop, 30, &tok, 1), 0);

  t0 = now_s();
  CHECK_EQ(pthread_create(&th, NULL, waker, loop), 0);
  CHECK_EQ(asok_select(loop, 30, &tok, 1), 0);
  CHECK(now_s() - t0 < 20);
  CHECK_EQ(pthread_join(th, NULL), 0);

  CHECK_EQ(pthread_create(&th, NULL, waker, loop), 0);
  CHECK_EQ(poll_fd(efd, 20000), 1);
  CHECK_EQ(asok_select(loop, 0, &tok, 1), 0);
  CHECK_EQ(pthread_join(th, NULL), 0);
}

static asok_loop *volatile shared_loop; /* the loop wake_spammer targets */
static volatile int spamming;

/* wake_spammer wakes whatever loop is current, as fast as it can. */
static void *wake_spammer(void *arg) {
  int rc;
  (void)arg;
  while (spamming) {
    rc = asok_loop_wake(shared_loop);
    CHECK(rc == 0 || rc == ASOK_EBADHANDLE);
  }
  return NULL;
}

/* test_wake_vs_free: wakes from another thread racing with loops being
 * freed and created answer 0 or ASOK_EBADHANDLE, never crash. */
static void test_wake_vs_free(void) {
  pthread_t th;
  asok_loop *l;
  asok_token tok;
  int i;
  CHECK_EQ(asok_loop_new(&l), 0);
  shared_loop = l;
  spamming = 1;
  CHECK_EQ(pthread_create(&th, NULL, wake_spammer, NULL), 0);
  for (i = 0; i < 300; i++) {
    CHECK(asok_select(l, 0, &tok, 1) >= 0);
    CHECK_EQ(asok_loop_free(l), 0);
    CHECK_EQ(asok_loop_new(&l), 0);
    shared_loop = l;
  }
  spamming = 0;
  CHECK_EQ(pthread_join(th, NULL), 0);
  CHECK_EQ(asok_loop_free(l), 0);
}

/* test_ready_without_event: tokens a close makes ready do not make the
 * fd readable; asok_loop_timeout says 0 (asok.h: call it before every
 * wait). */
static void test_ready_without_event(asok_loop *loop, int efd) {
  asok_sock *lsn, *c = NULL;
  asok_token tok = 0;
  double t = -2;
  CHECK_EQ(asok_tcp_new(loop, 4, &lsn), 0);
  CHECK_EQ(asok_bind(lsn, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_listen(lsn, 0), 0);
  CHECK_EQ(asok_accept(lsn, 77, &c), ASOK_EWAIT);
  CHECK_EQ(asok_loop_timeout(loop, &t), 0);
  CHECK(t == -1);
  CHECK_EQ(asok_close(lsn), 0);
  CHECK_EQ(poll_fd(efd, 0), 0); /* no event for it */
  CHECK_EQ(asok_loop_timeout(loop, &t), 0);
  CHECK(t == 0);
  CHECK_EQ(asok_select(loop, 0, &tok, 1), 1);
  CHECK_EQ(tok, 77);
  CHECK_EQ(asok_accept(lsn, 77, &c), ASOK_ECLOSED);
  CHECK_EQ(asok_loop_timeout(loop, &t), 0);
  CHECK(t == -1);
  CHECK_EQ(asok_sock_free(lsn), 0);
}

/* test_level_batches: more sockets ready at once than one asok_select
 * takes events: a level-triggered host (poll) sees the fd readable, or
 * asok_loop_timeout 0, after every batch until every token is out. */
#define NPAIRS 300
static void test_level_batches(asok_loop *loop, int efd) {
  static asok_sock *s[NPAIRS];
  static int peer[NPAIRS], seen[NPAIRS];
  asok_token toks[NPAIRS];
  int i, k, got = 0, steps = 0;
  for (i = 0; i < NPAIRS; i++) {
    int fds[2];
    const char *data = NULL;
    size_t n = 0;
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    CHECK_EQ(asok_wrap(loop, fds[0], ASOK_OWNFD, &s[i]), 0);
    peer[i] = fds[1];
    CHECK_EQ(asok_receive(s[i], ASOK_LINE, 0, (asok_token)(1000 + i), &data, &n), ASOK_EWAIT);
  }
  for (i = 0; i < NPAIRS; i++) CHECK_EQ(write(peer[i], "x\n", 2), 2);
  while (got < NPAIRS) {
    double t = -2;
    CHECK(++steps <= 2 * NPAIRS);
    CHECK_EQ(asok_loop_timeout(loop, &t), 0);
    CHECK(t == 0 || t == -1);
    if (t != 0) CHECK_EQ(poll_fd(efd, 10000), 1); /* tokens pending: readable */
    k = asok_select(loop, 0, toks, NPAIRS);
    CHECK(k >= 0);
    for (i = 0; i < k; i++) {
      int j = (int)(toks[i] - 1000);
      CHECK(j >= 0 && j < NPAIRS && !seen[j]);
      seen[j] = 1;
    }
    got += k;
  }
  /* one asok_select takes at most evBatch events (core/poller_linux.go): more
   * than one step, the case this test is for (if that batch grows past
   * NPAIRS, raise NPAIRS) */
  CHECK(steps > 1);
  for (i = 0; i < NPAIRS; i++) {
    CHECK_EQ(asok_sock_free(s[i]), 0);
    close(peer[i]);
  }
}

int main(void) {
  asok_loop *loop;
  int efd = -1;

  CHECK_EQ(asok_loop_new(&loop), 0);
  CHECK_EQ(asok_loop_fd(loop, &efd), 0);
  CHECK(efd >= 0);
  test_nested_accept(loop, efd);
  test_timeout_pacing(loop, efd);
  test_wake(loop, efd);
  test_ready_without_event(loop, efd);
  test_level_batches(loop, efd);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_loop_wake(loop), ASOK_EBADHANDLE);
  test_wake_vs_free();
  CHECK_EQ(asok_debug_handles(), 0);
  printf("loopfd ok\n");
  return 0;
}

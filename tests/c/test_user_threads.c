/* test_user_threads.c - a user's two-thread program from asok.h alone.
 *  1. Thread L hosts the loop as asok_loop_fd documents (asok_loop_timeout
 *     before every wait, rounded up; poll(2) on the fd; asok_select(0)).
 *     Thread O takes its turn while L waits (a mutex: L holds it except
 *     inside poll), closes a socket with a parked receive, parks a sleep,
 *     sends, then asok_loop_wake()s: L must see all of it.
 *  2. Meanwhile three threads call the "any thread" functions without
 *     pause (strerror over every code, versions, debug counters, panic).
 *  3. asok_loop_wake racing asok_loop_free from another thread: only 0 or
 *     ASOK_EBADHANDLE, never a crash.
 *  4. An armed retry (asok_select) made by another thread goes through Go:
 *     right result, no pickup counted on either thread.
 *  5. Thread O frees the loop during L's poll: L's next calls get
 *     ASOK_EBADHANDLE. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "pair.h"

static pthread_mutex_t turn = PTHREAD_MUTEX_INITIALIZER;
static asok_loop *loop;
static atomic_int stop;

/* ---------------------------------------------------- the "any" threads */

static void *anythread(void *arg) {
  long n = 0;
  (void)arg;
  while (!atomic_load(&stop)) {
    for (int e = -10100; e <= 10; e++) CHECK(asok_strerror(e) != NULL);
    CHECK_STREQ(asok_strerror(ASOK_ECLOSED), "closed");
    CHECK_STREQ(asok_strerror(-ECONNRESET), "closed");
    CHECK_STREQ(asok_strerror(-ETIMEDOUT), "timeout");
    CHECK_STREQ(asok_strerror(0), "success");
    CHECK_STREQ(asok_strerror(12345), "unknown error");
    CHECK_STREQ(asok_strerror(-2147483647 - 1), "unknown error");
    CHECK_EQ(asok_version(), ASOK_VERSION_HEX);
    CHECK_STREQ(asok_version_string(), ASOK_VERSION_STRING);
    CHECK(asok_debug_handles() >= 0);
    (void)asok_debug_rxmem();
    CHECK_EQ(asok_debug_panic(), ASOK_EINTERNAL);
    CHECK_EQ(asok_debug_pickups(), 0); /* this thread never received */
    uint64_t a = 1, b = 1, c = 1;
    asok_debug_in_c(&a, &b, &c);
    CHECK(a == 0 && b == 0 && c == 0);
    asok_debug_in_c(NULL, NULL, NULL);
    CHECK_EQ(asok_loop_wake(NULL), ASOK_EBADHANDLE);
    n++;
  }
  return (void *)n;
}

/* ---------------------------------------------------- 1: the host loop */

static asok_sock *s1, *s2;
static int p1, p2;
static atomic_int phase;

/* host_wait is one round of the host's loop: timeout, poll, select.
 * Returns the tokens got (into out), or a negative asok code from
 * asok_loop_timeout/asok_select (the loop was freed). */
static int host_round(asok_token *out, int max) {
  double t;
  int fd, rc, ms;
  CHECK_EQ(pthread_mutex_lock(&turn), 0);
  rc = asok_loop_timeout(loop, &t);
  if (rc != 0) goto done;
  CHECK_EQ(asok_loop_fd(loop, &fd), 0);
  CHECK_EQ(pthread_mutex_unlock(&turn), 0);
  ms = t < 0 ? -1 : t > 1e6 ? 1000000000 : (int)ceil(t * 1000);
  struct pollfd pfd = {fd, POLLIN, 0};
  rc = poll(&pfd, 1, ms);
  CHECK(rc >= 0 || errno == EINTR);
  CHECK_EQ(pthread_mutex_lock(&turn), 0);
  rc = asok_select(loop, 0, out, max);
done:
  CHECK_EQ(pthread_mutex_unlock(&turn), 0);
  return rc;
}

/* other thread: its turn while L polls, then wakes it */
static void *other(void *arg) {
  (void)arg;
  while (atomic_load(&phase) != 1) usleep(1000);
  usleep(20000); /* L is in poll (or about to be: then it sees t = 0) */
  CHECK_EQ(pthread_mutex_lock(&turn), 0);
  CHECK_EQ(asok_close(s1), 0);          /* token 10's receive: ready, ECLOSED */
  CHECK_EQ(asok_sleep(loop, 0, 30), 0); /* ready at the next select */
  size_t sent = 9;
  CHECK_EQ(asok_send(s2, "hi\n", 3, 0, &sent), 0);
  CHECK_EQ(sent, 3);
  CHECK_EQ(asok_loop_wake(loop), 0);
  CHECK_EQ(pthread_mutex_unlock(&turn), 0);

  /* 5: free the loop while L waits on its fd (woken first) */
  while (atomic_load(&phase) != 2) usleep(1000);
  usleep(20000);
  CHECK_EQ(pthread_mutex_lock(&turn), 0);
  CHECK_EQ(asok_loop_wake(loop), 0);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(pthread_mutex_unlock(&turn), 0);
  return NULL;
}

static void part1(void) {
  pthread_t o;
  const char *d;
  size_t n;
  asok_token got[8];
  int seen10 = 0, seen30 = 0, rounds = 0;
  char buf[8];

  CHECK_EQ(asok_loop_new(&loop), 0);
  s1 = newpair(loop, &p1);
  s2 = newpair(loop, &p2);
  CHECK_EQ(asok_receive(s1, ASOK_LINE, 0, 10, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_sleep(loop, 1000, 20), 0);
  CHECK_EQ(pthread_create(&o, NULL, other, NULL), 0);
  atomic_store(&phase, 1);
  while (!(seen10 && seen30)) {
    int k = host_round(got, 8);
    CHECK(k >= 0);
    for (int j = 0; j < k; j++) {
      CHECK(got[j] == 10 || got[j] == 30);
      if (got[j] == 10) {
        CHECK_EQ(asok_receive(s1, ASOK_LINE, 0, 10, &d, &n), ASOK_ECLOSED);
        CHECK_EQ(n, 0);
        seen10++;
      } else
        seen30++;
    }
    CHECK(++rounds < 1000);
  }
  CHECK_EQ(seen10, 1);
  CHECK_EQ(seen30, 1);
  CHECK_EQ(read(p2, buf, 3), 3);
  CHECK(memcmp(buf, "hi\n", 3) == 0);
  CHECK_EQ(asok_cancel(loop, 20), 0);

  /* 5 */
  atomic_store(&phase, 2);
  for (;;) {
    int k = host_round(got, 8);
    if (k == ASOK_EBADHANDLE) break;
    CHECK_EQ(k, 0); /* the wake's early return; 20 was cancelled */
  }
  CHECK_EQ(pthread_join(o, NULL), 0);
  CHECK_EQ(asok_sock_free(s1), ASOK_EBADHANDLE); /* freed with the loop */
  CHECK_EQ(asok_receive(s2, ASOK_LINE, 0, 11, &d, &n), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_timeout(loop, &(double){0}), ASOK_EBADHANDLE);
  close(p1);
  close(p2);
}

/* ---------------------------------------------------- 3: wake vs free */

static asok_loop *volatile victim;
static atomic_int go;

static void *waker(void *arg) {
  long ok = 0;
  (void)arg;
  while (!atomic_load(&go)) {}
  for (;;) {
    int rc = asok_loop_wake(victim);
    if (rc == ASOK_EBADHANDLE) break;
    CHECK_EQ(rc, 0);
    ok++;
  }
  return (void *)ok;
}

static void part3(void) {
  for (int r = 0; r < 300; r++) {
    pthread_t w;
    asok_loop *l;
    CHECK_EQ(asok_loop_new(&l), 0);
    victim = l;
    atomic_store(&go, 0);
    CHECK_EQ(pthread_create(&w, NULL, waker, NULL), 0);
    atomic_store(&go, 1);
    if (r % 2) usleep(100);
    CHECK_EQ(asok_loop_free(l), 0);
    CHECK_EQ(pthread_join(w, NULL), 0);
  }
}

/* ---------------------------------------------------- 4: retry elsewhere */

static asok_sock *rs;
static const char *rd;
static size_t rn;
static int rrc;
static void *retry_thread(void *arg) {
  (void)arg;
  rrc = asok_receive(rs, ASOK_LINE, 0, 7, &rd, &rn);
  return NULL;
}

static void part4(void) {
  asok_loop *l;
  int peer;
  const char *d;
  size_t n;
  asok_token t;
  pthread_t th;
  uint64_t pk = asok_debug_pickups();
  CHECK_EQ(asok_loop_new(&l), 0);
  rs = newpair(l, &peer);
  CHECK_EQ(asok_receive(rs, ASOK_LINE, 0, 7, &d, &n), ASOK_EWAIT);
  CHECK_EQ(write(peer, "line\n", 5), 5);
  CHECK_EQ(asok_select(l, 10, &t, 1), 1); /* arms token 7's retry */
  CHECK_EQ(t, 7);
  CHECK_EQ(pthread_create(&th, NULL, retry_thread, NULL), 0);
  CHECK_EQ(pthread_join(th, NULL), 0); /* L waits: one thread at a time */
  EXPECT(rrc, rd, rn, "line");
  CHECK_EQ(asok_debug_pickups(), pk);
  /* and the same on this thread, for contrast: the armed retry is in C */
  CHECK_EQ(asok_receive(rs, ASOK_LINE, 0, 7, &d, &n), ASOK_EWAIT);
  CHECK_EQ(write(peer, "two\n", 4), 4);
  CHECK_EQ(asok_select(l, 10, &t, 1), 1);
  CHECK_EQ(asok_receive(rs, ASOK_LINE, 0, 7, &d, &n), 0);
  EXPECT(0, d, n, "two");
  CHECK_EQ(asok_debug_pickups(), pk + 1);
  CHECK_EQ(asok_loop_free(l), 0);
  close(peer);
}

int main(void) {
  pthread_t a[3];
  alarm(120);
  for (int i = 0; i < 3; i++) CHECK_EQ(pthread_create(&a[i], NULL, anythread, NULL), 0);
  part1();
  part3();
  part4();
  atomic_store(&stop, 1);
  for (int i = 0; i < 3; i++) {
    void *n;
    CHECK_EQ(pthread_join(a[i], &n), 0);
    CHECK((long)n > 0);
  }
  CHECK_EQ(asok_debug_handles(), 0);
  CHECK_EQ(asok_debug_rxmem(), 0);
  printf("threads: ok\n");
  return 0;
}

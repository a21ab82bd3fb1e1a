/* test_user_timers.c - a user's timers, cancels and looks from asok.h alone.
 *  A. 20,000 sleeps at once (10,000 small tokens, 10,000 hash-table
 *     ones), a seventh of them cancelled before they are due and some
 *     parked again: each delivered once, none early, none cancelled.
 *  B. asok_cancel of every kind of token at every moment (a cancelled
 *     lookup's late answer must not end an asok_select early with nothing).
 *  C. ASOK_LOOK waits mixed with plain waits and receives on one socket. */
#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "pair.h"

#define NS 10000
#define BIG (1ull << 40)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* none checks that nothing is ready now */
static void none(asok_loop *l) {
  asok_token t = 0;
  CHECK_EQ(asok_select(l, 0, &t, 1), 0);
}

/* collect selects (up to 10 s each) until want tokens came; gives them */
static int collect(asok_loop *l, asok_token *out, int want) {
  int got = 0;
  while (got < want) {
    int k = asok_select(l, 10, out + got, want - got);
    if (k <= 0) fprintf(stderr, "collect: select %d (%s), %d of %d\n", k, asok_strerror(k), got, want);
    CHECK(k > 0);
    got += k;
  }
  return got;
}

static int has(const asok_token *t, int n, asok_token x) {
  int c = 0;
  for (int i = 0; i < n; i++) c += t[i] == x;
  return c;
}

/* ------------------------------------------------------------- A */

static double due[2 * NS];
static int seen[2 * NS];

static int idx(asok_token t) { return t >= BIG ? (int)(t - BIG) + NS : (int)t - 1; }

static void part_a(void) {
  asok_loop *l;
  asok_token ready[512];
  int expect = 0, got = 0, i;
  CHECK_EQ(asok_loop_new(&l), 0);
  double t0 = now();
  for (i = 0; i < 2 * NS; i++) {
    asok_token t = i < NS ? (asok_token)i + 1 : BIG + (asok_token)(i - NS);
    double s = (i % 100) * 0.002 - 0.01; /* a few <= 0: at the next select */
    CHECK_EQ(asok_sleep(l, s, t), 0);
    CHECK_EQ(asok_sleep(l, s, t), ASOK_EBUSY);
    due[i] = t0 + s;
  }
  CHECK_EQ(asok_sleep(l, 1, 0), ASOK_EINVAL);
  CHECK_EQ(asok_sleep(l, NAN, 5), ASOK_EINVAL);
  CHECK_EQ(asok_sleep(NULL, 1, 5), ASOK_EBADHANDLE);
  for (i = 0; i < 2 * NS; i++) {
    asok_token t = i < NS ? (asok_token)i + 1 : BIG + (asok_token)(i - NS);
    if (i % 7 == 0) {
      CHECK_EQ(asok_cancel(l, t), 0);
      seen[i] = -1; /* must not come */
      if (i % 14 == 0) { /* parked again: comes once, at its new time */
        double before = now(); /* before the sleep: a pause between the two
                                  cannot make the due time later than asok's */
        CHECK_EQ(asok_sleep(l, 0.05, t), 0);
        due[i] = before + 0.05;
        seen[i] = 0;
        expect++;
      }
    } else
      expect++;
  }
  double tmin = 1e9;
  while (got < expect) {
    int k = asok_select(l, 10, ready, 512);
    CHECK(k > 0);
    double tn = now();
    for (int j = 0; j < k; j++) {
      i = idx(ready[j]);
      CHECK(i >= 0 && i < 2 * NS);
      CHECK_EQ(seen[i], 0);
      seen[i] = 1;
      /* never early (asok's monotonic clock against ours: 1 ms slack) */
      if (tn - due[i] < tmin) tmin = tn - due[i];
      CHECK(tn >= due[i] - 0.001);
    }
    got += k;
  }
  none(l);
  double t;
  CHECK_EQ(asok_loop_timeout(l, &t), 0);
  CHECK_EQ(t, -1);
  printf("A: %d sleeps delivered once each, earliest margin %.4f s\n", got, tmin);
  CHECK_EQ(asok_loop_free(l), 0);
}

/* ------------------------------------------------------------- B */

static void part_b(void) {
  asok_loop *l, *dead;
  asok_sock *a, *b, *c;
  int pa, pb, pc;
  const char *d;
  size_t n;
  asok_token got[8];
  CHECK_EQ(asok_loop_new(&l), 0);

  /* 1. before delivery; the token is free again at once */
  CHECK_EQ(asok_sleep(l, 0.01, 1), 0);
  CHECK_EQ(asok_cancel(l, 1), 0);
  CHECK_EQ(asok_sleep(l, 0.02, 1), 0);
  CHECK_EQ(asok_sleep(l, 0.03, 2), 0);
  CHECK_EQ(collect(l, got, 2), 2);
  CHECK(has(got, 2, 1) == 1 && has(got, 2, 2) == 1);
  none(l);
  /* 2. ready but not yet handed out */
  CHECK_EQ(asok_sleep(l, 0, 3), 0);
  CHECK_EQ(asok_cancel(l, 3), 0);
  none(l);
  /* 3. after delivery, twice, a stale token, token 0 */
  CHECK_EQ(asok_cancel(l, 1), 0);
  CHECK_EQ(asok_cancel(l, 1), 0);
  CHECK_EQ(asok_cancel(l, 999999), 0);
  CHECK_EQ(asok_cancel(l, BIG + 77), 0);
  CHECK_EQ(asok_cancel(l, 0), 0);
  CHECK_EQ(asok_cancel(NULL, 1), ASOK_EBADHANDLE);
  /* 4. mid-batch: two ready, one copied, the other cancelled */
  CHECK_EQ(asok_sleep(l, 0, 4), 0);
  CHECK_EQ(asok_sleep(l, 0, 5), 0);
  CHECK_EQ(asok_select(l, 0, got, 1), 1);
  CHECK_EQ(asok_cancel(l, got[0] == 4 ? 5 : 4), 0);
  none(l);

  /* 5. a token of a closed socket: cancelled before its delivery */
  a = newpair(l, &pa);
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 50, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_close(a), 0);
  CHECK_EQ(asok_sleep(l, 0, 50), ASOK_EBUSY); /* still in use */
  CHECK_EQ(asok_cancel(l, 50), 0);
  none(l);
  CHECK_EQ(asok_sleep(l, 0, 50), 0); /* free now */
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 50);
  /* 6. its retry gets ECLOSED: the delivery goes with it */
  b = newpair(l, &pb);
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 51, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_close(b), 0);
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 51, &d, &n), ASOK_ECLOSED);
  none(l);
  CHECK_EQ(asok_cancel(l, 51), 0);
  /* 7. a call on another closed socket leaves the delivery be */
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 52, &d, &n), ASOK_ECLOSED); /* b closed */
  c = newpair(l, &pc);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 53, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_close(c), 0);
  CHECK_EQ(asok_receive(b, ASOK_LINE, 0, 53, &d, &n), ASOK_ECLOSED);
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 53);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 53, &d, &n), ASOK_ECLOSED);
  /* 8. a token of a freed socket: delivered, or cancelled */
  CHECK_EQ(asok_sock_free(c), 0);
  c = newpair(l, &pc);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 54, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_wait(c, ASOK_WRITE, 55), 0); /* writable: not parked */
  CHECK_EQ(asok_sock_free(c), 0);
  CHECK_EQ(asok_sleep(l, 0, 54), ASOK_EBUSY);
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 54);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 54, &d, &n), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sleep(l, 0, 54), 0); /* handed out: free */
  CHECK_EQ(asok_cancel(l, 54), 0);
  close(pc);
  c = newpair(l, &pc);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 56, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_sock_free(c), 0);
  CHECK_EQ(asok_cancel(l, 56), 0);
  none(l);
  CHECK_EQ(asok_sleep(l, 0, 56), 0);
  CHECK_EQ(asok_cancel(l, 56), 0);
  close(pc);
  /* the closed sockets' tokens cancelled again: nothing */
  CHECK_EQ(asok_cancel(l, 50), 0);
  CHECK_EQ(asok_cancel(l, 53), 0);
  none(l);

  /* 9. the middle of a receive queue: its turn passes on */
  c = newpair(l, &pc);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 60, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 61, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 62, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_cancel(l, 61), 0);
  CHECK_EQ(write(pc, "x\ny\n", 4), 4);
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 60);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 60, &d, &n), 0);
  EXPECT(0, d, n, "x");
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 62);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 62, &d, &n), 0);
  EXPECT(0, d, n, "y");
  /* 10. the head cancelled: the data goes to the next one */
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 63, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 64, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_cancel(l, 63), 0);
  CHECK_EQ(write(pc, "z\n", 2), 2);
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 64);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 64, &d, &n), 0);
  EXPECT(0, d, n, "z");
  none(l);
  /* 11. a cancelled receive whose data arrived: the next caller's */
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 65, &d, &n), ASOK_EWAIT);
  CHECK_EQ(write(pc, "w\n", 2), 2);
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(asok_cancel(l, 65), 0);
  CHECK_EQ(asok_receive(c, ASOK_LINE, 0, 0, &d, &n), 0);
  EXPECT(0, d, n, "w");

  /* 12. accept cancelled, then another token takes the connection */
  int port;
  asok_sock *lsn = listener(l, &port), *cli, *acc;
  CHECK_EQ(asok_accept(lsn, 70, &acc), ASOK_EWAIT);
  CHECK_EQ(asok_cancel(l, 70), 0);
  CHECK_EQ(asok_tcp_new(l, 4, &cli), 0);
  int rc = asok_connect(cli, "127.0.0.1", port, 71);
  if (rc == ASOK_EWAIT) {
    CHECK_EQ(collect(l, got, 1), 1);
    CHECK_EQ(got[0], 71);
    rc = asok_connect(cli, "127.0.0.1", port, 71);
  }
  CHECK_EQ(rc, 0);
  rc = asok_accept(lsn, 72, &acc);
  if (rc == ASOK_EWAIT) {
    CHECK_EQ(collect(l, got, 1), 1);
    CHECK_EQ(got[0], 72);
    rc = asok_accept(lsn, 72, &acc);
  }
  CHECK_EQ(rc, 0);
  none(l);

  /* 13. a resolve cancelled: its late answer is dropped */
  char buf[256];
  size_t need;
  rc = asok_resolve(l, "localhost", 0, 80, buf, sizeof buf, &need);
  CHECK(rc == ASOK_EWAIT);
  CHECK_EQ(asok_resolve(l, "example.invalid", 0, 80, buf, sizeof buf, &need), ASOK_EBUSY);
  CHECK_EQ(asok_cancel(l, 80), 0);
  CHECK_EQ(asok_sleep(l, 0.3, 81), 0); /* time for the lookup to end */
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 81);
  none(l);
  CHECK_EQ(asok_resolve(l, "127.0.0.1", 4, 80, buf, sizeof buf, &need), 0);
  CHECK_STREQ(buf, "127.0.0.1");
  CHECK_EQ(need, 11);

  /* 14. a partial send cancelled: stays partial; the next send follows */
  size_t sent = 0, total = 0;
  static char big[1 << 20];
  memset(big, 'b', sizeof big);
  int fd, small = 4096;
  CHECK_EQ(asok_sock_fd(acc, &fd), 0);
  CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  CHECK_EQ(asok_sock_fd(cli, &fd), 0);
  CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  rc = asok_send(acc, big, sizeof big, 90, &sent);
  CHECK_EQ(rc, ASOK_EWAIT);
  CHECK(sent > 0 && sent < sizeof big);
  CHECK_EQ(asok_cancel(l, 90), 0);
  total = sent;
  /* the next send follows the cancelled one's bytes (it may fit at once) */
  int esent = 0;
  rc = asok_send(acc, "E", 1, 91, &sent);
  if (rc == 0) esent = 1; else CHECK_EQ(rc, ASOK_EWAIT);
  /* the peer reads exactly total 'b's, then the 'E' */
  for (;;) {
    rc = asok_receive(cli, ASOK_COUNT, total + 1, 92, &d, &n);
    if (rc != ASOK_EWAIT) break;
    CHECK_EQ(collect(l, got, 1), 1);
    if (got[0] == 91) {
      CHECK_EQ(asok_send(acc, "E", 1, 91, &sent), 0);
      CHECK_EQ(sent, 1);
      esent = 1;
    } else
      CHECK_EQ(got[0], 92);
  }
  CHECK_EQ(rc, 0);
  CHECK_EQ(n, total + 1);
  for (size_t q = 0; q < total; q++) CHECK_EQ(d[q], 'b');
  CHECK_EQ(d[total], 'E');
  CHECK(esent);
  printf("B: partial send %zu of %zu stayed partial\n", total, sizeof big);

  /* 15. asok_cancelset: a mix of every kind at once */
  CHECK_EQ(asok_sleep(l, 100, 100), 0);
  CHECK_EQ(asok_receive(cli, ASOK_LINE, 0, 101, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_wait(cli, ASOK_READ | ASOK_LOOK, 102), ASOK_EWAIT);
  CHECK_EQ(asok_wait(cli, ASOK_READ, 103), ASOK_EWAIT);
  asok_token set[] = {100, 101, 102, 103, 100, 0, 424242, BIG + 5};
  CHECK_EQ(asok_cancelset(l, set, 8), 0);
  CHECK_EQ(asok_cancelset(l, NULL, 0), 0);
  CHECK_EQ(asok_cancelset(l, NULL, 1), ASOK_EINVAL);
  CHECK_EQ(asok_cancelset(NULL, set, 1), ASOK_EBADHANDLE);
  CHECK_EQ(write(pc, "q\n", 2), 2); /* unrelated; cli's waits are gone */
  size_t s2;
  CHECK_EQ(asok_send(acc, "r\n", 2, 0, &s2), 0);
  CHECK_EQ(asok_sleep(l, 0.05, 104), 0);
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 104);
  none(l);
  CHECK_EQ(asok_receive(cli, ASOK_LINE, 0, 105, &d, &n), 0);
  EXPECT(0, d, n, "r");

  CHECK_EQ(asok_loop_new(&dead), 0);
  CHECK_EQ(asok_loop_free(dead), 0);
  CHECK_EQ(asok_cancel(dead, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_cancelset(dead, set, 1), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_free(l), 0);
  close(pa);
  close(pb);
  close(pc);
  printf("B: cancels ok\n");
}

/* ------------------------------------------------------------- C */

static void part_c(void) {
  asok_loop *l;
  asok_sock *s;
  int p;
  const char *d;
  size_t n, sent;
  asok_token got[8];
  int k;
  CHECK_EQ(asok_loop_new(&l), 0);
  s = newpair(l, &p);
  /* a receive R, a plain wait W, two looks L1 L2 */
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 100, &d, &n), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_READ, 101), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 102), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK | ASOK_UNTIMED, 103), ASOK_EWAIT);
  /* a look's token is busy to anything else, and the reverse */
  CHECK_EQ(asok_wait(s, ASOK_READ, 102), ASOK_EBUSY);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 101), ASOK_EBUSY);
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 102, &d, &n), ASOK_EBUSY);
  CHECK_EQ(asok_sleep(l, 1, 103), ASOK_EBUSY);
  CHECK_EQ(asok_wait(s, ASOK_LOOK, 104), ASOK_EINVAL);   /* no direction */
  CHECK_EQ(asok_wait(s, 16 | ASOK_READ, 104), ASOK_EINVAL);
  none(l);
  /* data: every look and the first queued operation; not W */
  CHECK_EQ(write(p, "a\n", 2), 2);
  k = collect(l, got, 3);
  CHECK(has(got, k, 100) && has(got, k, 102) && has(got, k, 103));
  none(l);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 102), 0); /* ready: not parked */
  CHECK_EQ(asok_receive(s, ASOK_LINE, 0, 100, &d, &n), 0);
  EXPECT(0, d, n, "a");
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 103), ASOK_EWAIT); /* taken: anew */
  /* R done: the turn passes to W, which finds nothing and waits anew */
  k = asok_select(l, 0, got, 8);
  CHECK(k == 0 || (k == 1 && got[0] == 101));
  if (k == 1) CHECK_EQ(asok_wait(s, ASOK_READ, 101), ASOK_EWAIT);
  printf("C: after the head's receive, W woken: %d\n", k);
  none(l);
  /* W is at the head now: the next data wakes it and the look */
  CHECK_EQ(write(p, "b\n", 2), 2);
  k = collect(l, got, 2);
  CHECK(has(got, k, 101) && has(got, k, 103));
  none(l);
  CHECK_EQ(asok_wait(s, ASOK_READ, 101), 0);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 103), 0);

  /* buffered data: a read look sees it, a plain wait polls the kernel */
  CHECK_EQ(asok_receive(s, ASOK_COUNT, 1, 0, &d, &n), 0); /* "b", "\n" stays */
  EXPECT(0, d, n, "b");
  CHECK_EQ(asok_buffered(s, &n), 0);
  CHECK_EQ(n, 1);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 110), 0);
  CHECK_EQ(asok_wait(s, ASOK_READ, 111), ASOK_EWAIT);
  CHECK_EQ(asok_cancel(l, 111), 0);
  CHECK_EQ(asok_receive(s, ASOK_COUNT, 1, 0, &d, &n), 0);
  EXPECT(0, d, n, "\n");

  /* timeouts: a plain wait times out, a look does not */
  CHECK_EQ(asok_settimeout(s, 0.02, -1), 0);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 120), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_READ, 121), ASOK_EWAIT);
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 121);
  CHECK_EQ(asok_wait(s, ASOK_READ, 121), ASOK_ETIMEOUT);
  CHECK_EQ(asok_sleep(l, 0.1, 122), 0); /* five times the timeout */
  CHECK_EQ(collect(l, got, 1), 1);
  CHECK_EQ(got[0], 122);
  none(l);
  CHECK_EQ(asok_settimeout(s, -1, -1), 0);

  /* writes: a full buffer, a send S, a plain write wait WW, a look LW */
  static char big[1 << 20];
  memset(big, 'x', sizeof big);
  CHECK_EQ(asok_send(s, big, sizeof big, 130, &sent), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_WRITE, 131), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_WRITE | ASOK_LOOK, 132), ASOK_EWAIT);
  none(l);
  size_t drained = 0;
  static char rb[65536];
  int sdone = 0, wwseen = 0, lwseen = 0;
  while (!(sdone && wwseen && lwseen)) {
    ssize_t r = read(p, rb, sizeof rb); /* blocking peer */
    CHECK(r > 0);
    drained += (size_t)r;
    asok_token t[4];
    int kk = asok_select(l, sdone && drained >= sizeof big ? 10 : 0, t, 4);
    CHECK(kk >= 0);
    for (int j = 0; j < kk; j++) {
      if (t[j] == 130) {
        int rc = asok_send(s, big, sizeof big, 130, &sent);
        if (rc == 0) {
          CHECK_EQ(sent, sizeof big);
          sdone = 1;
        } else
          CHECK_EQ(rc, ASOK_EWAIT);
      } else if (t[j] == 131) {
        CHECK(sdone); /* WW is behind S */
        CHECK_EQ(asok_wait(s, ASOK_WRITE, 131), 0);
        wwseen = 1;
      } else if (t[j] == 132) {
        CHECK_EQ(asok_wait(s, ASOK_WRITE | ASOK_LOOK, 132), 0);
        lwseen = 1;
      } else
        CHECK(0);
    }
    if (drained >= sizeof big && !(sdone && wwseen && lwseen)) {
      /* everything read: what is still parked must come now */
      kk = asok_select(l, 10, t, 4);
      CHECK(kk > 0);
      for (int j = 0; j < kk; j++) {
        if (t[j] == 131) {
          CHECK(sdone);
          CHECK_EQ(asok_wait(s, ASOK_WRITE, 131), 0);
          wwseen = 1;
        } else if (t[j] == 132) {
          CHECK_EQ(asok_wait(s, ASOK_WRITE | ASOK_LOOK, 132), 0);
          lwseen = 1;
        } else if (t[j] == 130) {
          CHECK_EQ(asok_send(s, big, sizeof big, 130, &sent), 0);
          sdone = 1;
        }
      }
      break;
    }
  }
  CHECK(sdone && wwseen && lwseen);
  while (drained < sizeof big) {
    ssize_t r = read(p, rb, sizeof rb);
    CHECK(r > 0);
    drained += (size_t)r;
  }
  CHECK_EQ(drained, sizeof big);

  /* a closed socket wakes its looks; their retry: ECLOSED */
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 140), ASOK_EWAIT);
  CHECK_EQ(asok_wait(s, ASOK_READ, 141), ASOK_EWAIT);
  CHECK_EQ(asok_close(s), 0);
  k = collect(l, got, 3); /* 120: the untimed look parked above */
  CHECK(has(got, k, 120) && has(got, k, 140) && has(got, k, 141));
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 140), ASOK_ECLOSED);
  CHECK_EQ(asok_wait(s, ASOK_READ, 141), ASOK_ECLOSED);
  CHECK_EQ(asok_wait(s, ASOK_WRITE | ASOK_LOOK, 142), ASOK_ECLOSED);
  none(l);
  CHECK_EQ(asok_sock_free(s), 0);
  CHECK_EQ(asok_wait(s, ASOK_READ | ASOK_LOOK, 143), ASOK_EBADHANDLE);
  CHECK_EQ(asok_loop_free(l), 0);
  close(p);
  printf("C: looks ok\n");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  alarm(120);
  part_a();
  part_b();
  part_c();
  CHECK_EQ(asok_debug_handles(), 0);
  CHECK_EQ(asok_debug_rxmem(), 0);
  return 0;
}

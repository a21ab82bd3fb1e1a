/*
 * bench_capi.c - raw cost per call of the asok C API (asok.h), next to the
 * bare syscall each call wraps, so the difference is what the C -> Go
 * transition, the handle lookup and core's bookkeeping add.
 *
 *   bench_capi [iterations]        (default 200000; prints one table)
 *
 * Every figure is the median of 5 timed rounds, in ns per call. A
 * measurement, not a test: it never fails on a slow figure; it exits
 * non-zero only if an asok call returns something that makes the figure
 * meaningless (a setup error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "asok.h"

#define ROUNDS 5
#define LINE "GET /index.html HTTP/1.1 and some more bytes to make 64 bytes\n"

static long iters = 200000;
static asok_loop *loop;

/* now_ns returns CLOCK_MONOTONIC in nanoseconds. */
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* die reports a setup failure and exits 1. */
static void die(const char *what, int rc) {
  fprintf(stderr, "bench_capi: %s: %d (%s)\n", what, rc, asok_strerror(rc));
  exit(1);
}

/* cmpd orders doubles for qsort. */
static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* pair makes a non-blocking AF_UNIX stream socketpair with big buffers. */
static void pair(int sv[2]) {
  int big = 4 << 20;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) die("socketpair", -errno);
  for (int i = 0; i < 2; i++) {
    setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  }
}

/* A benchmark: setup once, then body(i) per call; ctx shared via statics. */
typedef void (*body_fn)(long i);

static asok_sock *s_sock;  /* asok side of the pair */
static int s_fd, s_peer;   /* raw fds: the wrapped one and its peer */
static char drainbuf[1 << 16];

/* reset empties both directions of the pair and asok's receive buffer, so
 * every round starts from the same state. */
static void reset(void) {
  size_t n = 0, len;
  const char *d;
  while (read(s_fd, drainbuf, sizeof drainbuf) > 0) {}
  while (read(s_peer, drainbuf, sizeof drainbuf) > 0) {}
  asok_token t[256];
  if (s_sock && asok_buffered(s_sock, &n) == ASOK_OK && n > 0)
    asok_receive(s_sock, ASOK_COUNT, n, 0, &d, &len);
  asok_cancel(loop, 7); /* b_recv_wait's parked token */
  while (asok_select(loop, 0, t, 256) > 0) {}
}

/* run times body over iters calls, ROUNDS times; returns the median ns/call. */
static double run(body_fn body) {
  double r[ROUNDS];
  for (int k = 0; k < ROUNDS; k++) {
    reset();
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) body(i);
    r[k] = (now_ns() - t0) / (double)iters;
  }
  reset();
  qsort(r, ROUNDS, sizeof r[0], cmpd);
  return r[ROUNDS / 2];
}

/* ---- bodies ----------------------------------------------------------- */

static volatile unsigned sink;

/* b_version: a plain C call (no Go): the floor. */
static void b_version(long i) { (void)i; sink += asok_version(); }

/* b_buffered: the cheapest call that enters Go (cgo + handle lookup). */
static void b_buffered(long i) {
  size_t n;
  (void)i;
  if (asok_buffered(s_sock, &n) != ASOK_OK) die("asok_buffered", -1);
  sink += (unsigned)n;
}

/* b_recv_buffered: one 64-byte line per call out of asok's buffer (a
 * write of 256 lines every 256 calls: mostly no syscall). Token 0 ("try
 * now"): a call with a token may park without reading after a short read
 * until asok_select has seen the next edge, and this loop runs no select. */
static void b_recv_buffered(long i) {
  static char batch[256 * (sizeof LINE - 1)];
  const char *d;
  size_t len;
  if (i % 256 == 0) {
    if (batch[0] == 0)
      for (int k = 0; k < 256; k++) memcpy(batch + k * (sizeof LINE - 1), LINE, sizeof LINE - 1);
    if (write(s_peer, batch, sizeof batch) != (ssize_t)sizeof batch) die("write", -errno);
  }
  int rc = asok_receive(s_sock, ASOK_LINE, 0, 0, &d, &len);
  if (rc != ASOK_OK || len != sizeof LINE - 2) die("asok_receive (buffered)", rc);
}

/* b_recv_one: write one line, receive it (one read(2) inside asok; token
 * 0, as above). */
static void b_recv_one(long i) {
  const char *d;
  size_t len;
  (void)i;
  if (write(s_peer, LINE, sizeof LINE - 1) != (ssize_t)(sizeof LINE - 1)) die("write", -errno);
  int rc = asok_receive(s_sock, ASOK_LINE, 0, 0, &d, &len);
  if (rc != ASOK_OK || len != sizeof LINE - 2) die("asok_receive (one)", rc);
}

/* b_write_read_raw: the same with plain write + read: the syscall floor. */
static void b_write_read_raw(long i) {
  (void)i;
  if (write(s_peer, LINE, sizeof LINE - 1) != (ssize_t)(sizeof LINE - 1)) die("write", -errno);
  if (read(s_fd, drainbuf, sizeof drainbuf) != (ssize_t)(sizeof LINE - 1)) die("read", -errno);
}

/* b_recv_wait: receive on an empty socket: read(2) says EAGAIN, the token
 * is parked (the call every pingpong round trip makes before it yields). */
static void b_recv_wait(long i) {
  const char *d;
  size_t len;
  (void)i;
  int rc = asok_receive(s_sock, ASOK_LINE, 0, 7, &d, &len);
  if (rc != ASOK_EWAIT) die("asok_receive (wait)", rc);
}

/* b_recv_cycle: a receive that waits, as a coroutine's: asok_receive
 * parks token 7 (EAGAIN), the peer writes a line, asok_select(0) hands 7
 * back (arming its retry), and the retry reads and matches the line in C
 * without entering Go (asok_debug_pickups counts it). */
static void b_recv_cycle(long i) {
  const char *d;
  size_t len;
  asok_token t;
  (void)i;
  int rc = asok_receive(s_sock, ASOK_LINE, 0, 7, &d, &len);
  if (rc != ASOK_EWAIT) die("asok_receive (cycle park)", rc);
  if (write(s_peer, LINE, sizeof LINE - 1) != (ssize_t)(sizeof LINE - 1)) die("write", -errno);
  if ((rc = asok_select(loop, 0, &t, 1)) != 1 || t != 7) die("asok_select (cycle)", rc);
  rc = asok_receive(s_sock, ASOK_LINE, 0, 7, &d, &len);
  if (rc != ASOK_OK || len != sizeof LINE - 2) die("asok_receive (cycle retry)", rc);
}

/* b_reply_cycle: a request-reply round trip as a server coroutine makes
 * it: asok_receive waits (token 7), the peer writes a line, asok_select(0)
 * hands 7 back, the retry takes the line in C, asok_send replies with the
 * same token; the peer reads the reply. After the first, the wait is
 * answered in C too (asok_debug_in_c counts takes, sends and parks). */
static void b_reply_cycle(long i) {
  size_t sent;
  int rc;
  b_recv_cycle(i);
  rc = asok_send(s_sock, LINE, sizeof LINE - 1, 7, &sent);
  if (rc != ASOK_OK) die("asok_send (reply)", rc);
  if (read(s_peer, drainbuf, sizeof LINE - 1) != (ssize_t)(sizeof LINE - 1)) die("read (reply)", -errno);
}

/* b_read_eagain: a bare read(2) that fails with EAGAIN. */
static void b_read_eagain(long i) {
  (void)i;
  if (read(s_fd, drainbuf, sizeof drainbuf) >= 0 || errno != EAGAIN) die("read", -errno);
}

/* b_send: a 64-byte send (sendmsg inside asok); the peer drains every 512. */
static void b_send(long i) {
  size_t sent;
  if (i % 512 == 511)
    while (read(s_peer, drainbuf, sizeof drainbuf) > 0) {}
  int rc = asok_send(s_sock, LINE, sizeof LINE - 1, 0, &sent);
  if (rc != ASOK_OK) die("asok_send", rc);
}

/* b_send_raw: the bare sendmsg(MSG_NOSIGNAL) with the same draining. */
static void b_send_raw(long i) {
  if (i % 512 == 511)
    while (read(s_peer, drainbuf, sizeof drainbuf) > 0) {}
  if (send(s_fd, LINE, sizeof LINE - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof LINE - 1)) die("send", -errno);
}

/* b_select_empty: asok_select(timeout 0) with nothing ready (epoll_wait). */
static void b_select_empty(long i) {
  asok_token t[16];
  (void)i;
  int n = asok_select(loop, 0, t, 16);
  if (n < 0) die("asok_select", n);
}

static int s_epfd;

/* b_epoll_raw: a bare epoll_wait(timeout 0) on an epoll set with nothing ready. */
static void b_epoll_raw(long i) {
  struct epoll_event ev[16];
  (void)i;
  if (epoll_wait(s_epfd, ev, 16, 0) < 0) die("epoll_wait", -errno);
}

/* b_sleep_select: park a zero sleep per call and collect 256 at a time:
 * per-token cost of the park + one batched asok_select. */
static void b_sleep_select(long i) {
  static asok_token t[256];
  int rc = asok_sleep(loop, 0, (asok_token)(1000 + i % 256));
  if (rc != ASOK_OK) die("asok_sleep", rc);
  if (i % 256 == 255) {
    int n = asok_select(loop, 0, t, 256);
    if (n != 256) die("asok_select (sleepers)", n);
  }
}

/* ctxsw returns the context switches of the whole process so far (every
 * thread: the caller's, Go's sysmon and Ms). */
static long ctxsw(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* b_server: what a busy server's thread does between two selects: three
 * calls into Go (receive, send, receive of a round trip) and some work of
 * its own, with an asok_select(0) every 100 round trips. */
static void b_server(long i) {
  size_t n;
  for (int k = 0; k < 3; k++)
    if (asok_buffered(s_sock, &n) != ASOK_OK) die("asok_buffered", -1);
  for (int k = 0; k < 200; k++) sink += (unsigned)k * (unsigned)i;
  if (i % 100 == 99) b_select_empty(i);
}

/* row prints one result line. */
static void row(const char *what, double ns, const char *note) {
  printf("| %-44s | %8.0f | %s |\n", what, ns, note);
}

int main(int argc, char **argv) {
  int sv[2], rc;
  if (argc > 1) iters = atol(argv[1]);
  if (iters < 1024) iters = 1024;
  iters -= iters % 256; /* whole batches for the batched bodies */
  if ((rc = asok_loop_new(&loop)) != ASOK_OK) die("asok_loop_new", rc);
  pair(sv);
  s_fd = sv[0];
  s_peer = sv[1];
  if ((rc = asok_wrap(loop, s_fd, 0, &s_sock)) != ASOK_OK) die("asok_wrap", rc);
  s_epfd = epoll_create1(0);

  /* warm up: the first call binds the thread to a Go M */
  run(b_buffered);

  printf("asok %s C API, %ld calls x %d rounds (median), ns per call\n\n",
         asok_version_string(), iters, ROUNDS);
  printf("| call | ns/call | note |\n| --- | ---: | --- |\n");
  double v = run(b_version);
  double buf = run(b_buffered);
  row("asok_version (pure C, no Go)", v, "floor");
  row("asok_buffered (enters Go, no syscall)", buf, "= cgo transition + handle lookup");
  row("asok_receive line, from asok's buffer", run(b_recv_buffered), "1 write(2) per 256 calls");
  double rraw = run(b_write_read_raw);
  double r1 = run(b_recv_one);
  row("write(2) + read(2) raw", rraw, "syscall floor of the next row");
  row("write(2) + asok_receive line (one read)", r1, "");
  double eraw = run(b_read_eagain);
  double ew = run(b_recv_wait);
  row("read(2) -> EAGAIN raw", eraw, "");
  row("asok_receive -> ASOK_EWAIT (read EAGAIN, park)", ew, "paid once per pingpong round trip");
  uint64_t tk0, sn0, pk0, tk1, sn1, pk1;
  asok_debug_in_c(&tk0, &sn0, &pk0);
  double cyc = run(b_recv_cycle);
  asok_debug_in_c(&tk1, &sn1, &pk1);
  double calls = (double)iters * ROUNDS;
  double picked = (double)(tk1 - tk0) / calls, parked = (double)(pk1 - pk0) / calls;
  row("park + write(2) + asok_select + retry", cyc, "a receive that waits, whole");
  asok_debug_in_c(&tk0, &sn0, &pk0);
  double rep = run(b_reply_cycle);
  asok_debug_in_c(&tk1, &sn1, &pk1);
  double incrt = (double)((tk1 - tk0) + (sn1 - sn0) + (pk1 - pk0)) / calls;
  row("the same + asok_send reply + peer read(2)", rep, "a request-reply round trip, whole");
  double sraw = run(b_send_raw);
  double s = run(b_send);
  row("send(2) 64 B raw", sraw, "");
  row("asok_send 64 B", s, "");
  double epr = run(b_epoll_raw);
  double se = run(b_select_empty);
  row("epoll_wait(0) raw, nothing ready", epr, "");
  row("asok_select(0), nothing ready", se, "");
  row("asok_sleep(0) + asok_select/256", run(b_sleep_select), "per token, batched select");
  long cs0 = ctxsw();
  double t0 = now_ns();
  double srv = run(b_server);
  double secs = (now_ns() - t0) / 1e9;
  row("server-like round trip (3 calls, select/100)", srv, "host work included");
  printf("\nprocess context switches during the server-like rows: %.0f per second "
         "(%.2f per 1,000 calls into Go; Go's sysmon, see capi/sched.go)\n",
         (double)(ctxsw() - cs0) / secs, (double)(ctxsw() - cs0) * 1000.0 / (3.01 * iters * ROUNDS));
  printf("\nreceives that waited answered by their retry without entering Go: "
         "%.1f %%, their parks answered in C: %.1f %% (Go calls per waiting receive: "
         "%.2f, asok_select apart)\n",
         100 * picked, 100 * parked, 2 - picked - parked);
  printf("request-reply round trips (2 receives, 1 send): %.2f calls answered in C, "
         "%.2f Go calls per round trip, asok_select apart\n", incrt, 3 - incrt);
  printf("\nasok overhead over the bare syscall: receive %.0f ns, EWAIT %.0f ns, "
         "send %.0f ns, select %.0f ns; cgo+lookup floor %.0f ns\n",
         r1 - rraw, ew - eraw, s - sraw, se - epr, buf - v);
  asok_sock_free(s_sock);
  asok_loop_free(loop);
  close(sv[0]);
  close(sv[1]);
  return 0;
}

/* test_fuzz.c - random calls of every asok_* function, seeded and
 * repeatable: live, closed, freed, NULL, wrong-type and made-up handles;
 * tokens reused across operations and loops; random patterns, sizes,
 * addresses, timeouts and rates; peers that write, read, half-close and
 * close underneath; loops freed with their sockets in them; a second
 * thread calling asok_loop_wake on live and freed loops the whole time.
 * After every call:
 *  - the return code is one asok.h documents (0, a count, -errno or an
 *    ASOK_E* code) and asok_strerror gives its string;
 *  - a handle that is not live answers ASOK_EBADHANDLE, a live one never;
 *  - nothing parks on a closed socket (no ASOK_EWAIT from it);
 *  - asok_select hands out only tokens parked on that loop, never more
 *    often than they were parked;
 *  - the documented out values hold (sent <= len, len 0 on ASOK_EWAIT,
 *    exactly n bytes for a stream count, NUL-terminated addresses).
 * At the end, with every socket closed: every token is free again on both
 * loops (asok_sleep does not answer ASOK_EBUSY: nothing was left waiting
 * on a closed socket), and no handle or file descriptor is left.
 * ASOK_FUZZ_SEEDS=n runs seeds 1..n instead of the five fixed ones. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"

#define NLOOPS 2
#define NSLOTS 14
#define NDEAD 32
#define NTOK 28 /* token indexes: 1..23 small, 24..27 large */
#define ROUNDS 20000

enum state { EMPTY, LIVE, CLOSED };
enum kind { SPAIR, DPAIR, TCP, UDP, ACCEPTED, LISTENER };
#define STREAM ((1u << SPAIR) | (1u << TCP) | (1u << ACCEPTED))
#define DGRAM ((1u << DPAIR) | (1u << UDP))

struct slot {
  asok_sock *h;
  enum state state;
  enum kind kind;
  int loop; /* index into loops[] */
  int peer; /* the raw other end (SPAIR, DPAIR), or -1 */
  int listening;
};

static asok_loop *loops[NLOOPS]; /* read by the waker thread */
static struct slot slots[NSLOTS];
static void *dead[NDEAD]; /* freed and made-up handles */
static int ndead;
static int ports[8], nports; /* ports of listening sockets */
static unsigned parks[NLOOPS][NTOK], delivered[NLOOPS][NTOK];
static unsigned char resolving[NLOOPS][NTOK], longsleep[NLOOPS][NTOK];
static uint64_t rng;
static char junk[20000];
static int stop_waker;
static unsigned nwait, ndeliver, ngot, naccept, nconnect; /* what a run exercised */
static char never; /* its address is never a handle */
/* waiting: what each token waits on: the handle of the socket it parked
 * on, &asleep or &lookup, or NULL; cleared when asok_select hands it out,
 * when it is cancelled, or when a later call on that socket with it ends
 * the wait. After every socket is closed, none may be left. */
static const void *waiting[NLOOPS][NTOK];
static char asleep, lookup;

/* A call that answered ASOK_EWAIT, kept so that do_retry can make it
 * again (same socket, arguments and token) once its token is delivered,
 * as a caller following asok.h does. */
enum { P_NONE, P_RECV, P_SEND };
struct pend {
  int op, due;
  asok_sock *h;
  int pattern;
  size_t n, off, len;
};
static struct pend pend[NLOOPS][NTOK];

static uint64_t rnd(void) { /* xorshift64* */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ULL;
}
static int pick(int n) { return (int)(rnd() % (uint64_t)n); }

#define SCAFFOLD ((asok_token)60000) /* newconn's own token: index 0 */
static asok_token tokof(int i) { return i == 0 ? SCAFFOLD : i < 24 ? (asok_token)i : ((asok_token)1 << 40) + (asok_token)i; }
static int tokidx(asok_token t) {
  if (t == SCAFFOLD) return 0;
  if (t >= 1 && t < 24) return (int)t;
  if (t >= ((asok_token)1 << 40) + 24 && t < ((asok_token)1 << 40) + NTOK) return (int)(t - ((asok_token)1 << 40));
  return -1;
}

/* randtok: mostly a pool token, sometimes 0 (never waits). */
static asok_token randtok(void) { return pick(8) == 0 ? 0 : tokof(1 + pick(NTOK - 1)); }

static double randtime(void) {
  static const double t[] = {0, -1, 0.001, 0.003, 0.02, -0.5, NAN, INFINITY, -INFINITY, 1e300, 5e-324};
  return t[pick(sizeof t / sizeof t[0])];
}

static size_t randsize(void) {
  static const size_t n[] = {0, 1, 2, 5, 64, 100, 8192, 8193, 65536, SIZE_MAX, (size_t)INT64_MAX + 1};
  return pick(3) == 0 ? n[pick(sizeof n / sizeof n[0])] : (size_t)pick(300);
}

static const char *randip(void) {
  static const char *ip[] = {"127.0.0.1", "::1", "*", "0.0.0.0", "::", "127.1", "localhost", "",
                             "1.2.3.4.5", "::ffff:127.0.0.1", "fe80::1%lo", "[::1]", "256.0.0.1",
                             "127.0.0.1 ", NULL, "/tmp/asok-fuzz-no-such-socket"};
  return ip[pick(sizeof ip / sizeof ip[0])];
}

static int randport(void) {
  if (nports > 0 && pick(2) == 0) return ports[pick(nports)];
  static const int p[] = {0, 1, -1, 65535, 65536, 70000, INT32_MIN};
  return p[pick(sizeof p / sizeof p[0])];
}

/* checkrc: rc is a code asok.h documents, with a string. */
static void checkrc(int rc) {
  const char *s = asok_strerror(rc);
  CHECK(s != NULL && s[0] != '\0');
  if (rc >= 0) return;
  if (rc >= -4095) return;
  CHECK(rc > ASOK_EFIRST_ && rc < ASOK_ELAST_);
  CHECK(strcmp(s, "unknown error") != 0);
}

static void adddead(void *p) {
  if (ndead < NDEAD) dead[ndead++] = p;
  else dead[pick(NDEAD)] = p;
}

/* target picks the socket a call goes to: most of the time a slot of one
 * of the kinds in mask (bit 1 << kind; listening TCP sockets count as
 * LISTENER), in any state; else any slot, NULL, a freed or made-up handle,
 * or a loop handle. */
static asok_sock *target(struct slot **sl, unsigned mask) {
  int r = pick(20), i, j;
  *sl = NULL;
  if (r < 17) {
    for (j = 0, i = pick(NSLOTS); j < 2 * NSLOTS; j++, i = (i + 1) % NSLOTS) {
      struct slot *s = &slots[i];
      unsigned k = 1u << (s->listening ? LISTENER : s->kind);
      if (s->state == EMPTY || (s->state == CLOSED && j < NSLOTS && r < 12)) continue;
      if (r >= 14 || (k & mask)) {
        *sl = s;
        return s->h;
      }
    }
  }
  if (r == 17 || ndead == 0) return NULL;
  if (r == 18) return pick(2) ? (asok_sock *)loops[pick(NLOOPS)] : (asok_sock *)&never;
  return (asok_sock *)dead[pick(ndead)];
}

/* after: the rules every socket call obeys; tok parked if ASOK_EWAIT. */
static void after(struct slot *sl, int rc, asok_token tok) {
  int i;
  checkrc(rc);
  if (!sl) {
    CHECK_EQ(rc, ASOK_EBADHANDLE);
    return;
  }
  CHECK(rc != ASOK_EBADHANDLE);
  i = tokidx(tok);
  if (rc == ASOK_EWAIT) {
    CHECK(sl->state == LIVE); /* nothing waits on a closed socket */
    CHECK(tok != 0);
    CHECK(i >= 0);
    parks[sl->loop][i]++;
    waiting[sl->loop][i] = sl->h;
    nwait++;
  } else if (i >= 0 && waiting[sl->loop][i] == sl->h && rc != ASOK_EBUSY && rc != ASOK_EINVAL) {
    waiting[sl->loop][i] = NULL; /* this call ended the wait */
  }
}

static int freeslot(void) {
  int i = pick(NSLOTS);
  return slots[i].state == EMPTY ? i : -1;
}

static void newpair(int type) {
  int i = freeslot(), fds[2], rc;
  asok_loop *l;
  if (i < 0) return;
  CHECK_EQ(socketpair(AF_UNIX, type, 0, fds), 0);
  CHECK_EQ(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
  slots[i].loop = pick(NLOOPS);
  l = loops[slots[i].loop];
  rc = asok_wrap(l, fds[0], ASOK_OWNFD, &slots[i].h);
  checkrc(rc);
  CHECK_EQ(rc, 0);
  slots[i].state = LIVE;
  slots[i].kind = type == SOCK_STREAM ? SPAIR : DPAIR;
  slots[i].peer = fds[1];
  slots[i].listening = 0;
}

static void newinet(int udp) {
  int i = freeslot(), rc, fam = pick(4) ? 4 : (pick(2) ? 6 : pick(9) - 1);
  asok_sock *s = NULL;
  if (i < 0) return;
  slots[i].loop = pick(NLOOPS);
  rc = udp ? asok_udp_new(loops[slots[i].loop], fam, &s) : asok_tcp_new(loops[slots[i].loop], fam, &s);
  checkrc(rc);
  if (fam != 4 && fam != 6) {
    CHECK_EQ(rc, ASOK_EINVAL);
    return;
  }
  if (rc != 0) return; /* no IPv6 here */
  slots[i].h = s;
  slots[i].state = LIVE;
  slots[i].kind = udp ? UDP : TCP;
  slots[i].peer = -1;
  slots[i].listening = 0;
}

static void closepeer(struct slot *sl) {
  if (sl->peer >= 0) CHECK_EQ(close(sl->peer), 0);
  sl->peer = -1;
}

/* freesock frees slot sl's handle; it becomes a dead handle. */
static void freesock(struct slot *sl) {
  int rc = asok_sock_free(sl->h);
  checkrc(rc);
  CHECK_EQ(rc, 0);
  CHECK_EQ(asok_sock_free(sl->h), ASOK_EBADHANDLE);
  adddead(sl->h);
  closepeer(sl);
  sl->state = EMPTY;
}

/* SCAFFOLDED runs call (a connect or accept of slot sl with token
 * SCAFFOLD) until it stops waiting, selecting on its loop meanwhile. An
 * accept parked behind a random token's (FIFO, never retried) would wait
 * for good: after 20 rounds SCAFFOLD is cancelled and rc is ASOK_EWAIT. */
#define SCAFFOLDED(sl, call)                                                  \
  do {                                                                       \
    int tries_;                                                              \
    rc = (call);                                                             \
    for (tries_ = 0; rc == ASOK_EWAIT && tries_ < 20; tries_++) {            \
      after(sl, rc, SCAFFOLD);                                               \
      selectloop((sl)->loop, 0.01, 8);                                       \
      rc = (call);                                                           \
    }                                                                        \
    after(sl, rc, SCAFFOLD);                                                 \
    if (rc == ASOK_EWAIT) {                                                  \
      CHECK_EQ(asok_cancel(loops[(sl)->loop], SCAFFOLD), 0);                 \
      waiting[(sl)->loop][0] = NULL;                                         \
    }                                                                        \
  } while (0)

static int selectloop(int li, double tmo, int max);

/* newconn makes a TCP connection on loopback between two free slots,
 * through a listener it makes if there is none on the loop it picks. */
static void newconn(void) {
  int li = pick(NLOOPS), i, a = -1, b = -1, lsn = -1, port, rc;
  char ip[64];
  asok_sock *c;
  for (i = 0; i < NSLOTS; i++) {
    if (slots[i].state == EMPTY && a < 0) a = i;
    else if (slots[i].state == EMPTY && b < 0) b = i;
    else if (slots[i].state == LIVE && slots[i].listening && slots[i].loop == li) lsn = i;
  }
  if (a < 0 || b < 0) return;
  if (lsn < 0) {
    CHECK_EQ(asok_tcp_new(loops[li], 4, &c), 0);
    CHECK_EQ(asok_bind(c, "127.0.0.1", 0), 0);
    CHECK_EQ(asok_listen(c, 64), 0);
    slots[a] = (struct slot){c, LIVE, TCP, li, -1, 1};
    return; /* the next newconn connects to it */
  }
  CHECK_EQ(asok_getsockname(slots[lsn].h, ip, sizeof ip, &port), 0);
  i = pick(NLOOPS); /* the client's loop */
  CHECK_EQ(asok_tcp_new(loops[i], 4, &c), 0);
  slots[a] = (struct slot){c, LIVE, TCP, i, -1, 0};
  SCAFFOLDED(&slots[a], asok_connect(c, "127.0.0.1", port, SCAFFOLD));
  if (rc != 0) return;
  nconnect++;
  SCAFFOLDED(&slots[lsn], asok_accept(slots[lsn].h, SCAFFOLD, &c));
  if (rc != 0) return;
  naccept++;
  slots[b] = (struct slot){c, LIVE, ACCEPTED, li, -1, 0};
}

/* peer_act: the raw end of a socketpair writes, reads, half-closes or
 * closes. */
static void peer_act(struct slot *sl) {
  char buf[4096];
  size_t n;
  ssize_t k;
  int i;
  for (i = 0; i < NSLOTS && (sl->state == EMPTY || sl->peer < 0); i++) sl = &slots[(sl - slots + 1) % NSLOTS];
  if (sl->state == EMPTY || sl->peer < 0) return;
  switch (pick(6)) {
  case 0: case 1: case 2:
    n = 1 + (size_t)pick(sl->kind == DPAIR ? 300 : 3000);
    k = send(sl->peer, junk + pick(1000), n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)k; /* the peer's own errors (its other end gone) are noise here */
    break;
  case 3:
    do k = read(sl->peer, buf, sizeof buf); while (k > 0 && pick(3));
    break;
  case 4:
    shutdown(sl->peer, SHUT_WR);
    break;
  default:
    closepeer(sl);
  }
}

/* selectloop runs asok_select on loop li and checks what it hands out. */
static int selectloop(int li, double tmo, int max) {
  asok_token t[64];
  int n, i, k;
  n = asok_select(loops[li], tmo, max ? t : NULL, max);
  checkrc(n);
  if (n < 0 || n > max) fprintf(stderr, "asok_select: %d (%s), max %d\n", n, asok_strerror(n), max);
  CHECK(n >= 0 && n <= max);
  for (i = 0; i < n; i++) {
    k = tokidx(t[i]);
    CHECK(k >= 0);
    delivered[li][k]++;
    ndeliver++;
    waiting[li][k] = NULL;
    CHECK(delivered[li][k] <= parks[li][k]);
    if (resolving[li][k]) resolving[li][k] = 2; /* answered: collect it */
    pend[li][k].due = 1;
  }
  return n;
}

static void do_select(void) { selectloop(pick(NLOOPS), pick(4) == 0 ? 0.002 : 0, pick(9)); }

static int randpattern(void) {
  static const int p[] = {ASOK_LINE, ASOK_LINE, ASOK_ALL, ASOK_COUNT, ASOK_COUNT, 0, -1, 4, 1000};
  return p[pick(sizeof p / sizeof p[0])];
}

/* slotof returns the slot holding live or closed handle h, or NULL. */
static struct slot *slotof(asok_sock *h) {
  int i;
  for (i = 0; i < NSLOTS; i++)
    if (slots[i].state != EMPTY && slots[i].h == h) return &slots[i];
  return NULL;
}

static void remember(struct slot *sl, asok_token tok, int rc, struct pend p) {
  int k = tokidx(tok);
  if (!sl || k < 0) return;
  if (rc == ASOK_EWAIT) pend[sl->loop][k] = p;
  else if (pend[sl->loop][k].h == p.h && pend[sl->loop][k].op == p.op) pend[sl->loop][k].op = P_NONE;
}

static int recv_call(struct slot *sl, asok_sock *s, int pattern, size_t n, asok_token tok) {
  size_t len = 77;
  const char *d = NULL;
  int rc = asok_receive(s, pattern, n, tok, &d, &len);
  after(sl, rc, tok);
  remember(sl, tok, rc, (struct pend){P_RECV, 0, s, pattern, n, 0, 0});
  if (rc == ASOK_EWAIT) CHECK_EQ(len, 0);
  if (rc == 0 && len > 0) ngot++;
  if (rc == 0 && sl && pattern == ASOK_COUNT && sl->kind != DPAIR && sl->kind != UDP) CHECK_EQ(len, n);
  if (rc == 0 && pattern == ASOK_COUNT) CHECK(len <= n);
  if (rc == 0 || rc == ASOK_ETIMEOUT || rc == ASOK_ECLOSED) CHECK(len == 0 || d != NULL);
  if (rc == 0 && pattern == ASOK_LINE) CHECK(memchr(d, '\n', len) == NULL && memchr(d, '\r', len) == NULL);
  return rc;
}

static int send_call(struct slot *sl, asok_sock *s, size_t off, size_t len, asok_token tok) {
  size_t sent = 99;
  int rc = asok_send(s, junk + off, len, tok, &sent);
  after(sl, rc, tok);
  remember(sl, tok, rc, (struct pend){P_SEND, 0, s, 0, 0, off, len});
  CHECK(sent <= len); /* always written, whatever the handle */
  if (rc == 0) CHECK_EQ(sent, len);
  return rc;
}

static void do_receive(void) {
  struct slot *sl;
  asok_sock *s = target(&sl, STREAM | DGRAM);
  recv_call(sl, s, randpattern(), randsize(), randtok());
}

static void do_send(void) {
  struct slot *sl;
  asok_sock *s = target(&sl, STREAM | DGRAM);
  size_t len = pick(4) == 0 ? (size_t)pick(sizeof junk) : (size_t)pick(200);
  send_call(sl, s, (size_t)pick(sizeof junk - len + 1), len, randtok());
}

/* do_retry makes a delivered call again; after a receive that got its
 * result, it sometimes sends a reply with the same token at once (a
 * request-reply server: the calls asok may answer in C). */
static void do_retry(void) {
  int li = pick(NLOOPS), j, k = pick(NTOK), rc;
  struct pend *p = NULL;
  struct slot *sl;
  for (j = 0; j < NTOK; j++, k = (k + 1) % NTOK)
    if (pend[li][k].op != P_NONE && pend[li][k].due) {
      p = &pend[li][k];
      break;
    }
  if (!p) return;
  p->due = 0;
  sl = slotof(p->h);
  if (p->op == P_SEND) {
    send_call(sl, p->h, p->off, p->len, tokof(k));
    return;
  }
  rc = recv_call(sl, p->h, p->pattern, p->n, tokof(k));
  if (rc == 0 && pick(2)) send_call(sl, p->h, (size_t)pick(1000), 1 + (size_t)pick(100), tokof(k));
}

static void do_receivefrom(void) {
  struct slot *sl;
  asok_sock *s = target(&sl, DGRAM);
  char ip[64];
  size_t len = 77, iplen = pick(3) ? sizeof ip : (size_t)pick(64);
  int port = -7, rc;
  const char *d = NULL;
  asok_token tok = randtok();
  rc = asok_receivefrom(s, randsize(), tok, &d, &len, ip, iplen, &port);
  after(sl, rc, tok);
  if (rc == 0) CHECK(memchr(ip, 0, iplen) != NULL);
  if (rc != 0) CHECK_EQ(len, 0); /* always written, whatever the handle */
}

static void do_sendto(void) {
  struct slot *sl;
  asok_sock *s = target(&sl, DGRAM);
  size_t sent = 99, len = (size_t)pick(400);
  asok_token tok = randtok();
  const char *ip = randip();
  int rc = asok_sendto(s, junk, len, ip, randport(), tok, &sent);
  after(sl, rc, tok);
  CHECK(sent == 0 || sent == len); /* always written */
}

static void do_connect(void) {
  struct slot *sl;
  asok_sock *s = target(&sl, (1u << TCP) | (1u << UDP));
  asok_token tok = randtok();
  const char *ip = pick(2) ? "127.0.0.1" : randip();
  int port = randport(), rc = asok_connect(s, ip, port, tok);
  after(sl, rc, tok);
  if (rc == ASOK_EWAIT && pick(2)) { /* see it through at once, sometimes */
    selectloop(sl->loop, 0.01, 8);
    rc = asok_connect(s, ip, port, tok);
    after(sl, rc, tok);
  }
  if (rc == 0) nconnect++;
}

static void do_accept(void) {
  struct slot *sl;
  asok_sock *s = target(&sl, 1u << LISTENER), *c = NULL;
  asok_token tok = randtok();
  int rc = asok_accept(s, tok, &c), i;
  after(sl, rc, tok);
  if (rc == ASOK_EWAIT && pick(2)) {
    selectloop(sl->loop, 0.01, 8);
    rc = asok_accept(s, tok, &c);
    after(sl, rc, tok);
  }
  if (rc != 0) return;
  naccept++;
  for (i = 0; i < NSLOTS && slots[i].state != EMPTY; i++) {
  }
  if (i == NSLOTS) { /* no room: let it go at once */
    CHECK_EQ(asok_sock_free(c), 0);
    adddead(c);
    return;
  }
  slots[i] = (struct slot){c, LIVE, ACCEPTED, sl->loop, -1, 0};
}

static void do_listen(void) {
  struct slot *sl;
  asok_sock *s = target(&sl, 1u << TCP);
  char ip[64];
  int rc, port;
  if (pick(2)) {
    rc = asok_bind(s, pick(3) ? "127.0.0.1" : randip(), pick(3) ? 0 : randport());
    after(sl, rc, 0);
  }
  rc = asok_listen(s, pick(40) - 5);
  after(sl, rc, 0);
  if (rc == 0) sl->listening = 1;
  rc = asok_getsockname(s, ip, pick(4) ? sizeof ip : (size_t)pick(64), &port);
  after(sl, rc, 0);
  if (rc == 0 && sl->listening) {
    CHECK(port >= 0 && port <= 65535);
    if (port > 0 && nports < 8) ports[nports++] = port;
  }
}

static void do_socks(void) {
  struct slot *sl;
  asok_sock *s = target(&sl, STREAM);
  asok_token tok = randtok();
  char user[300];
  int rc;
  size_t ul = (size_t)pick(300);
  memset(user, 'u', ul);
  user[ul] = 0;
  if (pick(2))
    rc = asok_socks4_connect(s, randip(), randport(), pick(3) ? NULL : user, tok);
  else
    rc = asok_socks5_connect(s, pick(5) ? randip() : user, randport(), pick(2) ? NULL : user,
                             pick(2) ? NULL : user + pick(200), tok);
  after(sl, rc, tok);
}

static void do_misc(void) {
  struct slot *sl;
  asok_sock *s = target(&sl, ~0u);
  size_t n;
  uint64_t r;
  int rc = 0, fd;
  asok_token tok = randtok();
  switch (pick(11)) {
  case 0:
    rc = asok_wait(s, (pick(5) - 1) | (pick(2) ? ASOK_UNTIMED : 0) | (pick(3) ? 0 : ASOK_LOOK), tok);
    after(sl, rc, tok);
    return;
  case 1: rc = asok_settimeout(s, randtime(), randtime()); break;
  case 2: rc = asok_unread(s, junk, (size_t)pick(100)); break;
  case 3: rc = asok_setlimit(s, randsize()); break;
  case 4: rc = asok_buffered(s, &n); break;
  case 5: rc = asok_received(s, pick(5) ? &r : NULL); break;
  case 6:
    rc = asok_sock_fd(s, &fd);
    if (rc == 0 && sl) CHECK((sl->state == LIVE) == (fd >= 0));
    break;
  case 7: rc = asok_shutdown(s, pick(5) - 1); break;
  case 8: rc = asok_throttle(s, pick(4) - 1, pick(2) ? randtime() * 1e6 : (double)pick(100000)); break;
  case 9:
    rc = asok_close(s);
    if (sl) {
      CHECK_EQ(rc, 0);
      sl->state = CLOSED;
    }
    break;
  default:
    if (sl) {
      freesock(sl);
      return;
    }
    rc = asok_sock_free(s);
  }
  after(sl, rc, 0);
}

static void do_loopcall(void) {
  int li = pick(NLOOPS), rc, fd, k;
  asok_loop *l = pick(12) ? loops[li] : (asok_loop *)(ndead ? dead[pick(ndead)] : NULL);
  int bad = l != loops[li];
  asok_token tok = randtok();
  double secs;
  char out[128];
  size_t need;
  /* no name a DNS server would be asked for: a broken resolver's timeouts
   * would outlast the drain at the end (localhost is in /etc/hosts) */
  static const char *hosts[] = {"127.0.0.1", "::1", "localhost", "", "127.1", "0x7f.1", NULL,
                                "::ffff:127.0.0.1"};
  switch (pick(6)) {
  case 0:
    secs = randtime();
    rc = asok_sleep(l, secs, tok);
    if (rc == 0) {
      k = tokidx(tok);
      CHECK(k >= 0);
      parks[li][k]++;
      waiting[li][k] = &asleep;
      if (secs > 1) longsleep[li][k] = 1; /* cancelled by finish */
    }
    break;
  case 1:
    rc = asok_cancel(l, tok);
    if (rc == 0 && tok != 0) waiting[li][tokidx(tok)] = NULL;
    break;
  case 2: rc = asok_loop_fd(l, &fd); break;
  case 3: rc = asok_loop_timeout(l, &secs); break;
  case 4: rc = asok_loop_wake(l); break;
  default:
    rc = asok_resolve(l, hosts[pick(8)], pick(9) - 1, tok, pick(6) ? out : NULL,
                      (size_t)pick(sizeof out), pick(2) ? &need : NULL);
    k = tokidx(tok);
    if (rc == ASOK_EWAIT && !bad) {
      parks[li][k]++;
      resolving[li][k] = 1;
      waiting[li][k] = &lookup;
    } else if (!bad && k >= 0 && waiting[li][k] == &lookup && rc != ASOK_EBUSY && rc != ASOK_EINVAL) {
      waiting[li][k] = NULL;
    }
  }
  checkrc(rc);
  if (bad) CHECK_EQ(rc, ASOK_EBADHANDLE);
  else CHECK(rc != ASOK_EBADHANDLE);
}

/* renewloop frees loop li with whatever sockets it holds and makes a new
 * one: its sockets' handles go dead (their peers are closed here). */
static void renewloop(int li) {
  int i;
  asok_loop *old = loops[li], *l;
  CHECK_EQ(asok_loop_new(&l), 0);
  __atomic_store_n(&loops[li], l, __ATOMIC_SEQ_CST);
  CHECK_EQ(asok_loop_free(old), 0);
  CHECK_EQ(asok_loop_free(old), ASOK_EBADHANDLE);
  adddead(old);
  for (i = 0; i < NSLOTS; i++) {
    if (slots[i].state == EMPTY || slots[i].loop != li) continue;
    CHECK_EQ(asok_close(slots[i].h), ASOK_EBADHANDLE);
    adddead(slots[i].h);
    closepeer(&slots[i]);
    slots[i].state = EMPTY;
  }
  memset(parks[li], 0, sizeof parks[li]);
  memset(delivered[li], 0, sizeof delivered[li]);
  memset(resolving[li], 0, sizeof resolving[li]);
  memset(longsleep[li], 0, sizeof longsleep[li]);
  memset(pend[li], 0, sizeof pend[li]);
  memset(waiting[li], 0, sizeof waiting[li]);
}

/* waker: another thread, as asok.h allows, wakes live and freed loops. */
static void *waker(void *arg) {
  unsigned i = 0;
  (void)arg;
  while (!__atomic_load_n(&stop_waker, __ATOMIC_SEQ_CST)) {
    asok_loop *l = __atomic_load_n(&loops[i++ % NLOOPS], __ATOMIC_SEQ_CST);
    int rc = asok_loop_wake(l);
    CHECK(rc == 0 || rc == ASOK_EBADHANDLE);
    CHECK(asok_strerror(rc) != NULL);
    usleep(200);
  }
  return NULL;
}

/* warmup resolves a name once: the Go runtime then opens its own poller
 * (an epoll fd and an eventfd), kept for the life of the process. */
static void warmup(void) {
  asok_loop *l;
  asok_token t;
  char out[128];
  int rc;
  CHECK_EQ(asok_loop_new(&l), 0);
  while ((rc = asok_resolve(l, "localhost", 0, 1, out, sizeof out, NULL)) == ASOK_EWAIT)
    CHECK(asok_select(l, 5, &t, 1) >= 0);
  CHECK_EQ(rc, 0);
  CHECK_EQ(asok_loop_free(l), 0);
}

static int countfds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  CHECK(d != NULL);
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/* finish closes every socket, then checks that every token is free on
 * both loops (nothing left waiting), and frees everything. */
static void finish(void) {
  asok_token t[64];
  int li, i, rc, rounds;
  double secs;
  for (i = 0; i < NSLOTS; i++)
    if (slots[i].state != EMPTY) CHECK_EQ(asok_close(slots[i].h), 0);
  for (li = 0; li < NLOOPS; li++) {
    for (i = 1; i < NTOK; i++)
      if (resolving[li][i] || longsleep[li][i]) {
        CHECK_EQ(asok_cancel(loops[li], tokof(i)), 0);
        waiting[li][i] = NULL;
      }
    for (rounds = 0; rounds < 500; rounds++) { /* sleeps end within 20 ms */
      rc = selectloop(li, 0.01, 64);
      CHECK_EQ(asok_loop_timeout(loops[li], &secs), 0);
      if (rc == 0 && secs < 0) break;
    }
    CHECK(rounds < 500);
    for (i = 0; i < NTOK; i++) {
      if (waiting[li][i]) fprintf(stderr, "loop %d token %d: still waiting\n", li, i);
      CHECK(waiting[li][i] == NULL); /* closing its socket handed it out */
    }
    for (i = 0; i < NTOK; i++) {
      rc = asok_sleep(loops[li], 0, tokof(i));
      if (rc != 0) fprintf(stderr, "loop %d token %d: %s\n", li, i, asok_strerror(rc));
      CHECK_EQ(rc, 0);
    }
    CHECK_EQ(asok_select(loops[li], 0, t, 64), NTOK);
  }
  for (i = 0; i < NSLOTS; i++)
    if (slots[i].state != EMPTY) freesock(&slots[i]);
}

static void run(uint64_t seed) {
  int round, li, i;
  rng = seed;
  for (i = 0; i < NSLOTS; i++) slots[i] = (struct slot){NULL, EMPTY, SPAIR, 0, -1, 0};
  memset(parks, 0, sizeof parks);
  memset(delivered, 0, sizeof delivered);
  memset(resolving, 0, sizeof resolving);
  memset(longsleep, 0, sizeof longsleep);
  memset(pend, 0, sizeof pend);
  memset(waiting, 0, sizeof waiting);
  nports = 0;
  for (round = 0; round < ROUNDS; round++) {
    switch (pick(28)) {
    case 0: newpair(SOCK_STREAM); break;
    case 1: newpair(SOCK_DGRAM); break;
    case 2: if (pick(2)) newinet(pick(2)); else newconn(); break;
    case 3: case 4: do_select(); break;
    case 5: case 24: case 25: do_retry(); break;
    case 6: case 7: case 8: do_receive(); break;
    case 9: case 10: do_send(); break;
    case 11: do_receivefrom(); break;
    case 12: do_sendto(); break;
    case 13: do_connect(); break;
    case 14: do_accept(); break;
    case 15: do_listen(); break;
    case 16: do_socks(); break;
    case 17: case 18: case 19: do_misc(); break;
    case 20: case 21: do_loopcall(); break;
    case 22: case 23: peer_act(&slots[pick(NSLOTS)]); break;
    default:
      if (pick(40) == 0) renewloop(pick(NLOOPS));
      else do_select();
    }
  }
  finish();
  for (li = 0; li < NLOOPS; li++) renewloop(li); /* fresh loops, counters reset */
}

int main(void) {
  static const uint64_t seeds[] = {0x9E3779B97F4A7C15ULL, 42, 0xA50C, 7, 20261205};
  pthread_t th;
  int base_handles = asok_debug_handles(), base_fds, i, li, nseeds;
  uint64_t takes, sends, cparks;
  for (i = 0; i < (int)sizeof junk; i++) junk[i] = "ab\r\ncd\n\0xyz\n"[i % 13];
  warmup();
  base_fds = countfds();
  for (li = 0; li < NLOOPS; li++) CHECK_EQ(asok_loop_new(&loops[li]), 0);
  CHECK_EQ(pthread_create(&th, NULL, waker, NULL), 0);
  nseeds = (int)(sizeof seeds / sizeof seeds[0]);
  if (getenv("ASOK_FUZZ_SEEDS")) { /* more seeds, from 1: a longer run by hand */
    nseeds = atoi(getenv("ASOK_FUZZ_SEEDS"));
    CHECK(nseeds > 0 && nseeds <= 1000000);
  }
  for (i = 0; i < nseeds; i++) {
    run(getenv("ASOK_FUZZ_SEEDS") ? (uint64_t)i + 1 : seeds[i]);
    printf("seed %d: %d rounds: %u parked, %u delivered, %u receives with data, %u connects, %u accepts\n",
           i, ROUNDS, nwait, ndeliver, ngot, nconnect, naccept);
    fflush(stdout);
    CHECK(nwait > 0 && ndeliver > 0 && ngot > 0 && nconnect > 0 && naccept > 0);
    nwait = ndeliver = ngot = naccept = nconnect = 0;
  }
  __atomic_store_n(&stop_waker, 1, __ATOMIC_SEQ_CST);
  CHECK_EQ(pthread_join(th, NULL), 0);
  for (li = 0; li < NLOOPS; li++) CHECK_EQ(asok_loop_free(loops[li]), 0);
  CHECK_EQ(asok_debug_handles(), base_handles);
  CHECK_EQ(countfds(), base_fds);
  asok_debug_in_c(&takes, &sends, &cparks);
  printf("ok: answered in C: %llu receives, %llu sends, %llu parks\n", (unsigned long long)takes,
         (unsigned long long)sends, (unsigned long long)cparks);
  return 0;
}

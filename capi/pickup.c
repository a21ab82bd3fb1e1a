/*
 * pickup.c - the pickup tables of pickup.h: the C half (the retry's read
 * and take, the thread's current table, reuse of tables).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "pickup.h"

/* asok__current is the table of the loop this thread last selected on. */
static __thread struct asok__picks *asok__current;

/* The receives this thread took from a table, the sends it made and the
 * receives it parked after a take. */
static __thread uint64_t asok__taken, asok__sent, asok__parked;

uint64_t asok_debug_pickups(void) { return asok__taken; }

void asok_debug_in_c(uint64_t *takes, uint64_t *sends, uint64_t *parks) {
  if (takes) *takes = asok__taken;
  if (sends) *sends = asok__sent;
  if (parks) *parks = asok__parked;
}

/* The tables of freed loops, for reuse (never freed: another thread's
 * current pointer may still point at one). */
static struct asok__picks *asok__spares;
static pthread_mutex_t asok__spares_mu = PTHREAD_MUTEX_INITIALIZER;

struct asok__picks *asok__picks_new(void) {
  struct asok__picks *t;
  void *p;
  pthread_mutex_lock(&asok__spares_mu);
  t = asok__spares;
  if (t) asok__spares = t->spare;
  pthread_mutex_unlock(&asok__spares_mu);
  if (t) {
    t->spare = NULL;
    return t;
  }
  t = calloc(1, sizeof *t);
  if (!t) return NULL;
  /* on a page: the kernel copies a peeked line into it, and its copy runs
   * several times slower 16 bytes past a page, where malloc puts a block
   * this size (capi/alloc.go, alignFrom) */
  if (posix_memalign(&p, 4096, ASOK__BUF) != 0) {
    free(t);
    return NULL;
  }
  t->buf = p;
  return t;
}

void asok__picks_free(struct asok__picks *t) {
  char *buf;
  if (!t) return;
  if (asok__current == t) asok__current = NULL;
  buf = t->buf;
  memset(t, 0, sizeof *t);
  t->buf = buf;
  pthread_mutex_lock(&asok__spares_mu);
  t->spare = asok__spares;
  asok__spares = t;
  pthread_mutex_unlock(&asok__spares_mu);
}

void asok__picks_use(struct asok__picks *t) { asok__current = t; }

int64_t asok__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* asok__pick_park answers a receive after the taken entry e with
 * ASOK_EWAIT when e's read drained the socket and left nothing: what a
 * receive would find in Go (nothing buffered, the socket drained). */
static int asok__pick_park(struct asok__picks *t, struct asok__pick *e,
                           int pattern, size_t n, const char **data,
                           size_t *len, int *rc) {
  if (!(e->follow & ASOK__FOLLOW_PARK) || e->err != 0 || e->len >= e->size ||
      e->used != e->len || !(pattern == ASOK_LINE || (pattern == ASOK_COUNT && n > 0)))
    return 0;
  e->state = ASOK__PARKED;
  e->ppattern = pattern;
  e->pn = n;
  if (e->follow & ASOK__FOLLOW_CLOCK) e->pat_ns = asok__now_ns(); /* its timeout counts from now */
  asok__parked++;
  *data = t->buf;
  *len = 0;
  *rc = ASOK_EWAIT;
  return 1;
}

/* asok__pick_peek reads on for a line whose first read, got bytes at buf
 * (a full ASOK__LSBUF, no '\n'), did not end it, as core's readLine does
 * (core/receive.go): what LuaSocket's next 8 KiB reads would take, in two
 * syscalls and one copy. A recv(MSG_PEEK) of up to ASOK__MAXREAD bytes
 * (a multiple of ASOK__LSBUF; no more than a line of e->longlen bytes
 * needs, as core's lineAsk) into the buffer after them; then a
 * recv(MSG_TRUNC), which on TCP consumes without copying (the peek's copy
 * is theirs), of the peeked bytes up to the end of the 8 KiB read holding
 * the '\n', or of all of them if none holds one (the bytes peeked past
 * stay in the kernel, as LuaSocket leaves them). It returns the bytes the
 * entry holds now, and sets e->size so that fewer than e->size still
 * means the queue was emptied (pick_park, core's settle): the peek saw
 * less than it asked for and all of it was taken, or found nothing
 * (EAGAIN). A peek's error is the entry's error (it may have been
 * consumed: a reset's is reported once); the end of the stream, or no
 * room, leave the entry as its first read made it (Go's next read meets
 * the end again). */
static size_t asok__pick_peek(struct asok__picks *t, struct asok__pick *e,
                              char *buf, size_t got) {
  size_t room = ASOK__BUF - t->off - got, ask, take;
  const char *nl;
  ssize_t k, m;
  ask = (room < ASOK__MAXREAD ? room : ASOK__MAXREAD) / ASOK__LSBUF * ASOK__LSBUF;
  if (ask == 0) return got;
  /* no more than a line as long as the last needs (core's lineAsk: a
   * stream of lines of one length peeks only what is taken) */
  if (e->longlen + 1 > got && e->longlen + 1 - got < ask)
    ask = (e->longlen + 1 - got + ASOK__LSBUF - 1) / ASOK__LSBUF * ASOK__LSBUF;
  do
    t->reads++, k = recv(e->fd, buf + got, ask, MSG_PEEK | MSG_DONTWAIT);
  while (k < 0 && errno == EINTR);
  if (k < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      e->size = got + ask; /* the queue is empty: as a short read */
    else
      e->err = errno ? errno : EIO;
    return got;
  }
  if (k == 0) return got;
  take = (size_t)k;
  nl = memchr(buf + got, '\n', take);
  if (nl) {
    size_t end = ((size_t)(nl - (buf + got)) + ASOK__LSBUF) / ASOK__LSBUF * ASOK__LSBUF;
    if (end < take) take = end;
  }
  /* (buf, not NULL: MSG_TRUNC's copy, were there one, is of the same bytes) */
  do
    t->reads++, m = recv(e->fd, buf + got, take, MSG_TRUNC | MSG_DONTWAIT);
  while (m < 0 && errno == EINTR);
  if (m <= 0) return got; /* (another reader of the fd took them) */
  e->size = (size_t)k < ask && (size_t)m == (size_t)k ? got + ask : got + (size_t)m;
  return got + (size_t)m;
}

int asok__pick_receive(const asok_sock *s, int pattern, size_t n,
                       asok_token token, const char **data, size_t *len,
                       int *rc) {
  struct asok__picks *t = asok__current;
  struct asok__pick *e;
  size_t room, size, end, used, reslen, got;
  const char *nl, *cr;
  char *buf;
  ssize_t k;
  if (!t || !data || !len || !rc || n > PTRDIFF_MAX) return 0;
  e = &t->e[token & (ASOK__PICKS - 1)];
  if (e->sock != (const void *)s || e->token != token) return 0;
  if (e->state == ASOK__TAKEN)
    return asok__pick_park(t, e, pattern, n, data, len, rc);
  if (e->state != ASOK__ARMED || e->pattern != pattern ||
      (pattern == ASOK_COUNT && e->n != n))
    return 0;
  room = ASOK__BUF - t->off;
  if (room < ASOK__MINROOM) return 0; /* still armed: Go reads instead */
  /* as much as LuaSocket's 8,192-byte reads add up to (core's readSize):
   * a line one of them, a count n rounded up to them; a read of less
   * would leave in the kernel what LuaSocket's buffer holds (dirty(),
   * a receive after close) */
  size = ASOK__LSBUF;
  if (pattern == ASOK_COUNT && n > ASOK__LSBUF)
    size = n >= ASOK__MAXREAD ? ASOK__MAXREAD : (n + ASOK__LSBUF - 1) / ASOK__LSBUF * ASOK__LSBUF;
  if (size > room) size = room / ASOK__LSBUF * ASOK__LSBUF;
  if (size == 0) return 0; /* still armed: Go reads instead */
  buf = t->buf + t->off;
  t->armed--;
  e->state = ASOK__READ;
  e->size = size;
  do
    t->reads++, k = recv(e->fd, buf, size, MSG_DONTWAIT);
  while (k < 0 && errno == EINTR);
  if (k < 0) {
    e->err = errno ? errno : EIO;
    return 0;
  }
  got = (size_t)k;
  if (pattern == ASOK_LINE && e->longlen && got == size && size == ASOK__LSBUF &&
      !memchr(buf, '\n', got))
    got = asok__pick_peek(t, e, buf, got);
  e->data = buf;
  e->len = got;
  if (got == 0) return 0;
  if (pattern == ASOK_LINE) {
    nl = memchr(buf, '\n', got);
    end = nl ? (size_t)(nl - buf) : 0;
    cr = nl && end > 0 ? memchr(buf, '\r', end) : NULL;
    if (!nl || (cr && cr != buf + end - 1)) { /* incomplete, or a CR inside */
      t->off += got; /* kept until Go settles it */
      return 0;
    }
    reslen = cr ? end - 1 : end;
    used = end + 1;
  } else { /* ASOK_COUNT, n > 0 */
    if (got < n) {
      t->off += got;
      return 0;
    }
    reslen = used = n;
  }
  e->state = ASOK__TAKEN;
  e->used = used;
  if (used < got) t->off += got; /* the rest stays until Go settles it */
  asok__taken++;
  *data = buf;
  *len = reslen;
  *rc = ASOK_OK;
  return 1;
}

int asok__pick_send(const asok_sock *s, const char *data, size_t len,
                    asok_token token, size_t *sent, long *pre, int *perr) {
  struct asok__picks *t = asok__current;
  struct asok__pick *e;
  ssize_t k;
  *pre = -1;
  *perr = 0;
  if (!t || !data || !sent || len == 0 || len > ASOK__STEP) return 0;
  e = &t->e[token & (ASOK__PICKS - 1)];
  if (e->sock != (const void *)s || e->token != token ||
      e->state != ASOK__TAKEN || !(e->follow & ASOK__FOLLOW_SEND))
    return 0;
  do
    k = send(e->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (k < 0 && errno == EINTR);
  if (k == (ssize_t)len) {
    asok__sent++;
    *sent = len;
    return 1;
  }
  e->follow &= ~ASOK__FOLLOW_SEND; /* Go settles the entry and goes on */
  if (k < 0)
    *perr = errno ? errno : EIO;
  else
    *pre = (long)k;
  return 0;
}

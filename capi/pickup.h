/*
 * pickup.h - private to libasok: the table through which asok_select arms
 * the retries of receives that waited (core/offer.go, capi/pickup.go), so
 * that such a retry makes its one read in C and returns without calling
 * into Go.
 *
 * One table per loop, in C memory. asok_select (Go) arms entries and makes
 * its loop's table the calling thread's current one; asok_receive (C)
 * takes an armed entry of the current table whose socket, token, pattern
 * and count are its own: it reads the socket once into the table's buffer
 * (a line its read does not end, on a socket whose lines are long: then a
 * peek and a discard, pickup.c) and returns the result if that read holds
 * it whole, else it leaves what it read in the entry and goes on in Go.
 * Go disarms every entry before the socket or the token is used again,
 * accounting what the retry read.
 * What may follow a taken entry before Go settles it (its follow bits, set
 * by Go when arming, core.Follow): asok_send with the entry's socket and
 * token sends in C and returns if the kernel takes it all, else Go goes on
 * from that syscall's result; one asok_receive with them that finds
 * nothing (the take's read drained the socket and left nothing) returns
 * ASOK_EWAIT, and Go parks that receive when it settles the entry.
 * Only the loop's thread touches a table. Tables are never freed, only
 * reused, so a thread's current pointer never dangles.
 */
#ifndef ASOK_PICKUP_H
#define ASOK_PICKUP_H

#include <stddef.h>
#include <stdint.h>

#include "asok.h"

/* Entries per table (a power of two): a token's entry is
 * token & (ASOK__PICKS - 1); a retry whose entry is in use is not armed. */
#define ASOK__PICKS 1024

/* The table's read buffer: one read asks for at most ASOK__MAXREAD bytes
 * (a line's first read and its peek, ASOK__LSBUF + ASOK__MAXREAD), and
 * none is made with less than ASOK__MINROOM left (core reads then). */
#define ASOK__BUF (128 * 1024)
#define ASOK__MAXREAD (64 * 1024)
#define ASOK__MINROOM (4 * 1024)
/* LuaSocket's BUF_SIZE: a receive reads what its reads of this size would
 * (pickup.c; core/receive.go's readSize). ASOK__MAXREAD is a multiple. */
#define ASOK__LSBUF (8 * 1024)

/* Sends longer than LuaSocket's step (core's stepSize) go to Go, which
 * checks first whether the peer has closed (core/send.go, firstStep). */
#define ASOK__STEP 8192

/* Entry states (PARKED: TAKEN, then a receive parked). */
enum { ASOK__FREE = 0, ASOK__ARMED, ASOK__READ, ASOK__TAKEN, ASOK__PARKED };

/* Follow bits of an entry (core.FollowSend, core.FollowPark,
 * core.FollowClock: a park notes its time, for its timeout). */
enum { ASOK__FOLLOW_SEND = 1, ASOK__FOLLOW_PARK = 2, ASOK__FOLLOW_CLOCK = 4 };

/* asok__pick is one armed retry, and what it did. */
struct asok__pick {
  const void *sock;  /* the asok_sock * received on; NULL: entry free */
  asok_token token;
  size_t n;          /* the count of an ASOK_COUNT receive */
  const char *data;  /* READ, TAKEN: what the read got (in buf) */
  size_t len;        /* bytes read */
  size_t size;       /* bytes asked for */
  size_t used;       /* TAKEN: bytes of data the result consumed */
  int fd;
  int pattern;
  int state;         /* ASOK__* */
  int err;           /* the read's errno, 0 if none */
  int follow;        /* ASOK__FOLLOW_* still allowed */
  size_t longlen;    /* not 0: a line its first read did not end is read
                        on by peek, asking no more than a line of longlen
                        bytes needs (core's Socket.PeekLine: a TCP socket
                        whose last line was long, its length) */
  int ppattern;      /* PARKED: the receive that parked */
  size_t pn;
  int64_t pat_ns;    /* PARKED with ASOK__FOLLOW_CLOCK: when (asok__now_ns) */
};

/* asok__picks is one loop's table. */
struct asok__picks {
  size_t armed;                /* entries ARMED */
  struct asok__picks *spare;   /* next table of the reuse list */
  char *buf;                   /* ASOK__BUF bytes */
  size_t off;                  /* buf bytes holding reads Go has not settled */
  uint64_t reads;              /* recv(2) calls made (asok_debug_reads) */
  struct asok__pick e[ASOK__PICKS];
};

/* asok__picks_new returns an empty table (reused or allocated), or NULL. */
struct asok__picks *asok__picks_new(void);

/* asok__picks_free empties t and keeps it for reuse; the calling thread
 * stops using it as its current table. */
void asok__picks_free(struct asok__picks *t);

/* asok__now_ns reads CLOCK_MONOTONIC in nanoseconds (Go's monotonic
 * clock too). */
int64_t asok__now_ns(void);

/* asok__picks_use makes t the calling thread's current table. */
void asok__picks_use(struct asok__picks *t);

/* asok__pick_receive answers asok_receive(s, pattern, n, token, data,
 * len) from the current table: 1 if it did, with *rc (ASOK_OK: an armed
 * entry read and took the result; ASOK_EWAIT: a receive after a taken one
 * parked), 0 if the call must go on in Go (the entry may then hold a read
 * Go settles first). */
int asok__pick_receive(const asok_sock *s, int pattern, size_t n,
                       asok_token token, const char **data, size_t *len,
                       int *rc);

/* asok__pick_send answers asok_send(s, data, len, token, sent) after a
 * taken entry of s and token: 1 if the kernel took all of data (*sent =
 * len); 0 if the call must go on in Go, with *pre the bytes the syscall it
 * made sent (-1: none made) or *perr its errno (0: none). Sends of more
 * than ASOK__STEP bytes always go on in Go, with no syscall made. */
int asok__pick_send(const asok_sock *s, const char *data, size_t len,
                    asok_token token, size_t *sent, long *pre, int *perr);

#endif

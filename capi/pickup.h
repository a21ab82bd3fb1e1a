/*
 * pickup.h - private to libasok: the table through which asok_select
 * hands a receive it completed to that receive's retry (core/offer.go,
 * capi/pickup.go), so that the retry returns without calling into Go.
 *
 * One table per loop, in C memory. asok_select (Go) fills entries and
 * makes its loop's table the calling thread's current one; asok_receive
 * (C) takes an entry of the current table whose socket, token, pattern
 * and count are its own; Go withdraws every entry before the socket or
 * the token is used again (taken or not). Only the loop's thread touches
 * a table. Tables are never freed, only reused, so a thread's current
 * pointer never dangles.
 */
#ifndef ASOK_PICKUP_H
#define ASOK_PICKUP_H

#include <stddef.h>

#include "asok.h"

/* Entries per table (a power of two): a token's entry is
 * token & (ASOK__PICKS - 1); an offer whose entry is in use is not made. */
#define ASOK__PICKS 1024

/* asok__pick is one offered result. */
struct asok__pick {
  const void *sock;  /* the asok_sock * received on; NULL: entry free */
  asok_token token;
  const char *data;  /* the result, in the loop's receive memory */
  size_t len;
  size_t n;          /* the count of an ASOK_COUNT receive */
  int pattern;
  int taken;         /* set by asok_receive; read by Go's withdraw */
};

/* asok__picks is one loop's table. */
struct asok__picks {
  size_t live;                 /* entries offered and not taken */
  struct asok__picks *spare;   /* next table of the reuse list */
  struct asok__pick e[ASOK__PICKS];
};

/* asok__picks_new returns an empty table (reused or calloc'd), or NULL. */
struct asok__picks *asok__picks_new(void);

/* asok__picks_free empties t and keeps it for reuse; the calling thread
 * stops using it as its current table. */
void asok__picks_free(struct asok__picks *t);

/* asok__picks_use makes t the calling thread's current table. */
void asok__picks_use(struct asok__picks *t);

/* asok__pick_take answers asok_receive(s, pattern, n, token, data, len)
 * from the current table: 1 if it did (the entry is taken), else 0. */
int asok__pick_take(const asok_sock *s, int pattern, size_t n,
                    asok_token token, const char **data, size_t *len);

#endif

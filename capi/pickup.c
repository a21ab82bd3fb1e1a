/*
 * pickup.c - the pickup tables of pickup.h: the C half (the retry's take,
 * the thread's current table, reuse of tables).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pickup.h"

/* asok__current is the table of the loop this thread last selected on. */
static __thread struct asok__picks *asok__current;

/* asok__taken counts the receives this thread took from a table. */
static __thread uint64_t asok__taken;

uint64_t asok_debug_pickups(void) { return asok__taken; }

/* The tables of freed loops, for reuse (never freed: another thread's
 * current pointer may still point at one). */
static struct asok__picks *asok__spares;
static pthread_mutex_t asok__spares_mu = PTHREAD_MUTEX_INITIALIZER;

struct asok__picks *asok__picks_new(void) {
  struct asok__picks *t;
  pthread_mutex_lock(&asok__spares_mu);
  t = asok__spares;
  if (t) asok__spares = t->spare;
  pthread_mutex_unlock(&asok__spares_mu);
  if (!t) return calloc(1, sizeof *t);
  t->spare = NULL;
  return t;
}

void asok__picks_free(struct asok__picks *t) {
  if (!t) return;
  if (asok__current == t) asok__current = NULL;
  memset(t, 0, sizeof *t);
  pthread_mutex_lock(&asok__spares_mu);
  t->spare = asok__spares;
  asok__spares = t;
  pthread_mutex_unlock(&asok__spares_mu);
}

void asok__picks_use(struct asok__picks *t) { asok__current = t; }

int asok__pick_take(const asok_sock *s, int pattern, size_t n,
                    asok_token token, const char **data, size_t *len) {
  struct asok__picks *t = asok__current;
  struct asok__pick *e;
  if (!t || !t->live || !data || !len) return 0;
  e = &t->e[token & (ASOK__PICKS - 1)];
  if (e->sock != (const void *)s || e->token != token || e->taken ||
      e->pattern != pattern || (pattern == ASOK_COUNT && e->n != n))
    return 0;
  e->taken = 1;
  t->live--;
  asok__taken++;
  *data = e->data;
  *len = e->len;
  return 1;
}

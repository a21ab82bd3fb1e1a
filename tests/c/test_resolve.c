/* test_resolve.c - asok_resolve: numeric hosts at once, names through the
 * asynchronous resolver (token parked, delivered by asok_select), the
 * address-list layout, -ERANGE with the answer kept, LuaSocket's error
 * strings, cancel, busy tokens, and freeing a loop with lookups in flight. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"

/* wait_token selects (up to 10 s) until token comes back; other tokens
 * delivered meanwhile (its batch included) are counted in *others (may be
 * NULL). */
static void wait_token(asok_loop *loop, asok_token token, int *others) {
  asok_token toks[16];
  int i, n, tries, seen = 0;
  for (tries = 0; tries < 100 && !seen; tries++) {
    n = asok_select(loop, 0.1, toks, 16);
    CHECK(n >= 0);
    for (i = 0; i < n; i++) {
      if (toks[i] == token) seen = 1;
      else if (others) (*others)++;
    }
  }
  if (seen) return;
  CHECK(!"token never delivered");
}

/* resolve runs asok_resolve to its answer, waiting for token. */
static int resolve(asok_loop *loop, const char *host, int family,
                   asok_token token, char *out, size_t outlen, size_t *len) {
  int rc = asok_resolve(loop, host, family, token, out, outlen, len);
  if (rc == ASOK_EWAIT) {
    wait_token(loop, token, NULL);
    rc = asok_resolve(loop, host, family, token, out, outlen, len);
  }
  return rc;
}

/* has_addr says whether the list in buf contains ip. */
static int has_addr(const char *buf, const char *ip) {
  const char *p;
  for (p = buf; *p; p += strlen(p) + 1)
    if (strcmp(p, ip) == 0) return 1;
  return 0;
}

/* test_numeric: numeric hosts answer at once, even with token 0. */
static void test_numeric(asok_loop *loop) {
  char buf[64];
  size_t len = 0;
  CHECK_EQ(asok_resolve(loop, "127.0.0.1", 0, 0, buf, sizeof buf, &len), 0);
  CHECK_EQ(len, 11);
  CHECK_EQ(memcmp(buf, "127.0.0.1\0", 11), 0);
  CHECK_EQ(asok_resolve(loop, "127.1", 4, 0, buf, sizeof buf, NULL), 0);
  CHECK_STREQ(buf, "127.0.0.1");
  CHECK_EQ(asok_resolve(loop, "::1", 6, 0, buf, sizeof buf, &len), 0);
  CHECK_STREQ(buf, "::1");
  CHECK_EQ(len, 5);
  CHECK_EQ(asok_resolve(loop, "127.0.0.1", 6, 0, buf, sizeof buf, &len),
           ASOK_EAI_ADDRFAMILY);
  CHECK_STREQ(asok_strerror(ASOK_EAI_ADDRFAMILY),
              "Address family for hostname not supported");
  CHECK_EQ(asok_resolve(loop, "::1", 4, 0, buf, sizeof buf, &len),
           ASOK_EAI_ADDRFAMILY);
  CHECK_EQ(asok_resolve(loop, "127.0.0.1", 0, 0, buf, 5, &len), -ERANGE);
  CHECK_EQ(len, 11);
}

/* test_localhost: a name parks its token; asok_select delivers it with a
 * sleeper's, and the retry gives the addresses, usable by asok_connect. */
static void test_localhost(asok_loop *loop) {
  char buf[256], ip[46];
  asok_sock *lsn, *c;
  int port, rc, others = 0;
  CHECK_EQ(asok_resolve(loop, "localhost", 0, 0, buf, sizeof buf, NULL),
           ASOK_ETIMEOUT); /* token 0 never waits */
  CHECK_EQ(asok_resolve(loop, "localhost", 4, 7, buf, sizeof buf, NULL), ASOK_EWAIT);
  CHECK_EQ(asok_sleep(loop, 0, 8), 0); /* the loop keeps serving others */
  wait_token(loop, 7, &others);
  CHECK(others <= 1);
  CHECK_EQ(asok_resolve(loop, "localhost", 4, 7, buf, sizeof buf, NULL), 0);
  CHECK_STREQ(buf, "127.0.0.1");
  if (others == 0) wait_token(loop, 8, NULL);

  CHECK_EQ(asok_tcp_new(loop, 4, &lsn), 0);
  CHECK_EQ(asok_bind(lsn, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_listen(lsn, 0), 0);
  CHECK_EQ(asok_getsockname(lsn, ip, sizeof ip, &port), 0);
  CHECK_EQ(asok_tcp_new(loop, 4, &c), 0);
  rc = asok_connect(c, buf, port, 9);
  if (rc == ASOK_EWAIT) {
    wait_token(loop, 9, NULL);
    rc = asok_connect(c, buf, port, 9);
  }
  CHECK_EQ(rc, 0);
  CHECK_EQ(asok_sock_free(c), 0);
  CHECK_EQ(asok_sock_free(lsn), 0);

  /* any family: 127.0.0.1 is among them; IPv6 only: ::1 if the system
   * knows localhost by it, else LuaSocket's "not known" */
  CHECK_EQ(resolve(loop, "localhost", 0, 10, buf, sizeof buf, NULL), 0);
  CHECK(has_addr(buf, "127.0.0.1"));
  rc = resolve(loop, "localhost", 6, 11, buf, sizeof buf, NULL);
  CHECK(rc == ASOK_EAI_NONAME || (rc == 0 && has_addr(buf, "::1")));
}

/* test_erange: a small buffer keeps the answer for the retry. */
static void test_erange(asok_loop *loop) {
  char small[4], buf[64];
  size_t len = 0;
  CHECK_EQ(asok_resolve(loop, "localhost", 4, 20, small, sizeof small, &len),
           ASOK_EWAIT);
  wait_token(loop, 20, NULL);
  CHECK_EQ(asok_resolve(loop, "localhost", 4, 20, small, sizeof small, &len),
           -ERANGE);
  CHECK_EQ(len, 11);
  CHECK_EQ(asok_resolve(loop, "otherhost", 4, 20, buf, sizeof buf, &len),
           ASOK_EBUSY); /* the kept answer is localhost's */
  CHECK_EQ(asok_resolve(loop, "localhost", 4, 20, buf, sizeof buf, &len), 0);
  CHECK_EQ(len, 11);
  CHECK_EQ(memcmp(buf, "127.0.0.1\0", 11), 0);
  /* answered and forgotten: the same token starts a new lookup */
  CHECK_EQ(asok_resolve(loop, "localhost", 4, 20, buf, sizeof buf, &len),
           ASOK_EWAIT);
  CHECK_EQ(asok_cancel(loop, 20), 0);
  /* cancel also drops a kept answer */
  CHECK_EQ(resolve(loop, "localhost", 4, 21, small, sizeof small, &len), -ERANGE);
  CHECK_EQ(asok_cancel(loop, 21), 0);
  CHECK_EQ(asok_resolve(loop, "localhost", 4, 21, buf, sizeof buf, &len),
           ASOK_EWAIT);
  CHECK_EQ(asok_cancel(loop, 21), 0);
}

/* test_errors: unknown names, cancel, busy tokens, bad arguments. */
static void test_errors(asok_loop *loop) {
  char buf[64];
  asok_token toks[16];
  int i, n, rounds;
  CHECK_EQ(resolve(loop, "no.such.host.invalid", 0, 30, buf, sizeof buf, NULL),
           ASOK_EAI_NONAME);
  CHECK_STREQ(asok_strerror(ASOK_EAI_NONAME),
              "host or service not provided, or not known");
  CHECK_STREQ(asok_strerror(ASOK_EAI_AGAIN), "temporary failure in name resolution");
  CHECK_STREQ(asok_strerror(ASOK_EAI_FAIL), "non-recoverable failure in name resolution");

  /* a cancelled lookup is never delivered (its late result is dropped) */
  CHECK_EQ(asok_resolve(loop, "localhost", 0, 31, buf, sizeof buf, NULL), ASOK_EWAIT);
  CHECK_EQ(asok_cancel(loop, 31), 0);
  for (rounds = 0; rounds < 5; rounds++) {
    n = asok_select(loop, 0.05, toks, 16);
    CHECK(n >= 0);
    for (i = 0; i < n; i++) CHECK(toks[i] != 31);
  }

  CHECK_EQ(asok_sleep(loop, 60, 32), 0);
  CHECK_EQ(asok_resolve(loop, "localhost", 0, 32, buf, sizeof buf, NULL), ASOK_EBUSY);
  CHECK_EQ(asok_cancel(loop, 32), 0);
  CHECK_EQ(asok_resolve(loop, NULL, 0, 33, buf, sizeof buf, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_resolve(loop, "localhost", 5, 33, buf, sizeof buf, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_resolve(loop, "localhost", 0, 33, NULL, 10, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_resolve(NULL, "localhost", 0, 33, buf, sizeof buf, NULL),
           ASOK_EBADHANDLE);
}

/* test_free_in_flight: freeing a loop with lookups running is safe. */
static void test_free_in_flight(void) {
  asok_loop *loop;
  char buf[64];
  asok_token t;
  CHECK_EQ(asok_loop_new(&loop), 0);
  for (t = 1; t <= 20; t++)
    CHECK_EQ(asok_resolve(loop, "localhost", 0, t, buf, sizeof buf, NULL), ASOK_EWAIT);
  CHECK_EQ(asok_loop_free(loop), 0);
  usleep(200 * 1000); /* the lookups end and post to the freed loop */
  CHECK_EQ(asok_resolve(loop, "localhost", 0, 1, buf, sizeof buf, NULL),
           ASOK_EBADHANDLE);
}

int main(void) {
  asok_loop *loop;
  CHECK_EQ(asok_loop_new(&loop), 0);
  test_numeric(loop);
  test_localhost(loop);
  test_erange(loop);
  test_errors(loop);
  CHECK_EQ(asok_loop_free(loop), 0);
  test_free_in_flight();
  CHECK_EQ(asok_debug_handles(), 0);
  puts("ok");
  return 0;
}

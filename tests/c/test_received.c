/* test_received.c - asok_received counts what receives consumed, as
 * LuaSocket's getstats() does: a line's CRs and LF included, bytes still
 * buffered not, bytes dropped unread at close not; bad handles and NULL
 * answer codes. */
#include <stdint.h>
#include <string.h>

#include "asok.h"
#include "check.h"
#include "pair.h"

/* recv_now receives pattern (count n) on s, driving token 9 if it waits. */
static int recv_now(asok_loop *loop, asok_sock *s, int pattern, size_t n,
                    const char **d, size_t *len) {
  int rc = asok_receive(s, pattern, n, 9, d, len);
  if (rc == ASOK_EWAIT) {
    drive(loop, 9);
    rc = asok_receive(s, pattern, n, 9, d, len);
  }
  return rc;
}

int main(void) {
  asok_loop *loop;
  asok_sock *a, *b;
  const char *d;
  size_t len, sent;
  uint64_t got = 99;
  const char msg[] = "one\r\ntw\ro\nrest";
  CHECK_EQ(asok_loop_new(&loop), 0);
  pair(loop, &a, &b);
  CHECK_EQ(asok_received(NULL, &got), ASOK_EBADHANDLE);
  CHECK_EQ(asok_received(b, NULL), ASOK_EINVAL);
  CHECK_EQ(asok_received(b, &got), 0);
  CHECK_EQ(got, 0);
  CHECK_EQ(asok_send(a, msg, strlen(msg), 0, &sent), 0);
  CHECK_EQ(recv_now(loop, b, ASOK_LINE, 0, &d, &len), 0);
  CHECK_EQ(len, 3);
  CHECK_EQ(asok_received(b, &got), 0);
  CHECK_EQ(got, 5);                      /* "one\r\n" */
  CHECK_EQ(recv_now(loop, b, ASOK_LINE, 0, &d, &len), 0);
  CHECK(len == 3 && memcmp(d, "two", 3) == 0);
  CHECK_EQ(asok_received(b, &got), 0);
  CHECK_EQ(got, 10);                     /* + "tw\ro\n" */
  CHECK_EQ(recv_now(loop, b, ASOK_COUNT, 2, &d, &len), 0);
  CHECK_EQ(asok_received(b, &got), 0);
  CHECK_EQ(got, 12);                     /* "re"; "st" still buffered */
  CHECK_EQ(asok_unread(b, "xy", 2), 0);  /* unread bytes count once handed out */
  CHECK_EQ(asok_received(b, &got), 0);
  CHECK_EQ(got, 12);
  CHECK_EQ(recv_now(loop, b, ASOK_COUNT, 3, &d, &len), 0);
  CHECK(len == 3 && memcmp(d, "xys", 3) == 0);
  CHECK_EQ(asok_received(b, &got), 0);
  CHECK_EQ(got, 15);
  CHECK_EQ(asok_close(b), 0);            /* "t" dropped unread */
  CHECK_EQ(asok_received(b, &got), 0);
  CHECK_EQ(got, 15);
  CHECK_EQ(asok_sock_free(b), 0);
  CHECK_EQ(asok_received(b, &got), ASOK_EBADHANDLE);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  printf("received ok\n");
  return 0;
}

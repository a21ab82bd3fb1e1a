/* test_fork.c - a child forked after libasok loaded (asok.h, "fork()"):
 * every call there returns ASOK_EFORKED at once (before the guard, a call
 * into Go could wait for ever: the child has none of Go's threads), and
 * closing or freeing the inherited sockets there leaves the parent's loop
 * alone (before, asok_close removed the socket from the epoll instance the
 * two processes share, and the parent's parked accept never woke). The
 * child reports through its exit status; an alarm ends a child that hangs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"
#include "pair.h"

/* child runs in the forked child: each check that fails exits with its
 * line number, a pass with 0. It never returns. */
#define CHILD_CHECK(expr) \
  do {                    \
    if (!(expr)) _exit(__LINE__ % 250 + 1); \
  } while (0)

static void child(asok_loop *loop, asok_sock *lsn, asok_sock *c) {
  asok_loop *other = NULL;
  asok_sock *s = NULL;
  asok_token t = 0;
  const char *data = NULL;
  size_t len = 0, n = 0;
  int fd = -1;
  alarm(10); /* a hang (a call into Go) fails the test, not the suite */
  CHILD_CHECK(asok_select(loop, 0, &t, 1) == ASOK_EFORKED);
  CHILD_CHECK(asok_loop_new(&other) == ASOK_EFORKED && other == NULL);
  CHILD_CHECK(asok_receive(c, ASOK_LINE, 0, 9, &data, &len) == ASOK_EFORKED);
  CHILD_CHECK(asok_send(c, "x", 1, 9, &n) == ASOK_EFORKED);
  CHILD_CHECK(asok_tcp_new(loop, 4, &s) == ASOK_EFORKED && s == NULL);
  CHILD_CHECK(asok_sock_fd(c, &fd) == ASOK_EFORKED);
  CHILD_CHECK(asok_sleep(loop, 0, 5) == ASOK_EFORKED);
  {
    asok_waitreq r = {c, ASOK_READ, 6, 1};
    CHILD_CHECK(asok_waitset(loop, &r, 1) == ASOK_EFORKED && r.rc == 1);
    CHILD_CHECK(asok_debug_polls(loop, NULL, NULL) == ASOK_EFORKED);
    CHILD_CHECK(asok_cancelset(loop, &r.token, 1) == ASOK_EFORKED);
  }
  CHILD_CHECK(asok_loop_wake(loop) == ASOK_EFORKED);
  CHILD_CHECK(asok_debug_handles() == ASOK_EFORKED);
  CHILD_CHECK(asok_debug_rxmem() == 0);
  CHILD_CHECK(strcmp(asok_strerror(ASOK_EFORKED),
                     "asok is not usable in a process forked after it loaded") == 0);
  CHILD_CHECK(asok_version() == ASOK_VERSION_HEX);
  /* what a child's clean-up does: close and free everything inherited */
  CHILD_CHECK(asok_close(lsn) == ASOK_EFORKED);
  CHILD_CHECK(asok_sock_free(lsn) == ASOK_EFORKED);
  CHILD_CHECK(asok_close(c) == ASOK_EFORKED);
  CHILD_CHECK(asok_loop_free(loop) == ASOK_EFORKED);
  _exit(0);
}

int main(void) {
  asok_loop *loop;
  asok_sock *lsn, *a, *b, *got = NULL;
  asok_token t = 0;
  struct sockaddr_in sa;
  const char *data;
  size_t len, n;
  int port, status, peer, rc;
  pid_t pid;
  CHECK_EQ(asok_loop_new(&loop), 0);
  pair(loop, &a, &b);
  lsn = listener(loop, &port);
  CHECK_EQ(asok_accept(lsn, 7, &got), ASOK_EWAIT); /* parked on the shared epoll */
  CHECK_EQ(asok_receive(a, ASOK_LINE, 0, 8, &data, &len), ASOK_EWAIT);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) child(loop, lsn, a);
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status)); /* not killed by the alarm */
  CHECK_EQ(WEXITSTATUS(status), 0);

  /* the parent's loop goes on: the accept and the receive wake */
  peer = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(peer >= 0);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short) port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(connect(peer, (struct sockaddr *) &sa, sizeof sa), 0);
  drive(loop, 7);
  CHECK_EQ(asok_accept(lsn, 7, &got), 0);
  CHECK(got != NULL);
  CHECK_EQ(asok_send(b, "hi\n", 3, 0, &n), 0);
  drive(loop, 8);
  rc = asok_receive(a, ASOK_LINE, 0, 8, &data, &len);
  EXPECT(rc, data, len, "hi");
  CHECK_EQ(asok_sock_free(got), 0);
  CHECK_EQ(asok_sock_free(lsn), 0);
  CHECK_EQ(asok_sock_free(a), 0);
  CHECK_EQ(asok_sock_free(b), 0);
  CHECK_EQ(asok_select(loop, 0, &t, 1), 0);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  close(peer);
  printf("ok\n");
  return 0;
}

/* test_user_echo.c - a user's line echo server from asok.h alone: N (default
 * 5,000) connections from a client process (this program exec'd again:
 * asok is loaded fresh there), per-socket timeouts, clients that close
 * mid-line, idle clients the server times out, pipelined lines, CRLF.
 *   test_user_echo [N]   server; forks+execs "test_user_echo client PORT N"
 * Every return code is checked against what asok.h documents. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asok.h"
#include "check.h"

#define LINES 3
#define MAXN 20000

enum { NORMAL, MIDLINE, IDLE, PIPELINE };
static int mode_of(int i) {
  int m = i % 20;
  return m < 15 ? NORMAL : m < 17 ? MIDLINE : m < 18 ? IDLE : PIPELINE;
}

/* ---------------------------------------------------------------- server */

typedef struct sconn {
  asok_sock *s;
  char line[256];
  size_t len; /* > 0: line to echo (sending) */
  int lines;  /* lines echoed */
} sconn;

static sconn *sc;
static int s_accepted, s_live, s_echoed, s_partials, s_timeouts, s_peerclosed;

static void sdrop(int i) {
  CHECK_EQ(asok_sock_free(sc[i].s), 0);
  CHECK_EQ(asok_sock_free(sc[i].s), ASOK_EBADHANDLE); /* consumed */
  sc[i].s = NULL;
  s_live--;
}

static void serve(int i) {
  sconn *c = &sc[i];
  asok_token tok = (asok_token)i + 2;
  for (;;) {
    int rc;
    if (c->len == 0) {
      const char *d;
      size_t n;
      rc = asok_receive(c->s, ASOK_LINE, 0, tok, &d, &n);
      if (rc == ASOK_EWAIT) {
        CHECK_EQ(n, 0);
        return;
      }
      if (rc == ASOK_ECLOSED) {
        if (n > 0) { /* a client that closed mid-line: its partial */
          CHECK(n >= 9 && memcmp(d + n - 8, " partial", 8) == 0);
          s_partials++;
        } else {
          s_peerclosed++;
        }
        sdrop(i);
        return;
      }
      if (rc == ASOK_ETIMEOUT) { /* an idle client: nothing was sent */
        CHECK_EQ(n, 0);
        s_timeouts++;
        sdrop(i);
        return;
      }
      CHECK_EQ(rc, 0);
      CHECK(n > 0 && n < sizeof c->line - 1);
      CHECK(memchr(d, '\r', n) == NULL); /* CRs dropped */
      CHECK(memchr(d, '\n', n) == NULL);
      memcpy(c->line, d, n);
      c->line[n] = '\n';
      c->len = n + 1;
    }
    size_t sent = 12345;
    rc = asok_send(c->s, c->line, c->len, tok, &sent);
    if (rc == ASOK_EWAIT) {
      CHECK(sent < c->len);
      return;
    }
    if (rc != 0) { /* the client may have gone: closed/reset */
      CHECK(rc == ASOK_ECLOSED || rc == -ECONNRESET);
      sdrop(i);
      return;
    }
    CHECK_EQ(sent, c->len);
    c->len = 0;
    c->lines++;
    s_echoed++;
  }
}

static void accept_all(asok_sock *lsn, int n) {
  for (;;) {
    asok_sock *s = NULL;
    int rc = asok_accept(lsn, 1, &s);
    if (rc == ASOK_EWAIT) {
      CHECK(s == NULL); /* written only on success */
      return;
    }
    CHECK_EQ(rc, 0);
    CHECK(s_accepted < n);
    int i = s_accepted++;
    sc[i].s = s;
    s_live++;
    /* idle clients are found by the block timeout; the others answer at once */
    CHECK_EQ(asok_settimeout(s, 3.0, -1), 0);
    serve(i);
  }
}

static int server(const char *self, int n) {
  asok_loop *loop;
  asok_sock *lsn;
  char ip[46];
  int port, status;
  asok_token ready[256];

  sc = calloc(n, sizeof *sc);
  CHECK(sc != NULL);
  CHECK_EQ(asok_loop_new(&loop), 0);
  CHECK_EQ(asok_tcp_new(loop, 4, &lsn), 0);
  CHECK_EQ(asok_bind(lsn, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_listen(lsn, 4096), 0);
  CHECK_EQ(asok_getsockname(lsn, ip, sizeof ip, &port), 0);
  CHECK_STREQ(ip, "127.0.0.1");

  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    char p[16], ns[16];
    snprintf(p, sizeof p, "%d", port);
    snprintf(ns, sizeof ns, "%d", n);
    execl(self, self, "client", p, ns, (char *)NULL);
    _exit(127);
  }
  CHECK_EQ(asok_accept(lsn, 1, &sc[0].s), ASOK_EWAIT);
  while (s_accepted < n || s_live > 0) {
    int k = asok_select(loop, 30, ready, 256), j;
    CHECK(k > 0); /* never 30 s without anything to do */
    for (j = 0; j < k; j++) {
      if (ready[j] == 1)
        accept_all(lsn, n);
      else {
        int i = (int)(ready[j] - 2);
        CHECK(i >= 0 && i < s_accepted);
        CHECK(sc[i].s != NULL); /* no token of a freed socket */
        serve(i);
      }
    }
  }
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status));
  CHECK_EQ(WEXITSTATUS(status), 0);
  int idle = 0, mid = 0, lines = 0, i;
  for (i = 0; i < n; i++) {
    int m = mode_of(i);
    idle += m == IDLE;
    mid += m == MIDLINE;
    lines += (m == NORMAL || m == PIPELINE) ? LINES : 0;
  }
  printf("server: accepted %d echoed %d partials %d timeouts %d closed %d\n", s_accepted,
         s_echoed, s_partials, s_timeouts, s_peerclosed);
  CHECK_EQ(s_echoed, lines);
  CHECK_EQ(s_partials, mid);
  CHECK_EQ(s_timeouts, idle);
  CHECK_EQ(s_peerclosed, n - idle - mid);
  CHECK_EQ(asok_sock_free(lsn), 0);
  CHECK_EQ(asok_debug_handles(), 1);
  CHECK(asok_debug_rxmem() > 0);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_loop_free(loop), ASOK_EBADHANDLE);
  CHECK_EQ(asok_debug_handles(), 0);
  CHECK_EQ(asok_debug_rxmem(), 0);
  free(sc);
  return 0;
}

/* ---------------------------------------------------------------- client */

typedef struct cconn {
  asok_sock *s;
  int state; /* 0 connect, 1 send, 2 receive, 3 done */
  int line;  /* lines received back */
  char out[256];
  size_t outlen;
} cconn;

static cconn *cc;
static int c_done, c_port;

static void mkline(int i, int j, char *buf, size_t *len) {
  /* every third line ends in CRLF, and one has a CR inside: dropped */
  int k = snprintf(buf, 64, "c%d l%d %s%s", i, j, j == 1 ? "x\ry" : "xy", j == 2 ? "\r\n" : "\n");
  *len = (size_t)k;
}

static void cfinish(int i) {
  CHECK_EQ(asok_sock_free(cc[i].s), 0);
  cc[i].s = NULL;
  cc[i].state = 3;
  c_done++;
}

static void client_step(int i) {
  cconn *c = &cc[i];
  asok_token tok = (asok_token)i + 1;
  int m = mode_of(i), rc;
  for (;;) {
    switch (c->state) {
    case 0:
      rc = asok_connect(c->s, "127.0.0.1", c_port, tok);
      if (rc == ASOK_EWAIT) return;
      CHECK_EQ(rc, 0);
      c->state = m == IDLE ? 2 : 1;
      if (m == MIDLINE) {
        c->outlen = (size_t)snprintf(c->out, sizeof c->out, "c%d partial", i);
      } else if (m == PIPELINE) {
        size_t a, off = 0;
        for (int j = 0; j < LINES; j++) {
          mkline(i, j, c->out + off, &a);
          off += a;
        }
        c->outlen = off;
      } else {
        mkline(i, 0, c->out, &c->outlen);
      }
      break;
    case 1: {
      size_t sent;
      rc = asok_send(c->s, c->out, c->outlen, tok, &sent);
      if (rc == ASOK_EWAIT) return;
      CHECK_EQ(rc, 0);
      CHECK_EQ(sent, c->outlen);
      if (m == MIDLINE) {
        cfinish(i); /* close mid-line */
        return;
      }
      c->state = 2;
      break;
    }
    case 2: {
      const char *d;
      size_t n;
      char want[64];
      size_t wl;
      rc = asok_receive(c->s, ASOK_LINE, 0, tok, &d, &n);
      if (rc == ASOK_EWAIT) return;
      if (m == IDLE) { /* the server timed us out and closed */
        CHECK_EQ(rc, ASOK_ECLOSED);
        CHECK_EQ(n, 0);
        cfinish(i);
        return;
      }
      CHECK_EQ(rc, 0);
      mkline(i, c->line, want, &wl);
      /* the echo: the line without its CRs and LF */
      char *w = want, *o = want;
      for (; w < want + wl; w++)
        if (*w != '\r' && *w != '\n') *o++ = *w;
      CHECK_EQ(n, (size_t)(o - want));
      CHECK(memcmp(d, want, n) == 0);
      c->line++;
      if (c->line == LINES) {
        cfinish(i);
        return;
      }
      if (m == NORMAL) {
        mkline(i, c->line, c->out, &c->outlen);
        c->state = 1;
      }
      break;
    }
    default:
      CHECK(0);
    }
  }
}

static int client(int port, int n) {
  asok_loop *loop;
  asok_token ready[256];
  int i;
  c_port = port;
  cc = calloc(n, sizeof *cc);
  CHECK(cc != NULL);
  CHECK_EQ(asok_loop_new(&loop), 0);
  for (i = 0; i < n; i++) {
    CHECK_EQ(asok_tcp_new(loop, 4, &cc[i].s), 0);
    CHECK_EQ(asok_settimeout(cc[i].s, 60, -1), 0);
    client_step(i);
  }
  while (c_done < n) {
    int k = asok_select(loop, 30, ready, 256), j;
    CHECK(k > 0);
    for (j = 0; j < k; j++) {
      i = (int)(ready[j] - 1);
      CHECK(i >= 0 && i < n);
      CHECK(cc[i].state != 3);
      client_step(i);
    }
  }
  CHECK_EQ(asok_debug_handles(), 1);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  free(cc);
  return 0;
}

int main(int argc, char **argv) {
  CHECK_EQ(asok_version() >> 16, ASOK_VERSION_MAJOR);
  alarm(300); /* a hang is a failure, not a stuck ctest */
  signal(SIGPIPE, SIG_DFL); /* asok must never raise it */
  if (argc == 4 && strcmp(argv[1], "client") == 0) return client(atoi(argv[2]), atoi(argv[3]));
  int n = argc > 1 ? atoi(argv[1]) : 5000;
  CHECK(n > 0 && n <= MAXN);
  /* each side holds n sockets: raise the soft limit, or serve fewer */
  struct rlimit rl;
  CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)n + 64) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)n + 64 ? (rlim_t)n + 64 : rl.rlim_max;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < (rlim_t)n + 64) n = (int)rl.rlim_cur - 64;
    printf("server: %d connections (descriptor limit %lu)\n", n, (unsigned long)rl.rlim_cur);
  }
  /* argv[0] when it is a path: under valgrind /proc/self/exe is valgrind */
  return server(strchr(argv[0], '/') ? argv[0] : "/proc/self/exe", n);
}

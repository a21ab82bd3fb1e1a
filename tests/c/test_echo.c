/* test_echo.c - one loop, an echo server and NCLIENTS clients, driven only
 * by asok_select tokens: accept, connect, send and receive park on
 * ASOK_EWAIT and are retried when their token comes back. Every byte is
 * verified and every handle freed. */
#include <sys/socket.h>
#include <time.h>

#include "asok.h"
#include "check.h"

#define NCLIENTS 100
#define TOK(id, kind) ((((asok_token)(id)) << 8) | (kind))
enum { K_ACCEPT = 1, K_CONNECT, K_CSEND, K_CRECV, K_SRECV, K_SSEND };

typedef struct client { /* one client connection */
  asok_sock *s;
  char *msg;
  size_t len;
  int sent, received, done;
} client;

typedef struct conn { /* the server side of one connection */
  asok_sock *s;
  char *pend; /* chunk being echoed (own copy: send may be retried) */
  size_t plen;
  int sending, closed;
} conn;

static asok_loop *loop;
static asok_sock *lsn;
static int port;
static client cli[NCLIENTS];
static conn srv[NCLIENTS];
static int nsrv, clients_done, srv_closed;
static size_t echoed;
static int waits[K_SSEND + 1]; /* ASOK_EWAIT seen, per kind */

static void srv_recv(int j);

/* srv_send echoes srv[j].pend; when done, reading resumes. */
static void srv_send(int j) {
  size_t sent;
  int rc = asok_send(srv[j].s, srv[j].pend, srv[j].plen, TOK(j, K_SSEND), &sent);
  if (rc == ASOK_EWAIT) {
    CHECK(sent <= srv[j].plen);
    waits[K_SSEND]++;
    return;
  }
  CHECK_EQ(rc, 0);
  CHECK_EQ(sent, srv[j].plen);
  srv[j].sending = 0;
  srv_recv(j);
}

/* srv_recv waits for data (n = 0), then takes everything buffered. */
static void srv_recv(int j) {
  const char *data;
  size_t n, avail;
  int rc;
  while (!srv[j].sending) {
    rc = asok_receive(srv[j].s, ASOK_COUNT, 0, TOK(j, K_SRECV), &data, &n);
    if (rc == ASOK_EWAIT) {
      CHECK_EQ(n, 0);
      waits[K_SRECV]++;
      return;
    }
    CHECK_EQ(n, 0);
    if (rc == ASOK_ECLOSED) { /* the client hung up after reading all */
      CHECK_EQ(asok_sock_free(srv[j].s), 0);
      srv[j].closed = 1;
      srv_closed++;
      return;
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(asok_buffered(srv[j].s, &avail), 0);
    CHECK(avail > 0);
    rc = asok_receive(srv[j].s, ASOK_COUNT, avail, TOK(j, K_SRECV), &data, &n);
    CHECK_EQ(rc, 0);
    CHECK_EQ(n, avail);
    srv[j].pend = realloc(srv[j].pend, n);
    CHECK(srv[j].pend != NULL);
    memcpy(srv[j].pend, data, n);
    srv[j].plen = n;
    srv[j].sending = 1;
    echoed += n;
    srv_send(j);
  }
}

/* small_buffers shrinks the kernel buffers of s, so big sends go out in
 * pieces and both sides see partial sends (ASOK_EWAIT). Not below 32 KiB:
 * a buffer far under loopback's 64 KiB MSS stalls TCP on 200 ms probes. */
static void small_buffers(asok_sock *s) {
  int fd, size = 32768;
  CHECK_EQ(asok_sock_fd(s, &fd), 0);
  CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
  CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size), 0);
}

/* do_accept accepts every pending connection. */
static void do_accept(void) {
  asok_sock *c;
  int rc;
  for (;;) {
    rc = asok_accept(lsn, TOK(0, K_ACCEPT), &c);
    if (rc == ASOK_EWAIT) {
      waits[K_ACCEPT]++;
      return;
    }
    CHECK_EQ(rc, 0);
    CHECK(nsrv < NCLIENTS);
    srv[nsrv].s = c;
    small_buffers(c);
    srv_recv(nsrv++);
  }
}

/* cli_finish frees client i once its send and receive both completed. */
static void cli_finish(int i) {
  if (!cli[i].sent || !cli[i].received) return;
  CHECK_EQ(asok_sock_free(cli[i].s), 0);
  cli[i].done = 1;
  clients_done++;
}

/* cli_send sends the whole message, resuming after partial sends. */
static void cli_send(int i) {
  size_t sent;
  int rc = asok_send(cli[i].s, cli[i].msg, cli[i].len, TOK(i, K_CSEND), &sent);
  if (rc == ASOK_EWAIT) {
    waits[K_CSEND]++;
    return;
  }
  CHECK_EQ(rc, 0);
  CHECK_EQ(sent, cli[i].len);
  cli[i].sent = 1;
  cli_finish(i);
}

/* cli_recv reads the echo back in one ASOK_COUNT and checks every byte. */
static void cli_recv(int i) {
  const char *data;
  size_t n;
  int rc = asok_receive(cli[i].s, ASOK_COUNT, cli[i].len, TOK(i, K_CRECV), &data, &n);
  if (rc == ASOK_EWAIT) {
    CHECK_EQ(n, 0);
    waits[K_CRECV]++;
    return;
  }
  CHECK_EQ(rc, 0);
  CHECK_EQ(n, cli[i].len);
  CHECK(memcmp(data, cli[i].msg, n) == 0);
  cli[i].received = 1;
  cli_finish(i);
}

/* cli_connect completes the connection, then sends and receives at once. */
static void cli_connect(int i) {
  int rc = asok_connect(cli[i].s, "127.0.0.1", port, TOK(i, K_CONNECT));
  if (rc == ASOK_EWAIT) {
    waits[K_CONNECT]++;
    return;
  }
  CHECK_EQ(rc, 0);
  cli_send(i);
  cli_recv(i);
}

/* dispatch routes a ready token to the step that parked it. */
static void dispatch(asok_token t) {
  int id = (int)(t >> 8);
  CHECK(id >= 0 && id < NCLIENTS);
  switch ((int)(t & 0xff)) {
  case K_ACCEPT: do_accept(); break;
  case K_CONNECT: CHECK(!cli[id].done); cli_connect(id); break;
  case K_CSEND: CHECK(!cli[id].done); cli_send(id); break;
  case K_CRECV: CHECK(!cli[id].done); cli_recv(id); break;
  case K_SRECV: CHECK(!srv[id].closed); srv_recv(id); break;
  case K_SSEND: CHECK(!srv[id].closed); srv_send(id); break;
  default: CHECK(!"unknown token kind");
  }
}

/* now_s reads the monotonic clock, for the no-progress guard only. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
  char ip[46];
  asok_token toks[64];
  size_t total = 0;
  double progress;
  int i, k, n;

  CHECK_EQ(asok_loop_new(&loop), 0);
  CHECK_EQ(asok_tcp_new(loop, 4, &lsn), 0);
  CHECK_EQ(asok_bind(lsn, "127.0.0.1", 0), 0);
  CHECK_EQ(asok_listen(lsn, 128), 0);
  CHECK_EQ(asok_getsockname(lsn, ip, sizeof ip, &port), 0);
  CHECK_STREQ(ip, "127.0.0.1");
  CHECK(port > 0);
  do_accept();

  for (i = 0; i < NCLIENTS; i++) {
    cli[i].len = 1 + (size_t)i * 2600; /* 1 byte .. ~257 KiB */
    cli[i].msg = malloc(cli[i].len);
    CHECK(cli[i].msg != NULL);
    for (k = 0; k < (int)cli[i].len; k++)
      cli[i].msg[k] = (char)((k * 31 + i * 7) ^ (k >> 9));
    total += cli[i].len;
    CHECK_EQ(asok_tcp_new(loop, 4, &cli[i].s), 0);
    if (i % 2 == 0) small_buffers(cli[i].s);
    cli_connect(i);
  }

  progress = now_s();
  while (clients_done < NCLIENTS || srv_closed < NCLIENTS) {
    n = asok_select(loop, 1.0, toks, 64);
    CHECK(n >= 0);
    if (n > 0) progress = now_s();
    CHECK(now_s() - progress < 30.0); /* stuck: a token was never delivered */
    for (k = 0; k < n; k++) dispatch(toks[k]);
  }

  CHECK_EQ(nsrv, NCLIENTS);
  CHECK_EQ(echoed, total);
  CHECK_EQ(asok_debug_handles(), 2); /* the loop and the listener */
  CHECK_EQ(asok_sock_free(lsn), 0);
  CHECK_EQ(asok_loop_free(loop), 0);
  CHECK_EQ(asok_debug_handles(), 0);
  for (i = 0; i < NCLIENTS; i++) {
    free(cli[i].msg);
    free(srv[i].pend);
  }
  printf("echoed %zu bytes over %d connections; EWAIT: accept %d connect %d "
         "send %d/%d receive %d/%d (client/server)\n", total, NCLIENTS,
         waits[K_ACCEPT], waits[K_CONNECT], waits[K_CSEND], waits[K_SSEND],
         waits[K_CRECV], waits[K_SRECV]);
  fflush(stdout);
  CHECK(waits[K_ACCEPT] > 0 && waits[K_CRECV] > 0 && waits[K_SRECV] > 0);
  CHECK(waits[K_CSEND] > 0 && waits[K_SSEND] > 0);
  return 0;
}

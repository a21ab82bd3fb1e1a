/*
 * echo_server.c - a line echo server on asok's C API.
 *
 *   cc -Ibuild/include examples/echo_server.c -Lbuild/lib -lasok \
 *      -Wl,-rpath,build/lib -o echo_server
 *   ./echo_server [PORT [SECONDS]]   (PORT 0: any; SECONDS: stop after)
 *
 * The pull style, like curl's multi interface: call an operation with a
 * token; ASOK_EWAIT means "parked"; asok_select() hands back the ready
 * tokens; call the same operation again with the same token. Token 1 is
 * the listener, token i >= 2 is connection i.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asok.h"

#define MAXCONN 4096
#define LISTENER 1

/* conn is one client: its socket and the line being echoed, if any. */
typedef struct conn {
  asok_sock *s;
  char *line;
  size_t len;
} conn;

static conn conns[MAXCONN];

/* drop closes and frees connection i. */
static void drop(int i) {
  asok_sock_free(conns[i].s);
  free(conns[i].line);
  memset(&conns[i], 0, sizeof conns[i]);
}

/* serve runs connection i until it must wait: receive a line, send it
 * back (with its LF), again. */
static void serve(int i) {
  conn *c = &conns[i];
  for (;;) {
    int rc;
    if (c->line == NULL) {
      const char *data;
      size_t len;
      rc = asok_receive(c->s, ASOK_LINE, 0, (asok_token) i, &data, &len);
      if (rc == ASOK_EWAIT) return;
      if (rc != ASOK_OK) { drop(i); return; } /* "closed": the peer left */
      c->line = malloc(len + 1);
      if (c->line == NULL) { drop(i); return; }
      memcpy(c->line, data, len); /* data is asok's: copy it now */
      c->line[len] = '\n';
      c->len = len + 1;
    }
    size_t sent;
    rc = asok_send(c->s, c->line, c->len, (asok_token) i, &sent);
    if (rc == ASOK_EWAIT) return; /* retry later with the same buffer */
    free(c->line);
    c->line = NULL;
    if (rc != ASOK_OK) { drop(i); return; }
  }
}

/* accept_all accepts every pending client and starts serving it. */
static void accept_all(asok_sock *listener) {
  for (;;) {
    asok_sock *s;
    int rc = asok_accept(listener, LISTENER, &s), i;
    if (rc == ASOK_EWAIT) return;
    if (rc != ASOK_OK) {
      fprintf(stderr, "echo_server: accept: %s\n", asok_strerror(rc));
      return;
    }
    for (i = LISTENER + 1; i < MAXCONN && conns[i].s != NULL; i++) {}
    if (i == MAXCONN) { asok_sock_free(s); continue; } /* full */
    conns[i].s = s;
    serve(i);
  }
}

/* check exits with a message if rc is an error. */
static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "echo_server: %s: %s\n", what, asok_strerror(rc));
    exit(1);
  }
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0, i;
  double seconds = argc > 2 ? atof(argv[2]) : -1;
  asok_loop *loop;
  asok_sock *listener;
  asok_token ready[64];
  char ip[46];
  time_t start = time(NULL);

  if ((asok_version() >> 16) != ASOK_VERSION_MAJOR) {
    fprintf(stderr, "echo_server: libasok %s does not match asok.h %s\n",
            asok_version_string(), ASOK_VERSION_STRING);
    return 1;
  }
  check(asok_loop_new(&loop), "loop");
  check(asok_tcp_new(loop, 4, &listener), "socket");
  check(asok_bind(listener, "127.0.0.1", port), "bind");
  check(asok_listen(listener, 1024), "listen");
  check(asok_getsockname(listener, ip, sizeof ip, &port), "getsockname");
  printf("echo_server: asok %s listening on %s:%d\n", asok_version_string(), ip, port);
  fflush(stdout);

  accept_all(listener);
  while (seconds < 0 || difftime(time(NULL), start) < seconds) {
    int n = asok_select(loop, seconds < 0 ? -1 : 0.1, ready, 64);
    check(n, "select");
    for (i = 0; i < n; i++) {
      if (ready[i] == LISTENER) accept_all(listener);
      else if (ready[i] < MAXCONN && conns[ready[i]].s != NULL) serve((int) ready[i]);
    }
  }
  for (i = LISTENER + 1; i < MAXCONN; i++)
    if (conns[i].s != NULL) drop(i);
  asok_sock_free(listener);
  asok_loop_free(loop);
  return 0;
}

/*
 * asok.c - the public asok_* functions of include/asok.h.
 *
 * Each is a thin wrapper over its Go export asokgo_* (cgo exports cannot
 * take const pointers, and this keeps cgo's generated header private).
 * Version and error strings live here as static C data: nothing returned
 * by these functions is ever allocated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "asok.h"
#include "pickup.h"
#include "_cgo_export.h"

/* Largest errno reported as -errno (asok.h: -1 .. -4095). */
#define ASOK__MAXERRNO 4095

/* asok__errmsg holds one string per ASOK_E* code, from ASOK_ERRNO_MAP. */
static const char *const asok__errmsg[] = {
#define XX(name, msg) msg,
    ASOK_ERRNO_MAP(XX)
#undef XX
};

/* asok__errnostr gives LuaSocket's string for errno e (usocket.c
 * socket_strerror, pierror.h; EPIPE is "closed" as in its send path),
 * else the C library's static description. */
static const char *asok__errnostr(int e) {
  const char *s;
  switch (e) {
  case EADDRINUSE: return "address already in use";
  case EISCONN: return "already connected";
  case EACCES: return "permission denied";
  case ECONNREFUSED: return "connection refused";
  case ECONNABORTED: return "closed";
  case ECONNRESET: return "closed";
  case EPIPE: return "closed";
  case ETIMEDOUT: return "timeout";
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
  s = strerrordesc_np(e); /* static; strerror's text in the C locale */
#else
  s = NULL;
#endif
  return s ? s : "unknown error";
}

/* asok__forked is set in a child that fork() made after libasok loaded
 * (asok.h, "fork()"): the Go runtime's threads are not there, so a call
 * into Go may wait for ever, and the loop's epoll instance is the
 * parent's, so a socket closed through asok there would stop the parent's
 * events. FORKED makes every call that would enter Go return ASOK_EFORKED
 * at once, doing nothing. */
static int asok__forked;

static void asok__atfork_child(void) { asok__forked = 1; }

__attribute__((constructor)) static void asok__init(void) {
  pthread_atfork(NULL, NULL, asok__atfork_child);
}

#define FORKED                             \
  do {                                     \
    if (asok__forked) return ASOK_EFORKED; \
  } while (0)

unsigned asok_version(void) { return ASOK_VERSION_HEX; }

const char *asok_version_string(void) { return ASOK_VERSION_STRING; }

const char *asok_strerror(int err) {
  if (err == 0) return "success";
  if (err > ASOK_EFIRST_ && err < ASOK_ELAST_)
    return asok__errmsg[err - ASOK_EFIRST_ - 1];
  if (err < 0 && err >= -ASOK__MAXERRNO) return asok__errnostr(-err);
  return "unknown error";
}

int asok_debug_handles(void) {
  FORKED;
  return asokgo_debug_handles();
}

uint64_t asok_debug_rxmem(void) {
  if (asok__forked) return 0;
  return asokgo_debug_rxmem();
}

int asok_debug_panic(void) {
  FORKED;
  return asokgo_debug_panic();
}

int asok_loop_new(asok_loop **loop_out) {
  FORKED;
  return asokgo_loop_new((void **)loop_out);
}

int asok_loop_free(asok_loop *loop) {
  FORKED;
  return asokgo_loop_free(loop);
}

int asok_loop_fd(asok_loop *loop, int *fd_out) {
  FORKED;
  return asokgo_loop_fd(loop, fd_out);
}

int asok_loop_timeout(asok_loop *loop, double *seconds_out) {
  FORKED;
  return asokgo_loop_timeout(loop, seconds_out);
}

int asok_loop_wake(asok_loop *loop) {
  FORKED;
  return asokgo_loop_wake(loop);
}

int asok_select(asok_loop *loop, double timeout, asok_token *tokens_out,
                int max) {
  FORKED;
  void *picks = NULL;
  int rc = asokgo_select(loop, timeout, tokens_out, max, &picks);
  if (picks) asok__picks_use(picks); /* this loop's armed retries */
  return rc;
}

int asok_sleep(asok_loop *loop, double seconds, asok_token token) {
  FORKED;
  return asokgo_sleep(loop, seconds, token);
}

int asok_cancel(asok_loop *loop, asok_token token) {
  FORKED;
  return asokgo_cancel(loop, token);
}

int asok_wrap(asok_loop *loop, int fd, unsigned flags, asok_sock **sock_out) {
  FORKED;
  return asokgo_wrap(loop, fd, flags, (void **)sock_out);
}

int asok_tcp_new(asok_loop *loop, int family, asok_sock **sock_out) {
  FORKED;
  return asokgo_tcp_new(loop, family, (void **)sock_out);
}

int asok_bind(asok_sock *s, const char *ip, int port) {
  FORKED;
  return asokgo_bind(s, (char *)ip, port);
}

int asok_listen(asok_sock *s, int backlog) {
  FORKED;
  return asokgo_listen(s, backlog);
}

int asok_getsockname(asok_sock *s, char *ip_out, size_t iplen,
                     int *port_out) {
  FORKED;
  return asokgo_getsockname(s, ip_out, iplen, port_out);
}

int asok_connect(asok_sock *s, const char *ip, int port, asok_token token) {
  FORKED;
  return asokgo_connect(s, (char *)ip, port, token);
}

int asok_accept(asok_sock *s, asok_token token, asok_sock **client_out) {
  FORKED;
  return asokgo_accept(s, token, (void **)client_out);
}

int asok_receive(asok_sock *s, int pattern, size_t n, asok_token token,
                 const char **data, size_t *len) {
  FORKED;
  int rc;
  /* a retry asok_select armed reads and returns here, without Go, and so
   * does the receive after it that finds nothing (pickup.h) */
  if (asok__pick_receive(s, pattern, n, token, data, len, &rc)) return rc;
  return asokgo_receive(s, pattern, n, token, (char **)data, len);
}

int asok_send(asok_sock *s, const char *data, size_t len, asok_token token,
              size_t *sent) {
  FORKED;
  long pre;
  int perr;
  /* a send after a retry taken in C is made here if it goes whole */
  if (asok__pick_send(s, data, len, token, sent, &pre, &perr)) return ASOK_OK;
  return asokgo_send(s, (char *)data, len, token, sent, pre, perr);
}

int asok_wait(asok_sock *s, int dir, asok_token token) {
  FORKED;
  return asokgo_wait(s, dir, token);
}

int asok_cancelset(asok_loop *loop, const asok_token *tokens, size_t n) {
  FORKED;
  return asokgo_cancelset(loop, (asok_token *)tokens, n);
}

int asok_waitset(asok_loop *loop, asok_waitreq *reqs, size_t n) {
  FORKED;
  return asokgo_waitset(loop, reqs, n);
}

int asok_debug_polls(asok_loop *loop, uint64_t *polls, uint64_t *epoll_waits) {
  FORKED;
  return asokgo_debug_polls(loop, polls, epoll_waits);
}

int asok_debug_reads(asok_loop *loop, uint64_t *reads) {
  FORKED;
  return asokgo_debug_reads(loop, reads);
}

int asok_settimeout(asok_sock *s, double block, double total) {
  FORKED;
  return asokgo_settimeout(s, block, total);
}

int asok_unread(asok_sock *s, const char *data, size_t len) {
  FORKED;
  return asokgo_unread(s, (char *)data, len);
}

int asok_setlimit(asok_sock *s, size_t n) {
  FORKED;
  return asokgo_setlimit(s, n);
}

int asok_buffered(asok_sock *s, size_t *n_out) {
  FORKED;
  return asokgo_buffered(s, n_out);
}

int asok_held(asok_sock *s, size_t *n_out) {
  FORKED;
  return asokgo_held(s, n_out);
}

int asok_received(asok_sock *s, uint64_t *n_out) {
  FORKED;
  return asokgo_received(s, n_out);
}

int asok_sock_fd(asok_sock *s, int *fd_out) {
  FORKED;
  return asokgo_sock_fd(s, fd_out);
}

int asok_shutdown(asok_sock *s, int how) {
  FORKED;
  return asokgo_shutdown(s, how);
}

int asok_close(asok_sock *s) {
  FORKED;
  return asokgo_close(s);
}

int asok_sock_free(asok_sock *s) {
  FORKED;
  return asokgo_sock_free(s);
}

int asok_resolve(asok_loop *loop, const char *host, int family,
                 asok_token token, char *out, size_t outlen,
                 size_t *len_out) {
  FORKED;
  return asokgo_resolve(loop, (char *)host, family, token, out, outlen,
                        len_out);
}

int asok_udp_new(asok_loop *loop, int family, asok_sock **sock_out) {
  FORKED;
  return asokgo_udp_new(loop, family, (void **)sock_out);
}

int asok_receivefrom(asok_sock *s, size_t n, asok_token token,
                     const char **data, size_t *len, char *ip_out,
                     size_t iplen, int *port_out) {
  FORKED;
  return asokgo_receivefrom(s, n, token, (char **)data, len, ip_out, iplen,
                            port_out);
}

int asok_sendto(asok_sock *s, const char *data, size_t len, const char *ip,
                int port, asok_token token, size_t *sent) {
  FORKED;
  return asokgo_sendto(s, (char *)data, len, (char *)ip, port, token, sent);
}

int asok_throttle(asok_sock *s, int dir, double bps) {
  FORKED;
  return asokgo_throttle(s, dir, bps);
}

int asok_socks4_connect(asok_sock *s, const char *ip, int port,
                        const char *user, asok_token token) {
  FORKED;
  return asokgo_socks4_connect(s, (char *)ip, port, (char *)user, token);
}

int asok_socks5_connect(asok_sock *s, const char *host, int port,
                        const char *user, const char *password,
                        asok_token token) {
  FORKED;
  return asokgo_socks5_connect(s, (char *)host, port, (char *)user,
                               (char *)password, token);
}

/*=========================================================================*\
* memcpy_alias.c - how long this CPU's memcpy of N bytes takes by where its
* destination lies past its source modulo 4096 (4 KiB aliasing: a load
* whose address matches an earlier store's in the low 12 bits waits for
* it). A measurement for bench/README.md ("LuaJIT's stream line, split"),
* never a test.
*
*   cc -O2 -o memcpy_alias bench/c/memcpy_alias.c
*   taskset -c 0 ./memcpy_alias [N=65536] [SRCOFF=16] [STEP=8] [MAXDELTA=4096]
*
* Prints one line per delta = (dst - src) mod 4096 from 0 below MAXDELTA in
* steps of STEP: the delta and the best of 200 copies in ns. The source
* starts SRCOFF bytes past a page.
\*=========================================================================*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* now returns CLOCK_MONOTONIC in ns */
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? (size_t) atol(argv[1]) : 65536;
  int soff = argc > 2 ? atoi(argv[2]) : 16;
  int step = argc > 3 ? atoi(argv[3]) : 8;
  int maxd = argc > 4 ? atoi(argv[4]) : 4096;
  void *a, *b;
  if (n == 0 || soff < 0 || soff >= 4096 || step <= 0 || maxd <= 0) {
    fprintf(stderr, "usage: memcpy_alias [N] [SRCOFF 0..4095] [STEP>0] [MAXDELTA>0]\n");
    return 2;
  }
  if (posix_memalign(&a, 4096, n + 8192) != 0 || posix_memalign(&b, 4096, n + 8192) != 0) {
    perror("posix_memalign");
    return 1;
  }
  memset(a, 'x', n + 8192);
  memset(b, 'y', n + 8192);
  for (int d = 0; d < maxd; d += step) {
    char *src = (char *) a + soff;
    char *dst = (char *) b + (soff + d) % 4096;
    double best = 1e18;
    for (int r = 0; r < 200; r++) {
      double t0 = now();
      memcpy(dst, src, n);
      __asm__ volatile("" ::: "memory");
      double t = now() - t0;
      if (t < best) best = t;
    }
    printf("%d %.0f\n", d, best);
  }
  free(a);
  free(b);
  return 0;
}

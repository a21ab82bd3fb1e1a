/* check.h - tiny assertions for asok's C tests (libuv task.h style):
 * a failed check prints the expression and both values, then aborts. */
#ifndef ASOK_CHECK_H
#define ASOK_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(expr)                                                         \
  do {                                                                      \
    if (!(expr)) {                                                          \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr); \
      abort();                                                              \
    }                                                                       \
  } while (0)

#define CHECK_EQ(a, b)                                                      \
  do {                                                                      \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);         \
    if (check_a_ != check_b_) {                                             \
      fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n",     \
              __FILE__, __LINE__, #a, #b, check_a_, check_b_);              \
      abort();                                                              \
    }                                                                       \
  } while (0)

#define CHECK_STREQ(a, b)                                                   \
  do {                                                                      \
    const char *check_a_ = (a), *check_b_ = (b);                            \
    if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_)) { \
      fprintf(stderr, "%s:%d: CHECK_STREQ(%s, %s) failed: \"%s\" != \"%s\"\n", \
              __FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",   \
              check_b_ ? check_b_ : "(null)");                              \
      abort();                                                              \
    }                                                                       \
  } while (0)

/* EXPECT checks a receive: rc 0 and the len bytes at d equal to want. */
#define EXPECT(rc, d, len, want)                                            \
  do {                                                                      \
    CHECK_EQ(rc, 0);                                                        \
    CHECK_EQ(len, strlen(want));                                            \
    CHECK(memcmp(d, want, len) == 0);                                       \
  } while (0)
#endif

/* test_version.c - the loaded library matches the header it was built with. */
#include <string.h>

#include "asok.h"
#include "check.h"

int main(void) {
  char want[32];
  CHECK_EQ(asok_version() >> 16, ASOK_VERSION_MAJOR);
  CHECK_EQ(asok_version(), ASOK_VERSION_HEX);
  CHECK_STREQ(asok_version_string(), ASOK_VERSION_STRING);
  snprintf(want, sizeof want, "%u.%u.%u", asok_version() >> 16,
           (asok_version() >> 8) & 0xff, asok_version() & 0xff);
  CHECK_STREQ(asok_version_string(), want);
  CHECK_EQ(asok_debug_handles(), 0);
  printf("asok %s ok\n", asok_version_string());
  return 0;
}

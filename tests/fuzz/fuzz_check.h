// What every fuzz target shares: FUZZ_CHECK, an assertion that is never
// compiled out. A property a target checks that does not hold is a finding
// like a crash: it prints what failed and aborts, so libFuzzer saves the
// input (crash-<sha1>) and stops.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                        \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond);        \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

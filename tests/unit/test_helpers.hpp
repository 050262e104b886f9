// Shared helpers of the core's Criterion tests: expected paracloud::Error, string assertions.
#pragma once
#include <criterion/criterion.h>

#include <string>

#include "common/error.hpp"

// Runs f; fails the test unless it throws paracloud::Error with code `want`; returns its message.
template <class F>
std::string error_of(F&& f, paracloud::Errc want) {
  try {
    f();
  } catch (const paracloud::Error& e) {
    cr_assert_eq(static_cast<int>(e.code()), static_cast<int>(want), "error code %d, expected %d: %s",
                 static_cast<int>(e.code()), static_cast<int>(want), e.what());
    return e.what();
  }
  cr_assert_fail("no paracloud::Error was thrown");
  return {};
}

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// Compares as std::string: the actual value is often a temporary.
#define assert_str(actual, expected)                                                            \
  do {                                                                                          \
    std::string a_ = (actual), e_ = (expected);                                                 \
    cr_assert(a_ == e_, "%s is \"%s\", expected \"%s\"", #actual, a_.c_str(), e_.c_str()); \
  } while (0)

// Evaluates each argument once (an error_of(...) argument runs its code once); both may be
// std::string or const char*.
#define assert_contains(msg, needle)                                                               \
  do {                                                                                             \
    std::string m_ = (msg), n_ = (needle);                                                         \
    cr_assert(contains(m_, n_), "message \"%s\" lacks \"%s\"", m_.c_str(), n_.c_str());          \
  } while (0)

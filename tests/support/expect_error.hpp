// expect_error<E>(f): runs f, which must throw E; returns the message (and fails the test with
// what happened otherwise).
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <string>

namespace courier::test {

template <class E, class F>
std::string expect_error(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no exception";
  return {};
}

}  // namespace courier::test

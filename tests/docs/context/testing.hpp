// docs/testing.md: a stub, the type a client under test returns, and a function under test
// that retries with a sleep function it is given.
#pragma once
#include "common.hpp"

#include <courier/json.hpp>
#include <courier/logging_backend.hpp>
#include <courier/recording_backend.hpp>
#include <courier/testing/effective_headers.hpp>
#include <courier/testing/stub_backend.hpp>
#include <courier/testing/virtual_clock.hpp>

namespace ct = courier::testing;

extern ct::stub_backend stub;
extern cr::uri uri;

struct forecast {
  std::string city;
  int celsius = 0;
};

// The code under test of "Virtual time": asks until the answer is not a 503, sleeping 30 s
// between tries.
template <class Backend, class Sleep>
int fetch_with_retry(Backend& backend, Sleep sleep) {
  for (int attempt = 1;; ++attempt) {
    auto res = cr::basic_request().get(cr::uri("https://svc.example/status")).send(backend);
    if (res.status() != 503 || attempt == 5) return res.status();
    sleep(std::chrono::seconds(30));
  }
}

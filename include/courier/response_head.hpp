// The status line and headers of a response, before its body is read.
#pragma once

#include <courier/headers.hpp>
#include <courier/method.hpp>
#include <courier/uri.hpp>

#include <string>

namespace courier {

struct response_head {
  int status = 0;
  std::string reason;
  courier::headers headers;

  bool is_success() const noexcept { return status >= 200 && status < 300; }
  bool is_redirect() const noexcept { return status >= 300 && status < 400; }
};

/// One hop of a followed redirect: what was asked and what came back.
struct redirect_record {
  courier::method method{courier::method::get};
  courier::uri uri;
  response_head head;
};

}  // namespace courier

// libFuzzer target: arbitrary server bytes through the SOCKS5 parsers (method selection, auth
// status, CONNECT reply). Checks the parsers' promises, not just the absence of crashes: a
// request for more bytes asks for more than it was given (so a read loop always progresses)
// and is stable as bytes arrive; a complete reply fits in what was given; the only exception
// is protocol_error.
#include "proto/socks5/messages.hpp"

#include <courier/error.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

namespace socks5 = courier::proto::socks5;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Feeds every prefix of `bytes` and checks the need_more / complete contract.
template <class Result, class Parse>
void check_parser(Parse parse, std::string_view bytes) {
  std::size_t previous_need = 0;
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    auto prefix = bytes.substr(0, n);
    try {
      auto r = parse(prefix);
      if (auto* more = std::get_if<socks5::need_more>(&r)) {
        check(more->total > n);
        check(more->total >= previous_need);
        check(more->total <= 4 + 1 + 255 + 2);  // the longest reply
        previous_need = more->total;
        continue;
      }
      check(std::holds_alternative<Result>(r));
      if constexpr (std::is_same_v<Result, socks5::reply>) {
        const auto& rep = std::get<socks5::reply>(r);
        check(rep.wire_size <= n);
        check(rep.wire_size >= 7);  // a domain reply with an empty name
        check(!socks5::reply_message(rep.code).empty());
      }
      return;  // complete: longer inputs parse the same message
    } catch (const courier::protocol_error&) {
      return;  // garbage, reported as such
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_parser<socks5::method_selection>(socks5::parse_method_selection, bytes);
  check_parser<socks5::auth_status>(socks5::parse_auth_status, bytes);
  check_parser<socks5::reply>(socks5::parse_reply, bytes);
  return 0;
}

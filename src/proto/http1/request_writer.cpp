#include "proto/http1/request_writer.hpp"
#include "core/hot_path.hpp"

#include <courier/error.hpp>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>

namespace courier::proto::http1 {

namespace {

// Bytes that may not appear in a field name (1: controls, space, tab, colon), a field value
// (2: CR, LF, NUL) or a request target (4: controls, space), as one table: one lookup a byte.
constexpr std::array<std::uint8_t, 256> field_byte_rules = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c)
    t[c] |= 1 | 4;
  t[0x7f] |= 1 | 4;
  t[' '] |= 1 | 4;
  t[':'] |= 1;
  t['\r'] |= 2;
  t['\n'] |= 2;
  t['\0'] |= 2;
  return t;
}();

// A plain loop that stops at the first hit: the names and values are short, and GCC would
// otherwise unroll and vectorize it into hundreds of instructions per call site.
COURIER_HOT bool has_byte(std::string_view s, std::uint8_t rule) {
  for (char c : s) {
    if ((field_byte_rules[static_cast<unsigned char>(c)] & rule) != 0) return true;
  }
  return false;
}

// Fields were validated when added; this guards against a field added unchecked.
COURIER_HOT void check_field(std::string_view name, std::string_view value) {
  if (name.empty() || has_byte(name, 1)) {
    throw courier::invalid_header("invalid header field name '" + std::string(name) + "'");
  }
  if (has_byte(value, 2)) {
    throw courier::invalid_header("header field '" + std::string(name) +
                                  "' has a value with CR, LF or NUL");
  }
}

COURIER_HOT void check_target(std::string_view target) {
  if (target.empty()) throw courier::invalid_request("empty HTTP request target");
  if (has_byte(target, 4)) {
    throw courier::invalid_request("HTTP request target holds a space or control character: '" +
                                   std::string(target) + "'");
  }
}

// One line of the head from its four pieces: one size check and one growth, where four
// append() calls would each inline their own (this is on every request's path). Not inlined:
// its two callers share one copy.
[[gnu::noinline]] COURIER_HOT void append_line(std::string& head, std::string_view a,
                                               std::string_view b, std::string_view c,
                                               std::string_view d) {
  std::size_t at = head.size();
  head.resize(at + a.size() + b.size() + c.size() + d.size());
  for (std::string_view piece : {a, b, c, d}) {
    std::char_traits<char>::copy(head.data() + at, piece.data(), piece.size());
    at += piece.size();
  }
}

}  // namespace

std::string serialize_request_head(const courier::method& method, std::string_view target,
                                   const courier::headers& fields) {
  request_head_writer w(method, target);
  for (const header_field& field : fields)
    w.field(field.name, field.value);
  return w.finish();
}

COURIER_HOT request_head_writer::request_head_writer(const courier::method& method,
                                                     std::string_view target, std::string storage)
    : head_(std::move(storage)) {
  check_target(target);
  head_.clear();
  head_.reserve(256 + target.size());
  append_line(head_, method.name(), " ", target, " HTTP/1.1\r\n");
  request_line_size_ = head_.size();
}

COURIER_HOT std::string_view request_head_writer::fields() const noexcept {
  return std::string_view(head_).substr(request_line_size_);
}

COURIER_HOT void request_head_writer::field(std::string_view name, std::string_view value) {
  check_field(name, value);
  append_line(head_, name, ": ", value, "\r\n");
}

COURIER_HOT std::string request_head_writer::finish() {
  append_line(head_, "\r\n", {}, {}, {});
  return std::move(head_);
}

std::string chunk_prefix(std::size_t size) {
  if (size == 0) {
    throw std::invalid_argument("chunk_prefix(0) would end the body; send last_chunk instead");
  }
  static constexpr char digits[] = "0123456789abcdef";
  char buffer[2 * sizeof(std::size_t) + 2];
  char* end = buffer + sizeof(buffer);
  char* p = end;
  *--p = '\n';
  *--p = '\r';
  for (; size != 0; size >>= 4)
    *--p = digits[size & 0xf];
  return std::string(p, end);
}

}  // namespace courier::proto::http1

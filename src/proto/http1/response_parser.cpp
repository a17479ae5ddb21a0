// The HTTP/1.1 response parser: a hand-written state machine over lines and body bytes. It took
// over from a wrapper around Beast's basic_parser, which stays in fuzz/reference/ as the reference
// of the differential fuzz target (fuzz/http1_parser_differential.cpp lists what differs, on
// purpose).
#include "proto/http1/response_parser.hpp"
#include "core/hot_path.hpp"

#include <courier/error.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <vector>

namespace courier::proto::http1 {

namespace {

// --- character classes: one table lookup per byte ---

enum : unsigned char {
  tchar_class = 1,   // token characters (RFC 9110 5.6.2): field names, chunk-extension names
  text_class = 2,    // field values and reason phrases: HTAB, SP, VCHAR, obs-text
  qdtext_class = 4,  // inside a quoted string: text_class without '"' and '\'
};

constexpr std::array<unsigned char, 256> make_classes() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool text = c == '\t' || (c >= 0x20 && c != 0x7f);
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool tchar = alnum || (c < 0x80 && c != 0 &&
                                 std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                     std::string_view::npos);
    t[c] = static_cast<unsigned char>((tchar ? tchar_class : 0) | (text ? text_class : 0) |
                                      (text && c != '"' && c != '\\' ? qdtext_class : 0));
  }
  return t;
}
constexpr std::array<unsigned char, 256> classes = make_classes();

constexpr std::array<signed char, 256> make_hex_digits() {
  std::array<signed char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = c >= '0' && c <= '9'   ? static_cast<signed char>(c - '0')
           : c >= 'a' && c <= 'f' ? static_cast<signed char>(c - 'a' + 10)
           : c >= 'A' && c <= 'F' ? static_cast<signed char>(c - 'A' + 10)
                                  : -1;
  }
  return t;
}
constexpr std::array<signed char, 256> hex_digits = make_hex_digits();

inline bool is(unsigned char cls, char c) noexcept {
  return (classes[static_cast<unsigned char>(c)] & cls) != 0;
}
inline bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}
inline bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// The first byte of [p, end) that is not a value character (a control character, DEL, or the CR
// that ends the line), or end. Eight bytes at a time while none of them is below 0x20 or 0x7F.
// Not inlined: the status line and every field line share one copy of it.
[[gnu::noinline]] COURIER_HOT const char* scan_text(const char* p, const char* end) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101u;
  constexpr std::uint64_t highs = 0x8080808080808080u;
  if constexpr (std::endian::native == std::endian::little) {
    while (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      const std::uint64_t below_space = (w - ones * 0x20) & ~w & highs;
      const std::uint64_t x = w ^ (ones * 0x7f);
      const std::uint64_t del = (x - ones) & ~x & highs;
      const std::uint64_t found = below_space | del;
      if (found == 0) {
        p += 8;
        continue;
      }
      // No borrow reaches the first flagged byte, so the lowest flag is exact.
      const char* q = p + (std::countr_zero(found) >> 3);
      if (*q != '\t') return q;
      p = q + 1;  // HTAB is a value character
    }
  }
  while (p != end && is(text_class, *p))
    ++p;
  return p;
}

// `s` equals `lower` (lower case ASCII) ignoring the case of `s`.
inline bool iequals_lower(std::string_view s, std::string_view lower) noexcept {
  if (s.size() != lower.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
    if (c != lower[i]) return false;
  }
  return true;
}

// `name` (a token, or a field value: no CR) equals `lower`, 8 or more lower case letters and '-',
// ignoring case. Setting bit 5 of such a character yields a letter or '-' only from that letter in
// either case, or from '-'.
inline bool token_is(std::string_view name, std::string_view lower) noexcept {
  if (name.size() != lower.size()) return false;
  constexpr std::uint64_t case_bits = 0x2020202020202020u;
  std::uint64_t a, b;
  std::size_t at = 0;
  for (; at + 8 < name.size(); at += 8) {
    std::memcpy(&a, name.data() + at, 8);
    std::memcpy(&b, lower.data() + at, 8);
    if ((a | case_bits) != b) return false;
  }
  std::memcpy(&a, name.data() + name.size() - 8, 8);
  std::memcpy(&b, lower.data() + lower.size() - 8, 8);
  return (a | case_bits) == b;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back()))
    s.remove_suffix(1);
  return s;
}

// Walks a comma-separated list of tokens, "#token" with empty elements allowed (RFC 9110 5.6.1):
// OWS, commas and tokens only, and a comma between two tokens. Calls on_token for each token;
// returns false at the first character that breaks the grammar.
template <class OnToken>
bool for_each_list_token(std::string_view value, OnToken&& on_token) {
  const char* p = value.data();
  const char* const end = p + value.size();
  bool need_comma = false;
  while (true) {
    while (p != end && is_ows(*p))
      ++p;
    if (p == end) return true;
    if (*p == ',') {
      need_comma = false;
      ++p;
      continue;
    }
    if (!is(tchar_class, *p) || need_comma) return false;
    const char* token = p;
    while (p != end && is(tchar_class, *p))
      ++p;
    if (!on_token(std::string_view(token, static_cast<std::size_t>(p - token)))) return false;
    need_comma = true;
  }
}

[[noreturn]] COURIER_COLD void malformed(const std::string& what) {
  throw courier::protocol_error("malformed HTTP/1.1 response: " + what);
}
[[noreturn]] COURIER_COLD void malformed(const char* what) {
  malformed(std::string(what));
}

constexpr const char* bad_status_line =
    "malformed status line (expected \"HTTP/1.1 <3-digit status> <reason>\")";
constexpr const char* bad_line_ending = "a line of the response head does not end in CRLF";
constexpr const char* bad_content_length =
    "invalid Content-Length (not a number, or sent with Transfer-Encoding: chunked)";
constexpr const char* bad_transfer_encoding =
    "invalid Transfer-Encoding (repeated, or sent with Content-Length)";
// The longest Transfer-Encoding chain judged coding by coding, as for Content-Encoding: a
// longer list is refused for its length alone.
constexpr int max_transfer_codings = 4;
constexpr const char* bad_chunk_extension = "malformed chunk extension in a chunked body";

enum class state : unsigned char {
  status_line,  // the status line of a (final or interim) response
  fields,       // header fields
  body_length,  // a body framed by Content-Length: remaining_ bytes to go
  body_eof,     // a body that ends when the connection closes
  chunk_size,   // a chunk-size line
  chunk_data,   // chunk data: remaining_ bytes to go
  chunk_crlf,   // the CRLF after chunk data
  trailers,     // trailer fields after the last chunk
  done,
};

}  // namespace

struct response_parser::impl {
  explicit impl(parser_options options) : options_(options) {
    events_.reserve(4);  // head, a body piece, end
    start_message();
  }

  // --- state for the whole exchange ---
  parser_options options_;
  std::string pending_;              // an incomplete line taken from earlier input
  std::size_t pending_counted_ = 0;  // bytes of the line being parsed already counted to a limit
  std::vector<event> events_;
  std::size_t next_event_ = 0;
  bool done_ = false;
  bool started_ = false;
  int interim_responses_ = 0;
  std::exception_ptr failure_;

  // --- state for the message being parsed (an interim 1xx one, or the final one) ---
  state state_ = state::status_line;
  int status_ = 0;
  bool http11_ = false;
  std::string reason_;
  courier::headers fields_;
  courier::headers trailers_;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool has_content_length_ = false;
  std::uint64_t content_length_value_ = 0;
  bool chunked_ = false;  // a Transfer-Encoding field ended with "chunked"
  bool has_transfer_encoding_ = false;
  int chunked_codings_ = 0;         // "chunked" elements in the Transfer-Encoding fields
  int transfer_codings_ = 0;        // all codings listed in the Transfer-Encoding fields
  std::string unsupported_coding_;  // a Transfer-Encoding field value with another coding
  bool need_eof_ = false;           // the body ends when the connection closes
  std::optional<std::uint64_t> content_length_;  // as announced in the head event
  std::uint64_t remaining_ = 0;
  std::uint64_t body_bytes_ = 0;
  std::size_t head_bytes_ = 0;     // bytes of the status line and header section so far
  std::size_t framing_bytes_ = 0;  // bytes between two chunks' data (CRLF, chunk-size line,
                                   // trailers), limited like a header section
  int crlf_seen_ = 0;              // bytes of the CRLF after chunk data seen

  void start_message();
  std::size_t feed(std::string_view data);
  const char* feed_chunked_or_eof(const char* p, const char* end);
  const char* parse_lines(const char* p, const char* end);
  const char* finish_pending_line(const char* p, const char* end);
  const char* parse_line(const char* p, const char* end);
  const char* parse_status_line(const char* p, const char* end);
  const char* parse_field_line(const char* p, const char* end);
  const char* parse_chunk_size_line(const char* p, const char* end);
  void parse_chunk_extensions(const char* p, const char* end, bool bare_lf);
  const char* parse_chunk_crlf(const char* p, const char* end);
  // Counts `n` bytes of a line (complete or not) against the limit of the section it is in.
  void count(std::size_t n) {
    std::size_t& counted =
        state_ == state::status_line || state_ == state::fields ? head_bytes_ : framing_bytes_;
    counted += n;
    if (counted > options_.max_header_size) [[unlikely]] {
      section_too_large();
    }
  }
  [[noreturn]] void section_too_large() const;
  void line_complete(const char* begin, const char* end) {
    count(static_cast<std::size_t>(end - begin) - pending_counted_);
    pending_counted_ = 0;
  }
  void on_field(std::string_view name, std::string_view value);
  void on_connection(std::string_view value);
  void on_connection_list(std::string_view value);
  void on_content_length(std::string_view value);
  void on_content_length_list(std::string_view value);
  void check_transfer_codings() const;
  void on_transfer_encoding(std::string_view value);
  void on_head_complete();
  void on_body(const char* p, std::size_t n) {
    if (n == 0) return;
    body_bytes_ += n;
    events_.emplace_back(body_event{std::string_view(p, n)});
  }
  void finish();
  bool keep_alive() const noexcept {
    if (status_ == 101 || need_eof_) return false;
    return http11_ ? !connection_close_ : connection_keep_alive_;
  }
  void feed_eof();
};

COURIER_HOT void response_parser::impl::start_message() {
  state_ = state::status_line;
  status_ = 0;
  http11_ = false;
  reason_.clear();
  fields_ = {};
  fields_.reserve(16);  // a typical response head: one allocation, not five regrowths
  trailers_ = {};
  connection_close_ = false;
  connection_keep_alive_ = false;
  has_content_length_ = false;
  content_length_value_ = 0;
  chunked_ = false;
  has_transfer_encoding_ = false;
  chunked_codings_ = 0;
  transfer_codings_ = 0;
  unsupported_coding_.clear();
  need_eof_ = false;
  content_length_.reset();
  remaining_ = 0;
  body_bytes_ = 0;
  head_bytes_ = 0;
  framing_bytes_ = 0;
  crlf_seen_ = 0;
}

COURIER_COLD void response_parser::impl::section_too_large() const {
  const std::size_t limit = options_.max_header_size;
  if (state_ == state::status_line || state_ == state::fields) {
    throw courier::body_too_large("HTTP response header section is larger than max_header_size (" +
                                  std::to_string(limit) + " bytes)");
  }
  throw courier::body_too_large("HTTP chunk-size line or trailer section is larger than " +
                                std::to_string(limit) + " bytes (max_header_size)");
}

COURIER_HOT std::size_t response_parser::impl::feed(std::string_view data) {
  const char* const begin = data.data();
  const char* const end = begin + data.size();
  const char* p = begin;
  while (p != end && !done_) {
    switch (state_) {
      case state::status_line:
      case state::fields:
      case state::chunk_size:
      case state::trailers:
        p = pending_.empty() ? parse_lines(p, end) : finish_pending_line(p, end);
        break;
      case state::body_length: {
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(end - p)));
        on_body(p, n);
        p += n;
        remaining_ -= n;
        if (remaining_ == 0) finish();
        break;
      }
      default:
        p = feed_chunked_or_eof(p, end);
        break;
    }
  }
  return static_cast<std::size_t>(p - begin);
}

// The body states other than Content-Length's, apart from feed(): a keep-alive response
// with a known length never runs them.
[[gnu::noinline]] const char* response_parser::impl::feed_chunked_or_eof(const char* p,
                                                                         const char* end) {
  switch (state_) {
    case state::chunk_data: {
      const auto n = static_cast<std::size_t>(
          std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(end - p)));
      on_body(p, n);
      remaining_ -= n;
      if (remaining_ == 0) {
        state_ = state::chunk_crlf;
        crlf_seen_ = 0;
        framing_bytes_ = 0;
      }
      return p + n;
    }
    case state::chunk_crlf:
      return parse_chunk_crlf(p, end);
    case state::body_eof:
      on_body(p, static_cast<std::size_t>(end - p));
      return end;
    default:
      throw std::logic_error("HTTP/1.1 response parser: input after the end of a response");
  }
}

// Parses complete lines in place; keeps an incomplete last line in pending_.
COURIER_HOT const char* response_parser::impl::parse_lines(const char* p, const char* end) {
  while (p != end) {
    const char* next;
    if (state_ == state::fields) {
      next = parse_field_line(p, end);
    } else if (state_ == state::status_line || state_ == state::chunk_size ||
               state_ == state::trailers) {
      next = parse_line(p, end);
    } else {
      return p;
    }
    if (next == nullptr) {
      count(static_cast<std::size_t>(end - p));
      pending_.assign(p, end);
      return end;
    }
    p = next;
  }
  return p;
}

// Completes the line kept in pending_ with bytes up to the next LF, then parses it.
COURIER_COLD const char* response_parser::impl::finish_pending_line(const char* p,
                                                                    const char* end) {
  const auto* lf =
      static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  const char* taken_end = lf != nullptr ? lf + 1 : end;
  count(static_cast<std::size_t>(taken_end - p));
  pending_.append(p, taken_end);
  const char* line = pending_.data();
  const char* line_end = line + pending_.size();
  pending_counted_ = pending_.size();
  if (lf == nullptr) {
    // Still incomplete. A short line is checked again so that garbage fails early (a long one
    // is not, to keep byte-by-byte input linear).
    if (pending_.size() <= 64 && parse_line(line, line_end) != nullptr) {
      throw std::logic_error("HTTP/1.1 response parser: a line without LF was complete");
    }
    pending_counted_ = 0;
    return end;
  }
  if (parse_line(line, line_end) != line_end) {
    throw std::logic_error("HTTP/1.1 response parser: a kept line did not end at its LF");
  }
  pending_.clear();
  return taken_end;
}

// Parses one line of the current state. Returns the end of the line, or nullptr when [p, end)
// holds only the beginning of a line (nothing is changed then).
COURIER_HOT const char* response_parser::impl::parse_line(const char* p, const char* end) {
  switch (state_) {
    case state::status_line:
      return parse_status_line(p, end);
    case state::fields:
    case state::trailers:
      return parse_field_line(p, end);
    case state::chunk_size:
      return parse_chunk_size_line(p, end);
    default:
      throw std::logic_error("HTTP/1.1 response parser: not expecting a line");
  }
}

namespace {
// The start of a status line, up to the reason phrase.
constexpr std::string_view status_line_shape = "HTTP/1.x ddd ";

// Garbage fails on its first bytes: no need to wait for a CRLF that may never come.
COURIER_COLD void check_status_line_start(const char* p, std::size_t available) {
  for (std::size_t i = 0; i < status_line_shape.size() && i < available; ++i) {
    const char c = p[i];
    const char want = status_line_shape[i];
    const bool ok = want == 'x' ? (c == '0' || c == '1') : want == 'd' ? is_digit(c) : c == want;
    if (!ok) malformed(bad_status_line);
  }
}
}  // namespace

// status-line = HTTP-version SP 3DIGIT SP reason-phrase CRLF, with HTTP/1.0 or HTTP/1.1.
COURIER_HOT const char* response_parser::impl::parse_status_line(const char* p, const char* end) {
  constexpr std::string_view shape = status_line_shape;
  const std::size_t available = static_cast<std::size_t>(end - p);
  const bool whole_shape = available >= shape.size() && std::memcmp(p, "HTTP/1.", 7) == 0 &&
                           (p[7] == '0' || p[7] == '1') && p[8] == ' ' && is_digit(p[9]) &&
                           is_digit(p[10]) && is_digit(p[11]) && p[12] == ' ';
  if (!whole_shape) {
    check_status_line_start(p, available);
    return nullptr;  // only the beginning of a well-formed status line
  }
  const char* reason = p + shape.size();
  const char* cr = scan_text(reason, end);
  if (cr == end) return nullptr;
  if (*cr != '\r') {
    malformed(*cr == '\n' ? bad_line_ending
                          : "malformed status line: invalid characters in the reason phrase");
  }
  if (cr + 1 == end) return nullptr;
  if (cr[1] != '\n') malformed(bad_line_ending);
  const char* line_end = cr + 2;
  line_complete(p, line_end);
  const int status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  if (status < 100) {  // RFC 9110 section 15 defines 100-599; 6xx-9xx go to the caller
    malformed("invalid status code " + std::to_string(status));
  }
  status_ = status;
  http11_ = p[7] == '1';
  reason_.assign(reason, cr);
  state_ = state::fields;
  return line_end;
}

// field-line = field-name ":" OWS field-value OWS CRLF, or the empty line ending the section.
COURIER_HOT const char* response_parser::impl::parse_field_line(const char* p, const char* end) {
  const char* const line = p;
  courier::headers& section = state_ == state::fields ? fields_ : trailers_;
  if (*p == '\r') {
    if (p + 1 == end) return nullptr;
    if (p[1] != '\n') malformed(bad_line_ending);
    line_complete(line, p + 2);
    if (state_ == state::fields) {
      on_head_complete();
    } else {
      finish();
    }
    return p + 2;
  }
  if (is_ows(*p) && !section.empty()) {
    malformed("obsolete line folding (obs-fold) in header field '" + (section.end() - 1)->name +
              "' (RFC 9112 section 5.2)");
  }
  while (end - p >= 4 && is(tchar_class, p[0]) && is(tchar_class, p[1]) && is(tchar_class, p[2]) &&
         is(tchar_class, p[3])) {
    p += 4;
  }
  while (p != end && is(tchar_class, *p))
    ++p;
  if (p == end) return nullptr;
  if (*p != ':' || p == line)
    malformed(*p == '\n' ? bad_line_ending : "malformed header field name");
  const std::string_view name(line, static_cast<std::size_t>(p - line));
  ++p;
  if (p != end && *p == ' ') ++p;  // the usual single space
  while (p != end && is_ows(*p))
    ++p;
  if (p == end) return nullptr;
  const char* const value = p;
  const char* cr = scan_text(p, end);
  if (cr == end) return nullptr;
  if (*cr != '\r') malformed(*cr == '\n' ? bad_line_ending : "malformed header field value");
  if (cr + 1 == end) return nullptr;
  if (cr[1] != '\n') malformed(bad_line_ending);
  const char* value_end = cr;
  while (value_end != value && is_ows(value_end[-1]))
    --value_end;
  line_complete(line, cr + 2);
  on_field(name, std::string_view(value, static_cast<std::size_t>(value_end - value)));
  return cr + 2;
}

COURIER_HOT void response_parser::impl::on_field(std::string_view name, std::string_view value) {
  // The fields that frame the message or decide keep-alive; trailers go through the same checks,
  // so that a trailer cannot add framing and "Connection: close" in one still counts.
  switch (name.size()) {
    case 10:
      if (token_is(name, "connection")) on_connection(value);
      break;
    case 14:
      if (token_is(name, "content-length")) on_content_length(value);
      break;
    case 16:
      if (token_is(name, "proxy-connection")) on_connection(value);
      break;
    case 17:
      if (token_is(name, "transfer-encoding")) on_transfer_encoding(value);
      break;
    default:
      break;
  }
  courier::headers& section = state_ == state::fields ? fields_ : trailers_;
  section.add_unchecked(name, value);
}

COURIER_HOT void response_parser::impl::on_connection(std::string_view value) {
  if (value.size() == 10 && token_is(value, "keep-alive")) {  // the usual values, in one step
    connection_keep_alive_ = true;
    return;
  }
  on_connection_list(value);
}

COURIER_COLD void response_parser::impl::on_connection_list(std::string_view value) {
  const bool valid = for_each_list_token(value, [&](std::string_view option) {
    if (iequals_lower(option, "close")) {
      connection_close_ = true;
    } else if (iequals_lower(option, "keep-alive")) {
      connection_keep_alive_ = true;
    }
    return true;
  });
  if (!valid) malformed("malformed Connection header field value '" + std::string(value) + "'");
}

// Content-Length = 1*DIGIT, possibly repeated as a list of equal values (RFC 9110 8.6).
COURIER_HOT void response_parser::impl::on_content_length(std::string_view value) {
  if (chunked_) malformed(bad_content_length);
  if (!value.empty() && value.size() <= 19) {  // the usual value: one number, below 2^64
    std::uint64_t length = 0;
    const char* c = value.data();
    const char* const end = c + value.size();
    for (; c != end && is_digit(*c); ++c)
      length = length * 10 + static_cast<std::uint64_t>(*c - '0');
    if (c == end) {
      if (has_content_length_ && length != content_length_value_) {
        malformed("conflicting Content-Length values");
      }
      has_content_length_ = true;
      content_length_value_ = length;
      return;
    }
  }
  on_content_length_list(value);
}

// Content-Length as a list, or a number too long for the one-step reading above.
COURIER_COLD void response_parser::impl::on_content_length_list(std::string_view value) {
  std::string_view rest = value;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view element = trim_ows(rest.substr(0, comma));
    if (element.empty()) malformed(bad_content_length);
    std::uint64_t length = 0;
    for (char c : element) {
      if (!is_digit(c)) malformed(bad_content_length);
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (length > (UINT64_MAX - digit) / 10) malformed(bad_content_length);
      length = length * 10 + digit;
    }
    if (has_content_length_ && length != content_length_value_) {
      malformed("conflicting Content-Length values");
    }
    has_content_length_ = true;
    content_length_value_ = length;
    if (comma == std::string_view::npos) return;
    rest.remove_prefix(comma + 1);
  }
}

void response_parser::impl::on_transfer_encoding(std::string_view value) {
  if (chunked_ || has_content_length_) malformed(bad_transfer_encoding);
  has_transfer_encoding_ = true;
  // Framing: the list read as tokens up to the first character that breaks the list grammar;
  // chunked when the first "chunked" is the last of them (what Beast's parser did).
  int tokens = 0;
  int first_chunked = -1;
  for_each_list_token(value, [&](std::string_view coding) {
    if (first_chunked < 0 && iequals_lower(coding, "chunked")) first_chunked = tokens;
    ++tokens;
    return true;
  });
  if (first_chunked >= 0 && first_chunked == tokens - 1) chunked_ = true;
  // Support: only "chunked" can be decoded. Judged when the message turns out to have a body.
  std::string_view rest = value;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view coding = trim_ows(rest.substr(0, comma));
    if (!coding.empty()) ++transfer_codings_;
    if (iequals_lower(coding, "chunked")) {
      ++chunked_codings_;
    } else if (!coding.empty() && unsupported_coding_.empty()) {
      unsupported_coding_.assign(value);
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
}

// A message with a body and Transfer-Encoding: only a single, final chunked can be decoded.
COURIER_COLD void response_parser::impl::check_transfer_codings() const {
  if (transfer_codings_ > max_transfer_codings) {
    malformed("Transfer-Encoding lists " + std::to_string(transfer_codings_) +
              " codings, more than the limit of " + std::to_string(max_transfer_codings));
  }
  if (!unsupported_coding_.empty()) {
    malformed("unsupported Transfer-Encoding '" + unsupported_coding_ +
              "' (only chunked is supported)");
  }
  if (!chunked_ && chunked_codings_ > 0) {
    malformed("Transfer-Encoding applies chunked more than once");
  }
}

COURIER_HOT void response_parser::impl::on_head_complete() {
  if (status_ < 200 && status_ != 101) {
    ++interim_responses_;  // 100 Continue, 103 Early Hints, ...: not the answer
    start_message();       // the final response follows
    return;
  }
  bool has_body = true;
  if (options_.expect_no_body || status_ < 200 || status_ == 204 || status_ == 304) {
    has_body = false;
  } else if (has_content_length_) {
    has_body = content_length_value_ > 0;
  } else if (!chunked_) {
    need_eof_ = true;
  }
  if (has_body && has_transfer_encoding_) check_transfer_codings();
  content_length_ = has_body
                        ? (has_content_length_ ? std::optional<std::uint64_t>(content_length_value_)
                                               : std::nullopt)
                        : std::optional<std::uint64_t>(0);
  auto& head = std::get<head_event>(events_.emplace_back(std::in_place_type<head_event>));
  head.status = status_;
  head.reason = std::move(reason_);
  head.headers = std::move(fields_);
  head.keep_alive = keep_alive();
  head.content_length = content_length_;
  head.chunked = has_body && chunked_;
  if (!has_body) {
    finish();
  } else if (has_content_length_) {
    remaining_ = content_length_value_;
    state_ = state::body_length;
  } else if (chunked_) {
    framing_bytes_ = 0;
    state_ = state::chunk_size;
  } else {
    state_ = state::body_eof;
  }
}

// chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk = 1*"0" [ chunk-ext ] CRLF.
const char* response_parser::impl::parse_chunk_size_line(const char* p, const char* end) {
  const auto* lf =
      static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  if (lf == nullptr) return nullptr;
  const bool bare_lf = lf == p || lf[-1] != '\r';
  const char* content_end = bare_lf ? lf : lf - 1;
  const char* line_end = lf + 1;
  line_complete(p, line_end);
  if (std::memchr(p, '\r', static_cast<std::size_t>(content_end - p)) != nullptr) {
    malformed("malformed chunked body: a chunk-size line does not end in CRLF");
  }
  const char* q = p;
  std::uint64_t size = 0;
  if (q == content_end || hex_digits[static_cast<unsigned char>(*q)] < 0) {
    malformed("malformed chunked body: bad chunk-size line");
  }
  for (; q != content_end && hex_digits[static_cast<unsigned char>(*q)] >= 0; ++q) {
    if (size > (UINT64_MAX >> 4)) malformed("malformed chunked body: the chunk size overflows");
    size = (size << 4) | static_cast<std::uint64_t>(hex_digits[static_cast<unsigned char>(*q)]);
  }
  parse_chunk_extensions(q, content_end, bare_lf);
  if (bare_lf) malformed("malformed chunked body: a chunk-size line does not end in CRLF");
  if (size == 0) {
    state_ = state::trailers;  // the framing count goes on through the trailer section
  } else {
    remaining_ = size;
    state_ = state::chunk_data;
  }
  return line_end;
}

// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val = token / quoted-string
// (RFC 9112 7.1.1). Extensions are checked and ignored.
void response_parser::impl::parse_chunk_extensions(const char* p, const char* end, bool bare_lf) {
  const auto skip_bws = [&] {
    while (p != end && is_ows(*p))
      ++p;
  };
  const auto fail = [] { malformed(bad_chunk_extension); };
  const auto control = [] {
    malformed(std::string(bad_chunk_extension) + ": a control character in a quoted value");
  };
  while (p != end) {
    skip_bws();
    if (p == end || *p != ';') fail();
    ++p;
    skip_bws();
    if (p == end || !is(tchar_class, *p)) fail();
    while (p != end && is(tchar_class, *p))
      ++p;
    const char* before_bws = p;
    skip_bws();
    if (p == end) {
      if (p != before_bws) fail();
      return;
    }
    if (*p == ';') continue;
    if (*p != '=') fail();
    ++p;
    skip_bws();
    if (p == end) fail();
    if (*p == '"') {
      for (++p;; ++p) {
        if (p == end) {
          if (bare_lf) control();  // the LF that ended the line is inside the quotes
          fail();
        }
        if (*p == '"') break;
        if (*p == '\\') {
          ++p;
          if (p == end) {
            if (bare_lf) control();
            fail();
          }
          if (!is(text_class, *p)) control();
        } else if (!is(qdtext_class, *p)) {
          control();
        }
      }
      ++p;
    } else {
      if (!is(tchar_class, *p)) fail();
      while (p != end && is(tchar_class, *p))
        ++p;
    }
  }
}

const char* response_parser::impl::parse_chunk_crlf(const char* p, const char* end) {
  while (p != end && crlf_seen_ < 2) {
    if (*p != (crlf_seen_ == 0 ? '\r' : '\n')) {
      malformed(
          "malformed chunked body: chunk data longer than its chunk size, or no CRLF after it");
    }
    ++p;
    ++crlf_seen_;
    count(1);
  }
  if (crlf_seen_ == 2) state_ = state::chunk_size;
  return p;
}

void response_parser::impl::finish() {
  state_ = state::done;
  done_ = true;
  events_.emplace_back(end_event{keep_alive(), std::move(trailers_)});
}

void response_parser::impl::feed_eof() {
  if (done_) return;
  if (!started_) {
    throw courier::read_error("connection closed before any byte of the HTTP response arrived");
  }
  if (state_ == state::status_line || state_ == state::fields) {
    if (interim_responses_ > 0 && head_bytes_ == 0) {
      throw courier::read_error(
          "connection closed after an interim 1xx response, before the final response");
    }
    throw courier::read_error("connection closed in the middle of the HTTP response header (" +
                              std::to_string(head_bytes_) + " bytes of it received)");
  }
  if (state_ == state::body_eof) {
    finish();
    return;
  }
  std::string what = "connection closed after " + std::to_string(body_bytes_) + " body bytes";
  if (content_length_) {
    what += " of the " + std::to_string(*content_length_) + " announced by Content-Length";
  } else if (chunked_) {
    what += ", before the end of the chunked body";
  }
  throw courier::read_error(what);
}

response_parser::response_parser(parser_options options) : impl_(std::make_unique<impl>(options)) {}
response_parser::~response_parser() = default;
response_parser::response_parser(response_parser&&) noexcept = default;
response_parser& response_parser::operator=(response_parser&&) noexcept = default;

COURIER_HOT std::size_t response_parser::feed(std::string_view data) {
  impl& s = *impl_;
  if (s.failure_) std::rethrow_exception(s.failure_);
  if (s.done_ || data.empty()) return 0;
  if (s.next_event_ == s.events_.size()) {
    s.events_.clear();
    s.next_event_ = 0;
  }
  s.started_ = true;
  try {
    return s.feed(data);
  } catch (...) {
    s.failure_ = std::current_exception();
    throw;
  }
}

void response_parser::feed_eof() {
  impl& s = *impl_;
  if (s.failure_) std::rethrow_exception(s.failure_);
  try {
    s.feed_eof();
  } catch (...) {
    s.failure_ = std::current_exception();
    throw;
  }
}

std::optional<event> response_parser::next_event() {
  event* e = take_event();
  if (e == nullptr) return std::nullopt;
  return std::move(*e);
}

COURIER_HOT event* response_parser::take_event() noexcept {
  impl& s = *impl_;
  if (s.next_event_ == s.events_.size()) {
    // Every event was handed out, and the pointers to them may now go.
    s.events_.clear();
    s.next_event_ = 0;
    return nullptr;
  }
  return &s.events_[s.next_event_++];
}

bool response_parser::done() const noexcept {
  return impl_->done_;
}
bool response_parser::started() const noexcept {
  return impl_->started_;
}
int response_parser::interim_responses() const noexcept {
  return impl_->interim_responses_;
}
std::uint64_t response_parser::body_bytes() const noexcept {
  return impl_->body_bytes_;
}

COURIER_HOT void response_parser::reset(parser_options options) {
  impl& s = *impl_;
  s.options_ = options;
  s.pending_.clear();  // keeps its capacity for the next response
  s.pending_counted_ = 0;
  s.events_.clear();
  s.next_event_ = 0;
  s.done_ = false;
  s.started_ = false;
  s.interim_responses_ = 0;
  s.failure_ = nullptr;
  s.start_message();
}

}  // namespace courier::proto::http1

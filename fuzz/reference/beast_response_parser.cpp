// The Beast-based response parser, verbatim but for its namespace: see beast_response_parser.hpp.
#include "beast_response_parser.hpp"

#include "core/http_grammar.hpp"

#include <courier/error.hpp>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/optional.hpp>

#include <algorithm>
#include <exception>
#include <functional>
#include <limits>
#include <stdexcept>
#include <vector>

namespace courier::fuzz_reference {

namespace {

namespace bhttp = boost::beast::http;
using boost::system::error_code;
using bsv = boost::beast::string_view;  // boost::core::string_view in Boost 1.81

// The smallest slice of new input appended to an incomplete line kept from an earlier feed().
// Slices then double, so completing a line copies at most about twice its length, and body
// bytes after it are parsed in place.
constexpr std::size_t min_pending_slice = 256;

std::string describe(const error_code& ec) {
  using e = bhttp::error;
  if (ec == e::bad_line_ending) return "a line of the response head does not end in CRLF";
  if (ec == e::bad_version)
    return "malformed status line (expected \"HTTP/1.1 <3-digit status> <reason>\")";
  if (ec == e::bad_status) return "malformed status line: the status code is not 3 digits";
  if (ec == e::bad_reason)
    return "malformed status line: invalid characters in the reason phrase, or the line does not "
           "end in CRLF";
  if (ec == e::bad_field) return "malformed header field name";
  if (ec == e::bad_value) return "malformed header field value";
  if (ec == e::bad_content_length)
    return "invalid Content-Length (not a number, or sent with Transfer-Encoding: chunked)";
  if (ec == e::multiple_content_length) return "conflicting Content-Length values";
  if (ec == e::bad_transfer_encoding)
    return "invalid Transfer-Encoding (repeated, or sent with Content-Length)";
  if (ec == e::bad_chunk)
    return "malformed chunked body: bad chunk-size line, or chunk data longer than its size";
  if (ec == e::bad_chunk_extension) return "malformed chunk extension in a chunked body";
  if (ec == e::bad_obs_fold) return "obsolete line folding (obs-fold) in a header field";
  return ec.message();
}

}  // namespace

struct response_parser::impl {
  // Beast's parser, handing every callback to the impl.
  class beast_parser final : public bhttp::basic_parser<false> {
   public:
    explicit beast_parser(impl& owner) : owner_(owner) {}

   private:
    void on_request_impl(bhttp::verb, bsv, bsv, int, error_code& ec) override {
      ec = bhttp::error::bad_version;  // never called for a response parser
    }
    void on_response_impl(int status, bsv reason, int, error_code&) override;
    void on_field_impl(bhttp::field f, bsv name, bsv value, error_code& ec) override;
    void on_header_impl(error_code& ec) override;
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(bsv body, error_code&) override;
    void on_chunk_header_impl(std::uint64_t, bsv, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, bsv body, error_code&) override;
    void on_finish_impl(error_code&) override;

    impl& owner_;
  };

  explicit impl(parser_options options) : options_(options) {
    events_.reserve(4);  // head, a body piece, end
    start_message();
  }

  // --- state for the whole exchange ---
  parser_options options_;
  std::optional<beast_parser> beast_;
  std::string pending_;  // an incomplete line (or header section) taken from earlier input
  std::vector<event> events_;
  std::size_t next_event_ = 0;
  bool done_ = false;
  bool started_ = false;
  int interim_responses_ = 0;
  std::exception_ptr failure_;

  // --- state for the message being parsed (an interim 1xx one, or the final one) ---
  int status_ = 0;
  std::string reason_;
  courier::headers fields_;
  courier::headers trailers_;
  std::string transfer_encoding_;
  bool head_done_ = false;
  bool interim_ = false;
  std::optional<std::uint64_t> content_length_;
  std::uint64_t body_bytes_ = 0;
  std::size_t header_bytes_ = 0;
  std::string check_failure_;  // why one of our own checks inside a Beast callback failed
  const char* input_end_ = nullptr;

  void start_message();
  std::size_t feed(std::string_view data);
  std::size_t step(std::string_view input, bool& need_more);
  void keep_pending(std::string_view tail);
  void check_pending_size() const;
  [[noreturn]] void fail(const error_code& ec);
  void feed_eof();

  // Callbacks from Beast.
  void on_status(int status, std::string_view reason, error_code& ec) {
    if (status < 100) {  // RFC 9110 section 15 defines 100-599; 6xx-9xx go to the caller
      check_failure_ = "invalid status code " + std::to_string(status);
      ec = bhttp::error::bad_status;
      return;
    }
    status_ = status;
    reason_.assign(reason);
  }
  void on_field(bhttp::field f, std::string_view name, std::string_view value, error_code& ec);
  void on_header(error_code& ec);
  void on_body(std::string_view data) {
    if (data.empty()) return;
    body_bytes_ += data.size();
    events_.emplace_back(body_event{data});
  }
  void on_finish();
  bool folded(std::string_view name, std::string_view value) const;
};

void response_parser::impl::beast_parser::on_response_impl(int status, bsv reason, int,
                                                           error_code& ec) {
  owner_.on_status(status, std::string_view(reason.data(), reason.size()), ec);
}
void response_parser::impl::beast_parser::on_field_impl(bhttp::field f, bsv name, bsv value,
                                                        error_code& ec) {
  owner_.on_field(f, std::string_view(name.data(), name.size()),
                  std::string_view(value.data(), value.size()), ec);
}
void response_parser::impl::beast_parser::on_header_impl(error_code& ec) {
  owner_.on_header(ec);
}
std::size_t response_parser::impl::beast_parser::on_body_impl(bsv body, error_code&) {
  owner_.on_body(std::string_view(body.data(), body.size()));
  return body.size();
}
std::size_t response_parser::impl::beast_parser::on_chunk_body_impl(std::uint64_t, bsv body,
                                                                    error_code&) {
  owner_.on_body(std::string_view(body.data(), body.size()));
  return body.size();
}
void response_parser::impl::beast_parser::on_finish_impl(error_code&) {
  owner_.on_finish();
}

void response_parser::impl::start_message() {
  // A Beast parser parses one message; the next one needs a fresh parser.
  beast_.emplace(*this);
  beast_->eager(false);  // one step per put(): see feed()
  beast_->header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(options_.max_header_size, std::numeric_limits<std::uint32_t>::max())));
  beast_->body_limit(boost::none);  // the body streams through; the backend applies its limits
  if (options_.expect_no_body) beast_->skip(true);
  status_ = 0;
  reason_.clear();
  fields_ = {};
  fields_.reserve(16);  // a typical response head: one allocation, not five regrowths
  trailers_ = {};
  transfer_encoding_.clear();
  head_done_ = false;
  interim_ = false;
  content_length_.reset();
  body_bytes_ = 0;
  header_bytes_ = 0;
  check_failure_.clear();
}

bool response_parser::impl::folded(std::string_view name, std::string_view value) const {
  // Beast unfolds obs-fold, either into a side buffer or by skipping an empty first line. In both
  // cases the value no longer follows "name:" and optional whitespace in the input.
  const char* after_colon = name.data() + name.size() + 1;
  const char* v = value.data();
  std::less_equal<const char*> le;
  if (!le(after_colon, v) || !le(v, input_end_)) return true;
  return !std::all_of(after_colon, v, [](char c) { return c == ' ' || c == '\t'; });
}

void response_parser::impl::on_field(bhttp::field f, std::string_view name, std::string_view value,
                                     error_code& ec) {
  if (folded(name, value)) {
    check_failure_ = "obsolete line folding (obs-fold) in header field '" + std::string(name) +
                     "' (RFC 9112 section 5.2)";
    ec = bhttp::error::bad_obs_fold;
    return;
  }
  if (head_done_) {
    trailers_.add_unchecked(std::string(name), std::string(value));
    return;
  }
  if (f == bhttp::field::transfer_encoding) transfer_encoding_.assign(value);
  fields_.add_unchecked(std::string(name), std::string(value));
}

void response_parser::impl::on_header(error_code& ec) {
  head_done_ = true;
  if (status_ >= 100 && status_ < 200 && status_ != 101) {
    interim_ = true;  // 100 Continue, 103 Early Hints, ...: not the answer
    return;
  }
  const bool has_body = !beast_->is_done();
  if (has_body && !transfer_encoding_.empty()) {
    // Beast frames the body by a final "chunked" only; any other transfer coding would hand
    // the caller bytes it cannot read.
    std::string_view rest = transfer_encoding_;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string_view coding = courier::detail::trim_ows(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (coding.empty() || courier::iequals(coding, "chunked")) continue;
      check_failure_ =
          "unsupported Transfer-Encoding '" + transfer_encoding_ + "' (only chunked is supported)";
      ec = bhttp::error::bad_transfer_encoding;
      return;
    }
  }
  if (!has_body) {
    content_length_ = 0;
  } else if (auto length = beast_->content_length()) {
    content_length_ = *length;
  }
  head_event head;
  head.status = status_;
  head.reason = std::move(reason_);
  head.headers = std::move(fields_);
  head.keep_alive = status_ != 101 && beast_->keep_alive();
  head.content_length = content_length_;
  head.chunked = has_body && beast_->chunked();
  events_.emplace_back(std::move(head));
}

void response_parser::impl::on_finish() {
  if (interim_) return;
  done_ = true;
  events_.emplace_back(end_event{status_ != 101 && beast_->keep_alive(), std::move(trailers_)});
}

[[noreturn]] void response_parser::impl::fail(const error_code& ec) {
  if (ec == bhttp::error::header_limit) {
    throw courier::body_too_large("HTTP response header section is larger than max_header_size (" +
                                  std::to_string(options_.max_header_size) + " bytes)");
  }
  std::string what = check_failure_.empty() ? describe(ec) : check_failure_;
  throw courier::protocol_error("malformed HTTP/1.1 response: " + what);
}

std::size_t response_parser::impl::step(std::string_view input, bool& need_more) {
  const bool in_header = !beast_->is_header_done();
  input_end_ = input.data() + input.size();
  error_code ec;
  std::size_t used = beast_->put(boost::asio::const_buffer(input.data(), input.size()), ec);
  need_more = ec == bhttp::error::need_more;
  if (ec && !need_more) fail(ec);
  if (in_header) {
    // Beast consumes complete fields as they come, so count them across calls.
    header_bytes_ += used;
    if (header_bytes_ > options_.max_header_size) fail(bhttp::error::header_limit);
  }
  if (beast_->is_done() && interim_) {
    ++interim_responses_;
    start_message();  // the final response follows
  }
  return used;
}

void response_parser::impl::check_pending_size() const {
  const std::size_t limit = options_.max_header_size;
  if (!beast_->is_header_done()) {
    if (header_bytes_ + pending_.size() > limit) {
      throw courier::body_too_large(
          "HTTP response header section is larger than max_header_size (" + std::to_string(limit) +
          " bytes)");
    }
  } else if (pending_.size() > limit) {
    throw courier::body_too_large("HTTP chunk-size line or trailer section is larger than " +
                                  std::to_string(limit) + " bytes (max_header_size)");
  }
}

void response_parser::impl::keep_pending(std::string_view tail) {
  pending_.assign(tail);
  check_pending_size();
}

// Beast parses a line (status line, field, chunk-size line, trailers) only once it is complete,
// and wants it presented again from its start together with more bytes. Lines cut by the end of
// the input are kept in pending_ so that every byte given to feed() is consumed.
std::size_t response_parser::impl::feed(std::string_view data) {
  std::size_t taken = 0;
  std::size_t appended = 0;  // bytes of `data` copied to pending_ and not yet parsed
  while (!done_) {
    bool need_more = false;
    if (pending_.empty()) {
      appended = 0;
      if (taken == data.size()) break;
      std::size_t used = step(data.substr(taken), need_more);
      taken += used;
      if (need_more) {
        keep_pending(data.substr(taken));
        taken = data.size();
        break;
      }
      if (used == 0 && !done_) {
        throw std::logic_error("HTTP/1.1 response parser made no progress");
      }
      continue;
    }
    if (taken == data.size()) break;
    const std::size_t slice =
        std::min(data.size() - taken, std::max(pending_.size(), min_pending_slice));
    pending_.append(data.substr(taken, slice));
    taken += slice;
    appended += slice;
    std::size_t used = step(pending_, need_more);
    const std::size_t leftover = pending_.size() - used;
    if (used > 0 && leftover <= appended) {
      // What is left came from `data`: give it back and parse it in place.
      taken -= leftover;
      pending_.clear();
      continue;
    }
    if (used > 0) pending_.erase(0, used);
    if (!need_more && !done_) {
      throw std::logic_error("HTTP/1.1 response parser made no progress");
    }
    check_pending_size();
  }
  // Kept bytes are always an unfinished line, which no complete response can leave behind.
  if (done_ && !pending_.empty()) throw std::logic_error("HTTP/1.1 response parser lost bytes");
  return taken;
}

void response_parser::impl::feed_eof() {
  if (done_) return;
  if (!started_) {
    throw courier::read_error("connection closed before any byte of the HTTP response arrived");
  }
  if (!beast_->is_header_done()) {
    if (interim_responses_ > 0 && !beast_->got_some() && pending_.empty()) {
      throw courier::read_error(
          "connection closed after an interim 1xx response, before the final response");
    }
    throw courier::read_error("connection closed in the middle of the HTTP response header (" +
                              std::to_string(header_bytes_ + pending_.size()) +
                              " bytes of it received)");
  }
  error_code ec;
  beast_->put_eof(ec);
  if (ec) {
    std::string what = "connection closed after " + std::to_string(body_bytes_) + " body bytes";
    if (content_length_) {
      what += " of the " + std::to_string(*content_length_) + " announced by Content-Length";
    } else if (beast_->chunked()) {
      what += ", before the end of the chunked body";
    }
    throw courier::read_error(what);
  }
}

response_parser::response_parser(parser_options options) : impl_(std::make_unique<impl>(options)) {}
response_parser::~response_parser() = default;
response_parser::response_parser(response_parser&&) noexcept = default;
response_parser& response_parser::operator=(response_parser&&) noexcept = default;

std::size_t response_parser::feed(std::string_view data) {
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
  impl& s = *impl_;
  if (s.next_event_ == s.events_.size()) return std::nullopt;
  std::optional<event> result{std::move(s.events_[s.next_event_++])};
  if (s.next_event_ == s.events_.size()) {
    s.events_.clear();
    s.next_event_ = 0;
  }
  return result;
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

void response_parser::reset(parser_options options) {
  impl& s = *impl_;
  s.options_ = options;
  s.pending_.clear();
  s.events_.clear();
  s.next_event_ = 0;
  s.done_ = false;
  s.started_ = false;
  s.interim_responses_ = 0;
  s.failure_ = nullptr;
  s.start_message();
}

}  // namespace courier::fuzz_reference

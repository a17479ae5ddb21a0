#include "proto/ws/deflate.hpp"

#include <courier/error.hpp>

#include <zlib.h>

#include <algorithm>
#include <new>

namespace courier::proto::ws {
namespace {

constexpr char flush_marker[4] = {'\x00', '\x00', '\xff', '\xff'};
constexpr std::size_t max_zlib_slice = std::size_t{1} << 30;

courier::unexpected<std::string> fail(std::string why) {
  return courier::unexpected<std::string>(std::move(why));
}

void check_window_bits(const char* name, const std::optional<int>& bits) {
  if (bits && (*bits < 8 || *bits > 15)) {
    throw courier::invalid_request(std::string("permessage-deflate ") + name +
                                   " must be 8..15, not " + std::to_string(*bits));
  }
}

// RFC 7692 7.1.2: 1*DIGIT without leading zeros, 8..15.
std::optional<int> parse_window_bits(const std::string& v) {
  if (v.empty() || v.size() > 2 || v[0] == '0') return std::nullopt;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15) return std::nullopt;
  return n;
}

std::string zlib_message(const z_stream& s, int rc) {
  if (s.msg != nullptr) return s.msg;
  return "zlib error " + std::to_string(rc);
}

}  // namespace

std::string deflate_offer::header_value() const {
  check_window_bits("client_max_window_bits", client_max_window_bits);
  check_window_bits("server_max_window_bits", server_max_window_bits);
  std::string v(permessage_deflate_name);
  if (client_no_context_takeover) v += "; client_no_context_takeover";
  if (server_no_context_takeover) v += "; server_no_context_takeover";
  if (client_max_window_bits) {
    v += "; client_max_window_bits=" + std::to_string(*client_max_window_bits);
  } else if (advertise_client_max_window_bits) {
    v += "; client_max_window_bits";
  }
  if (server_max_window_bits) {
    v += "; server_max_window_bits=" + std::to_string(*server_max_window_bits);
  }
  return v;
}

courier::expected<deflate_params, std::string> negotiate_deflate(
    const deflate_offer& offer, const std::vector<extension_param>& response) {
  deflate_params p;
  bool seen_server_nct = false, seen_client_nct = false;
  bool seen_server_bits = false, seen_client_bits = false;

  for (const auto& param : response) {
    const std::string& name = param.name;
    auto once = [&](bool& seen) -> bool {
      if (seen) return false;
      seen = true;
      return true;
    };
    if (name == "server_no_context_takeover" || name == "client_no_context_takeover") {
      const bool server = name[0] == 's';
      if (!once(server ? seen_server_nct : seen_client_nct)) return fail(name + " appears twice");
      if (param.value) return fail(name + " takes no value, got \"" + *param.value + "\"");
      (server ? p.server_no_context_takeover : p.client_no_context_takeover) = true;
    } else if (name == "server_max_window_bits" || name == "client_max_window_bits") {
      const bool server = name[0] == 's';
      if (!once(server ? seen_server_bits : seen_client_bits)) return fail(name + " appears twice");
      if (!server && !offer.client_max_window_bits && !offer.advertise_client_max_window_bits) {
        return fail("the server sent client_max_window_bits, which the client did not offer");
      }
      if (!param.value) return fail(name + " needs a value in a response");
      const auto bits = parse_window_bits(*param.value);
      if (!bits) return fail(name + "=" + *param.value + " is not a window size in 8..15");
      const auto& limit = server ? offer.server_max_window_bits : offer.client_max_window_bits;
      if (limit && *bits > *limit) {
        return fail(name + "=" + *param.value + " is larger than the offered " +
                    std::to_string(*limit));
      }
      (server ? p.server_max_window_bits : p.client_max_window_bits) = *bits;
    } else {
      return fail("unknown permessage-deflate parameter \"" + name + "\"");
    }
  }

  // A request about the server's side that is not echoed means the server answered a
  // different offer than ours (RFC 7692 7.1.1.1 and 7.1.2.1).
  if (offer.server_no_context_takeover && !seen_server_nct) {
    return fail("the server did not accept server_no_context_takeover");
  }
  if (offer.server_max_window_bits && !seen_server_bits) {
    return fail("the server did not accept server_max_window_bits");
  }
  // Our own promises stand even when the server does not repeat them.
  if (offer.client_no_context_takeover) p.client_no_context_takeover = true;
  if (!seen_client_bits && offer.client_max_window_bits) {
    p.client_max_window_bits = *offer.client_max_window_bits;
  }
  return p;
}

// ---- message_deflater ----

message_deflater::message_deflater(int window_bits, bool no_context_takeover, int level)
    : stream_(std::make_unique<z_stream>()), no_context_takeover_(no_context_takeover) {
  if (window_bits < 8 || window_bits > 15) {
    throw courier::invalid_request("deflate window bits must be 8..15, not " +
                                   std::to_string(window_bits));
  }
  const int bits = std::max(window_bits, 9);
  const int rc = deflateInit2(stream_.get(), level, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY);
  if (rc == Z_MEM_ERROR) throw std::bad_alloc();
  if (rc != Z_OK) {
    stream_.reset();
    throw courier::invalid_request("deflateInit2 failed: " + std::to_string(rc));
  }
}

message_deflater::message_deflater(message_deflater&& other) noexcept = default;

message_deflater& message_deflater::operator=(message_deflater&& other) noexcept {
  if (this != &other) {
    if (stream_) deflateEnd(stream_.get());
    stream_ = std::move(other.stream_);
    no_context_takeover_ = other.no_context_takeover_;
  }
  return *this;
}

message_deflater::~message_deflater() {
  if (stream_) deflateEnd(stream_.get());
}

void message_deflater::compress(std::string_view in, bool fin, std::string& out) {
  const std::size_t start = out.size();
  // zlib counts in uInt: feed inputs of 4 GiB and more in slices.
  while (in.size() > max_zlib_slice) {
    compress_slice(in.substr(0, max_zlib_slice), out);
    in.remove_prefix(max_zlib_slice);
  }
  compress_slice(in, out);
  if (!fin) return;
  const std::size_t produced = out.size() - start;
  if (produced >= 4 &&
      std::string_view(out).substr(out.size() - 4) == std::string_view(flush_marker, 4)) {
    out.resize(out.size() - 4);
  }
  if (out.size() == start) out.push_back('\x00');
  if (no_context_takeover_) deflateReset(stream_.get());
}

void message_deflater::compress_slice(std::string_view in, std::string& out) {
  z_stream& s = *stream_;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  // Enough for incompressible input plus block headers and the flush marker in one call.
  std::size_t room = in.size() + in.size() / 1000 + 64;
  while (true) {
    const std::size_t old = out.size();
    out.resize(old + room);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    s.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&s, Z_SYNC_FLUSH);
    out.resize(old + room - s.avail_out);
    if (rc == Z_BUF_ERROR) break;  // nothing left to do: already flushed
    if (rc != Z_OK) throw courier::protocol_error("deflate failed: " + zlib_message(s, rc));
    if (s.avail_out != 0 && s.avail_in == 0) break;
    room = std::max<std::size_t>(room * 2, 1024);
  }
}

// ---- message_inflater ----

message_inflater::message_inflater(bool no_context_takeover)
    : stream_(std::make_unique<z_stream>()), no_context_takeover_(no_context_takeover) {
  // A 15-bit window decodes data made with any smaller window, whatever the server chose.
  const int rc = inflateInit2(stream_.get(), -15);
  if (rc == Z_MEM_ERROR) throw std::bad_alloc();
  if (rc != Z_OK) {
    stream_.reset();
    throw courier::invalid_request("inflateInit2 failed: " + std::to_string(rc));
  }
}

message_inflater::message_inflater(message_inflater&& other) noexcept = default;

message_inflater& message_inflater::operator=(message_inflater&& other) noexcept {
  if (this != &other) {
    if (stream_) inflateEnd(stream_.get());
    stream_ = std::move(other.stream_);
    no_context_takeover_ = other.no_context_takeover_;
    error_ = std::move(other.error_);
  }
  return *this;
}

message_inflater::~message_inflater() {
  if (stream_) inflateEnd(stream_.get());
}

message_inflater::status message_inflater::inflate(std::string_view in, std::string& out,
                                                   std::size_t max_output) {
  while (in.size() > max_zlib_slice) {
    const std::size_t before = out.size();
    const status st = inflate_slice(in.substr(0, max_zlib_slice), out, max_output);
    if (st != status::ok) return st;
    max_output -= out.size() - before;
    in.remove_prefix(max_zlib_slice);
  }
  return inflate_slice(in, out, max_output);
}

message_inflater::status message_inflater::inflate_slice(std::string_view in, std::string& out,
                                                         std::size_t max_output) {
  z_stream& s = *stream_;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  std::size_t produced = 0;
  // Start near the likely output size and double; never ask for more than one byte past the
  // limit, so the limit bounds memory as well as the result.
  std::size_t step = std::clamp<std::size_t>(in.size() * 4, 256, std::size_t{1} << 16);
  while (true) {
    const std::size_t left = max_output - produced;
    const std::size_t room = left >= step ? step : left + 1;
    const std::size_t old = out.size();
    out.resize(old + room);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    s.avail_out = static_cast<uInt>(room);
    const int rc = ::inflate(&s, Z_SYNC_FLUSH);
    const std::size_t got = room - s.avail_out;
    out.resize(old + got);
    produced += got;
    if (produced > max_output) {
      out.resize(out.size() - (produced - max_output));
      return status::too_big;
    }
    if (rc == Z_STREAM_END) {
      // A block with BFINAL set (RFC 7692 7.2.3.4): whatever follows is a new stream.
      inflateReset(&s);
      if (s.avail_in == 0) return status::ok;
      continue;
    }
    if (rc == Z_BUF_ERROR) return status::ok;  // all input used, nothing pending
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc != Z_OK) {
      error_ = zlib_message(s, rc);
      inflateReset(&s);
      return status::corrupt;
    }
    if (s.avail_in == 0 && s.avail_out != 0) return status::ok;
    step = std::min<std::size_t>(step * 2, std::size_t{1} << 20);
  }
}

message_inflater::status message_inflater::end_message(std::string& out, std::size_t max_output) {
  const status st = inflate(std::string_view(flush_marker, 4), out, max_output);
  if (st == status::ok && no_context_takeover_) inflateReset(stream_.get());
  return st;
}

}  // namespace courier::proto::ws

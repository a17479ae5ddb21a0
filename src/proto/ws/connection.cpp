#include "proto/ws/connection.hpp"

#include <courier/error.hpp>

#include <algorithm>
#include <cstring>

namespace courier::proto::ws {

using courier::ws::opcode;
namespace close_code = courier::ws::close_code;

namespace {

constexpr std::uint8_t op_continuation = 0, op_binary = 2;
constexpr std::uint8_t op_close = 8, op_ping = 9, op_pong = 10;

constexpr bool is_control_opcode(std::uint8_t op) noexcept {
  return (op & 0x8) != 0;
}
constexpr bool is_known_opcode(std::uint8_t op) noexcept {
  return op <= op_binary || (op >= op_close && op <= op_pong);
}

// Close reasons must fit in 123 bytes; ours are ASCII, so cutting anywhere keeps them UTF-8.
std::string_view fit_reason(std::string_view reason) noexcept {
  return reason.substr(0, 123);
}

const char* state_name(state s) noexcept {
  switch (s) {
    case state::open:
      return "open";
    case state::closing:
      return "closing (a close frame was already sent)";
    case state::close_received:
      return "close_received (the peer closed; the reply was sent)";
    case state::closed:
      return "closed";
  }
  return "?";
}

}  // namespace

connection::connection(connection_options options) : options_(std::move(options)) {
  if (options_.deflate) {
    deflater_.emplace(options_.deflate->client_max_window_bits,
                      options_.deflate->client_no_context_takeover);
    inflater_.emplace(options_.deflate->server_no_context_takeover);
  }
}

// ---------------------------------------------------------------- input

void connection::receive_data(std::string_view bytes) {
  const char* p = bytes.data();
  std::size_t n = bytes.size();
  while (n != 0 && !input_done_) {
    if (in_payload_) {
      const std::size_t take = payload_left_ < n ? static_cast<std::size_t>(payload_left_) : n;
      consume_payload(std::string_view(p, take));
      if (input_done_) return;
      p += take;
      n -= take;
      payload_left_ -= take;
      if (payload_left_ == 0) end_frame();
      continue;
    }

    if (header_have_ == 0 && n >= 2) {
      // The usual case: the whole header is in this read; decode it in place.
      const auto* u = reinterpret_cast<const unsigned char*>(p);
      if (!check_frame_start(u[0], u[1])) return;
      const header_decode_result r = decode_frame_header(std::string_view(p, n));
      if (r.status == header_decode_status::ok) {
        p += r.size;
        n -= r.size;
        begin_frame(r.header);
        continue;
      }
      if (r.status == header_decode_status::length_top_bit_set) {
        fail(close_code::protocol_error, "frame length with the most significant bit set");
        return;
      }
      header_checked_ = true;
    }

    // A header cut by the end of a read: gather it in header_buf_.
    const std::size_t take = std::min(n, max_frame_header_size - header_have_);
    std::memcpy(header_buf_ + header_have_, p, take);
    const std::size_t have = header_have_ + take;
    if (!header_checked_ && have >= 2) {
      const auto* u = reinterpret_cast<const unsigned char*>(header_buf_);
      if (!check_frame_start(u[0], u[1])) return;
      header_checked_ = true;
    }
    const header_decode_result r = decode_frame_header(std::string_view(header_buf_, have));
    if (r.status == header_decode_status::ok) {
      const std::size_t used = r.size - header_have_;
      p += used;
      n -= used;
      header_have_ = 0;
      header_checked_ = false;
      begin_frame(r.header);
      continue;
    }
    if (r.status == header_decode_status::length_top_bit_set) {
      fail(close_code::protocol_error, "frame length with the most significant bit set");
      return;
    }
    header_have_ = have;  // still incomplete, so all of the input was taken
    p += take;
    n -= take;
  }
}

// The checks that need only the first two header bytes, so that a bad frame fails before the
// rest of its header (or payload) arrives.
bool connection::check_frame_start(unsigned char b0, unsigned char b1) {
  const bool fin = (b0 & 0x80) != 0;
  const bool rsv1 = (b0 & 0x40) != 0;
  const std::uint8_t op = b0 & 0x0f;
  const unsigned len7 = b1 & 0x7f;
  if ((b1 & 0x80) != 0) {
    fail(close_code::protocol_error, "the server sent a masked frame; server frames are unmasked");
    return false;
  }
  if (!is_known_opcode(op)) {
    fail(close_code::protocol_error, "reserved opcode " + std::to_string(op));
    return false;
  }
  if ((b0 & 0x30) != 0) {
    fail(close_code::protocol_error,
         "rsv2 or rsv3 set, but no extension using them was negotiated");
    return false;
  }
  if (is_control_opcode(op)) {
    if (!fin) {
      fail(close_code::protocol_error,
           "fragmented control frame (opcode " + std::to_string(op) + ")");
      return false;
    }
    if (len7 > 125) {
      fail(close_code::protocol_error, "control frame payload longer than 125 bytes");
      return false;
    }
    if (rsv1) {
      fail(close_code::protocol_error, "rsv1 set on a control frame");
      return false;
    }
    return true;
  }
  if (op == op_continuation) {
    if (!in_message_) {
      fail(close_code::protocol_error, "continuation frame without a message to continue");
      return false;
    }
    if (rsv1) {
      fail(close_code::protocol_error, "rsv1 set on a continuation frame");
      return false;
    }
    return true;
  }
  if (in_message_) {
    fail(close_code::protocol_error,
         "a new data frame arrived before the fragmented message was finished");
    return false;
  }
  if (rsv1 && !inflater_) {
    fail(close_code::protocol_error, "rsv1 set, but permessage-deflate was not negotiated");
    return false;
  }
  return true;
}

void connection::begin_frame(const frame_header& h) {
  frame_ = h;
  payload_left_ = h.payload_length;
  payload_.clear();
  payload_sized_ = false;
  if (!is_control_opcode(h.opcode)) {
    if (h.opcode != op_continuation) {
      in_message_ = true;
      message_type_ = static_cast<opcode>(h.opcode);
      message_compressed_ = h.rsv1;
      message_size_ = 0;
      utf8_.reset();
    }
    if (!message_compressed_) {
      // Counted from the header, before any of the payload is buffered.
      if (h.payload_length > options_.max_message_size - message_size_) {
        fail(close_code::message_too_big, "message larger than the limit of " +
                                              std::to_string(options_.max_message_size) + " bytes");
        return;
      }
      message_size_ += static_cast<std::size_t>(h.payload_length);
      payload_.reserve(static_cast<std::size_t>(h.payload_length));
    }
  }
  in_payload_ = true;
  if (payload_left_ == 0) end_frame();
}

void connection::consume_payload(std::string_view chunk) {
  if (is_control_opcode(frame_.opcode)) {
    payload_.append(chunk);
    return;
  }
  const bool text = message_type_ == opcode::text;
  if (!message_compressed_) {
    // Validate before copying: a bad byte fails the connection without buffering more.
    if (text && !utf8_.feed(chunk)) {
      fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
      return;
    }
    if (payload_sized_) {
      if (payload_.size() < payload_filled_ + chunk.size()) {
        payload_.resize(payload_filled_ + chunk.size());
      }
      std::memcpy(payload_.data() + payload_filled_, chunk.data(), chunk.size());
      payload_filled_ += chunk.size();
    } else {
      payload_.append(chunk);
    }
    return;
  }
  const std::size_t before = payload_.size();
  const auto st = inflater_->inflate(chunk, payload_, options_.max_message_size - message_size_);
  check_inflate(st, before);
}

std::span<char> connection::payload_space(std::size_t min_size) {
  if (input_done_ || !in_payload_ || is_control_opcode(frame_.opcode) || message_compressed_ ||
      payload_left_ < std::max<std::size_t>(min_size, 1)) {
    return {};
  }
  if (!payload_sized_) {
    payload_filled_ = payload_.size();
    payload_sized_ = true;
  }
  // The string grows (within the capacity reserved for the frame) a step at a time: the zero
  // fill is cheaper than the copy it saves, and a step is still in cache when the read lands.
  constexpr std::size_t step = 256 * 1024;
  const std::size_t want =
      payload_filled_ + static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, step));
  if (payload_.size() < want) payload_.resize(want);
  return {payload_.data() + payload_filled_, payload_.size() - payload_filled_};
}

void connection::payload_written(std::size_t n) {
  if (!payload_sized_ || !in_payload_ || n > payload_.size() - payload_filled_) {
    throw courier::invalid_request("payload_written(" + std::to_string(n) +
                                   ") without that much payload_space()");
  }
  if (n == 0 || input_done_) return;
  if (message_type_ == opcode::text &&
      !utf8_.feed(std::string_view(payload_.data() + payload_filled_, n))) {
    fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
    return;
  }
  payload_filled_ += n;
  payload_left_ -= n;
  if (payload_left_ == 0) end_frame();
}

// Accounts for freshly inflated bytes: the size limit, corrupt data and (for text) UTF-8.
bool connection::check_inflate(message_inflater::status st, std::size_t before) {
  message_size_ += payload_.size() - before;
  if (st == message_inflater::status::too_big) {
    fail(close_code::message_too_big, "decompressed message larger than the limit of " +
                                          std::to_string(options_.max_message_size) + " bytes");
    return false;
  }
  if (st == message_inflater::status::corrupt) {
    fail(close_code::invalid_payload,
         "invalid permessage-deflate data: " + inflater_->error_message());
    return false;
  }
  if (message_type_ == opcode::text && !utf8_.feed(std::string_view(payload_).substr(before))) {
    fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
    return false;
  }
  return true;
}

void connection::end_frame() {
  in_payload_ = false;
  if (is_control_opcode(frame_.opcode)) {
    handle_control();
    return;
  }
  if (frame_.fin) {
    if (message_compressed_) {
      const std::size_t before = payload_.size();
      const auto st = inflater_->end_message(payload_, options_.max_message_size - message_size_);
      if (!check_inflate(st, before)) return;
    }
    if (message_type_ == opcode::text && !utf8_.complete()) {
      fail(close_code::invalid_payload, "a text message ends inside a UTF-8 sequence");
      return;
    }
    in_message_ = false;
  }
  push(data_event{message_type_, frame_.opcode == op_continuation, frame_.fin, frame_.rsv1,
                  frame_.rsv2, frame_.rsv3, std::move(payload_)});
  payload_.clear();
}

void connection::handle_control() {
  if (frame_.opcode == op_ping) {
    push(ping_event{std::move(payload_)});
    payload_.clear();
    return;
  }
  if (frame_.opcode == op_pong) {
    push(pong_event{std::move(payload_)});
    payload_.clear();
    return;
  }

  // Close (RFC 6455 5.5.1, 7.1.5, 7.4).
  courier::ws::close_event close;
  if (payload_.size() == 1) {
    fail(close_code::protocol_error, "close frame with a 1-byte payload");
    return;
  }
  if (payload_.size() >= 2) {
    const auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload_[0]) << 8) |
                                                 static_cast<unsigned char>(payload_[1]));
    if (!courier::ws::is_valid_close_code(code)) {
      fail(close_code::protocol_error, "invalid close code " + std::to_string(code));
      return;
    }
    const std::string_view reason = std::string_view(payload_).substr(2);
    if (!is_valid_utf8(reason)) {
      fail(close_code::invalid_payload, "close reason is not valid UTF-8");
      return;
    }
    close.code = code;
    close.reason = std::string(reason);
  }
  input_done_ = true;  // nothing may follow a close frame
  push(close_received{std::move(close)});
}

void connection::fail(std::uint16_t code, std::string reason) {
  input_done_ = true;
  in_message_ = false;
  push(protocol_violation{code, std::move(reason)});
}

void connection::receive_eof() {
  eof_received_ = true;
  if (input_done_) {
    if (state_ == state::close_received) state_ = state::closed;
    return;
  }
  input_done_ = true;
  const bool mid_frame = in_payload_ || header_have_ != 0;
  push(close_received{courier::ws::close_event{
      close_code::abnormal, mid_frame ? "the server closed the connection in the middle of a frame"
                                      : "the server closed the connection without a close frame"}});
}

void connection::push(event e) {
  if (event_head_ != 0 && event_head_ == events_.size()) {
    events_.clear();
    event_head_ = 0;
  }
  events_.push_back(std::move(e));
}

std::optional<event> connection::next_event() {
  if (event_head_ == events_.size()) return std::nullopt;
  std::optional<event> e(std::move(events_[event_head_++]));
  // Replies (a pong, our close frame after the peer's or after a violation) are queued now
  // rather than when the frame was parsed, so that whatever the caller sends in answer to the
  // events before (the echo of a message that arrived in the same read, say) goes out first,
  // as it would from a peer that reads one frame at a time.
  if (const auto* ping = std::get_if<ping_event>(&*e)) {
    if (options_.auto_pong && state_ == state::open && !eof_received_) {
      write_frame(opcode::pong, true, false, ping->payload);
    }
  } else if (const auto* closed = std::get_if<close_received>(&*e)) {
    on_close_delivered(closed->close);
  } else if (const auto* violation = std::get_if<protocol_violation>(&*e)) {
    on_violation_delivered(*violation);
  }
  if (event_head_ == events_.size()) {
    events_.clear();
    event_head_ = 0;
  } else if (event_head_ >= 1024 && event_head_ * 2 >= events_.size()) {
    // A caller that drains slower than events arrive: drop the consumed front now and then.
    events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(event_head_));
    event_head_ = 0;
  }
  return e;
}

void connection::on_close_delivered(const courier::ws::close_event& close) {
  if (close.code == close_code::abnormal || eof_received_) {
    state_ = state::closed;  // the stream is gone: nothing to answer on
  } else if (state_ == state::open) {
    // Echo the code (none if the peer sent none); the handshake is then done both ways.
    write_close(close.code, {});
    state_ = state::close_received;
  } else if (state_ == state::closing) {
    state_ = state::closed;
  }
}

void connection::on_violation_delivered(const protocol_violation& v) {
  if (state_ == state::open && !eof_received_) write_close(v.close_code, fit_reason(v.reason));
  state_ = state::closed;
}

// ---------------------------------------------------------------- output

frame_header connection::next_header(opcode op, bool fin, bool rsv1, std::size_t length,
                                     std::optional<mask_key> key) {
  frame_header h;
  h.fin = fin;
  h.rsv1 = rsv1;
  h.opcode = static_cast<std::uint8_t>(op);
  h.masked = true;
  h.key = key ? *key : keys_.next();
  h.payload_length = length;
  return h;
}

void connection::write_frame(opcode op, bool fin, bool rsv1, std::string_view payload) {
  const frame_header h = next_header(op, fin, rsv1, payload.size());
  // One reservation for header and payload; the payload is masked as it is copied in.
  char* dst = out_.prepare(frame_header_size(payload.size(), true) + payload.size());
  const std::size_t header = encode_frame_header(h, dst);
  copy_masked(dst + header, payload.data(), payload.size(), h.key);
  out_.commit(header + payload.size());
}

void connection::write_data(opcode op, bool fin, bool rsv1, std::string_view payload,
                            std::string* owned) {
  const std::size_t step = options_.fragment_size == 0 ? payload.size() : options_.fragment_size;
  std::size_t at = 0;
  for (;;) {
    const std::size_t n = std::min(step, payload.size() - at);
    const bool last = at + n == payload.size();
    const opcode frame_op = at == 0 ? op : opcode::continuation;
    const bool frame_rsv1 = at == 0 && rsv1;  // compression is marked on the first frame only
    if (!owned) {
      write_frame(frame_op, last && fin, frame_rsv1, payload.substr(at, n));
    } else {
      const frame_header h = next_header(frame_op, last && fin, frame_rsv1, n);
      char* dst = out_.prepare(frame_header_size(n, true));
      out_.commit(encode_frame_header(h, dst));
      if (at == 0 && last && !unmasked_.data) {
        // One frame: masked as it is written (mask_output), not all before its first byte.
        unmasked_ = unmasked_payload{owned->data(), n, 0, out_taken_ + out_.size(), h.key};
      } else {
        apply_mask(owned->data() + at, n, h.key);
      }
      if (last) {
        out_.append(std::move(*owned), at);
      } else {
        out_.append_borrowed(std::string_view(owned->data() + at, n));
      }
    }
    if (last) return;
    at += n;
  }
}

void connection::write_close(std::uint16_t code, std::string_view reason) {
  if (code == close_code::no_status) {
    write_frame(opcode::close, true, false, {});
    return;
  }
  char payload[125];
  payload[0] = static_cast<char>(code >> 8);
  payload[1] = static_cast<char>(code & 0xff);
  reason = reason.substr(0, 123);
  if (!reason.empty()) std::memcpy(payload + 2, reason.data(), reason.size());
  write_frame(opcode::close, true, false, std::string_view(payload, 2 + reason.size()));
}

void connection::send(const courier::ws::frame& f, bool is_continuation) {
  send_frame(f, is_continuation, nullptr);
}

void connection::send(courier::ws::frame&& f, bool is_continuation) {
  send_frame(f, is_continuation, &f.payload);
}

void connection::send_frame(const courier::ws::frame& f, bool is_continuation, std::string* owned) {
  if (f.op == opcode::close) {
    if (!f.fin) throw courier::invalid_request("a close frame cannot be fragmented");
    if (is_continuation) throw courier::invalid_request("a close frame cannot be a continuation");
    if (f.payload.size() == 1) {
      throw courier::invalid_request(
          "a close frame payload is empty or at least 2 bytes (the code)");
    }
    const auto code = f.close_code_value();
    send_close(code ? *code : close_code::no_status, f.close_reason());
    return;
  }
  if (state_ != state::open) {
    throw courier::protocol_error(std::string("cannot send a WebSocket frame: the connection is ") +
                                  state_name(state_));
  }
  const auto raw_op = static_cast<std::uint8_t>(f.op);
  if (!is_known_opcode(raw_op)) {
    throw courier::invalid_request("cannot send reserved opcode " + std::to_string(raw_op));
  }
  if (f.is_control()) {
    if (!f.fin) throw courier::invalid_request("a ping or pong cannot be fragmented (fin = false)");
    if (is_continuation) throw courier::invalid_request("a ping or pong cannot be a continuation");
    if (f.payload.size() > 125) {
      throw courier::invalid_request("a ping or pong payload is at most 125 bytes, not " +
                                     std::to_string(f.payload.size()));
    }
    write_frame(f.op, true, false, f.payload);
    return;
  }

  const bool continuation = is_continuation || f.op == opcode::continuation;
  if (continuation && !sending_fragmented_) {
    throw courier::protocol_error(
        "a continuation frame needs a message started with fin = false, and none is open");
  }
  if (!continuation && sending_fragmented_) {
    throw courier::protocol_error(
        "a new message cannot start before the fragmented one is finished: send its remaining "
        "frames with is_continuation = true");
  }
  const opcode type = continuation ? send_type_ : f.op;
  const opcode wire_op = continuation ? opcode::continuation : type;
  if (type == opcode::text && owned && !deflater_ && owned->size() >= owned_payload_min &&
      (options_.fragment_size == 0 || owned->size() <= options_.fragment_size)) {
    send_text_in_place(wire_op, f.fin, continuation, *owned);
    return;
  }
  if (type == opcode::text) {
    // On a copy, so a rejected frame leaves the message's state as it was.
    utf8_validator v = continuation ? send_utf8_ : utf8_validator{};
    if (!v.feed(f.payload)) throw courier::invalid_request("text frame payload is not valid UTF-8");
    if (f.fin && !v.complete()) {
      throw courier::invalid_request("text message ends inside a UTF-8 sequence");
    }
    send_utf8_ = v;
  }

  const bool fin = f.fin;
  if (deflater_) {
    compressed_.clear();
    deflater_->compress(f.payload, fin, compressed_);
    const bool give = compressed_.size() >= owned_payload_min;
    write_data(wire_op, fin, !continuation, compressed_, give ? &compressed_ : nullptr);
    if (give) compressed_ = std::string();
  } else {
    const bool give = owned && owned->size() >= owned_payload_min;
    write_data(wire_op, fin, false, f.payload, give ? owned : nullptr);
  }
  sending_fragmented_ = !fin;
  send_type_ = type;
}

// A large text payload given away, sent as one frame: each slice is validated and then
// masked while it is still in cache, rather than in two passes over the whole payload. A
// rejected payload is unmasked again (masking is its own inverse), so the caller's bytes
// come back as they were.
void connection::send_text_in_place(opcode wire_op, bool fin, bool continuation,
                                    std::string& payload) {
  utf8_validator v = continuation ? send_utf8_ : utf8_validator{};
  const mask_key key = keys_.next();
  constexpr std::size_t slice = 16 * 1024;  // a multiple of 4: every slice starts at key byte 0
  std::size_t done = 0;
  auto reject = [&](const char* why) {
    apply_mask(payload.data(), done, key);
    throw courier::invalid_request(why);
  };
  while (done < payload.size()) {
    const std::size_t n = std::min(slice, payload.size() - done);
    if (!v.feed(std::string_view(payload.data() + done, n))) {
      reject("text frame payload is not valid UTF-8");
    }
    apply_mask(payload.data() + done, n, key);
    done += n;
  }
  if (fin && !v.complete()) reject("text message ends inside a UTF-8 sequence");
  send_utf8_ = v;
  const frame_header h = next_header(wire_op, fin, false, payload.size(), key);
  char* dst = out_.prepare(frame_header_size(payload.size(), true));
  out_.commit(encode_frame_header(h, dst));
  out_.append(std::move(payload));
  sending_fragmented_ = !fin;
  send_type_ = opcode::text;
}

void connection::send_close(std::uint16_t code, std::string_view reason) {
  if (state_ != state::open) {
    throw courier::protocol_error(std::string("cannot send a close frame: the connection is ") +
                                  state_name(state_));
  }
  if (code == close_code::no_status) {
    if (!reason.empty()) throw courier::invalid_request("a close reason needs a close code");
  } else if (!courier::ws::is_valid_close_code(code)) {
    throw courier::invalid_request("close code " + std::to_string(code) +
                                   " may not be sent (RFC 6455 7.4): use 1000-1003, 1007-1014 "
                                   "or 3000-4999");
  }
  if (reason.size() > 123) {
    throw courier::invalid_request("a close reason is at most 123 bytes, not " +
                                   std::to_string(reason.size()));
  }
  if (!is_valid_utf8(reason)) throw courier::invalid_request("close reason is not valid UTF-8");
  write_close(code, reason);
  state_ = state::closing;
}

void connection::consume_output(std::size_t n) {
  if (n > out_.size()) {
    throw courier::invalid_request("consume_output(" + std::to_string(n) + ") but only " +
                                   std::to_string(out_.size()) + " bytes are pending");
  }
  mask_output(n);  // written bytes were masked; this keeps the unmasked part's bounds right
  out_.consume(n);
  out_taken_ += n;
}

void connection::mask_unmasked_payload(std::size_t n) const noexcept {
  unmasked_payload& u = unmasked_;
  const std::uint64_t end = out_taken_ + n;
  if (end <= u.stream_at + u.masked) return;
  const auto upto = static_cast<std::size_t>(std::min<std::uint64_t>(end - u.stream_at, u.size));
  apply_mask(u.data + u.masked, upto - u.masked, u.key, u.masked);
  u.masked = upto;
  if (u.masked == u.size) u = unmasked_payload{};
}

void connection::take_output(output_queue& into) {
  if (!into.empty()) {
    throw courier::invalid_request("take_output into a buffer that still holds " +
                                   std::to_string(into.size()) + " bytes");
  }
  mask_output(out_.size());
  out_taken_ += out_.size();
  out_.swap(into);
}

}  // namespace courier::proto::ws

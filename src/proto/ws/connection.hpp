// The client side of an open WebSocket connection (RFC 6455 5-7, RFC 7692 6-7), sans I/O:
// bytes from the server go in, events come out, and frames to send pile up as bytes for the
// I/O layer to write. No sockets, threads or clocks.
#pragma once

#include "proto/ws/deflate.hpp"
#include "proto/ws/frame_codec.hpp"
#include "proto/ws/output_queue.hpp"
#include "proto/ws/random.hpp"
#include "proto/ws/utf8.hpp"

#include <courier/ws/frame.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace courier::proto::ws {

struct connection_options {
  /// The largest incoming message (after decompression), counted as its frames arrive; a
  /// bigger one fails the connection with 1009 before it is buffered.
  std::size_t max_message_size = std::size_t{16} << 20;
  /// The negotiated permessage-deflate parameters, if the handshake agreed on compression.
  std::optional<deflate_params> deflate;
  /// Answer each ping with a pong carrying its payload while the connection is open (queued
  /// when its ping_event is taken from next_event()). The ping_event is delivered either way;
  /// turn this off to answer (or not) yourself.
  bool auto_pong = true;
  /// Outgoing data frames with a longer payload go out as several frames of at most this many
  /// bytes (RFC 6455 5.4); 0 sends every frame as given.
  std::size_t fragment_size = 0;
};

/// One data frame, or the part of a message it carried.
struct data_event {
  /// text or binary: the type of the whole message, also on its continuation frames.
  courier::ws::opcode message_type = courier::ws::opcode::text;
  /// False on a message's first frame.
  bool is_continuation = false;
  /// True on a message's last frame.
  bool fin = true;
  /// As on the wire (rsv1 marks a compressed message's first frame).
  bool rsv1 = false, rsv2 = false, rsv3 = false;
  /// The frame's payload, decompressed. Text is valid UTF-8 so far (a code point may continue
  /// in the next frame).
  std::string payload;

  friend bool operator==(const data_event&, const data_event&) = default;
};

struct ping_event {
  std::string payload;
  friend bool operator==(const ping_event&, const ping_event&) = default;
};

struct pong_event {
  std::string payload;
  friend bool operator==(const pong_event&, const pong_event&) = default;
};

/// The peer's close frame arrived (or the stream ended without one: code 1006). By the time
/// next_event() returns it, the core has queued the reply (the same code, or an empty close
/// frame if the peer sent no code) unless it had sent a close frame already.
struct close_received {
  courier::ws::close_event close;
  friend bool operator==(const close_received&, const close_received&) = default;
};

/// The server broke the protocol. Input is ignored from that point on; by the time
/// next_event() returns this event the core has queued a close frame with this code (unless it
/// had sent one before) and the state is closed.
struct protocol_violation {
  std::uint16_t close_code = courier::ws::close_code::protocol_error;
  std::string reason;
  friend bool operator==(const protocol_violation&, const protocol_violation&) = default;
};

using event = std::variant<data_event, ping_event, pong_event, close_received, protocol_violation>;

/// Where the close handshake stands. Incoming close frames, violations and the end of the
/// stream change it when their event is taken from next_event(), so that the caller can still
/// answer the events before them (an echo, say) ahead of our close frame.
enum class state {
  open,
  closing,         ///< we sent a close frame and wait for the peer's
  close_received,  ///< the peer sent close first; our reply is queued
  closed,          ///< both close frames exchanged, the connection failed, or the stream ended
};

class connection {
 public:
  explicit connection(connection_options options = {});

  // ---- input ----

  /// Parses every complete frame in `bytes` (with what was left over before); any split of
  /// the stream is fine. Each payload byte is copied once, into its event.
  void receive_data(std::string_view bytes);
  /// The server closed the TCP stream. Before the close handshake is done this yields a
  /// close_received with code 1006.
  void receive_eof();
  /// While the payload of a data frame is arriving, uncompressed and with at least `min_size`
  /// bytes still to come: the space those bytes go to, in the string the frame's event will
  /// carry. Read into it and call payload_written(), and a large payload is not copied
  /// through a read buffer. Empty otherwise (then use receive_data). The space stays valid
  /// until the next call that is not const.
  std::span<char> payload_space(std::size_t min_size);
  /// `n` bytes (at most payload_space().size()) were written at the start of payload_space().
  /// They are checked and accounted for as receive_data() would.
  void payload_written(std::size_t n);
  /// The next event, in arrival order, or nullopt when there is none. Taking a ping_event
  /// queues the automatic pong; taking a close_received or protocol_violation queues our close
  /// frame (see those events) and updates the state.
  std::optional<event> next_event();
  bool has_event() const noexcept { return event_head_ != events_.size(); }
  /// The event next_event() would return, left in place and with nothing queued for it, or
  /// null when there is none. Lets the caller hold a protocol_violation back (and with it our
  /// close frame) until the application has answered the events before it.
  const event* peek_event() const noexcept {
    return event_head_ == events_.size() ? nullptr : &events_[event_head_];
  }

  // ---- output ----

  /// Serialises `f` (masked with a fresh key) into the output. A message is fragmented by
  /// sending its first frame with fin = false and the others with is_continuation = true
  /// (their opcode is then ignored); pings and pongs may go between fragments. With deflate
  /// negotiated, data messages are compressed and rsv1 is set on their first frame; the
  /// caller's rsv bits are ignored. A close frame is sent as send_close() would.
  /// Throws courier::protocol_error for a frame the state does not allow (anything after our
  /// close frame, a continuation with no fragmented message open, a new message inside one)
  /// and courier::invalid_request for a frame that is invalid in itself (a control payload
  /// over 125 bytes, a fragmented control frame, text that is not UTF-8).
  void send(const courier::ws::frame& f, bool is_continuation = false);
  /// As above; a data payload of owned_payload_min bytes or more is masked in place and queued
  /// in its own string rather than copied into the output (one copy less per large message).
  /// Sent as one frame, it is masked as it is written (see output_prefix).
  void send(courier::ws::frame&& f, bool is_continuation = false);
  /// Sends a close frame and moves to state::closing. close_code::no_status sends one without
  /// a payload. Throws courier::invalid_request for a code that may not be sent, a reason over
  /// 123 bytes or not UTF-8, and courier::protocol_error if a close frame was already sent.
  void send_close(std::uint16_t code = courier::ws::close_code::normal,
                  std::string_view reason = {});

  /// The first contiguous run of the bytes to write to the socket: all of them, unless a large
  /// payload was queued in its own string (then output() has every piece). Valid until the
  /// next call that is not const.
  std::string_view pending_output() const noexcept {
    mask_output(out_.size());
    return out_.front();
  }
  /// How many bytes are waiting to be written, in every piece.
  std::size_t pending_output_size() const noexcept { return out_.size(); }
  /// True when pending_output() is all of it (no payload queued in its own string).
  bool pending_output_is_one_run() const noexcept { return out_.front().size() == out_.size(); }
  /// Every byte to write, as pieces (for a gathering write).
  const output_queue& output() const noexcept {
    mask_output(out_.size());
    return out_;
  }
  /// As output(), but only the first `n` bytes are ready to write (masked): a payload given
  /// away by send(frame&&) is masked as it is written, so that its first part can be on the
  /// wire while the rest is masked. Write no byte past the first `n`.
  const output_queue& output_prefix(std::size_t n) const noexcept {
    mask_output(n);
    return out_;
  }
  /// Marks the first `n` pending bytes as written.
  void consume_output(std::size_t n);
  /// Moves all pending output into `into` (which must be empty) without copying: the two
  /// queues swap storage, so a writer can alternate between two of them. Throws
  /// courier::invalid_request if `into` still holds bytes.
  void take_output(output_queue& into);

  /// Data payloads at least this long are queued without a copy by send(frame&&).
  static constexpr std::size_t owned_payload_min = 32 * 1024;

  state current_state() const noexcept { return state_; }
  /// True once nothing more will be read or written as frames: the close handshake is done
  /// both ways (or the connection failed). Write the pending output, then close TCP (a client
  /// should give the server a moment to close first, RFC 6455 7.1.1).
  bool wants_tcp_close() const noexcept {
    return state_ == state::close_received || state_ == state::closed;
  }

  const connection_options& options() const noexcept { return options_; }

 private:
  bool check_frame_start(unsigned char b0, unsigned char b1);
  void begin_frame(const frame_header& h);
  void consume_payload(std::string_view chunk);
  void end_frame();
  void handle_control();
  bool check_inflate(message_inflater::status st, std::size_t before);
  void fail(std::uint16_t code, std::string reason);
  void on_close_delivered(const courier::ws::close_event& close);
  void on_violation_delivered(const protocol_violation& v);
  void push(event e);
  // A masked frame's header with a fresh key.
  // A masked frame's header, with a fresh key unless the payload was masked with `key` already.
  frame_header next_header(courier::ws::opcode op, bool fin, bool rsv1, std::size_t length,
                           std::optional<mask_key> key = std::nullopt);
  void send_text_in_place(courier::ws::opcode wire_op, bool fin, bool continuation,
                          std::string& payload);
  void write_frame(courier::ws::opcode op, bool fin, bool rsv1, std::string_view payload);
  // A data frame, split at options_.fragment_size. With `owned` (which holds `payload`), the
  // payload is masked in place and queued without a copy.
  void write_data(courier::ws::opcode op, bool fin, bool rsv1, std::string_view payload,
                  std::string* owned);
  // send() for both overloads; `owned` is the frame's payload when the caller gave it up.
  void send_frame(const courier::ws::frame& f, bool is_continuation, std::string* owned);
  void write_close(std::uint16_t code, std::string_view reason);
  // Masks what is still unmasked of the first `n` pending output bytes.
  void mask_output(std::size_t n) const noexcept {
    if (unmasked_.data) mask_unmasked_payload(n);
  }
  void mask_unmasked_payload(std::size_t n) const noexcept;

  connection_options options_;
  state state_ = state::open;

  // Input.
  bool input_done_ = false;  // after a close frame, a violation or EOF: input is ignored
  bool eof_received_ = false;
  bool in_payload_ = false;                 // reading the current frame's payload (else a header)
  char header_buf_[max_frame_header_size];  // a header cut by the end of a read
  std::size_t header_have_ = 0;
  bool header_checked_ = false;
  frame_header frame_;
  std::uint64_t payload_left_ = 0;
  std::string payload_;  // the current frame's payload, moved into its event
  // Once payload_space() has been handed out, payload_ is sized ahead of what has arrived:
  // only its first payload_filled_ bytes are payload so far.
  bool payload_sized_ = false;
  std::size_t payload_filled_ = 0;
  // The incoming message that frames belong to.
  bool in_message_ = false;
  courier::ws::opcode message_type_ = courier::ws::opcode::text;
  bool message_compressed_ = false;
  std::size_t message_size_ = 0;
  utf8_validator utf8_;
  std::optional<message_inflater> inflater_;

  std::vector<event> events_;
  std::size_t event_head_ = 0;

  // Output.
  output_queue out_;
  std::uint64_t out_taken_ = 0;  // bytes consumed or taken from out_ so far: a stream position
  // A payload given away and queued unmasked (one at a time): its bytes are masked when output
  // up to them is asked for. Masking does not change what the output means, hence mutable.
  struct unmasked_payload {
    char* data = nullptr;  // in a string owned by out_; null when there is none
    std::size_t size = 0;
    std::size_t masked = 0;       // its first bytes that are masked already
    std::uint64_t stream_at = 0;  // the stream position of its first byte
    mask_key key{};
  };
  mutable unmasked_payload unmasked_;
  mask_key_source keys_;
  std::optional<message_deflater> deflater_;
  std::string compressed_;  // scratch for one compressed frame
  bool sending_fragmented_ = false;
  courier::ws::opcode send_type_ = courier::ws::opcode::text;
  utf8_validator send_utf8_;
};

}  // namespace courier::proto::ws

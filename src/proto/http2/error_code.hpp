// HTTP/2 error codes (RFC 9113 section 7) and their names, for messages and events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace courier::proto::http2 {

/// The codes RST_STREAM and GOAWAY carry. Other values may arrive; they mean INTERNAL_ERROR.
enum class error_code : std::uint32_t {
  no_error = 0x0,
  protocol_error = 0x1,
  internal_error = 0x2,
  flow_control_error = 0x3,
  settings_timeout = 0x4,
  stream_closed = 0x5,
  frame_size_error = 0x6,
  refused_stream = 0x7,
  cancel = 0x8,
  compression_error = 0x9,
  connect_error = 0xa,
  enhance_your_calm = 0xb,
  inadequate_security = 0xc,
  http_1_1_required = 0xd,
};

/// "REFUSED_STREAM" for 0x7, as RFC 9113 spells it; "UNKNOWN_ERROR" for a value it does not
/// define.
std::string_view error_code_name(std::uint32_t code) noexcept;

/// "REFUSED_STREAM (0x7)": the name and the value, for messages.
std::string describe_error_code(std::uint32_t code);

}  // namespace courier::proto::http2

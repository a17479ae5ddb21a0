#include "proto/http2/error_code.hpp"

#include <array>
#include <cstdio>

namespace courier::proto::http2 {

std::string_view error_code_name(std::uint32_t code) noexcept {
  static constexpr std::array<std::string_view, 14> names = {"NO_ERROR",
                                                             "PROTOCOL_ERROR",
                                                             "INTERNAL_ERROR",
                                                             "FLOW_CONTROL_ERROR",
                                                             "SETTINGS_TIMEOUT",
                                                             "STREAM_CLOSED",
                                                             "FRAME_SIZE_ERROR",
                                                             "REFUSED_STREAM",
                                                             "CANCEL",
                                                             "COMPRESSION_ERROR",
                                                             "CONNECT_ERROR",
                                                             "ENHANCE_YOUR_CALM",
                                                             "INADEQUATE_SECURITY",
                                                             "HTTP_1_1_REQUIRED"};
  return code < names.size() ? names[code] : std::string_view("UNKNOWN_ERROR");
}

std::string describe_error_code(std::uint32_t code) {
  char hex[16];
  std::snprintf(hex, sizeof hex, " (0x%x)", static_cast<unsigned>(code));
  return std::string(error_code_name(code)) + hex;
}

}  // namespace courier::proto::http2

// WebSocket frames as a server writes them (unmasked), for fault_server scripts that play the
// server's side byte by byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace courier::test {

/// One unmasked frame: FIN as given, the RSV bits `rsv` (0-7), every payload length form.
inline std::string server_frame(int opcode, std::string_view payload, bool fin = true,
                                int rsv = 0) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode);
  const auto size = static_cast<std::uint64_t>(payload.size());
  if (size < 126) {
    f += static_cast<char>(size);
  } else if (size < 65536) {
    f += static_cast<char>(126);
    f += static_cast<char>(size >> 8);
    f += static_cast<char>(size & 0xff);
  } else {
    f += static_cast<char>(127);
    for (int i = 7; i >= 0; --i)
      f += static_cast<char>((size >> (8 * i)) & 0xff);
  }
  f += payload;
  return f;
}

}  // namespace courier::test

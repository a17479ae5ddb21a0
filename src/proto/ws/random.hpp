// Randomness for the WebSocket client: mask keys (one per frame) and handshake nonces.
#pragma once

#include "proto/ws/mask.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace courier::proto::ws {

/// Fills `n` bytes from OpenSSL's CSPRNG. Throws courier::error (errc::operation_aborted) if
/// the generator fails, which only happens when it cannot be seeded: nothing safe can go on.
void fill_random(void* data, std::size_t n);

/// `n` bytes from OpenSSL's CSPRNG.
std::string random_bytes(std::size_t n);

/// Mask keys for outgoing frames. RFC 6455 10.3 wants them unpredictable, so they come from a
/// CSPRNG; to keep that off the per-frame path the bytes are drawn in bulk (1024 keys per
/// refill) and handed out 4 at a time.
class mask_key_source {
 public:
  mask_key next() {
    if (pos_ == buffer_.size()) refill();
    mask_key key;
    for (std::size_t i = 0; i < 4; ++i)
      key[i] = buffer_[pos_ + i];
    pos_ += 4;
    return key;
  }

 private:
  void refill();

  static constexpr std::size_t buffer_size = 4096;
  std::array<std::uint8_t, buffer_size> buffer_{};
  std::size_t pos_ = buffer_size;  // empty: the first next() fills it
};

}  // namespace courier::proto::ws

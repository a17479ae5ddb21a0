// Decoding a response body's Content-Encoding (gzip, deflate, and br/zstd when built with them),
// chunk by chunk as the body arrives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace courier::detail {

class content_decoder {
 public:
  /// A decoder for a Content-Encoding value: "gzip", "x-gzip", "deflate" (zlib-wrapped, or raw
  /// deflate as some servers send), "identity", and "br" / "zstd" when this build has them.
  /// Case does not matter. A list ("gzip, br") is decoded last coding first; "identity" entries
  /// are ignored. Returns nullptr when a coding is unknown; throws courier::protocol_error for a
  /// list of more than max_chained_codings codings.
  static std::unique_ptr<content_decoder> make(std::string_view content_encoding);
  static constexpr std::size_t max_chained_codings = 4;

  virtual ~content_decoder();

  /// Appends the bytes decoded from `in` to `out`. Throws courier::body_too_large when the
  /// decoded output would pass max_output() in total (a decompression bomb), and
  /// courier::protocol_error on corrupt data.
  virtual void decode(std::string_view in, std::string& out) = 0;
  /// The body ended: appends what is left and throws courier::protocol_error when the encoded
  /// stream was cut short. A body with no bytes at all decodes to nothing (HEAD, 204, 304).
  virtual void finish(std::string& out) = 0;

  /// The most decoded bytes allowed in total (default: no limit).
  void set_max_output(std::size_t limit) noexcept;
  std::size_t max_output() const noexcept { return max_output_; }
  /// Decoded bytes produced so far.
  std::uint64_t total_output() const noexcept { return total_output_; }

 protected:
  content_decoder() = default;
  /// Counts `n` more decoded bytes; throws courier::body_too_large past max_output().
  void count_output(std::size_t n);
  /// Room to decode into before the limit: one byte more than allowed, so that passing it shows.
  std::size_t output_room(std::size_t wanted) const noexcept;
  virtual void on_max_output_changed() {}

 private:
  std::size_t max_output_ = static_cast<std::size_t>(-1);
  std::uint64_t total_output_ = 0;
};

/// The Accept-Encoding value listing what this build can decode, e.g. "gzip, deflate, br, zstd".
std::string_view accepted_encodings() noexcept;

}  // namespace courier::detail

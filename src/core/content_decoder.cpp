#include "core/content_decoder.hpp"

#include "core/http_grammar.hpp"

#include <courier/error.hpp>
#include <courier/headers.hpp>

#include <zlib.h>
#if COURIER_HAVE_BROTLI
#include <brotli/decode.h>
#endif
#if COURIER_HAVE_ZSTD
#include <zstd.h>
#endif

#include <algorithm>
#include <limits>
#include <vector>

namespace courier::detail {

namespace {

// Decoders inflate into this much scratch space per step, then append what came out.
constexpr std::size_t scratch_size = 64 << 10;

[[noreturn]] void throw_corrupt(std::string_view coding, std::string_view detail) {
  throw courier::protocol_error("corrupt " + std::string(coding) +
                                "-encoded response body: " + std::string(detail));
}

[[noreturn]] void throw_truncated(std::string_view coding) {
  throw courier::protocol_error("truncated " + std::string(coding) +
                                "-encoded response body: it ended before the compressed "
                                "stream did");
}

class identity_decoder final : public content_decoder {
 public:
  void decode(std::string_view in, std::string& out) override {
    count_output(in.size());
    out.append(in);
  }
  void finish(std::string&) override {}
};

// gzip (RFC 1952, several members allowed) and deflate (RFC 1950 zlib, or raw RFC 1951).
class zlib_decoder final : public content_decoder {
 public:
  enum class format { gzip, deflate };

  explicit zlib_decoder(format f) : format_(f), scratch_(new char[scratch_size]) {}
  ~zlib_decoder() override {
    if (initialized_) inflateEnd(&stream_);
  }

  void decode(std::string_view in, std::string& out) override {
    while (!in.empty()) {
      if (!initialized_ || ended_) {
        // A stream starts (or, for gzip, another member may start): look at its first 2 bytes.
        const std::size_t take = std::min(in.size(), 2 - probe_.size());
        probe_.append(in.substr(0, take));
        in.remove_prefix(take);
        if (probe_.size() < 2) return;
        start_stream();
        const std::string probe = std::move(probe_);
        // A tiny raw deflate stream can end inside the probe; keep what follows its end.
        probe_ = inflate_some(probe, out);
        continue;
      }
      const std::string_view rest = inflate_some(in, out);
      if (rest.size() == in.size() && !ended_) throw_corrupt(name(), "inflate made no progress");
      in = rest;
    }
  }

  void finish(std::string&) override {
    if (!initialized_ && probe_.empty()) return;  // no body at all
    if (!ended_ || !probe_.empty()) throw_truncated(name());
  }

 private:
  std::string_view name() const { return format_ == format::gzip ? "gzip" : "deflate"; }

  void start_stream() {
    const auto b0 = static_cast<unsigned char>(probe_[0]);
    const auto b1 = static_cast<unsigned char>(probe_[1]);
    int window_bits = 0;
    if (format_ == format::gzip) {
      if (ended_ && !(b0 == 0x1f && b1 == 0x8b)) {
        throw_corrupt(name(), "unexpected bytes after the end of the gzip stream");
      }
      window_bits = 15 + 32;  // gzip, or a zlib stream mislabelled as gzip
    } else {
      if (ended_) throw_corrupt(name(), "unexpected bytes after the end of the deflate stream");
      // RFC 1950: CM = 8, CINFO <= 7, and the 16-bit header is a multiple of 31.
      const bool zlib_wrapped = (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && (b0 * 256 + b1) % 31 == 0;
      window_bits = zlib_wrapped ? 15 : -15;
    }
    if (initialized_) {
      if (inflateReset2(&stream_, window_bits) != Z_OK)
        throw_corrupt(name(), "inflateReset2 failed");
    } else {
      stream_ = {};
      if (inflateInit2(&stream_, window_bits) != Z_OK) {
        throw std::bad_alloc();  // the only way inflateInit2 fails with valid arguments
      }
      initialized_ = true;
    }
    ended_ = false;
  }

  // Inflates until `in` is used up or the stream ends; returns the input after the stream's end.
  std::string_view inflate_some(std::string_view in, std::string& out) {
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    stream_.avail_in =
        static_cast<uInt>(std::min<std::size_t>(in.size(), std::numeric_limits<uInt>::max()));
    std::size_t fed = stream_.avail_in;
    for (;;) {
      const std::size_t room = output_room(scratch_size);
      stream_.next_out = reinterpret_cast<Bytef*>(scratch_.get());
      stream_.avail_out = static_cast<uInt>(room);
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      const std::size_t produced = room - stream_.avail_out;
      count_output(produced);
      out.append(scratch_.get(), produced);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        break;
      }
      if (rc == Z_NEED_DICT) throw_corrupt(name(), "a preset dictionary is required");
      if (rc == Z_DATA_ERROR) throw_corrupt(name(), stream_.msg ? stream_.msg : "invalid data");
      if (rc == Z_MEM_ERROR) throw std::bad_alloc();
      if (rc != Z_OK && rc != Z_BUF_ERROR) throw_corrupt(name(), "inflate failed");
      // Done with this input once zlib stops filling the whole output buffer.
      if (stream_.avail_in == 0 && stream_.avail_out != 0) break;
      if (rc == Z_BUF_ERROR && produced == 0) break;  // no progress possible: wants more input
    }
    const std::size_t used = fed - stream_.avail_in;
    return in.substr(used);
  }

  format format_;
  z_stream stream_{};
  bool initialized_ = false;
  bool ended_ = false;
  std::string probe_;  // the first bytes of a stream (or gzip member), until there are 2
  std::unique_ptr<char[]> scratch_;
};

#if COURIER_HAVE_BROTLI
class brotli_decoder final : public content_decoder {
 public:
  brotli_decoder()
      : state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)),
        scratch_(new char[scratch_size]) {
    if (!state_) throw std::bad_alloc();
  }
  ~brotli_decoder() override { BrotliDecoderDestroyInstance(state_); }

  void decode(std::string_view in, std::string& out) override {
    if (in.empty()) return;
    if (ended_) throw_corrupt("br", "unexpected bytes after the end of the brotli stream");
    started_ = true;
    std::size_t avail_in = in.size();
    auto next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    for (;;) {
      const std::size_t room = output_room(scratch_size);
      std::size_t avail_out = room;
      auto next_out = reinterpret_cast<std::uint8_t*>(scratch_.get());
      const BrotliDecoderResult result = BrotliDecoderDecompressStream(
          state_, &avail_in, &next_in, &avail_out, &next_out, nullptr);
      const std::size_t produced = room - avail_out;
      count_output(produced);
      out.append(scratch_.get(), produced);
      if (result == BROTLI_DECODER_RESULT_ERROR) {
        throw_corrupt("br", BrotliDecoderErrorString(BrotliDecoderGetErrorCode(state_)));
      }
      if (result == BROTLI_DECODER_RESULT_SUCCESS) {
        ended_ = true;
        if (avail_in != 0)
          throw_corrupt("br", "unexpected bytes after the end of the brotli stream");
        return;
      }
      if (result == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) return;
      // NEEDS_MORE_OUTPUT: go round again.
    }
  }

  void finish(std::string&) override {
    if (started_ && !ended_) throw_truncated("br");
  }

 private:
  BrotliDecoderState* state_;
  bool started_ = false;
  bool ended_ = false;
  std::unique_ptr<char[]> scratch_;
};
#endif

#if COURIER_HAVE_ZSTD
class zstd_decoder final : public content_decoder {
 public:
  zstd_decoder() : stream_(ZSTD_createDStream()), scratch_(new char[scratch_size]) {
    if (!stream_) throw std::bad_alloc();
    // RFC 9659: HTTP zstd windows are at most 8 MiB; refusing larger ones bounds our memory.
    ZSTD_DCtx_setParameter(stream_, ZSTD_d_windowLogMax, 23);
  }
  ~zstd_decoder() override { ZSTD_freeDStream(stream_); }

  void decode(std::string_view in, std::string& out) override {
    if (in.empty()) return;
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      const std::size_t room = output_room(scratch_size);
      ZSTD_outBuffer output{scratch_.get(), room, 0};
      const std::size_t input_before = input.pos;
      const std::size_t hint = ZSTD_decompressStream(stream_, &output, &input);
      if (ZSTD_isError(hint)) throw_corrupt("zstd", ZSTD_getErrorName(hint));
      count_output(output.pos);
      out.append(scratch_.get(), output.pos);
      // 0: a frame is decoded and flushed. Another frame may follow (zstd allows that); asked
      // again with no input, zstd hints at the next frame's header, so only a step that did
      // something says where we are.
      if (output.pos != 0 || input.pos != input_before) frame_complete_ = hint == 0;
      if (input.pos == input.size && (output.pos < output.size || hint == 0)) return;
      if (output.pos == 0 && input.pos == input_before) throw_corrupt("zstd", "no progress");
    }
  }

  void finish(std::string& out) override {
    if (!frame_complete_) throw_truncated("zstd");
  }

 private:
  ZSTD_DStream* stream_;
  bool frame_complete_ = true;  // true before any input: an empty body is fine
  std::unique_ptr<char[]> scratch_;
};
#endif

// "gzip, br": the sender applied gzip, then br; decoding runs br first, then gzip.
class chained_decoder final : public content_decoder {
 public:
  explicit chained_decoder(std::vector<std::unique_ptr<content_decoder>> stages)
      : stages_(std::move(stages)), buffers_(stages_.size() - 1) {}

  void decode(std::string_view in, std::string& out) override {
    run(in, out, [](content_decoder& stage, std::string_view data, std::string& to) {
      stage.decode(data, to);
    });
  }
  void finish(std::string& out) override {
    run({}, out, [](content_decoder& stage, std::string_view data, std::string& to) {
      stage.decode(data, to);
      stage.finish(to);
    });
  }

 private:
  template <class Step>
  void run(std::string_view in, std::string& out, Step step) {
    std::string_view data = in;
    for (std::size_t i = 0; i < stages_.size(); ++i) {
      const bool last = i + 1 == stages_.size();
      std::string& to = last ? out : buffers_[i];
      const std::size_t before = to.size();
      step(*stages_[i], data, to);
      if (last) {
        count_output(to.size() - before);
      } else {
        data = to;
      }
    }
    for (std::string& b : buffers_)
      b.clear();
  }
  void on_max_output_changed() override {
    for (auto& stage : stages_)
      stage->set_max_output(max_output());
  }

  std::vector<std::unique_ptr<content_decoder>> stages_;
  std::vector<std::string> buffers_;  // between stages; reused
};

std::unique_ptr<content_decoder> make_single(std::string_view coding) {
  if (courier::iequals(coding, "gzip") || courier::iequals(coding, "x-gzip")) {
    return std::make_unique<zlib_decoder>(zlib_decoder::format::gzip);
  }
  if (courier::iequals(coding, "deflate")) {
    return std::make_unique<zlib_decoder>(zlib_decoder::format::deflate);
  }
#if COURIER_HAVE_BROTLI
  if (courier::iequals(coding, "br")) return std::make_unique<brotli_decoder>();
#endif
#if COURIER_HAVE_ZSTD
  if (courier::iequals(coding, "zstd")) return std::make_unique<zstd_decoder>();
#endif
  return nullptr;
}

// Calls f(coding) for each coding of a Content-Encoding list but "identity" and empty elements.
template <class F>
void for_each_coding(std::string_view list, F f) {
  std::string_view rest = list;
  for (std::size_t guard = 0; guard <= list.size(); ++guard) {
    const std::size_t comma = rest.find(',');
    const std::string_view coding = courier::detail::trim_ows(rest.substr(0, comma));
    if (!coding.empty() && !courier::iequals(coding, "identity")) f(coding);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
}

}  // namespace

content_decoder::~content_decoder() = default;

void content_decoder::set_max_output(std::size_t limit) noexcept {
  max_output_ = limit;
  on_max_output_changed();
}

void content_decoder::count_output(std::size_t n) {
  total_output_ += n;
  if (total_output_ > max_output_) {
    throw courier::body_too_large("decoded response body is larger than the limit of " +
                                  std::to_string(max_output_) +
                                  " bytes (a decompression bomb, or raise max_body_size)");
  }
}

std::size_t content_decoder::output_room(std::size_t wanted) const noexcept {
  const std::uint64_t left = total_output_ >= max_output_ ? 0 : max_output_ - total_output_;
  return left >= wanted ? wanted : static_cast<std::size_t>(left + 1);
}

std::unique_ptr<content_decoder> content_decoder::make(std::string_view content_encoding) {
  // Too long a chain is an error whatever its codings: handing such a body over undecoded
  // would pass off bytes the sender meant to be decoded many times.
  std::size_t listed = 0;
  for_each_coding(content_encoding, [&](std::string_view) { ++listed; });
  if (listed > max_chained_codings) {
    throw courier::protocol_error("Content-Encoding lists " + std::to_string(listed) +
                                  " codings, more than the limit of " +
                                  std::to_string(max_chained_codings));
  }
  std::vector<std::unique_ptr<content_decoder>> stages;
  bool known = true;
  for_each_coding(content_encoding, [&](std::string_view coding) {
    if (!known) return;
    auto stage = make_single(coding);
    known = stage != nullptr;
    if (known) stages.push_back(std::move(stage));
  });
  if (!known) return nullptr;
  if (stages.empty()) return std::make_unique<identity_decoder>();
  if (stages.size() == 1) return std::move(stages.front());
  std::reverse(stages.begin(), stages.end());
  return std::make_unique<chained_decoder>(std::move(stages));
}

std::string_view accepted_encodings() noexcept {
#if COURIER_HAVE_BROTLI && COURIER_HAVE_ZSTD
  return "gzip, deflate, br, zstd";
#elif COURIER_HAVE_BROTLI
  return "gzip, deflate, br";
#elif COURIER_HAVE_ZSTD
  return "gzip, deflate, zstd";
#else
  return "gzip, deflate";
#endif
}

}  // namespace courier::detail

#include "asio/http/body_sink.hpp"
#include "core/hot_path.hpp"

#include <courier/error.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

namespace courier::asio_detail {

namespace {

class discard_sink final : public body_sink {
 public:
  void write(std::string_view) override {}
};

// Writes to a temporary file beside the target and renames it into place when complete, so a
// failed download never leaves a partial file under the asked name.
class file_sink final : public body_sink {
 public:
  explicit file_sink(std::filesystem::path target) : target_(std::move(target)) {
    std::random_device rd;
    temp_ = target_;
    temp_ += ".courier-" + std::to_string(rd()) + ".part";
    file_ = std::fopen(temp_.c_str(), "wb");
    if (!file_) {
      throw file_error("cannot open " + target_.string() + " for writing: " + std::strerror(errno));
    }
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 16);
  }
  ~file_sink() override {
    if (file_) {
      std::fclose(file_);
      std::error_code ignored;
      std::filesystem::remove(temp_, ignored);
    }
  }
  COURIER_HOT void write(std::string_view data) override {
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      throw file_error("writing " + target_.string() + " failed: " + std::strerror(errno));
    }
  }
  void finish() override {
    int rc = std::fclose(file_);
    file_ = nullptr;
    std::error_code ec;
    if (rc != 0) {
      std::filesystem::remove(temp_, ec);
      throw file_error("writing " + target_.string() + " failed: " + std::strerror(errno));
    }
    std::filesystem::rename(temp_, target_, ec);
    if (ec) {
      std::filesystem::remove(temp_, ec);
      throw file_error("cannot move the download into " + target_.string() + ": " + ec.message());
    }
  }

 private:
  std::filesystem::path target_, temp_;
  std::FILE* file_ = nullptr;
};

}  // namespace

std::unique_ptr<body_sink> make_file_sink(std::filesystem::path target) {
  return std::make_unique<file_sink>(std::move(target));
}

std::unique_ptr<body_sink> make_discard_sink() {
  return std::make_unique<discard_sink>();
}

bool is_redirect_status(int s) noexcept {
  return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

// Servers send raw UTF-8 in Location ("/café"); browsers and curl follow it percent-encoded
// ("/caf%C3%A9"). Only bytes above 0x7F are encoded: anything else keeps its meaning, and a
// Location invalid for another reason stays invalid.
std::string encode_location(std::string_view location) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(location.size());
  for (const char c : location) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out += c;
    } else {
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 15];
    }
  }
  return out;
}

std::unique_ptr<detail::content_decoder> decoder_for(courier::headers& fields, std::size_t limit,
                                                     const std::string& where) {
  const auto all_fields = fields.get_all("Content-Encoding");
  // Several Content-Encoding fields make one list (RFC 9110 5.3): judge the codings of all.
  std::string encoding;
  for (std::string_view f : all_fields) {
    if (!encoding.empty()) encoding += ", ";
    encoding += f;
  }
  if (encoding.empty()) return nullptr;
  std::unique_ptr<detail::content_decoder> decoder;
  try {
    decoder = detail::content_decoder::make(encoding);
  } catch (const protocol_error& e) {
    throw protocol_error("the response from " + where + " cannot be decoded: " + e.what());
  }
  if (!decoder) return nullptr;
  decoder->set_max_output(limit);
  // The body given to the user is decoded: its old framing headers no longer apply.
  fields.erase("Content-Encoding");
  fields.erase("Content-Length");
  return decoder;
}

}  // namespace courier::asio_detail

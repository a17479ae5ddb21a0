#include <courier/testing/effective_headers.hpp>

#include "core/body_encoder.hpp"

#include <courier/asio_backend.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

namespace courier::testing {

namespace {

// The Content-Type and size the body implies, without reading it (a file is only stat'ed, a
// multipart body's files too). nullopt size: unknown (chunked) or unreadable.
struct body_framing {
  std::string content_type;
  std::optional<std::uint64_t> size;
  bool chunked = false;
};

std::optional<std::uint64_t> size_of_file(const std::filesystem::path& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  if (ec) return std::nullopt;
  return n;
}

body_framing framing_of(const courier::body& b) {
  body_framing f;
  if (const auto* bytes = std::get_if<bytes_body>(&b)) {
    f.content_type = bytes->content_type;
    f.size = bytes->data.size();
  } else if (const auto* file = std::get_if<file_body>(&b)) {
    f.content_type = file->content_type;
    f.size = size_of_file(file->path);
  } else if (const auto* form = std::get_if<form_body>(&b)) {
    f.content_type = "application/x-www-form-urlencoded";
    f.size = courier::detail::url_encode_form(form->fields).size();
  } else if (const auto* multi = std::get_if<multipart_body>(&b)) {
    f.content_type = "multipart/form-data; boundary=courier-stub";
    try {
      // Opens the parts' files to size them; reads nothing.
      auto encoded = courier::detail::encode_multipart(*multi, "courier-stub");
      if (encoded.source) f.size = encoded.source->size();
    } catch (const courier::error&) {
      // A file that cannot be opened: the send fails; matching goes on without a length.
    }
  } else if (const auto* stream = std::get_if<stream_body>(&b)) {
    f.content_type = stream->content_type;
    f.size = stream->size;
    f.chunked = !stream->size;
  }
  return f;
}

}  // namespace

courier::headers effective_headers(const request_data& req) {
  const bool has_body = !std::holds_alternative<std::monostate>(req.body());
  courier::headers out;
  bool has_type = false, has_length = false;
  for (const header_field& f : req.headers()) {
    if (iequals(f.name, "Content-Length")) {
      if (has_body) continue;
      has_length = true;
    }
    if (has_body && iequals(f.name, "Transfer-Encoding")) continue;
    if (iequals(f.name, "Content-Type")) has_type = true;
    out.add_unchecked(f.name, f.value);
  }
  const auto& given = req.headers();
  if (!given.contains("Host") && req.uri()) out.add_unchecked("Host", req.uri()->authority());
  if (!given.contains("User-Agent")) {
    out.add_unchecked("User-Agent", asio_backend_options{}.user_agent);
  }
  if (!given.contains("Accept")) out.add_unchecked("Accept", "*/*");
  if (has_body) {
    auto f = framing_of(req.body());
    if (!has_type && !f.content_type.empty()) out.add_unchecked("Content-Type", f.content_type);
    if (f.size) {
      out.add_unchecked("Content-Length", std::to_string(*f.size));
    } else if (f.chunked) {
      out.add_unchecked("Transfer-Encoding", "chunked");
    }
  } else if ((req.method() == courier::method::post || req.method() == courier::method::put ||
              req.method() == courier::method::patch) &&
             !has_length) {
    out.add_unchecked("Content-Length", "0");
  }
  return out;
}

}  // namespace courier::testing

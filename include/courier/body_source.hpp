// Builders for streamed request bodies (courier::stream_body): a callable that fills buffers, a
// callable that yields chunks, a std::istream, or a coroutine. A file is file_body (body_file()).
//
//   auto req = courier::basic_request()
//                  .body(courier::body_from_istream(std::cin))
//                  .post(courier::uri{"https://example.org/upload"});
#pragma once

#include <courier/body.hpp>

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace courier {

namespace detail {
struct async_body_reader {
  std::function<boost::asio::awaitable<std::size_t>(std::span<char>)> read;
};
}  // namespace detail

/// A source that fills the buffer it is given and returns how many bytes it wrote, 0 at the end.
/// With `size` the body is sent with Content-Length (the source must give exactly that many
/// bytes), without it chunked. `rewind`, when given, lets a 307/308 redirect send it again.
inline stream_body body_from_reader(std::function<std::size_t(std::span<char>)> read,
                                    std::optional<std::uint64_t> size = std::nullopt,
                                    std::string content_type = "application/octet-stream",
                                    std::function<void()> rewind = {}) {
  stream_body b;
  b.read = std::move(read);
  b.size = size;
  b.content_type = std::move(content_type);
  b.rewind = std::move(rewind);
  return b;
}

/// A source that yields the body a chunk at a time: each call returns the next chunk, nullopt at
/// the end (an empty chunk is skipped). Sent chunked unless `size` is given.
inline stream_body body_from_chunks(std::function<std::optional<std::string>()> next_chunk,
                                    std::optional<std::uint64_t> size = std::nullopt,
                                    std::string content_type = "application/octet-stream") {
  struct state {
    std::function<std::optional<std::string>()> next;
    std::string chunk;
    std::size_t used = 0;
    bool ended = false;
  };
  auto s = std::make_shared<state>();
  s->next = std::move(next_chunk);
  return body_from_reader(
      [s](std::span<char> buf) -> std::size_t {
        while (s->used == s->chunk.size()) {  // skips empty chunks
          if (s->ended) return 0;
          auto c = s->next();
          if (!c) {
            s->ended = true;
            return 0;
          }
          s->chunk = std::move(*c);
          s->used = 0;
        }
        std::size_t n = std::min(buf.size(), s->chunk.size() - s->used);
        std::char_traits<char>::copy(buf.data(), s->chunk.data() + s->used, n);
        s->used += n;
        return n;
      },
      size, std::move(content_type));
}

/// The rest of a stream, read as it is sent. The stream must outlive the exchange (the send()
/// call, or until the async completion). Read errors (badbit) fail the request with
/// body_source_error. A seekable stream can be sent again after a 307/308 redirect.
inline stream_body body_from_istream(std::istream& in,
                                     std::optional<std::uint64_t> size = std::nullopt,
                                     std::string content_type = "application/octet-stream") {
  auto start = std::make_shared<std::istream::pos_type>(-1);
  auto read = [&in, start](std::span<char> buf) -> std::size_t {
    if (*start == std::istream::pos_type(-1)) *start = in.tellg();
    if (in.eof()) return 0;
    if (!in) throw std::ios_base::failure("the input stream is in a failed state");
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.bad()) throw std::ios_base::failure("the input stream reported a read error");
    return static_cast<std::size_t>(in.gcount());
  };
  auto rewind = [&in, start] {
    if (*start == std::istream::pos_type(-1)) return;  // never read
    in.clear();
    in.seekg(*start);
    if (in.fail()) throw std::ios_base::failure("the input stream cannot seek back to its start");
  };
  return body_from_reader(std::move(read), size, std::move(content_type), std::move(rewind));
}

/// The same, owning the stream.
inline stream_body body_from_istream(std::shared_ptr<std::istream> in,
                                     std::optional<std::uint64_t> size = std::nullopt,
                                     std::string content_type = "application/octet-stream") {
  std::istream& ref = *in;
  stream_body b = body_from_istream(ref, size, std::move(content_type));
  b.read = [in, r = std::move(b.read)](std::span<char> buf) { return r(buf); };
  return b;
}

/// A coroutine source for coroutine users: awaited on the backend's executor for the next bytes
/// (fill the span, co_return how many, 0 at the end). It may await anything (a timer, another
/// socket, a channel); the request waits meanwhile, so the source sets the pace of the upload.
inline stream_body body_from_async(
    std::function<boost::asio::awaitable<std::size_t>(std::span<char>)> read,
    std::optional<std::uint64_t> size = std::nullopt,
    std::string content_type = "application/octet-stream") {
  stream_body b;
  b.async_read =
      std::make_shared<const detail::async_body_reader>(detail::async_body_reader{std::move(read)});
  b.size = size;
  b.content_type = std::move(content_type);
  return b;
}

}  // namespace courier

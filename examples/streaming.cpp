// Streaming, the blocking way: download a body a chunk at a time (memory stays flat whatever
// its size), with progress, then upload from a std::istream without loading it first.
// Usage: streaming FILE_URL UPLOAD_ECHO_URL
//   e.g. streaming http://127.0.0.1:8080/large.bin http://127.0.0.1:8081/upload-echo
#include <courier/body_source.hpp>
#include <courier/body_stream.hpp>
#include <courier/courier.hpp>

#include <cstdint>
#include <iostream>
#include <sstream>

namespace cr = courier;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: streaming FILE_URL UPLOAD_ECHO_URL\n";
    return 2;
  }
  cr::asio_backend backend;

  // 1. Download: send() returns once the head is read; the body is pulled chunk by chunk.
  auto res = cr::basic_request()
                 .get(cr::uri(argv[1]))
                 .response_as(cr::as_stream())
                 .on_progress([](const cr::transfer_progress& p) {
                   if (p.done) std::cout << "progress: " << p.bytes << " bytes, done\n";
                 })
                 .send(backend);
  std::uint64_t total = 0;
  unsigned checksum = 0;
  for (std::string_view chunk : res.body().chunks()) {
    total += chunk.size();
    for (unsigned char c : chunk)
      checksum = checksum * 31 + c;
  }
  std::cout << "downloaded " << total << " bytes (status " << res.status() << ", checksum "
            << checksum << ")\n";

  // 2. Upload: the istream is read as the request is sent (chunked: no size given).
  std::istringstream lines("one\ntwo\nthree\n");
  auto echoed = cr::basic_request()
                    .post(cr::uri(argv[2]))
                    .body(cr::body_from_istream(lines, std::nullopt, "text/plain"))
                    .response_as(cr::as_stream())
                    .send(backend);
  // The response read through a std::istream adaptor.
  cr::body_istream in(echoed.body());
  std::string line;
  int n = 0;
  while (std::getline(in, line))
    std::cout << "echoed line " << ++n << ": " << line << "\n";
  return total > 0 && n == 3 ? 0 : 1;
}

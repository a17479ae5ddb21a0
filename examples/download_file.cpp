// Download to a file: the body is written as it arrives and renamed into place when complete.
// Usage: download_file URL PATH
#include <courier/courier.hpp>

#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
  namespace cr = courier;
  if (argc < 3) {
    std::cerr << "usage: download_file URL PATH\n";
    return 2;
  }
  cr::asio_backend backend;
  try {
    auto r =
        cr::basic_request().get(cr::uri(argv[1])).response_as(cr::as_file(argv[2])).send(backend);
    std::cout << r.status() << ": " << std::filesystem::file_size(r.body()) << " bytes in "
              << r.body().string() << "\n";
  } catch (const cr::error& e) {
    std::cerr << "download failed: " << e.what() << "\n";
    return 1;
  }
}

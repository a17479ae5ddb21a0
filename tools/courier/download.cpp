#include "download.hpp"

#include "body_output.hpp"
#include "exit_codes.hpp"
#include "failure.hpp"
#include "progress.hpp"
#include "signals.hpp"
#include "terminal.hpp"

#include <courier/body_stream.hpp>
#include <courier/progress.hpp>
#include <courier/response.hpp>
#include <courier/response_as.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

namespace courier::cli {

namespace fs = std::filesystem;

namespace {

// Where the body is written until it is known to be good: a hidden name beside the target
// (same file system, so the final rename is atomic).
struct temporary_files {
  fs::path dir;
  std::string prefix;  // the temporary's file name

  fs::path path() const { return dir / prefix; }

  void remove_all() const {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().rfind(prefix, 0) == 0) {
        std::error_code ignored;
        fs::remove(it->path(), ignored);
      }
    }
  }
};

temporary_files temporaries_for(const fs::path& target) {
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (fs::is_directory(target, ec)) {
    throw usage_error("'" + target.string() + "' is a directory", "name a file after -o");
  }
  if (!fs::is_directory(dir, ec)) {
    throw usage_error("cannot save to '" + target.string() + "': the directory '" + dir.string() +
                      "' does not exist");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw usage_error("cannot save to '" + target.string() + "': the directory '" + dir.string() +
                      "' is not writable");
  }
  return {dir, "." + target.filename().string() + ".courier-" + std::to_string(::getpid()) +
                   ".download"};
}

// Writes the body into `path` (created, or emptied); returns its size. Throws command_failure.
std::uint64_t write_file(courier::body_stream& body, const fs::path& path,
                         const body_limits& limit) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    throw command_failure({"cannot save the download", "",
                           "cannot create '" + path.string() + "': " + std::strerror(errno), "",
                           exit_failure});
  }
  std::uint64_t bytes = 0;
  try {
    bytes = copy_body(body, {}, fd, "the download", limit);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) {
    throw command_failure(
        {"cannot write the download", "", std::strerror(errno), "", exit_failure});
  }
  return bytes;
}

// What the library reports through on_progress (on an I/O thread), read by the bar's thread.
struct download_progress {
  static constexpr std::uint64_t unknown = ~std::uint64_t{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> total{unknown};
};

// Redraws the bar on stderr every 200 ms until stopped.
class progress_bar {
 public:
  progress_bar(std::shared_ptr<const download_progress> progress, palette colours)
      : progress_(std::move(progress)), colours_(colours) {
    thread_ = std::thread([this] { run(); });
  }
  ~progress_bar() { stop(); }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    wake_.notify_all();
    thread_.join();
    std::cerr << "\r\033[K" << std::flush;
  }

 private:
  void run() {
    const auto start = std::chrono::steady_clock::now();
    speed_meter meter;
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopped_; })) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress_state state;
      state.bytes = progress_->bytes.load(std::memory_order_relaxed);
      const std::uint64_t total = progress_->total.load(std::memory_order_relaxed);
      if (total != download_progress::unknown) state.total = total;
      state.elapsed_seconds = elapsed;
      meter.sample(state.bytes, elapsed);
      state.bytes_per_second = meter.bytes_per_second();
      std::cerr << "\r" << render_progress(state, terminal_width(STDERR_FILENO), colours_)
                << "\033[K" << std::flush;
    }
  }

  std::shared_ptr<const download_progress> progress_;
  palette colours_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace

int run_download(courier::asio_backend& backend, const request_plan& plan, const http_args& args,
                 const output_style& style) {
  const fs::path target = *args.output_file;
  const temporary_files files = temporaries_for(target);
  on_interrupt([files] { files.remove_all(); });
  const std::string where = host_port(plan.uri);
  const bool show_bar = is_terminal(STDERR_FILENO);
  const palette err_colours(show_bar && colours_wanted());

  const std::optional<http_version> known = version_before_sending(plan);
  const auto show_request = [&](http_version used) {
    print_request(std::cout, to_request(plan).data(), plan, backend.options().user_agent, used,
                  style);
  };
  if (args.verbose && known) show_request(*known);

  const auto start = std::chrono::steady_clock::now();
  courier::response<courier::body_stream> res;
  std::uint64_t bytes = 0;
  try {
    auto progress = std::make_shared<download_progress>();
    std::optional<progress_bar> bar;
    if (show_bar) bar.emplace(progress, err_colours);
    res = to_request(plan)
              .response_as(courier::as_stream())
              .on_progress([progress](const courier::transfer_progress& p) {
                if (p.dir != courier::transfer_progress::direction::download) return;
                progress->bytes.store(p.bytes, std::memory_order_relaxed);
                progress->total.store(p.total.value_or(download_progress::unknown),
                                      std::memory_order_relaxed);
              })
              .send(backend);
    if (args.verbose && !known) show_request(first_hop_version(res));
    // An error page is not read at all; a good body goes to the temporary file as it arrives.
    if (res.is_success()) {
      const body_limits limit = limits_for(args, start);
      check_announced_length(announced_length(res.head()), limit);
      bytes = write_file(res.body(), files.path(), limit);
    }
  } catch (...) {
    files.remove_all();
    on_interrupt({});
    // No answer says which version ALPN chose; every server speaks HTTP/1.1.
    if (args.verbose && !known && !res.status()) show_request(http_version::http1_1);
    throw;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (args.verbose || (args.output_chosen && args.print_headers)) {
    for (const auto& hop : res.history()) {
      print_head(std::cout, hop.head, style);
      std::cout << "\n";
    }
    print_head(std::cout, res.head(), style);
    std::cout << "\n" << std::flush;
  }

  if (!res.is_success()) {
    files.remove_all();
    on_interrupt({});
    failure f;
    f.what = "download not saved";
    f.where = where;
    f.why = "the server answered " + std::to_string(res.status()) + " " + res.reason();
    if (res.head().is_redirect() && !args.follow) f.hint = "drop --no-follow to follow redirects";
    report(f);
    const int code = exit_code_for_status(res.status());
    return code == exit_ok ? exit_failure : code;
  }

  std::error_code ec;
  fs::rename(files.path(), target, ec);
  files.remove_all();
  on_interrupt({});
  if (ec) {
    return report({"cannot save the download", "",
                   "renaming into '" + target.string() + "' failed: " + ec.message(), "",
                   exit_failure});
  }
  if (show_bar) {
    std::cerr << "courier: saved " << target.string() << ": " << render_summary(bytes, seconds)
              << "\n";
  }
  if (args.check_status) return exit_code_for_status(res.status());
  return exit_ok;
}

}  // namespace courier::cli

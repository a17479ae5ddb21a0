// bench_client CLIENT WORKLOAD key=value...: runs one workload with one client in this process
// and prints one line: RESULT client=.. workload=.. ops wall_s cpu_s (user_s + sys_s) maxrss_kib
// [p50_us p99_us] [idle_kib_per_conn] [server] [rss_growth_kib]. It exits with 3 when a response
// came over the wrong protocol (bench/run.sh then stops). Each run is its own process, so getrusage
// and the peak RSS are the client's alone.
#include "bench_client.hpp"

#include "../payloads.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string_view>

namespace bench {

double current_rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1024.0;
}

}  // namespace bench

namespace {

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CLIENT WORKLOAD [key=value...]\n", argv[0]);
    return 2;
  }
  const std::string client = argv[1];
  bench::workload w;
  w.name = argv[2];
  double time_limit = 120;
  for (int i = 3; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto eq = arg.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string key(arg.substr(0, eq)), value(arg.substr(eq + 1));
    if (key == "ws_port")
      w.ws_port = std::stoi(value);
    else if (key == "tcp_port")
      w.tcp_port = std::stoi(value);
    else if (key == "http_port")
      w.http_port = std::stoi(value);
    else if (key == "count")
      w.count = std::stol(value);
    else if (key == "size")
      w.size = std::stoul(value);
    else if (key == "in_flight")
      w.in_flight = std::stoi(value);
    else if (key == "connections")
      w.connections = std::stoi(value);
    else if (key == "path")
      w.path = value;
    else if (key == "url")
      w.url = value;
    else if (key == "server")
      w.server = value;
    else if (key == "ca_file")
      w.ca_file = value;
    else if (key == "time_limit")
      time_limit = std::stod(value);
  }
  w.deadline = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<long>(time_limit * 1000));

  bench::registry reg;
  bench::register_courier(reg);
  bench::register_beast(reg);
  bench::register_curl(reg);
  bench::register_raw(reg);
  const auto c = reg.find(client);
  if (c == reg.end() || !c->second.count(w.name)) {
    std::printf("SKIP client=%s workload=%s\n", client.c_str(), w.name.c_str());
    return 0;
  }

  if (w.name.rfind("ws_", 0) == 0 && w.size > 0)
    w.payload = w.name == "ws_text" ? bench::text_payload(w.size) : bench::binary_payload(w.size);

  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  const auto t0 = std::chrono::steady_clock::now();
  bench::outcome out;
  const auto fail = [&](const char* what, int status) {
    std::printf("FAIL client=%s workload=%s error=\"%s\"", client.c_str(), w.name.c_str(), what);
    if (!w.server.empty()) std::printf(" server=%s", w.server.c_str());
    std::printf("\n");
    std::fflush(stdout);
    std::_Exit(status);  // skip destructors of half-open clients
  };
  try {
    out = c->second.at(w.name)(w);
  } catch (const bench::wrong_protocol& e) {
    fail(e.what(), 3);
  } catch (const std::exception& e) {
    fail(e.what(), 1);
  }
  const auto t1 = std::chrono::steady_clock::now();
  getrusage(RUSAGE_SELF, &after);
  const double wall = std::chrono::duration<double>(t1 - t0).count();
  const double user = seconds(after.ru_utime) - seconds(before.ru_utime);
  const double sys = seconds(after.ru_stime) - seconds(before.ru_stime);
  std::printf(
      "RESULT client=%s workload=%s ops=%ld bytes=%llu wall_s=%.6f cpu_s=%.6f user_s=%.6f "
      "sys_s=%.6f maxrss_kib=%ld",
      client.c_str(), w.name.c_str(), out.ops, static_cast<unsigned long long>(out.bytes), wall,
      user + sys, user, sys, after.ru_maxrss);
  if (!out.latencies_us.empty())
    std::printf(" p50_us=%.2f p99_us=%.2f", percentile(out.latencies_us, 0.5),
                percentile(out.latencies_us, 0.99));
  if (out.idle_rss_kib > 0) std::printf(" idle_kib_per_conn=%.2f", out.idle_rss_kib);
  if (!w.server.empty()) std::printf(" server=%s", w.server.c_str());
  if (out.rss_growth_kib >= 0) std::printf(" rss_growth_kib=%.0f", out.rss_growth_kib);
  std::printf("\n");
  std::fflush(stdout);
  std::_Exit(0);  // the measurement is taken; do not time teardown
}

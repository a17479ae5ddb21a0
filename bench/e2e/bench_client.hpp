// The benchmark client's shared pieces: what a workload asks for, what a client reports, and
// the registry of client implementations (one file per family: courier, Beast, libcurl, raw).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

struct workload {
  // ws_latency ws_pipeline ws_binary ws_text http_seq http_conc http_download ws_idle
  // h2_multi h2_download h2_streams_rss
  std::string name;
  std::string host = "127.0.0.1";
  int ws_port = 0;       // WebSocket echo server
  int tcp_port = 0;      // raw TCP echo server
  int http_port = 0;     // nginx
  long count = 0;        // messages, round trips, requests, downloads or connections
  std::size_t size = 0;  // payload bytes
  int in_flight = 1;     // pipelined messages (ws_pipeline), streams in flight (h2_*)
  int connections = 1;   // concurrent HTTP connections (http_conc)
  std::string path;      // HTTP path
  std::string url;       // h2_*: the whole URL (https:// over ALPN, http:// with prior knowledge)
  std::string server;    // h2_*: which server answers (nginx_tls, nghttpd_h2c), for the report
  std::string ca_file;   // h2_* over TLS: the server's self-signed certificate
  std::string payload;   // the message (text for ws_text), made before measuring starts
  std::chrono::steady_clock::time_point deadline;
};

struct outcome {
  long ops = 0;                      // operations completed
  std::uint64_t bytes = 0;           // payload bytes moved one way
  std::vector<double> latencies_us;  // per round trip, when measured
  double idle_rss_kib = 0;           // ws_idle: RSS growth per connection
  double rss_growth_kib = -1;        // h2_streams_rss: RSS after the burst minus before
};

// Thrown when a response came over another protocol than the workload measures (HTTP/1.1
// instead of HTTP/2): the figures would be wrong, so the whole run stops.
struct wrong_protocol : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Thrown by a loop that ran past its workload's time budget.
struct out_of_time : std::runtime_error {
  out_of_time() : std::runtime_error("workload ran past its time limit") {}
};
inline void check_deadline(const workload& w) {
  if (std::chrono::steady_clock::now() > w.deadline) throw out_of_time();
}

using client_fn = std::function<outcome(const workload&)>;
// client name -> workload name -> implementation
using registry = std::map<std::string, std::map<std::string, client_fn>>;

void register_courier(registry& r);
void register_beast(registry& r);
void register_curl(registry& r);
void register_raw(registry& r);

// Current resident set size in KiB (from /proc/self/statm).
double current_rss_kib();

}  // namespace bench

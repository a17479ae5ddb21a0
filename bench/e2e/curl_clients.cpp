// libcurl clients: one easy handle reused for sequential requests and downloads (keep-alive),
// a multi handle driving `connections` transfers at once for the concurrent workload, and the
// same over HTTP/2: one connection multiplexing `in_flight` transfers.
#include "bench_client.hpp"

#include <curl/curl.h>

#include <string>
#include <vector>

namespace bench {
namespace {

std::size_t count_bytes(char*, std::size_t size, std::size_t n, void* user) {
  *static_cast<std::uint64_t*>(user) += size * n;
  return size * n;
}

std::string url(const workload& w) {
  return "http://" + w.host + ":" + std::to_string(w.http_port) + w.path;
}

CURL* make_easy(const std::string& u, std::uint64_t* bytes) {
  CURL* h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, u.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, bytes);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  return h;
}

outcome easy(const workload& w) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  outcome out;
  const std::string u = url(w);
  CURL* h = make_easy(u, &out.bytes);
  for (long i = 0; i < w.count; ++i) {
    check_deadline(w);
    if (const CURLcode rc = curl_easy_perform(h); rc != CURLE_OK)
      throw std::runtime_error(curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) throw std::runtime_error("status " + std::to_string(status));
  }
  curl_easy_cleanup(h);
  out.ops = w.count;
  return out;
}

// Runs w.count transfers on `handles` (already added to `m`, `started` of them begun): each
// handle that finishes goes again until the count is reached. `check` sees each finished one.
template <class Check>
void run_multi(CURLM* m, const std::vector<CURL*>& handles, long started, const workload& w,
               Check check) {
  long done = 0;
  while (done < w.count) {
    check_deadline(w);
    int running = 0;
    curl_multi_perform(m, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(m, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      if (msg->data.result != CURLE_OK)
        throw std::runtime_error(curl_easy_strerror(msg->data.result));
      CURL* h = msg->easy_handle;
      check(h);
      ++done;
      curl_multi_remove_handle(m, h);
      if (started < w.count) {  // reuse the handle (and its connection or stream) again
        curl_multi_add_handle(m, h);
        ++started;
      }
    }
    if (done < w.count) curl_multi_poll(m, nullptr, 0, 100, nullptr);
  }
  for (CURL* h : handles)
    curl_easy_cleanup(h);
  curl_multi_cleanup(m);
}

outcome multi(const workload& w) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  outcome out;
  const std::string u = url(w);
  CURLM* m = curl_multi_init();
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(w.connections));
  std::vector<CURL*> handles;
  long started = 0;
  for (int i = 0; i < w.connections && started < w.count; ++i, ++started) {
    handles.push_back(make_easy(u, &out.bytes));
    curl_multi_add_handle(m, handles.back());
  }
  run_multi(m, handles, started, w, [](CURL*) {});
  out.ops = w.count;
  return out;
}

// h2_multi: in_flight easy handles kept busy on one multiplexed HTTP/2 connection (PIPEWAIT makes
// the first handles wait for the connection instead of opening one each).
outcome h2_multi(const workload& w) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  outcome out;
  const bool tls = w.url.rfind("https://", 0) == 0;
  CURLM* m = curl_multi_init();
  curl_multi_setopt(m, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
  curl_multi_setopt(m, CURLMOPT_MAX_CONCURRENT_STREAMS, static_cast<long>(w.in_flight));
  std::vector<CURL*> handles;
  long started = 0;
  for (int i = 0; i < w.in_flight && started < w.count; ++i, ++started) {
    CURL* h = make_easy(w.url, &out.bytes);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                     tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L);
    if (!w.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, w.ca_file.c_str());
    handles.push_back(h);
    curl_multi_add_handle(m, h);
  }
  run_multi(m, handles, started, w, [](CURL* h) {
    long status = 0, version = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
    if (version != CURL_HTTP_VERSION_2_0)
      throw wrong_protocol("libcurl's response came over HTTP version code " +
                           std::to_string(version) + ", not HTTP/2");
    if (status != 200) throw std::runtime_error("status " + std::to_string(status));
  });
  out.ops = w.count;
  return out;
}

}  // namespace

void register_curl(registry& r) {
  r["curl_easy"]["http_seq"] = easy;
  r["curl_easy"]["http_download"] = easy;
  r["curl_multi"]["http_conc"] = multi;
  r["curl_multi"]["h2_multi"] = h2_multi;
}

}  // namespace bench

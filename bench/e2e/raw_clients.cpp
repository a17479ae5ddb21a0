// The limit: the same payload bytes over a plain TCP socket with no framing, moved with as few
// syscalls as the workload allows (many messages per read and per write). For HTTP, a
// hand-written GET and a Content-Length read.
#include "bench_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace bench {
namespace {

using clock = std::chrono::steady_clock;

struct socket_fd {
  int fd = -1;
  ~socket_fd() {
    if (fd >= 0) ::close(fd);
  }
};

void connect_to(socket_fd& s, const workload& w, int port) {
  s.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, w.host.c_str(), &addr.sin_addr);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) throw std::runtime_error("send failed");
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}

std::size_t read_some(int fd, char* p, std::size_t n) {
  for (;;) {
    const ssize_t k = ::recv(fd, p, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) throw std::runtime_error("connection closed");
    return static_cast<std::size_t>(k);
  }
}

void read_exactly(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const std::size_t k = read_some(fd, p, n);
    p += k;
    n -= k;
  }
}

outcome ws_like(const workload& w) {
  socket_fd s;
  connect_to(s, w, w.tcp_port);
  const std::string& payload = w.payload;
  std::string buffer(std::max<std::size_t>(w.size, 256 * 1024), '\0');
  outcome out;
  if (w.name == "ws_latency") {
    out.latencies_us.reserve(static_cast<std::size_t>(w.count));
    for (long i = 0; i < w.count; ++i) {
      check_deadline(w);
      const auto t0 = clock::now();
      write_all(s.fd, payload.data(), payload.size());
      read_exactly(s.fd, buffer.data(), w.size);
      out.latencies_us.push_back(
          std::chrono::duration<double, std::micro>(clock::now() - t0).count());
    }
  } else if (w.name == "ws_pipeline") {
    // Keep in_flight messages outstanding; every read refills the window in one write.
    const long first = std::min<long>(w.in_flight, w.count);
    std::string window;
    for (long i = 0; i < first; ++i)
      window += payload;
    write_all(s.fd, window.data(), window.size());
    long sent = first;
    std::uint64_t received = 0;
    const std::uint64_t total = static_cast<std::uint64_t>(w.count) * w.size;
    while (received < total) {
      check_deadline(w);
      const std::uint64_t before = received / w.size;
      received += read_some(s.fd, buffer.data(), buffer.size());
      const long complete = static_cast<long>(received / w.size - before);
      const long more = std::min<long>(complete, w.count - sent);
      if (more > 0) {
        write_all(s.fd, window.data(), static_cast<std::size_t>(more) * w.size);
        sent += more;
      }
    }
  } else {
    // Large messages: write and read at the same time (poll), as a WebSocket client with a
    // reader and a writer would, so the echo flows back while the message is still going out.
    for (long i = 0; i < w.count; ++i) {
      std::size_t written = 0, got = 0;
      while (got < w.size) {
        check_deadline(w);
        pollfd p{s.fd, static_cast<short>(POLLIN | (written < w.size ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, 1000) < 0 && errno != EINTR) throw std::runtime_error("poll failed");
        if ((p.revents & POLLOUT) && written < w.size) {
          const ssize_t k =
              ::send(s.fd, payload.data() + written, w.size - written, MSG_NOSIGNAL | MSG_DONTWAIT);
          if (k > 0) written += static_cast<std::size_t>(k);
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
          const ssize_t k =
              ::recv(s.fd, buffer.data(), std::min(buffer.size(), w.size - got), MSG_DONTWAIT);
          if (k == 0) throw std::runtime_error("connection closed");
          if (k > 0) got += static_cast<std::size_t>(k);
        }
      }
    }
  }
  out.ops = w.count;
  out.bytes = static_cast<std::uint64_t>(w.count) * w.size;
  return out;
}

// GET on one keep-alive connection; the body is read into a reused buffer and dropped.
outcome http(const workload& w) {
  socket_fd s;
  connect_to(s, w, w.http_port);
  const std::string req = "GET " + w.path + " HTTP/1.1\r\nHost: " + w.host + "\r\n\r\n";
  std::string buffer(256 * 1024, '\0');
  outcome out;
  std::size_t have = 0;  // bytes in buffer not yet consumed (start at offset 0)
  for (long i = 0; i < w.count; ++i) {
    check_deadline(w);
    write_all(s.fd, req.data(), req.size());
    std::size_t head_end;
    for (;;) {
      head_end = std::string_view(buffer.data(), have).find("\r\n\r\n");
      if (head_end != std::string_view::npos) break;
      if (have == buffer.size()) throw std::runtime_error("header too large");
      have += read_some(s.fd, buffer.data() + have, buffer.size() - have);
    }
    const std::string_view head(buffer.data(), head_end);
    const auto cl = head.find("Content-Length: ");
    if (cl == std::string_view::npos || head.substr(9, 3) != "200")
      throw std::runtime_error("bad response");
    std::uint64_t body = std::stoull(std::string(head.substr(cl + 16, 20)));
    out.bytes += body;
    std::size_t pos = head_end + 4;
    const std::size_t in_buffer = std::min<std::uint64_t>(body, have - pos);
    pos += in_buffer;
    body -= in_buffer;
    while (body > 0) {
      const std::size_t k =
          read_some(s.fd, buffer.data(), std::min<std::uint64_t>(body, buffer.size()));
      body -= k;
      pos = have = 0;
    }
    std::memmove(buffer.data(), buffer.data() + pos, have - pos);  // keep a pipelined remainder
    have -= std::min(have, pos);
  }
  out.ops = w.count;
  return out;
}

}  // namespace

void register_raw(registry& r) {
  for (const char* ws : {"ws_latency", "ws_pipeline", "ws_binary", "ws_text"})
    r["raw_tcp"][ws] = ws_like;
  r["raw_tcp"]["http_seq"] = http;
  r["raw_tcp"]["http_download"] = http;
}

}  // namespace bench

// The benchmark's servers, on raw epoll in one thread so that they cost as little CPU as
// possible per message: a WebSocket echo server (RFC 6455 handshake, each frame echoed
// unmasked with its opcode and FIN; ping answered with pong, close with close) and a raw TCP
// echo server (bytes back as they come). The server always keeps reading and buffers what
// it cannot write yet, so a client writing a whole 16 MiB message before reading never
// deadlocks. Accepts as many connections as the fd limit allows (the 10k idle run).
//
// Data frames are echoed cut-through: the header goes out as soon as it is read and the
// payload follows as it arrives, unmasked, as the raw TCP echo does with its bytes. A server
// that stored each 16 MiB frame before answering would add its own receive time to every
// client's round trip, and the large-message figures would measure the server.
//
// Usage: bench_echo_server WS_PORT TCP_PORT
#include <arpa/inet.h>
#include <fcntl.h>
#include <immintrin.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

constexpr std::size_t read_chunk = 256 * 1024;

// Bytes waiting to be written. Unlike a std::string it grows without zero-filling: a payload
// is unmasked straight into the space it adds, so each byte is written once.
class out_buffer {
 public:
  /// `n` more bytes at the end, to be written by the caller.
  char* grow(std::size_t n) {
    if (size_ + n > capacity_) {
      const std::size_t want = std::max({capacity_ * 2, size_ + n, std::size_t{4096}});
      std::unique_ptr<char[]> bigger(new char[want]);  // not zero-filled
      if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
      data_ = std::move(bigger);
      capacity_ = want;
    }
    char* at = data_.get() + size_;
    size_ += n;
    return at;
  }
  void append(std::string_view bytes) {
    if (!bytes.empty()) std::memcpy(grow(bytes.size()), bytes.data(), bytes.size());
  }
  out_buffer& operator+=(std::string_view bytes) {
    append(bytes);
    return *this;
  }
  const char* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  void clear() noexcept { size_ = 0; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0, capacity_ = 0;
};

struct connection {
  int fd = -1;
  bool websocket = false;  // else raw TCP echo
  bool upgraded = false;   // handshake done
  bool closing = false;    // close after the output drains
  std::string in;          // unread input
  std::size_t in_pos = 0;  // consumed prefix of `in`
  out_buffer out;          // not yet written
  std::size_t out_pos = 0;
  bool want_write = false;
  // A data frame being echoed cut-through: payload bytes still to come, and its mask key
  // rotated to where the next byte falls.
  std::uint64_t streaming_left = 0;
  unsigned char stream_key[4] = {};
};

int listen_on(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4096) != 0) {
    std::perror("bench_echo_server: bind/listen");
    std::exit(1);
  }
  return fd;
}

std::string accept_key(std::string_view key) {
  std::string s(key);
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

bool iequal_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if ((line[i] | 0x20) != (name[i] | 0x20)) return false;
  return true;
}

// Returns false when the request is bad (the connection is dropped).
bool handshake(connection& c) {
  const std::size_t end = c.in.find("\r\n\r\n", c.in_pos);
  if (end == std::string::npos) return c.in.size() - c.in_pos < 64 * 1024;
  const std::string_view head(c.in.data() + c.in_pos, end - c.in_pos);
  std::string_view key;
  for (std::size_t pos = 0; pos < head.size();) {
    std::size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    const std::string_view line = head.substr(pos, eol - pos);
    if (iequal_prefix(line, "sec-websocket-key:")) {
      key = line.substr(18);
      while (!key.empty() && key.front() == ' ')
        key.remove_prefix(1);
      while (!key.empty() && key.back() == ' ')
        key.remove_suffix(1);
    }
    pos = eol + 2;
  }
  if (key.empty()) return false;
  c.out +=
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  c.out += accept_key(key);
  c.out += "\r\n\r\n";
  c.in_pos = end + 4;
  c.upgraded = true;
  return true;
}

// 32 bytes a step where the CPU has AVX2 (chosen at run time; the build targets plain x86-64).
__attribute__((target("avx2"))) std::size_t unmask_avx2(char* dst, const char* src, std::size_t n,
                                                        const unsigned char key[4]) {
  std::uint32_t k4;
  std::memcpy(&k4, key, 4);
  const __m256i k = _mm256_set1_epi32(static_cast<int>(k4));
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(v, k));
  }
  return i;  // a multiple of 4: the key's phase is unchanged
}

void unmask_into(char* dst, const char* src, std::size_t n, const unsigned char key[4]) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2 && n >= 64) {
    const std::size_t done = unmask_avx2(dst, src, n, key);
    dst += done;
    src += done;
    n -= done;
  }
  std::uint64_t k8;
  unsigned char kk[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::memcpy(&k8, kk, 8);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, src + i, 8);
    v ^= k8;
    std::memcpy(dst + i, &v, 8);
  }
  for (; i < n; ++i)
    dst[i] = static_cast<char>(src[i] ^ key[i & 3]);
}

// Passes on what `from` holds of the cut-through frame's payload; returns the bytes used.
std::size_t stream_payload(connection& c, std::string_view from) {
  const std::size_t n =
      static_cast<std::size_t>(std::min<std::uint64_t>(c.streaming_left, from.size()));
  unmask_into(c.out.grow(n), from.data(), n, c.stream_key);
  unsigned char rotated[4];
  for (int i = 0; i < 4; ++i)
    rotated[i] = c.stream_key[(i + n) & 3];
  std::memcpy(c.stream_key, rotated, 4);
  c.streaming_left -= n;
  return n;
}

// Echoes every frame in the input: control frames once complete, data frames as they come.
// Returns false on a protocol error.
bool echo_frames(connection& c) {
  for (;;) {
    if (c.streaming_left > 0) {
      c.in_pos += stream_payload(c, std::string_view(c.in).substr(c.in_pos));
      if (c.streaming_left > 0) return true;
    }
    const std::size_t avail = c.in.size() - c.in_pos;
    const auto* p = reinterpret_cast<const unsigned char*>(c.in.data() + c.in_pos);
    if (avail < 2) return true;
    const unsigned char b0 = p[0], b1 = p[1];
    if ((b1 & 0x80) == 0) return false;  // clients must mask
    std::uint64_t len = b1 & 0x7f;
    std::size_t hdr = 2;
    if (len == 126) {
      if (avail < 4) return true;
      len = (std::uint64_t{p[2]} << 8) | p[3];
      hdr = 4;
    } else if (len == 127) {
      if (avail < 10) return true;
      len = 0;
      for (int i = 0; i < 8; ++i)
        len = (len << 8) | p[2 + i];
      hdr = 10;
    }
    const unsigned opcode = b0 & 0x0f;
    const bool data_frame = opcode < 0x8;
    if (avail < hdr + 4 + (data_frame ? 0 : len)) return true;
    const unsigned char* key = p + hdr;
    const char* payload = reinterpret_cast<const char*>(p + hdr + 4);
    unsigned char out_b0 = b0;
    if (opcode == 0x9) out_b0 = static_cast<unsigned char>((b0 & 0xf0) | 0xA);  // ping -> pong
    if (opcode == 0xA) {                                                        // unsolicited pong
      c.in_pos += hdr + 4 + len;
      continue;
    }
    char header[10];
    std::size_t out_hdr = 2;
    header[0] = static_cast<char>(out_b0);
    if (len < 126) {
      header[1] = static_cast<char>(len);
    } else if (len < 65536) {
      header[1] = 126;
      header[2] = static_cast<char>(len >> 8);
      header[3] = static_cast<char>(len);
      out_hdr = 4;
    } else {
      header[1] = 127;
      for (int i = 0; i < 8; ++i)
        header[2 + i] = static_cast<char>(len >> (56 - 8 * i));
      out_hdr = 10;
    }
    c.out.append(std::string_view(header, out_hdr));
    if (data_frame) {
      std::memcpy(c.stream_key, key, 4);
      c.streaming_left = len;
      c.in_pos += hdr + 4;
      continue;
    }
    unmask_into(c.out.grow(len), payload, len, key);
    c.in_pos += hdr + 4 + len;
    if (opcode == 0x8) {
      c.closing = true;
      return true;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s WS_PORT TCP_PORT\n", argv[0]);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  const int ws_listener = listen_on(std::atoi(argv[1]));
  const int tcp_listener = listen_on(std::atoi(argv[2]));
  const int ep = ::epoll_create1(0);
  for (int l : {ws_listener, tcp_listener}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = l;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  }
  std::unordered_map<int, std::unique_ptr<connection>> conns;
  std::vector<epoll_event> events(1024);
  std::printf("ready\n");
  std::fflush(stdout);

  auto drop = [&](connection& c) {
    ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    conns.erase(c.fd);
  };
  // Writes what it can; returns false when the connection is gone.
  auto flush = [&](connection& c) {
    while (c.out_pos < c.out.size()) {
      const ssize_t n =
          ::send(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_pos += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    if (c.out_pos == c.out.size()) {
      c.out.clear();
      c.out_pos = 0;
      if (c.closing) return false;
    }
    const bool want = c.out_pos < c.out.size();
    if (want != c.want_write) {
      c.want_write = want;
      epoll_event ev{};
      ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
      ev.data.fd = c.fd;
      ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    }
    return true;
  };

  for (;;) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == ws_listener || fd == tcp_listener) {
        for (;;) {
          const int cfd = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK);
          if (cfd < 0) break;
          const int one = 1;
          ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto c = std::make_unique<connection>();
          c->fd = cfd;
          c->websocket = fd == ws_listener;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.fd = cfd;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
          conns.emplace(cfd, std::move(c));
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      connection& c = *it->second;
      if (events[i].events & EPOLLOUT) {
        if (!flush(c)) {
          drop(c);
          continue;
        }
      }
      if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      if (c.in_pos == c.in.size()) {
        c.in.clear();
        c.in_pos = 0;
      } else if (c.in_pos > (1u << 20) && c.in_pos * 2 > c.in.size()) {
        c.in.erase(0, c.in_pos);
        c.in_pos = 0;
      }
      static char read_buffer[read_chunk];  // one for all connections: idle ones hold nothing
      const ssize_t got = ::recv(fd, read_buffer, read_chunk, 0);
      if (got <= 0) {
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        drop(c);
        continue;
      }
      // Bytes that need no parsing go straight from the read buffer to the output, copied once:
      // raw TCP input, and the payload of a WebSocket frame being echoed cut-through.
      std::string_view fresh(read_buffer, static_cast<std::size_t>(got));
      bool ok = true;
      if (!c.websocket) {
        c.out.append(fresh);
      } else {
        if (c.upgraded && c.streaming_left > 0 && c.in_pos == c.in.size()) {
          fresh.remove_prefix(stream_payload(c, fresh));
        }
        c.in.append(fresh);
        if (!c.upgraded) ok = handshake(c);
        if (ok && c.upgraded) ok = echo_frames(c);
      }
      if (!ok || !flush(c)) drop(c);
    }
  }
}

#include "terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace courier::cli {

bool is_terminal(int fd) noexcept {
  return ::isatty(fd) == 1;
}

int terminal_width(int fd) noexcept {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    const int n = std::atoi(columns);
    if (n > 0) return n;
  }
  return 80;
}

bool colours_wanted() noexcept {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string_view(term) != "dumb";
}

std::string palette::paint(std::string_view text, std::string_view style) const {
  if (!on_) return std::string(text);
  std::string out;
  out.reserve(text.size() + style.size() + 8);
  out += "\033[";
  out += style;
  out += 'm';
  out += text;
  out += "\033[0m";
  return out;
}

}  // namespace courier::cli

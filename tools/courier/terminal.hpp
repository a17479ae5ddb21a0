// What the command knows about where its output goes: terminals, their width, and colours.
#pragma once

#include <string>
#include <string_view>

namespace courier::cli {

/// True when `fd` is a terminal (not a pipe or a file).
bool is_terminal(int fd) noexcept;

/// The width of the terminal on `fd`, or $COLUMNS, or 80.
int terminal_width(int fd) noexcept;

/// False when $NO_COLOR is set (https://no-color.org) or $TERM is "dumb".
bool colours_wanted() noexcept;

/// ANSI styles. A palette that is off paints nothing, so callers never test for colour.
class palette {
 public:
  explicit palette(bool on) : on_(on) {}
  bool on() const noexcept { return on_; }

  std::string paint(std::string_view text, std::string_view style) const;

  static constexpr std::string_view bold = "1";
  static constexpr std::string_view dim = "2";
  static constexpr std::string_view red = "31";
  static constexpr std::string_view green = "32";
  static constexpr std::string_view yellow = "33";
  static constexpr std::string_view blue = "34";
  static constexpr std::string_view magenta = "35";
  static constexpr std::string_view cyan = "36";
  static constexpr std::string_view bold_blue = "1;34";
  static constexpr std::string_view bold_green = "1;32";
  static constexpr std::string_view bold_yellow = "1;33";
  static constexpr std::string_view bold_red = "1;31";

 private:
  bool on_;
};

}  // namespace courier::cli

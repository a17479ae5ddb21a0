#include "json_format.hpp"

#include <nlohmann/json.hpp>

#include <vector>

namespace courier::cli {

namespace {

using json = nlohmann::json;

// A SAX handler that writes what it is told: no document is built.
class printer final : public nlohmann::json_sax<json> {
 public:
  printer(bool indent, const palette& colours) : indent_(indent), colours_(colours) {}

  std::string take() { return std::move(out_); }

  bool null() override { return scalar(colours_.paint("null", palette::magenta)); }
  bool boolean(bool v) override {
    return scalar(colours_.paint(v ? "true" : "false", palette::magenta));
  }
  bool number_integer(number_integer_t v) override {
    return scalar(colours_.paint(std::to_string(v), palette::cyan));
  }
  bool number_unsigned(number_unsigned_t v) override {
    return scalar(colours_.paint(std::to_string(v), palette::cyan));
  }
  bool number_float(number_float_t, const string_t& text) override {
    return scalar(colours_.paint(text, palette::cyan));
  }
  bool string(string_t& v) override { return scalar(colours_.paint(quote(v), palette::green)); }
  bool binary(binary_t&) override { return false; }  // not produced by the text parser

  bool start_object(std::size_t) override { return open('{'); }
  bool key(string_t& k) override {
    separate();
    out_ += colours_.paint(quote(k), palette::bold_blue);
    out_ += indent_ ? ": " : ":";
    after_key_ = true;
    return true;
  }
  bool end_object() override { return close('}'); }
  bool start_array(std::size_t) override { return open('['); }
  bool end_array() override { return close(']'); }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  struct level {
    bool empty = true;
  };

  static std::string quote(const std::string& s) {
    return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  }

  void newline() {
    if (!indent_) return;
    out_ += '\n';
    out_.append(levels_.size() * 4, ' ');
  }

  // Before a key or an array element: a comma after the previous one, then a new line.
  void separate() {
    if (levels_.empty()) return;
    if (!levels_.back().empty) out_ += ',';
    levels_.back().empty = false;
    newline();
  }

  void before_value() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    separate();
  }

  bool scalar(const std::string& text) {
    before_value();
    out_ += text;
    return true;
  }

  bool open(char bracket) {
    before_value();
    out_ += bracket;
    levels_.push_back({});
    return true;
  }

  bool close(char bracket) {
    const bool was_empty = levels_.back().empty;
    levels_.pop_back();
    if (!was_empty) newline();
    out_ += bracket;
    return true;
  }

  bool indent_;
  const palette& colours_;
  std::string out_;
  std::vector<level> levels_;
  bool after_key_ = false;
};

}  // namespace

std::optional<std::string> format_json(std::string_view text, bool indent, const palette& colours) {
  printer p(indent, colours);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &p);
  } catch (const json::exception&) {
    ok = false;
  }
  if (!ok) return std::nullopt;
  return p.take();
}

bool is_json_content_type(std::string_view content_type) noexcept {
  std::string lower;
  for (char c : content_type.substr(0, content_type.find(';'))) {
    lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  return lower.find("json") != std::string::npos || lower.find("javascript") != std::string::npos;
}

}  // namespace courier::cli

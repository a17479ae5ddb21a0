#include "proto/ws/extensions.hpp"

#include "core/http_grammar.hpp"

namespace courier::proto::ws {

using courier::detail::is_tchar;
using courier::detail::is_token;
namespace {

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

// A cursor over the header value with the few productions the grammar needs.
class reader {
 public:
  explicit reader(std::string_view s) : s_(s) {}

  bool at_end() const noexcept { return pos_ == s_.size(); }
  char peek() const noexcept { return s_[pos_]; }
  void skip_ows() noexcept {
    while (!at_end() && is_ows(s_[pos_]))
      ++pos_;
  }
  bool take(char c) noexcept {
    if (at_end() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  std::string_view token() noexcept {
    const std::size_t start = pos_;
    while (!at_end() && is_tchar(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; the opening quote is taken.
  std::optional<std::string> quoted_rest() {
    std::string out;
    while (!at_end()) {
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (at_end()) return std::nullopt;
        out.push_back(s_[pos_++]);
      } else {
        out.push_back(c);
      }
    }
    return std::nullopt;
  }
  std::size_t position() const noexcept { return pos_; }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

courier::unexpected<std::string> fail(std::string why) {
  return courier::unexpected<std::string>(std::move(why));
}

}  // namespace

courier::expected<std::vector<extension>, std::string> parse_extension_list(
    std::string_view value) {
  std::vector<extension> out;
  reader r(value);
  while (true) {
    r.skip_ows();
    if (r.at_end()) break;
    if (r.take(',')) continue;  // empty element

    extension ext;
    ext.name = std::string(r.token());
    if (ext.name.empty()) {
      return fail("expected an extension name at offset " + std::to_string(r.position()));
    }
    r.skip_ows();
    while (r.take(';')) {
      r.skip_ows();
      extension_param param;
      param.name = std::string(r.token());
      if (param.name.empty()) {
        return fail("expected a parameter name for extension \"" + ext.name + "\" at offset " +
                    std::to_string(r.position()));
      }
      r.skip_ows();
      if (r.take('=')) {
        r.skip_ows();
        if (r.take('"')) {
          auto quoted = r.quoted_rest();
          if (!quoted) return fail("unterminated quoted value for \"" + param.name + "\"");
          // RFC 6455 9.1: a quoted value must still be a token once unquoted.
          if (!is_token(*quoted)) {
            return fail("the quoted value of \"" + param.name + "\" is not a token");
          }
          param.value = std::move(*quoted);
        } else {
          std::string_view v = r.token();
          if (v.empty()) return fail("expected a value for \"" + param.name + "\"");
          param.value = std::string(v);
        }
        r.skip_ows();
      }
      ext.params.push_back(std::move(param));
    }
    out.push_back(std::move(ext));
    if (r.at_end()) break;
    if (!r.take(',')) {
      return fail("unexpected character at offset " + std::to_string(r.position()) +
                  " of the extension list");
    }
  }
  return out;
}

}  // namespace courier::proto::ws

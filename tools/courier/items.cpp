#include "items.hpp"

#include "failure.hpp"

#include <array>

namespace courier::cli {

namespace {

struct separator {
  std::string_view text;
  item_kind kind;
};

// Longest first: at one position, ":=@" must win over ":=" and ":".
constexpr std::array<separator, 8> separators{{
    {":=@", item_kind::json_field_file},
    {"=@", item_kind::data_field_file},
    {"==", item_kind::query},
    {":=", item_kind::json_field},
    {"=", item_kind::data_field},
    {"@", item_kind::file_upload},
    {":", item_kind::header},
    {";", item_kind::empty_header},
}};

bool is_escapable(char c) {
  return c == ':' || c == '=' || c == '@' || c == ';' || c == '\\';
}

const char* syntax_hint =
    "items are Header:value, Header;, name==value, field=value, field:=json, field=@file, "
    "field:=@file and field@file (with --form)";

}  // namespace

bool is_body_item(item_kind kind) noexcept {
  switch (kind) {
    case item_kind::data_field:
    case item_kind::data_field_file:
    case item_kind::json_field:
    case item_kind::json_field_file:
    case item_kind::file_upload:
      return true;
    default:
      return false;
  }
}

request_item parse_item(std::string_view text) {
  std::string key;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && is_escapable(text[i + 1])) {
      key += text[++i];
      continue;
    }
    for (const auto& sep : separators) {
      if (text.substr(i, sep.text.size()) != sep.text) continue;
      // "Name;" is a header with an empty value only at the very end; elsewhere ';' is text.
      if (sep.kind == item_kind::empty_header && i + 1 != text.size()) continue;
      request_item item{sep.kind, key, std::string(text.substr(i + sep.text.size())),
                        std::string(text)};
      if (item.key.empty()) {
        throw usage_error(
            "'" + std::string(text) + "' has no name before '" + std::string(sep.text) + "'",
            syntax_hint);
      }
      if ((item.kind == item_kind::file_upload || item.kind == item_kind::data_field_file ||
           item.kind == item_kind::json_field_file) &&
          item.value.empty()) {
        throw usage_error("'" + std::string(text) + "' names no file after '" +
                          std::string(sep.text) + "'");
      }
      return item;
    }
    key += text[i];
  }
  throw usage_error("'" + std::string(text) + "' is not a request item", syntax_hint);
}

}  // namespace courier::cli

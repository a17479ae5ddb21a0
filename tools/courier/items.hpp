// Request items, httpie's syntax: what follows the URL on the command line.
//
//   Name:value      a header                 Name;          a header with an empty value
//   name==value     a query parameter        field=value    a string field (JSON or form)
//   field:=json     a raw JSON value         field@path     a file upload (needs --form)
//   field=@path     a string field read from a file
//   field:=@path    a JSON value read from a file
//
// The earliest separator wins (at one position, the longest); a backslash escapes a separator
// character in the name: 'a\:b=c' is the field "a:b".
#pragma once

#include <string>
#include <string_view>

namespace courier::cli {

enum class item_kind {
  header,
  empty_header,
  query,
  data_field,
  data_field_file,
  json_field,
  json_field_file,
  file_upload,
};

struct request_item {
  item_kind kind = item_kind::header;
  std::string key;
  std::string value;
  std::string original;  ///< as typed, for error messages
};

/// Parses one item; throws usage_error naming the item and the syntax when it is none.
request_item parse_item(std::string_view text);

/// True for the kinds that make a request body.
bool is_body_item(item_kind kind) noexcept;

}  // namespace courier::cli

#include "proto/http1/request_writer.hpp"

#include <courier/error.hpp>

#include <algorithm>
#include <stdexcept>

namespace courier::proto::http1 {

namespace {

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// Fields were validated when added; this guards against a field added unchecked.
void check_field(const header_field& field) {
  auto breaks_line = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
  if (field.name.empty() || field.name.find_first_of(" \t:\r\n") != std::string::npos ||
      std::any_of(field.name.begin(), field.name.end(), is_control)) {
    throw courier::invalid_header("invalid header field name '" + field.name + "'");
  }
  if (std::any_of(field.value.begin(), field.value.end(), breaks_line)) {
    throw courier::invalid_header("header field '" + field.name +
                                  "' has a value with CR, LF or NUL");
  }
}

}  // namespace

std::string serialize_request_head(const courier::method& method, std::string_view target,
                                   const courier::headers& fields) {
  if (target.empty()) throw courier::invalid_request("empty HTTP request target");
  if (std::any_of(target.begin(), target.end(), [](char c) { return c == ' ' || is_control(c); })) {
    throw courier::invalid_request("HTTP request target holds a space or control character: '" +
                                   std::string(target) + "'");
  }
  std::size_t size = method.name().size() + 1 + target.size() + 11 + 2;
  for (const header_field& field : fields)
    size += field.name.size() + 2 + field.value.size() + 2;

  std::string head;
  head.reserve(size);
  head.append(method.name()).append(" ").append(target).append(" HTTP/1.1\r\n");
  for (const header_field& field : fields) {
    check_field(field);
    head.append(field.name).append(": ").append(field.value).append("\r\n");
  }
  head.append("\r\n");
  return head;
}

std::string chunk_prefix(std::size_t size) {
  if (size == 0) {
    throw std::invalid_argument("chunk_prefix(0) would end the body; send last_chunk instead");
  }
  static constexpr char digits[] = "0123456789abcdef";
  char buffer[2 * sizeof(std::size_t) + 2];
  char* end = buffer + sizeof(buffer);
  char* p = end;
  *--p = '\n';
  *--p = '\r';
  for (; size != 0; size >>= 4)
    *--p = digits[size & 0xf];
  return std::string(p, end);
}

}  // namespace courier::proto::http1

// HTTP request methods.
#pragma once

#include <string>
#include <string_view>

namespace courier {

/// An HTTP method. The common ones are constants; any RFC 9110 token is accepted.
class method {
 public:
  /// Throws invalid_request unless `name` is a token.
  explicit method(std::string_view name);

  static const method get, head, post, put, patch, delete_, options, trace, connect;

  const std::string& name() const noexcept { return name_; }
  friend bool operator==(const method&, const method&) = default;

 private:
  struct trusted {};
  method(trusted, std::string_view name) : name_(name) {}
  std::string name_;
};

}  // namespace courier

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

  ///@{
  /// The standard methods. delete_ is DELETE (delete is a keyword).
  static const method get, head, post, put, patch, delete_, options, trace, connect;
  ///@}

  /// The method as sent, e.g. "GET".
  const std::string& name() const noexcept { return name_; }
  /// Equal when the names are equal (case-sensitive, as in HTTP).
  friend bool operator==(const method&, const method&) = default;

 private:
  struct trusted {};
  method(trusted, std::string_view name) : name_(name) {}
  std::string name_;
};

}  // namespace courier

#include <courier/request.hpp>
#include "core/hot_path.hpp"

#include "core/content_decoder.hpp"

#include <openssl/evp.h>

namespace courier {

namespace {
COURIER_COLD courier::uri with_params(
    courier::uri u, const std::vector<std::pair<std::string, std::string>>& query) {
  for (const auto& [name, value] : query)
    u = u.with_query_param(name, value);
  return u;
}
}  // namespace

COURIER_HOT std::optional<courier::uri> request_data::uri() const {
  const state& s = st();
  if (!s.uri) return std::nullopt;
  if (s.query.empty()) return *s.uri;  // copied straight into the optional
  return with_params(*s.uri, s.query);
}

const request_data::state& request_data::default_state() {
  static const state empty;
  return empty;
}

request_data::state& request_data::mut() {
  // One owner may change the state in place; a shared one is copied first (copy on write).
  if (!s_) {
    s_ = std::make_shared<state>();
  } else if (s_.use_count() > 1) {
    s_ = std::make_shared<state>(*s_);
  }
  return *s_;
}

const courier::body& request_data::no_body() {
  static const courier::body empty;
  return empty;
}

namespace detail {

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string basic_credentials(std::string_view user, std::string_view password) {
  std::string plain(user);
  plain += ':';
  plain += password;
  return "Basic " + base64_encode(plain);
}

request<expected<std::string, std::string>> make_empty_request() {
  return request<expected<std::string, std::string>>(as_string_or_error());
}

request<expected<std::string, std::string>> make_basic_request() {
  return make_empty_request().header("Accept-Encoding", accepted_encodings());
}

}  // namespace detail
}  // namespace courier

#include "asio/http1/request_head.hpp"

#include "core/hot_path.hpp"
#include "proto/http1/request_writer.hpp"

#include <courier/body_source.hpp>

namespace courier::asio_detail {

namespace http1 = courier::proto::http1;

namespace {

// The request fields build_http1_head replaces, checks or supplies a default for.
enum class special_field {
  none,
  proxy_authorization,
  content_length,
  transfer_encoding,
  host,
  user_agent,
  accept,
  content_type
};

// One comparison at most per field: their lengths differ.
COURIER_HOT special_field special_field_of(std::string_view name) {
  const auto is = [&](std::string_view known, special_field f) {
    return iequals(name, known) ? f : special_field::none;
  };
  switch (name.size()) {
    case 4:
      return is("Host", special_field::host);
    case 6:
      return is("Accept", special_field::accept);
    case 10:
      return is("User-Agent", special_field::user_agent);
    case 12:
      return is("Content-Type", special_field::content_type);
    case 14:
      return is("Content-Length", special_field::content_length);
    case 17:
      return is("Transfer-Encoding", special_field::transfer_encoding);
    case 19:
      return is("Proxy-Authorization", special_field::proxy_authorization);
    default:
      return special_field::none;
  }
}

// RFC 9112 3.2.2: a request to a forwarding proxy names the whole uri (never its userinfo).
COURIER_COLD std::string built_target(const courier::uri& u, bool forwarding) {
  if (forwarding) return std::string(u.scheme()) + "://" + u.authority() + u.target();
  return u.target();
}

// Most requests send all three defaults: their lines are written (and checked) once per
// connection and kept on it. A pooled connection serves one origin; only the host's case may
// differ.
COURIER_COLD void remember_default_fields(const courier::method& m, const courier::uri& u,
                                          const asio_backend_options& opts, transport& conn) {
  http1::request_head_writer defaults(m, "/");
  defaults.field("Host", u.authority());
  if (!opts.user_agent.empty()) defaults.field("User-Agent", opts.user_agent);
  defaults.field("Accept", "*/*");
  conn.default_fields = defaults.fields();
  conn.default_fields_host = u.host();
}

// The framing of a request body, and its type unless the request names one.
COURIER_COLD void write_body_fields(http1::request_head_writer& w, const detail::encoded_body& body,
                                    bool has_type) {
  if (!has_type && !body.content_type.empty()) w.field("Content-Type", body.content_type);
  if (auto size = body.source->size()) {
    w.field("Content-Length", std::to_string(*size));
  } else {
    w.field("Transfer-Encoding", "chunked");
  }
}

}  // namespace

COURIER_HOT std::string build_http1_head(const courier::method& m, const courier::uri& u,
                                         const headers& given, const detail::encoded_body& body,
                                         const asio_backend_options& opts, transport& conn) {
  const bool forwarding = conn.forwards_through_proxy();
  const std::string proxy_auth = forwarding ? conn.proxy_authorization() : std::string();
  std::string target_built;
  std::string_view target = u.path();  // most requests: no query, no proxy, nothing to build
  if (forwarding || u.query()) {
    target_built = built_target(u, forwarding);
    target = target_built;
  }
  http1::request_head_writer w(m, target, std::move(conn.head_storage));
  // The request's fields in order, less those replaced below; then the defaults it lacks.
  bool has_host = false, has_agent = false, has_accept = false, has_type = false;
  bool has_length = false;
  for (const header_field& f : given) {
    const std::string_view name = f.name;
    switch (special_field_of(name)) {
      case special_field::proxy_authorization:
        // Through a tunnel the origin would see it: proxy credentials belong to CONNECT only.
        if ((conn.via() && !forwarding) || !proxy_auth.empty()) continue;
        break;
      case special_field::content_length:
        if (body.source) continue;  // the body's own framing is written below
        has_length = true;
        break;
      case special_field::transfer_encoding:
        if (body.source) continue;
        break;
      case special_field::host:
        has_host = true;
        break;
      case special_field::user_agent:
        has_agent = true;
        break;
      case special_field::accept:
        has_accept = true;
        break;
      case special_field::content_type:
        has_type = true;
        break;
      case special_field::none:
        break;
    }
    w.field(name, f.value);
  }
  if (!has_host && !has_agent && !has_accept) {
    if (conn.default_fields.empty() || conn.default_fields_host != u.host()) {
      remember_default_fields(m, u, opts, conn);
    }
    w.fields_from(conn.default_fields);
  } else {
    if (!has_host) w.field("Host", u.authority());
    if (!has_agent && !opts.user_agent.empty()) w.field("User-Agent", opts.user_agent);
    if (!has_accept) w.field("Accept", "*/*");
  }
  if (body.source) {
    write_body_fields(w, body, has_type);
  } else if ((m == courier::method::post || m == courier::method::put ||
              m == courier::method::patch) &&
             !has_length) {
    w.field("Content-Length", "0");
  }
  if (!proxy_auth.empty()) w.field("Proxy-Authorization", proxy_auth);
  return w.finish();
}

}  // namespace courier::asio_detail

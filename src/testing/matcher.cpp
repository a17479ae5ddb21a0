#include <courier/testing/matcher.hpp>

#include <courier/testing/effective_headers.hpp>

#include "core/body_encoder.hpp"

#include <courier/error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

namespace courier::testing {

matcher operator&&(matcher a, matcher b) {
  std::string d = "(" + a.description() + " and " + b.description() + ")";
  return matcher(
      [a = std::move(a), b = std::move(b)](const request_data& r) { return a(r) && b(r); },
      std::move(d));
}

matcher operator||(matcher a, matcher b) {
  std::string d = "(" + a.description() + " or " + b.description() + ")";
  return matcher(
      [a = std::move(a), b = std::move(b)](const request_data& r) { return a(r) || b(r); },
      std::move(d));
}

matcher operator!(matcher a) {
  std::string d = "not " + a.description();
  return matcher([a = std::move(a)](const request_data& r) { return !a(r); }, std::move(d));
}

namespace {
std::string uri_text(const request_data& r) {
  auto u = r.uri();
  return u ? u->str() : std::string();
}
std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}
}  // namespace

matcher any_request() {
  return matcher([](const request_data&) { return true; }, "any request");
}

matcher method_is(courier::method m) {
  std::string d = "method " + m.name();
  return matcher([m = std::move(m)](const request_data& r) { return r.method() == m; },
                 std::move(d));
}

matcher uri_is(std::string_view uri) {
  // Compared as courier writes it, so "https://a.example" and "https://a.example/" differ
  // only if courier's uri does.
  std::string want = courier::uri(uri).str();
  return matcher([want](const request_data& r) { return uri_text(r) == want; },
                 "uri " + quoted(uri));
}

matcher uri_starts_with(std::string_view prefix) {
  std::string p(prefix);
  return matcher([p](const request_data& r) { return uri_text(r).starts_with(p); },
                 "uri starting with " + quoted(prefix));
}

matcher uri_matches(std::string_view pattern) {
  std::shared_ptr<const std::regex> re;
  try {
    re = std::make_shared<const std::regex>(std::string(pattern), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw invalid_request("uri_matches: bad regular expression " + quoted(pattern) + ": " +
                          e.what());
  }
  return matcher([re](const request_data& r) { return std::regex_match(uri_text(r), *re); },
                 "uri matching " + quoted(pattern));
}

matcher path_is(std::string_view path) {
  std::string p(path);
  return matcher(
      [p](const request_data& r) {
        auto u = r.uri();
        return u && u->path() == p;
      },
      "path " + quoted(path));
}

matcher path_starts_with(std::string_view prefix) {
  std::string p(prefix);
  return matcher(
      [p](const request_data& r) {
        auto u = r.uri();
        return u && u->path().starts_with(p);
      },
      "path starting with " + quoted(prefix));
}

matcher host_is(std::string_view host) {
  std::string h(host);
  return matcher(
      [h](const request_data& r) {
        auto u = r.uri();
        return u && iequals(u->host(), h);
      },
      "host " + quoted(host));
}

matcher query_has(std::string_view name, std::string_view value) {
  std::string n(name), v(value);
  return matcher(
      [n, v](const request_data& r) {
        auto u = r.uri();
        if (!u) return false;
        auto parsed = boost::urls::parse_uri(u->str());
        if (!parsed) return false;
        for (auto param : parsed->params()) {
          if (param.key == n && param.has_value && param.value == v) return true;
        }
        return false;
      },
      "query " + n + "=" + v);
}

matcher has_header(std::string_view name) {
  std::string n(name);
  return matcher([n](const request_data& r) { return effective_headers(r).contains(n); },
                 "a header " + n);
}

matcher header_is(std::string_view name, std::string_view value) {
  std::string n(name), v(value);
  return matcher(
      [n, v](const request_data& r) {
        const auto fields = effective_headers(r);  // get_all() views into it
        for (auto got : fields.get_all(n)) {
          if (got == v) return true;
        }
        return false;
      },
      "header " + n + ": " + v);
}

matcher body_is(std::string_view body) {
  std::string b(body);
  return matcher([b](const request_data& r) { return body_bytes(r) == b; },
                 "body " + quoted(body.substr(0, 60)));
}

matcher body_contains(std::string_view part) {
  std::string p(part);
  return matcher([p](const request_data& r) { return body_bytes(r).find(p) != std::string::npos; },
                 "body containing " + quoted(part.substr(0, 60)));
}

matcher where(std::function<bool(const request_data&)> p, std::string description) {
  return matcher(std::move(p), std::move(description));
}

std::string body_bytes(const request_data& req) {
  const courier::body& b = req.body();
  if (const auto* bytes = std::get_if<bytes_body>(&b)) return bytes->data;
  if (const auto* form = std::get_if<form_body>(&b)) {
    return courier::detail::url_encode_form(form->fields);
  }
  courier::detail::encoded_body encoded;
  if (const auto* multi = std::get_if<multipart_body>(&b)) {
    encoded = courier::detail::encode_multipart(*multi, "courier-stub");
  } else {
    encoded = courier::detail::encode_body(b);  // a file: opened now, errors are file_error
  }
  std::string out;
  if (!encoded.source) return out;
  char buf[16 * 1024];
  while (std::size_t n = encoded.source->read(buf, sizeof buf))
    out.append(buf, n);
  return out;
}

std::string describe(const request_data& req) {
  auto u = req.uri();
  return req.method().name() + " " + (u ? u->str() : std::string("(no uri)"));
}

}  // namespace courier::testing

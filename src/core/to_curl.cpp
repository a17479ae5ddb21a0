#include <courier/to_curl.hpp>

#include "core/body_encoder.hpp"

#include <courier/error.hpp>
#include <courier/headers.hpp>
#include <courier/proxy.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace courier {

namespace {

bool is_plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_-+=/.,:@%").find(c) != std::string_view::npos;
}

constexpr std::array<std::string_view, 4> always_sensitive{"Authorization", "Proxy-Authorization",
                                                           "Cookie", "Set-Cookie"};

// The proxy as curl takes it, credentials included (percent-encoded).
std::string proxy_uri(const proxy& p) {
  static constexpr const char* schemes[] = {"http", "https", "socks5", "socks5h"};
  auto encode = [](const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
      if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
        out += static_cast<char>(c);
      } else {
        static constexpr char hex[] = "0123456789ABCDEF";
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  };
  std::string out = schemes[static_cast<int>(p.type())];
  out += "://";
  if (p.has_credentials()) out += encode(p.username()) + ":" + encode(p.password()) + "@";
  out += p.host().find(':') != std::string::npos ? "[" + p.host() + "]" : p.host();
  return out + ":" + std::to_string(p.port());
}

bool is_redacted(std::string_view name, const curl_options& o) {
  for (const auto& n : o.redact_headers) {
    if (iequals(n, name)) return true;
  }
  if (!o.redact) return false;
  return std::any_of(always_sensitive.begin(), always_sensitive.end(),
                     [&](std::string_view s) { return iequals(s, name); });
}

bool is_text(std::string_view data) {
  return data.find('\0') == std::string_view::npos;
}

// printf's argument that writes `data` byte for byte (octal escapes for anything not plain).
std::string printf_format(std::string_view data) {
  std::string out;
  for (unsigned char c : data) {
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '%' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    }
  }
  return out;
}

std::string seconds(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

// curl -F treats ';' ',' and '"' in a file name as syntax; double quotes keep them literal.
std::string form_quoted(const std::string& value) {
  if (value.find_first_of(";,\"\\") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

std::string shell_quote(std::string_view text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), is_plain)) return std::string(text);
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string to_curl(const request_data& req, const curl_options& options) {
  auto u = req.uri();
  if (!u) throw invalid_request("to_curl: the request has no uri: call get(uri) first");
  std::vector<std::string> words{"curl"};
  std::string stdin_source;  // printf ... | curl, for bytes a shell word cannot hold
  bool stdin_is_file_part = false;
  auto add = [&](std::string option, std::string_view value) {
    words.push_back(std::move(option) + " " + shell_quote(value));
  };
  const courier::headers& hs = req.headers();
  const courier::body& body = req.body();
  const bool has_body = req.has_body();
  const std::string& method = req.method().name();

  // curl's own choice is GET, or POST once there is a body; -X only when that differs.
  if (method == "HEAD") {
    words.push_back("--head");
  } else if (!((method == "GET" && !has_body) || (method == "POST" && has_body))) {
    add("-X", method);
  }
  words.push_back(shell_quote(u->str()));

  const auto& o = req.options();
  if (o.follow_redirects) {
    words.push_back("-L");
    add("--max-redirs", std::to_string(o.max_redirects));
  }
  if (o.decompress && hs.contains("Accept-Encoding")) words.push_back("--compressed");
  if (o.version) {
    switch (*o.version) {
      case http_version::http1_1:
        words.push_back("--http1.1");
        break;
      case http_version::http2:
        words.push_back("--http2");
        break;
      case http_version::http2_prior_knowledge:
        words.push_back("--http2-prior-knowledge");
        break;
      case http_version::any:
        break;
    }
  }
  if (o.proxy) {
    // The request's own proxy choice; without one curl would apply its environment.
    if (auto p = o.proxy->select(*u)) {
      add("--proxy", options.redact ? p->redacted() : proxy_uri(*p));
    } else {
      add("--noproxy", "*");
    }
  }
  for (const auto& f : hs) {
    std::string value = is_redacted(f.name, options) ? "[REDACTED]" : f.value;
    // curl sends "Name;" as a header with an empty value ("Name:" would remove it).
    add("-H", value.empty() ? f.name + ";" : f.name + ": " + value);
  }
  auto add_content_type = [&](const std::string& type) {
    if (!type.empty() && !hs.contains("Content-Type")) add("-H", "Content-Type: " + type);
  };

  if (const auto* b = std::get_if<bytes_body>(&body)) {
    add_content_type(b->content_type);
    if (is_text(b->data)) {
      add("--data-raw", b->data);
    } else {
      stdin_source = b->data;
      words.push_back("--data-binary @-");
    }
  } else if (const auto* f = std::get_if<file_body>(&body)) {
    add_content_type(f->content_type);
    std::string at_path = "@";  // appended, not "@" + string: GCC 12 warns (-Wrestrict) there
    at_path += f->path.string();
    add("--data-binary", at_path);
  } else if (const auto* form = std::get_if<form_body>(&body)) {
    add_content_type("application/x-www-form-urlencoded");
    add("--data-raw", detail::url_encode_form(form->fields));
  } else if (const auto* multi = std::get_if<multipart_body>(&body)) {
    for (const auto& part : multi->parts) {
      std::string params;
      if (part.filename) params += ";filename=" + form_quoted(*part.filename);
      if (!part.content_type.empty()) params += ";type=" + form_quoted(part.content_type);
      if (part.file) {
        add("-F", part.name + "=@" + form_quoted(part.file->string()) + params);
      } else if (part.filename && stdin_source.empty()) {
        // In-memory file content: read from stdin, where printf puts it.
        stdin_source = part.value;
        stdin_is_file_part = true;
        add("-F", part.name + "=@-" + params);
      } else {
        // --form-string takes the value literally (-F would read "@x" as a file). A second
        // in-memory file part loses its filename here: only one can come from stdin.
        add("--form-string", part.name + "=" + part.value);
      }
    }
  }

  const request_options defaults;
  if (o.connect_timeout != defaults.connect_timeout) {
    add("--connect-timeout", seconds(o.connect_timeout));
  }
  if (o.timeout) add("--max-time", seconds(*o.timeout));

  std::string out;
  if (!stdin_source.empty() || stdin_is_file_part) {
    out = "printf " + shell_quote(printf_format(stdin_source)) + " | ";
  }
  out += words[0];
  for (std::size_t i = 1; i < words.size(); ++i) {
    out += (options.multiline && i > 1) ? " \\\n  " : " ";
    out += words[i];
  }
  return out;
}

}  // namespace courier

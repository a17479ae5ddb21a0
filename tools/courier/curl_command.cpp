#include "curl_command.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace courier::cli {

namespace {

bool is_plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_-+=/.,:@%").find(c) != std::string_view::npos;
}

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

// curl -F treats ';' ',' and '"' in a file name as syntax; double quotes keep them literal.
std::string form_file_value(const std::string& path, const std::string& type) {
  std::string name = path;
  if (name.find_first_of(";,\"\\") != std::string::npos) {
    std::string quoted = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    name = quoted + "\"";
  }
  return "@" + name + (type.empty() ? "" : ";type=" + type);
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

std::string curl_command(const request_plan& plan, const http_args& args,
                         std::string_view user_agent) {
  std::vector<std::string> words{"curl"};
  auto add = [&](std::string option, std::string_view value) {
    words.push_back(std::move(option) + " " + shell_quote(value));
  };

  const std::string& method = plan.method.name();
  const bool has_body = plan.kind != body_kind::none;
  if (method == "HEAD") {
    words.push_back("--head");
  } else if (!((method == "GET" && !has_body) || (method == "POST" && has_body))) {
    add("-X", method);
  }
  words.push_back(shell_quote(plan.uri.str()));

  if (args.follow) {
    words.push_back("-L");
    add("--max-redirs", std::to_string(args.max_redirects));
  }
  const auto& hs = plan.headers;
  if (!hs.contains("User-Agent")) add("-A", user_agent);
  if (plan.accept_compressed && !hs.contains("Accept-Encoding")) {
    words.push_back("--compressed");
    // What basic_request() asks for (gzip, deflate, and br, zstd when the library has them).
    const auto defaults = courier::basic_request();
    const auto accepted = defaults.headers().get("Accept-Encoding");
    add("-H", "Accept-Encoding: " + std::string(accepted.value_or("gzip, deflate")));
  }
  for (const auto& f : hs) {
    // curl sends "Name;" as a header with an empty value ("Name:" would remove it).
    add("-H", f.value.empty() ? f.name + ";" : f.name + ": " + f.value);
  }
  if (plan.auth) add("-u", *plan.auth);

  switch (plan.kind) {
    case body_kind::none:
      break;
    case body_kind::json:
    case body_kind::raw:
      if (plan.content_type && !hs.contains("Content-Type")) {
        add("-H", "Content-Type: " + *plan.content_type);
      }
      if (plan.kind == body_kind::raw && args.raw_source && args.raw_source->size() > 1 &&
          (*args.raw_source)[0] == '@' && *args.raw_source != "@-") {
        add("--data-binary", *args.raw_source);
      } else {
        add("--data-raw", plan.body_text);
      }
      break;
    case body_kind::form:
      add("--data-raw", plan.body_text);
      break;
    case body_kind::multipart:
      for (const auto& part : std::get<multipart_body>(plan.body).parts) {
        if (part.file) {
          add("-F", part.name + "=" + form_file_value(part.file->string(), part.content_type));
        } else {
          add("--form-string", part.name + "=" + part.value);
        }
      }
      break;
  }

  if (args.connect_timeout) add("--connect-timeout", seconds(*args.connect_timeout));
  if (args.timeout) add("--max-time", seconds(*args.timeout));
  if (args.cacert) add("--cacert", *args.cacert);
  if (args.insecure) words.push_back("--insecure");
  if (args.output_file) add("-o", *args.output_file);

  std::string out = words[0] + " " + words[1];
  std::size_t line = out.size();
  for (std::size_t i = 2; i < words.size(); ++i) {
    if (line + 1 + words[i].size() > 100) {
      out += " \\\n  " + words[i];
      line = 2 + words[i].size();
    } else {
      out += " " + words[i];
      line += 1 + words[i].size();
    }
  }
  return out;
}

}  // namespace courier::cli

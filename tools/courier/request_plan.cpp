#include "request_plan.hpp"

#include "failure.hpp"
#include "json_format.hpp"

#include <courier/response_as.hpp>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

namespace courier::cli {

namespace {

std::string read_file(const std::string& path, const request_item& item) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error("cannot read '" + path + "' (from the item '" + item.original + "')");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string json_string(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The value after ':=' re-printed compactly, its numbers kept digit for digit.
std::string compact_json(const std::string& text, const request_item& item) {
  if (auto compact = format_json(text, false, palette(false))) return *compact;
  throw usage_error("'" + item.original + "': the value after ':=' is not valid JSON",
                    "strings need quotes inside the JSON: 'name:=\"ada\"', or use name=ada");
}

// A content type from the file name, for uploads; "type=" after ';' in the item overrides it.
std::string guess_content_type(const std::filesystem::path& path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> types{{
      {".json", "application/json"},
      {".txt", "text/plain"},
      {".html", "text/html"},
      {".htm", "text/html"},
      {".css", "text/css"},
      {".csv", "text/csv"},
      {".xml", "application/xml"},
      {".js", "text/javascript"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".pdf", "application/pdf"},
      {".zip", "application/zip"},
  }};
  const std::string ext = path.extension().string();
  for (const auto& [e, type] : types) {
    if (ext == e) return std::string(type);
  }
  return "application/octet-stream";
}

multipart_part upload_part(const request_item& item) {
  std::string path = item.value;
  std::string type;
  if (auto p = path.rfind(";type="); p != std::string::npos) {
    type = path.substr(p + 6);
    path.erase(p);
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || ::access(path.c_str(), R_OK) != 0) {
    throw usage_error("cannot read the file to upload '" + path + "' (from the item '" +
                      item.original + "')");
  }
  if (type.empty()) type = guess_content_type(path);
  return multipart_part::from_file(item.key, path, type);
}

bool has_header(const courier::headers& hs, std::string_view name) {
  return hs.contains(name);
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(std::max<long long>(1, static_cast<long long>(seconds * 1000)));
}

bool looks_binary(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

void add_body(request_plan& plan, const http_args& args) {
  std::vector<const request_item*> fields;
  bool any_upload = false;
  for (const auto& item : args.items) {
    if (!is_body_item(item.kind)) continue;
    fields.push_back(&item);
    if (item.kind == item_kind::file_upload) any_upload = true;
  }
  if (args.raw_body && !fields.empty()) {
    throw usage_error("--raw and body items ('" + fields.front()->original + "') cannot be mixed");
  }
  if (args.raw_body) {
    plan.kind = body_kind::raw;
    plan.body_text = *args.raw_body;
    std::string type = "text/plain; charset=utf-8";
    if (looks_binary(plan.body_text)) {
      type = "application/octet-stream";
    } else if (nlohmann::json::accept(plan.body_text)) {
      type = "application/json";
    }
    plan.content_type = plan.headers.get("Content-Type").value_or(type);
    plan.body = bytes_body{plan.body_text, *plan.content_type};
    return;
  }
  if (fields.empty()) return;

  if (!args.form) {
    if (any_upload) {
      throw usage_error("file uploads ('" + fields.front()->original + "') need --form",
                        "add --form to send multipart/form-data");
    }
    // Built as text, not as a JSON document, so that a := value is sent exactly as typed (a
    // document would turn 18446744073709551617 into a double). A repeated field replaces the
    // earlier value and keeps its place.
    std::vector<std::pair<std::string, std::string>> members;
    for (const auto* item : fields) {
      std::string value;
      switch (item->kind) {
        case item_kind::data_field:
          value = json_string(item->value);
          break;
        case item_kind::data_field_file:
          value = json_string(read_file(item->value, *item));
          break;
        case item_kind::json_field:
          value = compact_json(item->value, *item);
          break;
        case item_kind::json_field_file:
          value = compact_json(read_file(item->value, *item), *item);
          break;
        default:
          break;
      }
      auto same = std::find_if(members.begin(), members.end(),
                               [&](const auto& m) { return m.first == item->key; });
      if (same != members.end()) {
        same->second = std::move(value);
      } else {
        members.emplace_back(item->key, std::move(value));
      }
    }
    plan.body_text = "{";
    for (const auto& [key, value] : members) {
      if (plan.body_text.size() > 1) plan.body_text += ',';
      plan.body_text += json_string(key) + ":" + value;
    }
    plan.body_text += "}";
    plan.kind = body_kind::json;
    plan.content_type = plan.headers.get("Content-Type").value_or("application/json");
    plan.body = bytes_body{plan.body_text, *plan.content_type};
    if (!has_header(plan.headers, "Accept"))
      plan.headers.add("Accept", "application/json, */*;q=0.5");
    return;
  }

  std::vector<std::pair<std::string, std::string>> form_fields;
  std::vector<multipart_part> parts;
  for (const auto* item : fields) {
    switch (item->kind) {
      case item_kind::data_field:
        form_fields.emplace_back(item->key, item->value);
        parts.push_back(multipart_part::field(item->key, item->value));
        break;
      case item_kind::data_field_file: {
        std::string text = read_file(item->value, *item);
        form_fields.emplace_back(item->key, text);
        parts.push_back(multipart_part::field(item->key, std::move(text)));
        break;
      }
      case item_kind::file_upload:
        parts.push_back(upload_part(*item));
        break;
      default:
        throw usage_error("'" + item->original + "': JSON values (:=) cannot go in a form",
                          "drop --form to send a JSON body");
    }
  }
  if (any_upload) {
    plan.kind = body_kind::multipart;
    plan.body = multipart_body{std::move(parts)};
  } else {
    plan.kind = body_kind::form;
    plan.body_text = form_encode(form_fields);
    plan.body = form_body{std::move(form_fields)};
  }
}

}  // namespace

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  auto encode = [](std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
        out += static_cast<char>(c);
      } else if (c == ' ') {
        out += '+';
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  };
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    out += encode(name) + "=" + encode(value);
  }
  return out;
}

request_plan make_plan(const http_args& args) {
  request_plan plan;
  plan.uri = courier::uri(args.url);
  for (const auto& item : args.items) {
    switch (item.kind) {
      case item_kind::query:
        plan.uri = plan.uri.with_query_param(item.key, item.value);
        break;
      case item_kind::header:
      case item_kind::empty_header:
        try {
          plan.headers.add(item.key, item.kind == item_kind::header ? item.value : "");
        } catch (const courier::invalid_request& e) {
          throw usage_error("'" + item.original + "' is not a valid header: " + e.what());
        }
        break;
      default:
        break;
    }
  }
  add_body(plan, args);

  const bool has_body = plan.kind != body_kind::none;
  try {
    plan.method = courier::method(args.method.value_or(has_body ? "POST" : "GET"));
  } catch (const courier::invalid_request& e) {
    throw usage_error("'" + *args.method + "' is not an HTTP method");
  }
  plan.auth = args.auth;
  if (plan.auth && plan.auth->find(':') == std::string::npos) {
    throw usage_error("--auth needs USER:PASSWORD");
  }

  plan.options.follow_redirects = args.follow;
  plan.options.max_redirects = args.max_redirects;
  if (args.connect_timeout) plan.options.connect_timeout = to_ms(*args.connect_timeout);
  plan.options.version = args.version;
  if (args.timeout) {
    plan.options.timeout = to_ms(*args.timeout);
    plan.options.read_timeout = to_ms(*args.timeout);
  }
  plan.accept_compressed = !args.output_file;
  return plan;
}

courier::request<std::vector<std::byte>> to_request(const request_plan& plan) {
  auto base = plan.accept_compressed ? courier::basic_request() : courier::empty_request();
  auto req = std::move(base).method(plan.method, plan.uri).with_options(plan.options);
  // The user's headers replace the defaults of the same name (Accept, Accept-Encoding, ...);
  // a name the user repeats is sent repeated.
  std::set<std::string> replaced;
  for (const auto& field : plan.headers) {
    std::string lower = field.name;
    for (auto& c : lower)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool first = replaced.insert(lower).second;
    req = std::move(req).header(field.name, field.value, first);
  }
  if (plan.auth) {
    const auto colon = plan.auth->find(':');
    req = std::move(req).basic_auth(plan.auth->substr(0, colon), plan.auth->substr(colon + 1));
  }
  if (plan.kind != body_kind::none) req = std::move(req).with_body(plan.body);
  return std::move(req).response_as(courier::as_bytes());
}

}  // namespace courier::cli

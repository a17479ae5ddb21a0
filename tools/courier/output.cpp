#include "output.hpp"

#include "binary_text.hpp"
#include "json_format.hpp"

#include <unistd.h>

#include <filesystem>
#include <sstream>

namespace courier::cli {

namespace {

std::string_view status_colour(int status) {
  if (status < 300) return palette::bold_green;
  if (status < 400) return palette::bold_yellow;
  return palette::bold_red;
}

void print_field(std::ostream& out, std::string_view name, std::string_view value,
                 const output_style& style) {
  out << style.colours.paint(name, palette::cyan) << ": " << value << "\n";
}

std::optional<std::uint64_t> body_size(const request_plan& plan) {
  switch (plan.kind) {
    case body_kind::json:
    case body_kind::raw:
    case body_kind::form:
      return plan.body_text.size();
    default:
      return std::nullopt;
  }
}

}  // namespace

output_style make_output_style(const http_args& args) {
  output_style style;
  style.pretty = args.pretty;
  style.terminal = is_terminal(STDOUT_FILENO);
  style.colours = palette(args.pretty == pretty_mode::all || args.pretty == pretty_mode::colors);
  return style;
}

void print_request(std::ostream& out, const request_data& req, const request_plan& plan,
                   std::string_view user_agent, http_version version, const output_style& style) {
  const auto& c = style.colours;
  const courier::uri u = req.uri().value_or(plan.uri);
  out << c.paint(req.method().name(), palette::bold) << " " << c.paint(u.target(), palette::cyan)
      << " " << c.paint(to_string(version), palette::blue) << "\n";
  const auto& hs = req.headers();
  print_field(out, "Host", u.authority(), style);
  if (!hs.contains("User-Agent")) print_field(out, "User-Agent", user_agent, style);
  if (!hs.contains("Accept")) print_field(out, "Accept", "*/*", style);
  for (const auto& f : hs)
    print_field(out, f.name, f.value, style);
  if (!hs.contains("Content-Type")) {
    if (plan.content_type) {
      print_field(out, "Content-Type", *plan.content_type, style);
    } else if (plan.kind == body_kind::form) {
      print_field(out, "Content-Type", "application/x-www-form-urlencoded", style);
    } else if (plan.kind == body_kind::multipart) {
      print_field(out, "Content-Type", "multipart/form-data; boundary=...", style);
    }
  }
  if (auto n = body_size(plan)) print_field(out, "Content-Length", std::to_string(*n), style);
  out << "\n";

  switch (plan.kind) {
    case body_kind::none:
      return;
    case body_kind::json:
    case body_kind::raw:
    case body_kind::form: {
      std::ostringstream body;
      print_body(body, plan.body_text, plan.content_type.value_or(""), style);
      std::string text = body.str();
      if (!text.empty() && text.back() != '\n') text += '\n';
      out << text << "\n";
      return;
    }
    case body_kind::multipart:
      for (const auto& part : std::get<multipart_body>(plan.body).parts) {
        if (part.file) {
          std::error_code ec;
          const auto size = std::filesystem::file_size(*part.file, ec);
          out << c.paint(part.name, palette::bold_blue) << "@" << part.file->string() << "  ("
              << (ec ? std::string("?") : std::to_string(size)) << " bytes, " << part.content_type
              << ")\n";
        } else {
          out << c.paint(part.name, palette::bold_blue) << "=" << part.value << "\n";
        }
      }
      out << "\n";
      return;
  }
}

std::optional<http_version> version_before_sending(const request_plan& plan) {
  const http_version asked = plan.options.version.value_or(http_version::any);
  if (asked != http_version::any) return asked;
  if (plan.uri.is_secure()) return std::nullopt;
  return http_version::http1_1;
}

void print_head(std::ostream& out, const response_head& head, const output_style& style) {
  const auto& c = style.colours;
  // HTTP/2 has no reason phrase: "HTTP/2 200".
  out << c.paint(to_string(head.version), palette::blue) << " "
      << c.paint(head.reason.empty() ? std::to_string(head.status)
                                     : std::to_string(head.status) + " " + head.reason,
                 status_colour(head.status))
      << "\n";
  for (const auto& f : head.headers)
    print_field(out, f.name, f.value, style);
}

void print_body(std::ostream& out, const std::string& body, std::string_view content_type,
                const output_style& style) {
  if (style.terminal && looks_binary(body)) {
    // Raw bytes would garble the terminal; say what is there and how to get it.
    out << binary_note(body.size(), style) << "\n";
    return;
  }
  const bool format = style.pretty == pretty_mode::all || style.pretty == pretty_mode::format;
  const bool colour = style.pretty == pretty_mode::all || style.pretty == pretty_mode::colors;
  if ((format || colour) && is_json_content_type(content_type)) {
    if (auto pretty = format_json(body, format, style.colours)) {
      out << *pretty << "\n";
      return;
    }
  }
  out << body;
  // A terminal prompt should not land after the last line of a body without a final newline.
  if ((style.terminal || format) && !body.empty() && body.back() != '\n') out << "\n";
}

std::string binary_note(std::optional<std::uint64_t> size, const output_style& style) {
  const std::string bytes = size ? ": " + std::to_string(*size) + " bytes" : std::string();
  return style.colours.paint("(binary data not shown in a terminal" + bytes +
                                 "; save it with -o FILE or redirect the output)",
                             palette::dim);
}

}  // namespace courier::cli

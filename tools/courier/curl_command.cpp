#include "curl_command.hpp"

#include <courier/to_curl.hpp>

namespace courier::cli {

std::string curl_command(const request_plan& plan, const http_args& args,
                         std::string_view user_agent) {
  auto req = to_request(plan);
  // What the backend adds when it sends, so that curl sends it too.
  if (!req.headers().contains("User-Agent")) req = std::move(req).header("User-Agent", user_agent);
  curl_options options;
  options.multiline = true;
  std::string out = courier::to_curl(req, options);
  auto add = [&](std::string_view option, std::string_view value) {
    out += " \\\n  " + std::string(option);
    if (!value.empty()) out += " " + courier::shell_quote(value);
  };
  if (args.cacert) add("--cacert", *args.cacert);
  if (args.insecure) add("--insecure", {});
  if (args.max_body) add("--max-filesize", std::to_string(*args.max_body));
  if (args.output_file) add("-o", *args.output_file);
  return out;
}

}  // namespace courier::cli

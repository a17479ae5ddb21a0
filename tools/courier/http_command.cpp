#include "http_command.hpp"

#include "backend_options.hpp"
#include "body_output.hpp"
#include "curl_command.hpp"
#include "download.hpp"
#include "exit_codes.hpp"
#include "failure.hpp"
#include "http_args.hpp"
#include "output.hpp"
#include "request_plan.hpp"

#include <courier/asio_backend.hpp>
#include <courier/body_stream.hpp>
#include <courier/response.hpp>

#include <chrono>
#include <iostream>

namespace courier::cli {

namespace {

int exchange(courier::asio_backend& backend, const request_plan& plan, const http_args& args,
             const output_style& style) {
  const auto req = to_request(plan);
  const std::optional<http_version> known = version_before_sending(plan);
  const auto show_request = [&](http_version used) {
    print_request(std::cout, req.data(), plan, backend.options().user_agent, used, style);
    std::cout << std::flush;
  };
  if (args.verbose && known) show_request(*known);
  const auto start = std::chrono::steady_clock::now();
  // The head first; the body is pulled as it is printed, so its size does not matter.
  std::optional<courier::response<courier::body_stream>> sent;
  try {
    sent.emplace(req.response_as(courier::as_stream()).send(backend));
  } catch (...) {
    // No answer says which version ALPN chose; every server speaks HTTP/1.1.
    if (args.verbose && !known) show_request(http_version::http1_1);
    throw;
  }
  auto& res = *sent;

  if (args.verbose) {
    if (!known) show_request(first_hop_version(res));
    for (const auto& hop : res.history()) {
      print_head(std::cout, hop.head, style);
      std::cout << "\n";
    }
  }
  if (args.print_headers) {
    print_head(std::cout, res.head(), style);
    std::cout << "\n";
  }
  if (args.print_body && plan.method != courier::method::head) {
    print_streamed_body(res.body(), res.header("Content-Type").value_or(""),
                        announced_length(res.head()), limits_for(args, start), style);
  }
  std::cout << std::flush;

  if (!args.check_status) return exit_ok;
  // A 3xx is only an answer when it was not followed (a followed 304, say, is fine).
  if (res.head().is_redirect() && args.follow) return exit_ok;
  const int code = exit_code_for_status(res.status());
  if (code != exit_ok && !(style.terminal && args.print_headers)) {
    warn("HTTP " + std::to_string(res.status()) + " " + res.reason());
  }
  return code;
}

}  // namespace

int run_http(int argc, char** argv) {
  std::optional<http_args> args;
  std::optional<request_plan> plan;
  try {
    args = parse_http_args(argc, argv);
    if (!args) return exit_ok;  // --help or --version
    plan = make_plan(*args);
  } catch (const usage_error& e) {
    return report(describe(e));
  }

  const std::string where = host_port(plan->uri);
  try {
    const auto options =
        backend_options(args->cacert, args->insecure, args->proxy, args->env_proxy);
    if (args->curl) {
      std::cout << curl_command(*plan, *args, options.user_agent) << "\n";
      return exit_ok;
    }
    courier::asio_backend backend(options);
    const output_style style = make_output_style(*args);
    if (args->output_file) return run_download(backend, *plan, *args, style);
    return exchange(backend, *plan, *args, style);
  } catch (const usage_error& e) {
    return report(describe(e));
  } catch (const courier::error& e) {
    return report(describe(e, where));
  } catch (const command_failure& e) {
    failure f = e.details();
    f.where = where;
    return report(f);
  }
}

}  // namespace courier::cli

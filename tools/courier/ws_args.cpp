#include "ws_args.hpp"

#include "byte_size.hpp"
#include "failure.hpp"
#include "http_args.hpp"
#include "parse_errors.hpp"
#include "validators.hpp"

#include <courier/error.hpp>
#include <courier/proxy.hpp>

#include <unistd.h>
#include <CLI/CLI.hpp>

namespace courier::cli {

namespace {

const char* ws_description =
    "courier ws: a WebSocket client for the terminal and for scripts.\n\n"
    "Lines typed (or piped) on standard input are sent as text messages; incoming messages\n"
    "are printed, one per line (binary ones as hex or base64). Ctrl-D closes the connection\n"
    "cleanly (1000) and the close code the server answers with is shown on stderr.\n";

const char* ws_footer = R"(
Modes:
  (default)   stdin lines out, messages to stdout, connection events on stderr
  --echo      send every incoming text or binary message straight back, unchanged, until the
              server closes; exit 0 after a clean close, non-zero on a protocol error. For
              conformance suites (e.g. Autobahn's fuzzing server).
  --jsonl     one JSON object per line on stdout for each event, for scripts:
              {"event":"open","url":...,"subprotocol":null,"compressed":false}
              {"event":"message","type":"text","data":"hi"}
              {"event":"message","type":"binary","encoding":"hex","data":"00ff"}
              {"event":"close","code":1000,"reason":""}
              {"event":"error","what":"...","why":"...","exit_code":9}

Examples:
  courier ws ws://localhost:8080/echo
  printf 'hello\nworld\n' | courier ws localhost:8080/echo
  courier ws --subprotocol chat.v2 -H 'Authorization: Bearer t0ken' wss://example.org/chat
  courier ws --compress --echo 'ws://127.0.0.1:9001/runCase?case=1&agent=courier'
  courier ws --jsonl --binary base64 ws://localhost:8080/feed | jq .

Exit codes:
  0 closed cleanly (1000, 1001, or no status)    2 bad command line
  6 cannot connect    7 TLS failed    8 timed out (connect, or no pong to a ping)
  9 protocol error    10 closed abnormally (no close frame, or an error close code)
  11 upgrade refused (the status the server sent is shown)    130 interrupted
)";

}  // namespace

std::optional<ws_args> parse_ws_args(int argc, char** argv) {
  ws_args a;
  std::string url, binary = "hex", max_size, cacert;
  std::vector<std::string> headers;
  double ping = 0, connect_timeout = 0;

  CLI::App app{ws_description, "courier ws"};
  app.set_help_flag("--help", "Show this help and exit");
  app.footer(ws_footer);
  app.add_option("URL", url, "ws:// or wss:// URL (ws:// is implied)")->required()->type_name("");
  app.add_option("-H,--header", headers,
                 "A header for the upgrade request, 'Name: value' (repeatable)")
      ->type_name("HEADER");
  app.add_option("--subprotocol", a.subprotocols,
                 "Offer this subprotocol (repeatable, in order of preference)")
      ->type_name("NAME");
  app.add_option("--binary", binary, "How binary messages are printed: hex or base64 (default hex)")
      ->check(quiet(CLI::IsMember({"hex", "base64"})))
      ->type_name("FORMAT");
  auto* ping_opt =
      app.add_option("--ping-interval", ping, "Send a ping every SECONDS (no pong in 10 s: exit 8)")
          ->check(quiet(CLI::PositiveNumber))
          ->type_name("SECONDS");
  auto* size_opt = app.add_option("--max-message-size", max_size,
                                  "Close with 1009 when a message is larger (default 16M)")
                       ->type_name("BYTES");
  app.add_flag("--compress", a.compress, "Offer permessage-deflate compression (RFC 7692)");
  app.add_flag("--echo", a.echo, "Send every incoming message back until the server closes");
  app.add_flag("--jsonl", a.jsonl, "Print one JSON object per event on stdout");
  app.add_flag("-v,--verbose", a.verbose,
               "Show the upgrade response (status and headers) on stderr");
  auto* connect_opt = app.add_option("--connect-timeout", connect_timeout,
                                     "Give up connecting after SECONDS (default 30)")
                          ->check(quiet(CLI::PositiveNumber))
                          ->type_name("SECONDS");
  app.add_option("--linger", a.linger,
                 "At the end of input, wait for SECONDS of quiet before closing (default 0.5)")
      ->check(quiet(CLI::NonNegativeNumber))
      ->type_name("SECONDS");
  auto* cacert_opt = app.add_option("--cacert", cacert, "Trust the CA certificates in FILE (PEM)")
                         ->type_name("FILE");
  app.add_flag("-k,--insecure", a.insecure,
               "Do not verify the server's certificate (unsafe: for test servers)");
  std::string proxy;
  auto* proxy_opt =
      app.add_option("--proxy", proxy,
                     "Go through a proxy: http://[USER:PASS@]HOST:PORT, https://..., socks5://... "
                     "(names resolved here) or socks5h://... (by the proxy)")
          ->type_name("URI");
  auto* env_proxy_opt =
      app.add_flag("--env-proxy", a.env_proxy,
                   "Use the proxy named by http_proxy, https_proxy or all_proxy (and no_proxy)");
  proxy_opt->excludes(env_proxy_opt);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    throw parse_failure(app, e, "courier ws --help");
  }

  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 && url.rfind("ws://", 0) != 0 &&
      url.rfind("wss://", 0) != 0 && url.find("://") != std::string::npos) {
    throw usage_error("'" + url + "' is not a WebSocket URL", "use ws:// or wss://");
  }
  a.url = normalise_url(url, "ws");
  for (const auto& h : headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      throw usage_error("-H '" + h + "' is not a header", "write -H 'Name: value'");
    }
    std::string value = h.substr(colon + 1);
    const auto first = value.find_first_not_of(" \t");
    value = first == std::string::npos ? "" : value.substr(first);
    a.headers.emplace_back(h.substr(0, colon), value);
  }
  a.binary = binary == "base64" ? binary_format::base64 : binary_format::hex;
  if (*ping_opt) a.ping_interval = ping;
  if (*size_opt) {
    a.max_message_size = parse_size(max_size);
    if (a.max_message_size == 0) throw usage_error("--max-message-size must be at least 1");
  }
  if (*connect_opt) a.connect_timeout = connect_timeout;
  if (*cacert_opt) a.cacert = readable_ca_file(cacert);
  if (*proxy_opt) a.proxy = valid_proxy(proxy);
  return a;
}

}  // namespace courier::cli

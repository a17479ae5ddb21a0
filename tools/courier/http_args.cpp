#include "http_args.hpp"

#include "byte_size.hpp"
#include "failure.hpp"
#include "parse_errors.hpp"
#include "terminal.hpp"
#include "validators.hpp"

#include <courier/error.hpp>
#include <courier/proxy.hpp>
#include <courier/uri.hpp>

#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace courier::cli {

namespace {

const char* http_description =
    "courier: HTTP and WebSocket for people at a terminal.\n\n"
    "  courier [METHOD] URL [ITEM ...]    send an HTTP request\n"
    "  courier ws URL                     open a WebSocket (see courier ws --help)\n";

const char* http_footer = R"(
Items (after the URL):
  Name:value       request header               Name;          header with an empty value
  name==value      query parameter (encoded)    field=value    JSON string field (form field with --form)
  field:=json      raw JSON value (number, bool, array, object)
  field=@file      string field read from file  field:=@file   JSON value read from file
  field@file       file upload (multipart/form-data; needs --form)
  A body makes the default method POST. Quote items for the shell: 'tags:=["a","b"]'.

Output:
  On a terminal: status line, headers and body; JSON is indented and coloured.
  Piped or redirected: the body only, exactly as received. -h, -b and -v choose what is shown.
  Bodies are written as they arrive, in little memory and with no size limit unless --max-body
  sets one; only JSON that --pretty formats is held whole (at most 256M by default).

Examples:
  courier httpbin.org/get                          GET, http:// is implied
  courier :8080/items q==shoes Accept:text/plain   localhost:8080, a query and a header
  courier POST example.org/api name=ada age:=36    JSON body {"name":"ada","age":36}
  courier --form PUT example.org/up photo@cat.jpg  multipart upload
  courier -o big.iso https://example.org/big.iso   download with a progress bar
  courier --curl example.org/api name=ada          the same request as a curl command
  courier --check-status example.org/health || echo down

Exit codes:
  0 success    1 other failure    2 bad command line
  3/4/5  --check-status (or -o) and a 3xx/4xx/5xx answer (3xx only with --no-follow)
  6 cannot connect    7 TLS failed    8 timed out    9 connection broken / protocol error
  10 WebSocket closed abnormally    11 WebSocket upgrade refused    12 too many redirects
  130 interrupted
See docs/cli.md for the whole manual.
)";

bool is_known_method(const std::string& upper) {
  static constexpr std::array<std::string_view, 9> known{
      "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"};
  return std::find(known.begin(), known.end(), upper) != known.end();
}

std::string to_upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool all_upper_letters(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// A method is the first word when a URL follows it and it is a known method in any case
// (get, Post) or a word in capitals (PROPFIND): a host name is neither.
bool looks_like_method(const std::string& word) {
  return is_known_method(to_upper(word)) || all_upper_letters(word);
}

std::string read_all(std::istream& in) {
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// --raw TEXT, --raw @FILE, --raw @- (standard input).
std::string raw_body_from(const std::string& value) {
  if (value.size() < 2 || value[0] != '@') return value;
  if (value == "@-") return read_all(std::cin);
  std::ifstream in(value.substr(1), std::ios::binary);
  if (!in) throw usage_error("cannot read the body file '" + value.substr(1) + "'");
  return read_all(in);
}

}  // namespace

std::string normalise_url(const std::string& text, const std::string& default_scheme) {
  if (text.empty()) throw usage_error("the URL is empty");
  std::string url = text;
  if (url.find("://") == std::string::npos) {
    url = url[0] == ':' ? default_scheme + "://localhost" + url : default_scheme + "://" + url;
  }
  try {
    courier::uri parsed(url);
    if (parsed.host().empty()) throw usage_error("the URL '" + text + "' has no host");
  } catch (const courier::invalid_uri& e) {
    // The library's reason reads `invalid uri "...": why; advice for C++ callers`: keep the why.
    std::string why = e.what();
    // The quoted uri escapes '"' as \", so its closing quote is the first one not escaped.
    std::size_t p = why.find("\": ");
    while (p != std::string::npos && p > 0 && why[p - 1] == '\\')
      p = why.find("\": ", p + 1);
    if (p != std::string::npos) why = why.substr(p + 3);
    if (auto semi = why.find("; "); semi != std::string::npos) why.erase(semi);
    throw usage_error("malformed URL '" + text + "': " + why,
                      "percent-encode spaces and other special characters (%20), or pass query "
                      "values as name==value items, which are encoded for you");
  }
  return url;
}

std::optional<http_args> parse_http_args(int argc, char** argv) {
  http_args a;
  std::vector<std::string> words;
  std::string pretty = "auto";
  std::string raw;
  double timeout = 0, connect_timeout = 0;
  std::string output, auth, cacert;

  CLI::App app{http_description, "courier"};
  app.set_help_flag("--help", "Show this help and exit");
  app.set_version_flag("--version", "courier " COURIER_CLI_VERSION);
  app.footer(http_footer);
  app.add_option("REQUEST", words, "[METHOD] URL [ITEM ...]")->required()->type_name("");

  app.add_flag("-f,--form", a.form, "Fields as a form (multipart when a file is uploaded)");
  auto* raw_opt =
      app.add_option("--raw", raw, "The body as given: TEXT, @FILE, or @- for standard input")
          ->type_name("BODY");
  app.add_option("-a,--auth", auth, "Basic authentication: USER:PASSWORD")->type_name("USER:PASS");

  app.add_flag("-v,--verbose", a.verbose, "Also print the request, and each redirect followed");
  app.add_flag("-h,--headers", a.print_headers, "Print the response status line and headers");
  app.add_flag("-b,--body", a.print_body, "Print the response body");
  app.add_option("--pretty", pretty,
                 "all, colors, format (indent) or none (raw); default: all on a terminal")
      ->check(quiet(CLI::IsMember({"auto", "all", "colors", "format", "none"})))
      ->type_name("MODE");
  app.add_flag("--check-status", a.check_status,
               "Exit with 3, 4 or 5 when the status is 3xx, 4xx or 5xx");
  auto* output_opt =
      app.add_option("-o,--output", output,
                     "Download the body into FILE (saved only when complete and 2xx)")
          ->type_name("FILE");
  std::string max_body;
  auto* max_body_opt =
      app.add_option("--max-body,--max-filesize", max_body,
                     "Stop with an error after SIZE bytes of body (64K, 16M, 1G; default: no "
                     "limit, but 256M for JSON that --pretty formats)")
          ->type_name("SIZE");
  app.add_flag("--curl", a.curl, "Print the equivalent curl command instead of sending");

  auto* timeout_opt =
      app.add_option("--timeout", timeout, "Give up after SECONDS for the whole exchange")
          ->check(quiet(CLI::PositiveNumber))
          ->type_name("SECONDS");
  auto* connect_opt =
      app.add_option("--connect-timeout", connect_timeout,
                     "Give up connecting (DNS, TCP, TLS) after SECONDS (default 30)")
          ->check(quiet(CLI::PositiveNumber))
          ->type_name("SECONDS");
  bool http1 = false, http2 = false, http2_prior = false;
  auto* http1_opt = app.add_flag("--http1.1", http1, "Speak HTTP/1.1 only");
  auto* http2_opt = app.add_flag(
      "--http2", http2, "Prefer HTTP/2 over TLS (ALPN), falling back to HTTP/1.1 (the default)");
  auto* prior_opt = app.add_flag("--http2-prior-knowledge", http2_prior,
                                 "Speak HTTP/2 from the first byte, also on http:// (h2c)");
  http1_opt->excludes(http2_opt)->excludes(prior_opt);
  http2_opt->excludes(prior_opt);
  app.add_option("--max-redirects", a.max_redirects, "Follow at most N redirects (default 20)")
      ->check(quiet(CLI::NonNegativeNumber))
      ->type_name("N");
  bool no_follow = false;
  app.add_flag("--no-follow", no_follow, "Do not follow redirects: show the 3xx answer");
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

  if (argc < 2) {
    throw usage_error("no URL given",
                      "try: courier httpbin.org/get (courier --help shows everything)");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return std::nullopt;
  } catch (const CLI::CallForVersion& e) {
    app.exit(e);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    throw parse_failure(app, e, "courier --help");
  }

  // [METHOD] URL [ITEM ...]
  std::size_t next = 0;
  if (words.size() >= 2 && looks_like_method(words[0])) {
    a.method = to_upper(words[0]);
    next = 1;
  }
  const std::string url_word = words[next++];
  if (url_word.rfind("ws://", 0) == 0 || url_word.rfind("wss://", 0) == 0) {
    throw usage_error("'" + url_word + "' is a WebSocket URL", "use: courier ws " + url_word);
  }
  a.url = normalise_url(url_word, "http");
  for (; next < words.size(); ++next)
    a.items.push_back(parse_item(words[next]));

  if (*raw_opt) {
    a.raw_source = raw;
    a.raw_body = raw_body_from(raw);
  }
  if (!auth.empty()) a.auth = auth;
  if (*output_opt) {
    if (output.empty()) throw usage_error("-o needs a file name");
    a.output_file = output;
  }
  if (*max_body_opt) {
    a.max_body = parse_size(max_body);
    a.max_body_text = max_body;
  }
  if (*timeout_opt) a.timeout = timeout;
  if (*connect_opt) a.connect_timeout = connect_timeout;
  if (*cacert_opt) a.cacert = readable_ca_file(cacert);
  if (*proxy_opt) a.proxy = valid_proxy(proxy);
  a.follow = !no_follow;
  if (http1) a.version = courier::http_version::http1_1;
  if (http2) a.version = courier::http_version::any;  // as curl's --http2: h2 when offered
  if (http2_prior) a.version = courier::http_version::http2_prior_knowledge;

  if (pretty == "auto") pretty = is_terminal(STDOUT_FILENO) ? "all" : "none";
  a.pretty = pretty == "all"      ? pretty_mode::all
             : pretty == "colors" ? pretty_mode::colors
             : pretty == "format" ? pretty_mode::format
                                  : pretty_mode::none;
  if ((a.pretty == pretty_mode::all || a.pretty == pretty_mode::colors) && !colours_wanted()) {
    a.pretty = a.pretty == pretty_mode::all ? pretty_mode::format : pretty_mode::none;
  }

  // Piped output is the body alone (as httpie does), so `courier URL | jq` works.
  a.output_chosen = a.print_headers || a.print_body;
  if (!a.output_chosen) {
    a.print_body = true;
    a.print_headers = is_terminal(STDOUT_FILENO) || a.verbose;
  }
  return a;
}

std::string readable_ca_file(const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0)
    throw usage_error("cannot read the CA file '" + path + "'");
  return path;
}

std::string valid_proxy(const std::string& uri) {
  try {
    courier::proxy checked(uri);
  } catch (const courier::invalid_request& e) {
    throw usage_error(e.what(),
                      "write --proxy http://[USER:PASS@]HOST:PORT (or https://, socks5://, "
                      "socks5h://)");
  }
  return uri;
}

}  // namespace courier::cli

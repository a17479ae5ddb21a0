// libFuzzer target: arbitrary text through courier::uri. A valid uri must survive every
// accessor and builder, and re-parse from its own str() to the same value; an invalid one must
// throw invalid_uri (a courier::error), never anything else.
#include <courier/error.hpp>
#include <courier/uri.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Split at the first NUL: before it the uri, after it a reference to resolve and a segment.
  const std::size_t nul = text.find('\0');
  const std::string_view head = text.substr(0, nul);
  const std::string_view tail =
      nul == std::string_view::npos ? std::string_view() : text.substr(nul + 1);

  const auto parsed = courier::uri::try_parse(head);
  try {
    courier::uri thrown(head);
    if (!parsed) std::abort();  // constructor and try_parse must agree
  } catch (const courier::error&) {
    if (parsed) std::abort();
  }
  if (!parsed) return 0;

  const courier::uri& u = *parsed;
  (void)u.port();
  (void)u.target();
  (void)u.origin();
  (void)u.authority();
  (void)u.query();
  (void)u.fragment();
  (void)u.is_secure();
  const auto again = courier::uri::try_parse(u.str());
  if (!again || !(*again == u)) std::abort();  // str() must round-trip

  try {
    (void)u.with_path_segment(tail).str();
    (void)u.with_query_param(tail, tail).str();
    (void)u.resolve(tail).str();
  } catch (const courier::error&) {
    // A reference that does not resolve to a valid uri is a typed error.
  }
  return 0;
}

#include "proto/ws/extensions.hpp"
#include "proto/ws/handshake.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <set>

namespace ws = courier::proto::ws;

namespace {

// The RFC 6455 1.3 example key and the accept value it derives.
constexpr std::string_view rfc_key = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr std::string_view rfc_accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

courier::headers good_response(std::string_view key = rfc_key) {
  courier::headers h;
  h.add("Upgrade", "websocket");
  h.add("Connection", "Upgrade");
  h.add("Sec-WebSocket-Accept", ws::accept_value(key));
  return h;
}

std::string failure(const ws::handshake_result& r) {
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? std::string() : r.error();
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST(WsHandshake, AcceptValueOfTheRfcExampleKey) {
  EXPECT_EQ(ws::accept_value(rfc_key), rfc_accept);
}

TEST(WsHandshake, ClientKeysAre16RandomBytesInBase64) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string key = ws::make_client_key();
    ASSERT_EQ(key.size(), 24u);
    EXPECT_EQ(key.substr(22), "==");  // 16 bytes leave two padding characters
    for (char c : key.substr(0, 22)) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/') << key;
    }
    seen.insert(key);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(WsHandshake, RequestHeadersWithoutOffers) {
  const auto h = ws::upgrade_request_headers(rfc_key, {});
  EXPECT_EQ(h.get("Upgrade"), "websocket");
  EXPECT_EQ(h.get("Connection"), "Upgrade");
  EXPECT_EQ(h.get("Sec-WebSocket-Key"), rfc_key);
  EXPECT_EQ(h.get("Sec-WebSocket-Version"), "13");
  EXPECT_FALSE(h.contains("Sec-WebSocket-Protocol"));
  EXPECT_FALSE(h.contains("Sec-WebSocket-Extensions"));
  EXPECT_EQ(h.size(), 4u);
}

TEST(WsHandshake, RequestHeadersWithSubprotocolsAndDeflate) {
  ws::handshake_offer offer;
  offer.subprotocols = {"chat.v2", "chat"};
  offer.deflate = ws::deflate_offer{};
  offer.deflate->server_no_context_takeover = true;
  offer.deflate->server_max_window_bits = 10;
  const auto h = ws::upgrade_request_headers(rfc_key, offer);
  EXPECT_EQ(h.get("Sec-WebSocket-Protocol"), "chat.v2, chat");
  EXPECT_EQ(h.get("Sec-WebSocket-Extensions"),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits; "
            "server_max_window_bits=10");
}

TEST(WsHandshake, RequestHeadersRejectBadSubprotocols) {
  for (std::vector<std::string> bad :
       {std::vector<std::string>{""}, {"has space"}, {"a,b"}, {"x", "x"}, {"semi;colon"}}) {
    ws::handshake_offer offer;
    offer.subprotocols = bad;
    EXPECT_THROW(ws::upgrade_request_headers(rfc_key, offer), courier::invalid_request);
  }
}

TEST(WsHandshake, AcceptsAMinimalGoodResponse) {
  const auto r = ws::validate_upgrade_response(101, good_response(), rfc_key, {});
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_FALSE(r->subprotocol);
  EXPECT_FALSE(r->deflate);
}

TEST(WsHandshake, HeaderValuesAreCaseInsensitiveListsWhereTheRfcSaysSo) {
  courier::headers h;
  h.add("upgrade", "WebSocket");
  h.add("connection", "keep-alive");
  h.add("CONNECTION", " UPGRADE , other");
  h.add("sec-websocket-accept", std::string(rfc_accept) + " ");
  EXPECT_TRUE(ws::validate_upgrade_response(101, h, rfc_key, {}).has_value());
}

TEST(WsHandshake, FailsOnAStatusOtherThan101) {
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(200, good_response(), rfc_key, {})),
                       "status 200"));
  EXPECT_TRUE(
      contains(failure(ws::validate_upgrade_response(403, good_response(), rfc_key, {})), "403"));
}

TEST(WsHandshake, FailsOnMissingOrWrongUpgrade) {
  auto h = good_response();
  h.erase("Upgrade");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, {})), "no Upgrade"));
  h.add("Upgrade", "h2c");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, {})), "\"h2c\""));
}

TEST(WsHandshake, FailsWhenConnectionLacksUpgrade) {
  auto h = good_response();
  h.set("Connection", "keep-alive, upgraded");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, {})),
                       "lacks the upgrade token"));
  h.erase("Connection");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, {})),
                       "no Connection header"));
}

TEST(WsHandshake, FailsOnMissingWrongOrDuplicatedAccept) {
  auto h = good_response();
  h.erase("Sec-WebSocket-Accept");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, {})),
                       "no Sec-WebSocket-Accept"));
  // The accept of another key.
  h.add("Sec-WebSocket-Accept", ws::accept_value("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, {})),
                       std::string("expected \"") + std::string(rfc_accept)));
  h.set("Sec-WebSocket-Accept", rfc_accept);
  h.add("Sec-WebSocket-Accept", rfc_accept);
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, {})), "several"));
}

TEST(WsHandshake, SubprotocolChosenByTheServer) {
  ws::handshake_offer offer;
  offer.subprotocols = {"v2", "v1"};
  auto h = good_response();
  h.add("Sec-WebSocket-Protocol", "v1");
  const auto r = ws::validate_upgrade_response(101, h, rfc_key, offer);
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(r->subprotocol, "v1");

  // No choice is fine too: the server may decline every subprotocol.
  const auto none = ws::validate_upgrade_response(101, good_response(), rfc_key, offer);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->subprotocol);
}

TEST(WsHandshake, FailsOnASubprotocolTheClientNeverOffered) {
  auto h = good_response();
  h.add("Sec-WebSocket-Protocol", "v3");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, {})),
                       "the client offered none"));
  ws::handshake_offer offer;
  offer.subprotocols = {"v1", "v2"};
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, offer)),
                       "\"v3\", which the client did not offer"));
  h.set("Sec-WebSocket-Protocol", "v1, v2");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, offer)),
                       "several subprotocols"));
}

TEST(WsHandshake, FailsOnAnExtensionTheClientNeverOffered) {
  auto h = good_response();
  h.add("Sec-WebSocket-Extensions", "permessage-deflate");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, {})),
                       "permessage-deflate, which the client did not offer"));
  ws::handshake_offer offer;
  offer.deflate = ws::deflate_offer{};
  h.set("Sec-WebSocket-Extensions", "x-webkit-deflate-frame");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, offer)),
                       "\"x-webkit-deflate-frame\""));
}

TEST(WsHandshake, NegotiatesDeflate) {
  ws::handshake_offer offer;
  offer.deflate = ws::deflate_offer{};
  auto h = good_response();
  h.add("Sec-WebSocket-Extensions",
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=\"10\"");
  const auto r = ws::validate_upgrade_response(101, h, rfc_key, offer);
  ASSERT_TRUE(r.has_value()) << r.error();
  ASSERT_TRUE(r->deflate);
  EXPECT_TRUE(r->deflate->server_no_context_takeover);
  EXPECT_FALSE(r->deflate->client_no_context_takeover);
  EXPECT_EQ(r->deflate->client_max_window_bits, 10);
  EXPECT_EQ(r->deflate->server_max_window_bits, 15);
}

TEST(WsHandshake, FailsOnInvalidDeflateParametersOrTwoAcceptances) {
  ws::handshake_offer offer;
  offer.deflate = ws::deflate_offer{};
  auto h = good_response();
  h.add("Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=16");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, offer)),
                       "invalid permessage-deflate response"));
  h.set("Sec-WebSocket-Extensions", "permessage-deflate, permessage-deflate");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, offer)), "twice"));
  h.set("Sec-WebSocket-Extensions", "permessage-deflate; =3");
  EXPECT_TRUE(contains(failure(ws::validate_upgrade_response(101, h, rfc_key, offer)),
                       "invalid Sec-WebSocket-Extensions"));
}

TEST(WsExtensions, ParsesListsParametersAndQuotedValues) {
  const auto r = ws::parse_extension_list(" a ; x ; y=1 ,, b;z=\"q\\uoted\" , c\t;\tw = 2,");
  ASSERT_TRUE(r.has_value()) << r.error();
  const std::vector<ws::extension> expected = {
      {"a", {{"x", std::nullopt}, {"y", "1"}}},
      {"b", {{"z", "quoted"}}},
      {"c", {{"w", "2"}}},
  };
  EXPECT_EQ(*r, expected);
  EXPECT_TRUE(ws::parse_extension_list("")->empty());
}

TEST(WsExtensions, RejectsMalformedLists) {
  for (std::string_view bad : {"a;", "a;=1", "a; b=", "a; b=\"open", "a; b=\"two words\"", "a b",
                               "=a", "a; b=1 c", "a;b=@"}) {
    EXPECT_FALSE(ws::parse_extension_list(bad).has_value()) << bad;
  }
}

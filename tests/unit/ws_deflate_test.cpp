#include "proto/ws/deflate.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <random>

namespace ws = courier::proto::ws;

namespace {

std::string hex_bytes(std::initializer_list<unsigned> list) {
  std::string s;
  for (unsigned b : list)
    s.push_back(static_cast<char>(b));
  return s;
}

std::vector<ws::extension_param> params(std::string_view header) {
  auto r = ws::parse_extension_list(header);
  EXPECT_TRUE(r.has_value());
  EXPECT_EQ(r->size(), 1u);
  return r->front().params;
}

std::string negotiation_error(const ws::deflate_offer& offer, std::string_view header) {
  const auto r = ws::negotiate_deflate(offer, params(header));
  EXPECT_FALSE(r.has_value()) << header;
  return r.has_value() ? std::string() : r.error();
}

std::string inflate_message(ws::message_inflater& inf, std::string_view compressed,
                            std::size_t limit = 1 << 20) {
  std::string out;
  EXPECT_EQ(inf.inflate(compressed, out, limit), ws::message_inflater::status::ok);
  EXPECT_EQ(inf.end_message(out, limit - out.size()), ws::message_inflater::status::ok);
  return out;
}

std::string compress_message(ws::message_deflater& def, std::string_view text) {
  std::string out;
  def.compress(text, true, out);
  return out;
}

}  // namespace

TEST(WsDeflate, OfferHeaderValues) {
  EXPECT_EQ(ws::deflate_offer{}.header_value(), "permessage-deflate; client_max_window_bits");
  ws::deflate_offer all;
  all.client_no_context_takeover = true;
  all.server_no_context_takeover = true;
  all.client_max_window_bits = 12;
  all.server_max_window_bits = 8;
  EXPECT_EQ(all.header_value(),
            "permessage-deflate; client_no_context_takeover; server_no_context_takeover; "
            "client_max_window_bits=12; server_max_window_bits=8");
  ws::deflate_offer quiet;
  quiet.advertise_client_max_window_bits = false;
  EXPECT_EQ(quiet.header_value(), "permessage-deflate");
  ws::deflate_offer bad;
  bad.server_max_window_bits = 7;
  EXPECT_THROW(bad.header_value(), courier::invalid_request);
  bad.server_max_window_bits = 16;
  EXPECT_THROW(bad.header_value(), courier::invalid_request);
}

TEST(WsDeflate, NegotiationDefaultsAndAcceptedParameters) {
  const ws::deflate_offer offer;
  const auto plain = ws::negotiate_deflate(offer, {});
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(*plain, ws::deflate_params{});

  const auto all = ws::negotiate_deflate(
      offer, params("permessage-deflate; client_no_context_takeover; server_no_context_takeover; "
                    "client_max_window_bits=9; server_max_window_bits=8"));
  ASSERT_TRUE(all.has_value()) << all.error();
  EXPECT_EQ(*all, (ws::deflate_params{true, true, 9, 8}));
}

TEST(WsDeflate, OurOwnPromisesHoldWithoutTheServerRepeatingThem) {
  ws::deflate_offer offer;
  offer.client_no_context_takeover = true;
  offer.client_max_window_bits = 11;
  const auto r = ws::negotiate_deflate(offer, {});
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->client_no_context_takeover);
  EXPECT_EQ(r->client_max_window_bits, 11);
}

TEST(WsDeflate, NegotiationFailures) {
  const ws::deflate_offer offer;
  EXPECT_NE(negotiation_error(offer, "permessage-deflate; foo").find("unknown"), std::string::npos);
  EXPECT_NE(negotiation_error(offer,
                              "permessage-deflate; server_no_context_takeover; "
                              "server_no_context_takeover")
                .find("twice"),
            std::string::npos);
  EXPECT_NE(negotiation_error(offer, "permessage-deflate; client_no_context_takeover=1")
                .find("takes no value"),
            std::string::npos);
  for (std::string_view bits : {"7", "16", "08", "1a", "", "100"}) {
    const std::string header = "permessage-deflate; server_max_window_bits" +
                               (bits.empty() ? "" : "=" + std::string(bits));
    EXPECT_FALSE(ws::negotiate_deflate(offer, params(header)).has_value()) << header;
  }
  EXPECT_NE(
      negotiation_error(offer, "permessage-deflate; client_max_window_bits").find("needs a value"),
      std::string::npos);
}

TEST(WsDeflate, ClientMaxWindowBitsOnlyWhenOfferedAndNotAboveTheOffer) {
  ws::deflate_offer quiet;
  quiet.advertise_client_max_window_bits = false;
  EXPECT_NE(negotiation_error(quiet, "permessage-deflate; client_max_window_bits=10")
                .find("did not offer"),
            std::string::npos);
  ws::deflate_offer capped;
  capped.client_max_window_bits = 10;
  EXPECT_NE(negotiation_error(capped, "permessage-deflate; client_max_window_bits=11")
                .find("larger than the offered 10"),
            std::string::npos);
  EXPECT_TRUE(
      ws::negotiate_deflate(capped, params("permessage-deflate; client_max_window_bits=9")));
}

TEST(WsDeflate, ServerSideRequestsMustBeAnswered) {
  ws::deflate_offer offer;
  offer.server_no_context_takeover = true;
  EXPECT_NE(negotiation_error(offer, "permessage-deflate").find("server_no_context_takeover"),
            std::string::npos);
  ws::deflate_offer bits;
  bits.server_max_window_bits = 10;
  EXPECT_NE(negotiation_error(bits, "permessage-deflate").find("server_max_window_bits"),
            std::string::npos);
  EXPECT_NE(negotiation_error(bits, "permessage-deflate; server_max_window_bits=12")
                .find("larger than the offered 10"),
            std::string::npos);
  const auto ok =
      ws::negotiate_deflate(bits, params("permessage-deflate; server_max_window_bits=9"));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->server_max_window_bits, 9);
}

TEST(WsDeflate, Rfc7692HelloExample) {
  // RFC 7692 7.2.3.1: "Hello" compressed is f2 48 cd c9 c9 07 00.
  const std::string hello = hex_bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  ws::message_inflater inf(false);
  EXPECT_EQ(inflate_message(inf, hello), "Hello");
  ws::message_deflater def(15, false);
  EXPECT_EQ(compress_message(def, "Hello"), hello);
}

TEST(WsDeflate, Rfc7692SharedWindowAndStoredBlockExamples) {
  // 7.2.3.2: a second "Hello" using the first one's window is f2 00 11 00 00.
  ws::message_inflater inf(false);
  EXPECT_EQ(inflate_message(inf, hex_bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
  EXPECT_EQ(inflate_message(inf, hex_bytes({0xf2, 0x00, 0x11, 0x00, 0x00})), "Hello");
  // 7.2.3.3: "Hello" in a stored block.
  EXPECT_EQ(inflate_message(
                inf, hex_bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00})),
            "Hello");
  // 7.2.3.4: a block with BFINAL set, then the message ends.
  ws::message_inflater fresh(false);
  EXPECT_EQ(inflate_message(fresh, hex_bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})),
            "Hello");
  // ... and the next message still decodes.
  EXPECT_EQ(inflate_message(fresh, hex_bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})), "Hello");
}

TEST(WsDeflate, ContextTakeoverMakesRepeatsSmaller) {
  const std::string text = "the quick brown fox jumps over the lazy dog, again and again";
  ws::message_deflater keep(15, false);
  ws::message_deflater reset(15, true);
  const std::string k1 = compress_message(keep, text), k2 = compress_message(keep, text);
  const std::string r1 = compress_message(reset, text), r2 = compress_message(reset, text);
  EXPECT_LT(k2.size(), k1.size() / 2);  // refers back to the first message
  EXPECT_EQ(r1, r2);                    // no memory of the first message
  EXPECT_EQ(k1, r1);

  ws::message_inflater with_context(false);
  EXPECT_EQ(inflate_message(with_context, k1), text);
  EXPECT_EQ(inflate_message(with_context, k2), text);
  ws::message_inflater without_context(true);
  EXPECT_EQ(inflate_message(without_context, r1), text);
  EXPECT_EQ(inflate_message(without_context, r2), text);
  // An inflater that dropped its window cannot decode a message that refers back.
  ws::message_inflater dropped(true);
  EXPECT_EQ(inflate_message(dropped, k1), text);
  std::string out;
  const auto st = dropped.inflate(k2, out, 1 << 20);
  const auto end = st == ws::message_inflater::status::ok ? dropped.end_message(out, 1 << 20) : st;
  EXPECT_TRUE(end == ws::message_inflater::status::corrupt || out != text);
}

TEST(WsDeflate, RoundTripsRandomMessagesFragmentedAndWithEveryWindow) {
  std::mt19937 rng(5);
  for (int window = 8; window <= 15; ++window) {
    for (bool no_context : {false, true}) {
      ws::message_deflater def(window, no_context);
      ws::message_inflater inf(no_context);
      for (int m = 0; m < 20; ++m) {
        std::string msg(rng() % 5000, '\0');
        for (auto& c : msg)
          c = "abcdefgh \n"[rng() % 10];
        if (m % 5 == 0) msg.clear();
        // Send in up to three fragments, inflating each as it "arrives".
        const std::size_t cut1 = msg.empty() ? 0 : rng() % msg.size();
        const std::size_t cut2 = cut1 + (msg.size() - cut1) / 2;
        std::string got;
        const std::string_view pieces[3] = {std::string_view(msg).substr(0, cut1),
                                            std::string_view(msg).substr(cut1, cut2 - cut1),
                                            std::string_view(msg).substr(cut2)};
        for (int i = 0; i < 3; ++i) {
          std::string wire;
          def.compress(pieces[i], i == 2, wire);
          if (i == 2) {
            EXPECT_FALSE(wire.empty());  // an empty end is sent as 00
          }
          ASSERT_EQ(inf.inflate(wire, got, 1 << 20), ws::message_inflater::status::ok);
        }
        ASSERT_EQ(inf.end_message(got, 1 << 20), ws::message_inflater::status::ok);
        ASSERT_EQ(got, msg) << "window " << window << " message " << m;
      }
    }
  }
}

TEST(WsDeflate, EmptyMessageIsASingleZeroByte) {
  ws::message_deflater def(15, false);
  EXPECT_EQ(compress_message(def, ""), std::string(1, '\0'));
  ws::message_inflater inf(false);
  EXPECT_EQ(inflate_message(inf, std::string(1, '\0')), "");
}

TEST(WsDeflate, DeflateBombStopsAtTheLimit) {
  // 10 MiB of zeros compress to ~10 KiB.
  ws::message_deflater def(15, false);
  const std::string bomb = compress_message(def, std::string(10 << 20, '\0'));
  ASSERT_LT(bomb.size(), 20000u);
  ws::message_inflater inf(false);
  std::string out;
  EXPECT_EQ(inf.inflate(bomb, out, 1 << 20), ws::message_inflater::status::too_big);
  EXPECT_EQ(out.size(), std::size_t{1} << 20);  // stopped exactly at the limit
  EXPECT_LE(out.capacity(), std::size_t{4} << 20);

  // Exactly at the limit is fine.
  ws::message_deflater def2(15, false);
  const std::string exact = compress_message(def2, std::string(1000, 'x'));
  ws::message_inflater inf2(false);
  std::string out2;
  EXPECT_EQ(inf2.inflate(exact, out2, 1000), ws::message_inflater::status::ok);
  EXPECT_EQ(inf2.end_message(out2, 1000 - out2.size()), ws::message_inflater::status::ok);
  EXPECT_EQ(out2, std::string(1000, 'x'));
  ws::message_inflater inf3(false);
  std::string out3;
  const auto st = inf3.inflate(exact, out3, 999);
  const auto end =
      st == ws::message_inflater::status::ok ? inf3.end_message(out3, 999 - out3.size()) : st;
  EXPECT_EQ(end, ws::message_inflater::status::too_big);
}

TEST(WsDeflate, CorruptDataIsReported) {
  ws::message_inflater inf(false);
  std::string out;
  // BTYPE 11 is reserved.
  EXPECT_EQ(inf.inflate(hex_bytes({0xff, 0xff, 0xff}), out, 1000),
            ws::message_inflater::status::corrupt);
  EXPECT_FALSE(inf.error_message().empty());
}

TEST(WsDeflate, DeflaterRejectsBadWindowBits) {
  EXPECT_THROW(ws::message_deflater(7, false), courier::invalid_request);
  EXPECT_THROW(ws::message_deflater(16, false), courier::invalid_request);
}

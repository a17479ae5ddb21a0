// The SOCKS5 core (RFC 1928/1929): what the client sends, byte for byte, and how server
// answers are parsed: complete, incomplete (asks for more), or garbage (protocol_error).
#include "proto/socks5/messages.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <string>

namespace socks5 = courier::proto::socks5;
using namespace std::string_literals;

TEST(Socks5Messages, GreetingOffersNoAuthAndOptionallyUserPassword) {
  EXPECT_EQ(socks5::encode_greeting(false), "\x05\x01\x00"s);
  EXPECT_EQ(socks5::encode_greeting(true), "\x05\x02\x00\x02"s);
}

TEST(Socks5Messages, UserPasswordRequest) {
  EXPECT_EQ(socks5::encode_user_password("bob", "pw"), "\x01\x03"s + "bob" + "\x02"s + "pw");
  EXPECT_EQ(socks5::encode_user_password("bob", ""), "\x01\x03"s + "bob" + "\x00"s);
  EXPECT_THROW(socks5::encode_user_password("", "pw"), courier::invalid_request);
  EXPECT_THROW(socks5::encode_user_password(std::string(256, 'u'), "pw"), courier::invalid_request);
  EXPECT_THROW(socks5::encode_user_password("u", std::string(256, 'p')), courier::invalid_request);
  EXPECT_NO_THROW(socks5::encode_user_password(std::string(255, 'u'), std::string(255, 'p')));
}

TEST(Socks5Messages, ConnectToNameIPv4AndIPv6) {
  EXPECT_EQ(socks5::encode_connect("example.com", 443),
            "\x05\x01\x00\x03\x0b"s + "example.com" + "\x01\xbb"s);
  EXPECT_EQ(socks5::encode_connect("10.1.2.3", 80), "\x05\x01\x00\x01\x0a\x01\x02\x03\x00\x50"s);
  EXPECT_EQ(socks5::encode_connect("::1", 8080),
            "\x05\x01\x00\x04"s + std::string(15, '\0') + "\x01\x1f\x90"s);
  EXPECT_EQ(socks5::encode_connect("[::1]", 1).substr(0, 4), "\x05\x01\x00\x04"s);
  EXPECT_THROW(socks5::encode_connect(std::string(256, 'a'), 80), courier::invalid_request);
  EXPECT_THROW(socks5::encode_connect("", 80), courier::invalid_request);
}

TEST(Socks5Messages, MethodSelection) {
  auto r = socks5::parse_method_selection("\x05"s);
  ASSERT_TRUE(std::holds_alternative<socks5::need_more>(r));
  EXPECT_EQ(std::get<socks5::need_more>(r).total, 2u);
  r = socks5::parse_method_selection("\x05\x02"s);
  ASSERT_TRUE(std::holds_alternative<socks5::method_selection>(r));
  EXPECT_EQ(std::get<socks5::method_selection>(r).method, socks5::method_user_password);
  r = socks5::parse_method_selection("\x05\xff"s);
  EXPECT_EQ(std::get<socks5::method_selection>(r).method, socks5::method_none_acceptable);
  EXPECT_THROW(socks5::parse_method_selection("HTTP/1.1 400"), courier::protocol_error);
  EXPECT_THROW(socks5::parse_method_selection("\x04\x00"s), courier::protocol_error);
}

TEST(Socks5Messages, AuthStatus) {
  EXPECT_TRUE(std::holds_alternative<socks5::need_more>(socks5::parse_auth_status("")));
  EXPECT_TRUE(std::get<socks5::auth_status>(socks5::parse_auth_status("\x01\x00"s)).ok());
  EXPECT_FALSE(std::get<socks5::auth_status>(socks5::parse_auth_status("\x01\x01"s)).ok());
  EXPECT_THROW(socks5::parse_auth_status("\x05\x00"s), courier::protocol_error);
}

TEST(Socks5Reply, IPv4ReplyAndTheBytesAfterIt) {
  const auto bytes = "\x05\x00\x00\x01\x7f\x00\x00\x01\x1f\x90"s + "tunnel";
  auto r = socks5::parse_reply(bytes);
  ASSERT_TRUE(std::holds_alternative<socks5::reply>(r));
  const auto& rep = std::get<socks5::reply>(r);
  EXPECT_TRUE(rep.ok());
  EXPECT_EQ(rep.bound_host, "127.0.0.1");
  EXPECT_EQ(rep.bound_port, 8080);
  EXPECT_EQ(rep.wire_size, 10u);
}

TEST(Socks5Reply, IPv6AndDomainReplies) {
  auto v6 = socks5::parse_reply("\x05\x00\x00\x04"s + std::string(15, '\0') + "\x01\x00\x50"s);
  EXPECT_EQ(std::get<socks5::reply>(v6).bound_host, "::1");
  EXPECT_EQ(std::get<socks5::reply>(v6).wire_size, 22u);
  auto name = socks5::parse_reply("\x05\x00\x00\x03\x04host\x00\x50"s);
  EXPECT_EQ(std::get<socks5::reply>(name).bound_host, "host");
  EXPECT_EQ(std::get<socks5::reply>(name).bound_port, 80);
  EXPECT_EQ(std::get<socks5::reply>(name).wire_size, 11u);
}

TEST(Socks5Reply, AsksForExactlyTheMissingBytes) {
  const auto full = "\x05\x00\x00\x03\x04host\x00\x50"s;
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto r = socks5::parse_reply(std::string_view(full).substr(0, n));
    ASSERT_TRUE(std::holds_alternative<socks5::need_more>(r)) << n;
    const auto total = std::get<socks5::need_more>(r).total;
    EXPECT_GT(total, n);
    EXPECT_LE(total, full.size());
  }
  EXPECT_EQ(std::get<socks5::need_more>(socks5::parse_reply("\x05\x00\x00\x01"s)).total, 5u);
  EXPECT_EQ(std::get<socks5::need_more>(socks5::parse_reply("\x05\x00\x00\x01\x01"s)).total, 10u);
}

TEST(Socks5Reply, FailureCodesAreReportedWithTheirMeaning) {
  auto r = socks5::parse_reply("\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00"s);
  const auto& rep = std::get<socks5::reply>(r);
  EXPECT_FALSE(rep.ok());
  EXPECT_EQ(rep.code, 5);
  EXPECT_EQ(socks5::reply_message(rep.code), "connection refused");
  EXPECT_EQ(socks5::reply_message(2), "connection not allowed by ruleset");
  EXPECT_EQ(socks5::reply_message(200), "unassigned reply code");
}

TEST(Socks5Reply, GarbageIsAProtocolError) {
  EXPECT_THROW(socks5::parse_reply("HTTP/1.1 200 OK\r\n"), courier::protocol_error);
  EXPECT_THROW(socks5::parse_reply("\x05\x00\x01\x01\x00"s), courier::protocol_error);  // RSV
  EXPECT_THROW(socks5::parse_reply("\x05\x00\x00\x09\x00"s), courier::protocol_error);  // ATYP
  try {
    socks5::parse_reply("\x04\x5a\x00\x00\x00"s);  // a SOCKS4 answer
    FAIL() << "no exception";
  } catch (const courier::protocol_error& e) {
    EXPECT_NE(std::string(e.what()).find("0x04"), std::string::npos) << e.what();
  }
}

// Writing request heads and chunked framing.
#include "proto/http1/request_writer.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

namespace http1 = courier::proto::http1;

TEST(Http1RequestWriter, HeadBytes) {
  courier::headers fields;
  fields.add("Host", "example.org");
  fields.add("Accept", "*/*");
  fields.add("X-Repeated", "1");
  fields.add("X-Repeated", "2");
  EXPECT_EQ(http1::serialize_request_head(courier::method::get, "/search?q=a%20b", fields),
            "GET /search?q=a%20b HTTP/1.1\r\n"
            "Host: example.org\r\n"
            "Accept: */*\r\n"
            "X-Repeated: 1\r\n"
            "X-Repeated: 2\r\n"
            "\r\n");
}

TEST(Http1RequestWriter, CustomMethodAndNoFields) {
  EXPECT_EQ(http1::serialize_request_head(courier::method("PROPFIND"), "*", {}),
            "PROPFIND * HTTP/1.1\r\n\r\n");
}

TEST(Http1RequestWriter, RefusesLineBreaksInFields) {
  courier::headers fields;
  fields.add_unchecked("X-Evil", "a\r\nInjected: yes");
  EXPECT_THROW(http1::serialize_request_head(courier::method::get, "/", fields),
               courier::invalid_header);
  courier::headers names;
  names.add_unchecked("X-Evil\r\nInjected", "yes");
  EXPECT_THROW(http1::serialize_request_head(courier::method::get, "/", names),
               courier::invalid_header);
  courier::headers nul;
  nul.add_unchecked("X-Nul", std::string("a\0b", 3));
  EXPECT_THROW(http1::serialize_request_head(courier::method::get, "/", nul),
               courier::invalid_header);
}

TEST(Http1RequestWriter, RefusesBadTargets) {
  for (std::string_view target : {std::string_view("/a b"), std::string_view("/a\r\nX: y"),
                                  std::string_view(""), std::string_view("/\x7f")}) {
    EXPECT_THROW(http1::serialize_request_head(courier::method::get, target, {}),
                 courier::invalid_request)
        << target;
  }
}

TEST(Http1RequestWriter, ChunkFraming) {
  EXPECT_EQ(http1::chunk_prefix(1), "1\r\n");
  EXPECT_EQ(http1::chunk_prefix(255), "ff\r\n");
  EXPECT_EQ(http1::chunk_prefix(65536), "10000\r\n");
  EXPECT_EQ(http1::chunk_prefix(SIZE_MAX), std::string(2 * sizeof(std::size_t), 'f') + "\r\n");
  EXPECT_THROW(http1::chunk_prefix(0), std::invalid_argument);
  EXPECT_EQ(http1::chunk_suffix, "\r\n");
  EXPECT_EQ(http1::last_chunk, "0\r\n\r\n");
}

}  // namespace

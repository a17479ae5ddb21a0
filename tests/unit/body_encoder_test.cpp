// Request bodies turned into bytes: memory, files, forms, multipart.
#include "core/body_encoder.hpp"

#include <courier/error.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using courier::detail::body_source;
using courier::detail::encode_body;
using courier::detail::encode_multipart;
using courier::detail::url_encode_form;

// Reads a source to its end, `chunk` bytes at a time.
std::string read_all(body_source& source, std::size_t chunk = courier::detail::body_chunk_size) {
  std::string out;
  std::string buffer(chunk, '\0');
  for (int guard = 0; guard < 1'000'000; ++guard) {
    std::size_t n = source.read(buffer.data(), buffer.size());
    if (n == 0) return out;
    EXPECT_LE(n, chunk);
    out.append(buffer.data(), n);
  }
  ADD_FAILURE() << "source never ended";
  return out;
}

class BodyEncoder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("courier-body-encoder-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path write_file(const std::string& name, const std::string& content) {
    fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  fs::path dir_;
};

std::string sample(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    s[i] = static_cast<char>((i * 131) ^ (i >> 9));
  return s;
}

TEST_F(BodyEncoder, NoBody) {
  auto encoded = encode_body(courier::body{});
  EXPECT_EQ(encoded.source, nullptr);
  EXPECT_EQ(encoded.content_type, "");
}

TEST_F(BodyEncoder, BytesInMemory) {
  courier::body body = courier::bytes_body{"some text", "text/plain; charset=utf-8"};
  auto encoded = encode_body(body);
  EXPECT_EQ(encoded.content_type, "text/plain; charset=utf-8");
  ASSERT_NE(encoded.source, nullptr);
  EXPECT_EQ(encoded.source->size(), 9u);
  EXPECT_EQ(read_all(*encoded.source, 4), "some text");
  encoded.source->rewind();
  EXPECT_EQ(read_all(*encoded.source), "some text");
  // The body itself is untouched by a const encode, and moved from by an rvalue one.
  EXPECT_EQ(std::get<courier::bytes_body>(body).data, "some text");
  auto moved = encode_body(std::move(body));
  EXPECT_EQ(read_all(*moved.source), "some text");
}

TEST_F(BodyEncoder, FileIsStreamed) {
  const std::string content = sample(200000);
  fs::path path = write_file("data.bin", content);
  auto encoded = encode_body(courier::file_body{path, "application/x-test"});
  EXPECT_EQ(encoded.content_type, "application/x-test");
  EXPECT_EQ(encoded.source->size(), content.size());
  EXPECT_TRUE(read_all(*encoded.source) == content);
  encoded.source->rewind();
  EXPECT_TRUE(read_all(*encoded.source, 1000) == content);
}

TEST_F(BodyEncoder, MissingFileFailsWhenEncoded) {
  fs::path path = dir_ / "does-not-exist.txt";
  try {
    encode_body(courier::file_body{path});
    FAIL() << "no error";
  } catch (const courier::file_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(path.string()), std::string::npos) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
  }
  EXPECT_THROW(encode_body(courier::file_body{dir_}), courier::file_error) << "a directory";
}

TEST_F(BodyEncoder, FileThatShrinksIsAnError) {
  fs::path path = write_file("shrinking.txt", std::string(1000, 'x'));
  auto encoded = encode_body(courier::file_body{path});
  EXPECT_EQ(encoded.source->size(), 1000u);
  fs::resize_file(path, 10);
  try {
    read_all(*encoded.source);
    FAIL() << "no error";
  } catch (const courier::file_error& e) {
    EXPECT_NE(std::string(e.what()).find("shrank"), std::string::npos) << e.what();
  }
}

TEST_F(BodyEncoder, FormEncoding) {
  EXPECT_EQ(url_encode_form({{"q", "c++ websockets"}, {"a&b", "x=y"}}),
            "q=c%2B%2B+websockets&a%26b=x%3Dy");
  EXPECT_EQ(url_encode_form({{"safe", "AZaz09*-._"}, {"reserved", "!#$&'()+,/:;=?@[]~%"}}),
            "safe=AZaz09*-._&reserved=%21%23%24%26%27%28%29%2B%2C%2F%3A%3B%3D%3F%40%5B%5D%7E%25");
  EXPECT_EQ(url_encode_form({{"name", "Zo\xC3\xAB \xE2\x82\xAC"}}), "name=Zo%C3%AB+%E2%82%AC");
  EXPECT_EQ(url_encode_form({{"empty", ""}, {"", "v"}}), "empty=&=v");
  EXPECT_EQ(url_encode_form({}), "");

  auto encoded = encode_body(courier::form_body{{{"a", "1 2"}, {"b", "\r\n"}}});
  EXPECT_EQ(encoded.content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(read_all(*encoded.source), "a=1+2&b=%0D%0A");
}

TEST_F(BodyEncoder, MultipartPartFactories) {
  auto field = courier::multipart_part::field("title", "hello");
  EXPECT_EQ(field.name, "title");
  EXPECT_EQ(field.value, "hello");
  EXPECT_FALSE(field.file);
  EXPECT_FALSE(field.filename);
  EXPECT_EQ(field.content_type, "");

  auto file = courier::multipart_part::from_file("doc", "/tmp/report.pdf", "application/pdf");
  EXPECT_EQ(file.file, fs::path("/tmp/report.pdf"));
  EXPECT_EQ(file.content_type, "application/pdf");
  EXPECT_EQ(courier::multipart_part::from_file("doc", "x").content_type,
            "application/octet-stream");

  auto bytes = courier::multipart_part::from_bytes("up", "data", "a.txt", "text/plain");
  EXPECT_EQ(bytes.value, "data");
  EXPECT_EQ(bytes.filename, "a.txt");
  EXPECT_EQ(bytes.content_type, "text/plain");
  EXPECT_FALSE(bytes.file);
}

TEST_F(BodyEncoder, MultipartExactBytes) {
  fs::path file = write_file("notes.txt", "file contents\n");
  courier::multipart_body body;
  body.parts.push_back(courier::multipart_part::field("title", "h\xC3\xA9llo"));
  body.parts.push_back(courier::multipart_part::from_bytes("upload", std::string("bin\0ary", 7),
                                                           "we\"ird\r\nname.txt", "text/plain"));
  body.parts.push_back(courier::multipart_part::from_file("doc", file, "text/plain"));
  auto extra = courier::multipart_part::field("meta", "{}");
  extra.content_type = "application/json";
  extra.extra_headers.add("X-Part", "3");
  body.parts.push_back(extra);

  auto encoded = encode_multipart(body, "Bnd-123");
  EXPECT_EQ(encoded.content_type, "multipart/form-data; boundary=Bnd-123");
  const std::string expected = std::string(
                                   "--Bnd-123\r\n"
                                   "Content-Disposition: form-data; name=\"title\"\r\n"
                                   "\r\n"
                                   "h\xC3\xA9llo\r\n"
                                   "--Bnd-123\r\n"
                                   "Content-Disposition: form-data; name=\"upload\"; "
                                   "filename=\"we%22ird%0D%0Aname.txt\"\r\n"
                                   "Content-Type: text/plain\r\n"
                                   "\r\n") +
                               std::string("bin\0ary", 7) +
                               "\r\n"
                               "--Bnd-123\r\n"
                               "Content-Disposition: form-data; name=\"doc\"; "
                               "filename=\"notes.txt\"\r\n"
                               "Content-Type: text/plain\r\n"
                               "\r\n"
                               "file contents\n"
                               "\r\n"
                               "--Bnd-123\r\n"
                               "Content-Disposition: form-data; name=\"meta\"\r\n"
                               "Content-Type: application/json\r\n"
                               "X-Part: 3\r\n"
                               "\r\n"
                               "{}\r\n"
                               "--Bnd-123--\r\n";
  EXPECT_EQ(encoded.source->size(), expected.size());
  EXPECT_EQ(read_all(*encoded.source), expected);
  // Any read size gives the same bytes, across the edges of the pieces.
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{100}}) {
    encoded.source->rewind();
    EXPECT_EQ(read_all(*encoded.source, chunk), expected) << "chunk " << chunk;
  }
}

TEST_F(BodyEncoder, MultipartSizeMatchesWhatIsRead) {
  const std::string big = sample(300000);
  courier::multipart_body body;
  body.parts.push_back(courier::multipart_part::from_file("a", write_file("a.bin", big)));
  body.parts.push_back(courier::multipart_part::from_file("b", write_file("empty.bin", "")));
  body.parts.push_back(courier::multipart_part::field("c", "value"));
  auto encoded = encode_body(body);
  ASSERT_TRUE(encoded.source->size().has_value());
  std::string all = read_all(*encoded.source);
  EXPECT_EQ(*encoded.source->size(), all.size());
  EXPECT_NE(all.find(big), std::string::npos);
  EXPECT_NE(all.find("filename=\"empty.bin\"\r\nContent-Type: application/octet-stream"),
            std::string::npos);
}

TEST_F(BodyEncoder, MultipartRandomBoundary) {
  courier::multipart_body body{{courier::multipart_part::field("x", "y")}};
  auto first = encode_body(body);
  auto second = encode_body(body);
  const std::string prefix = "multipart/form-data; boundary=";
  ASSERT_EQ(first.content_type.substr(0, prefix.size()), prefix);
  const std::string boundary = first.content_type.substr(prefix.size());
  EXPECT_EQ(boundary.size(), 40u);
  EXPECT_NE(first.content_type, second.content_type);
  const std::string bytes = read_all(*first.source);
  EXPECT_EQ(bytes.substr(0, boundary.size() + 4), "--" + boundary + "\r\n");
  EXPECT_EQ(bytes.substr(bytes.size() - boundary.size() - 6), "--" + boundary + "--\r\n");
}

TEST_F(BodyEncoder, MultipartBadBoundaryOrInput) {
  courier::multipart_body body{{courier::multipart_part::field("x", "contains --Bnd-123 inside")}};
  EXPECT_THROW(encode_multipart(body, "Bnd-123"), courier::invalid_request);
  EXPECT_THROW(encode_multipart(body, ""), courier::invalid_request);
  EXPECT_THROW(encode_multipart(body, std::string(71, 'a')), courier::invalid_request);
  EXPECT_THROW(encode_multipart(body, "bad\r\nboundary"), courier::invalid_request);
  EXPECT_NO_THROW(encode_multipart(body, "other"));

  courier::multipart_body missing{{courier::multipart_part::from_file("f", dir_ / "missing")}};
  EXPECT_THROW(encode_body(missing), courier::file_error);

  auto part = courier::multipart_part::field("x", "y");
  part.content_type = "text/plain\r\nX-Injected: 1";
  EXPECT_THROW(encode_body(courier::multipart_body{{part}}), courier::invalid_header);
}

}  // namespace

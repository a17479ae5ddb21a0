#include "proto/ws/mask.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace ws = courier::proto::ws;

namespace {

std::string naive_mask(std::string data, ws::mask_key key, std::size_t offset) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<char>(static_cast<unsigned char>(data[i]) ^ key[(offset + i) % 4]);
  }
  return data;
}

std::string random_string(std::mt19937& rng, std::size_t n) {
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace

TEST(WsMask, KnownVectorFromRfc6455Section5_7) {
  // "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58.
  std::string data = "Hello";
  ws::apply_mask(data.data(), data.size(), {0x37, 0xfa, 0x21, 0x3d});
  EXPECT_EQ(data, std::string("\x7f\x9f\x4d\x51\x58", 5));
}

TEST(WsMask, ApplyMatchesNaiveLoopOnRandomLengthsOffsetsAndAlignments) {
  std::mt19937 rng(1234);
  std::vector<char> storage(4096 + 64);
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = round < 300 ? static_cast<std::size_t>(round) : rng() % 4096;
    const std::size_t align = rng() % 16;
    const std::size_t offset = rng() % 11;  // offsets past 3 wrap around
    const ws::mask_key key{static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()),
                           static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng())};
    const std::string input = random_string(rng, n);
    std::copy(input.begin(), input.end(), storage.begin() + static_cast<std::ptrdiff_t>(align));
    // Guard bytes around the range must stay untouched.
    storage[align + n] = 'G';
    ws::apply_mask(storage.data() + align, n, key, offset);
    ASSERT_EQ(std::string(storage.data() + align, n), naive_mask(input, key, offset))
        << "n=" << n << " align=" << align << " offset=" << offset;
    ASSERT_EQ(storage[align + n], 'G');
  }
}

TEST(WsMask, CopyMaskedMatchesNaiveLoopAndLeavesSourceAlone) {
  std::mt19937 rng(99);
  std::vector<char> dst(2048 + 32);
  for (int round = 0; round < 1000; ++round) {
    const std::size_t n = rng() % 2048;
    const std::size_t align = rng() % 16;
    const std::size_t offset = rng() % 4;
    const ws::mask_key key{static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()),
                           static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng())};
    const std::string src = random_string(rng, n + 7).substr(rng() % 8);
    const std::string piece = src.substr(0, std::min(n, src.size()));
    dst[align + piece.size()] = 'G';
    ws::copy_masked(dst.data() + align, piece.data(), piece.size(), key, offset);
    ASSERT_EQ(std::string(dst.data() + align, piece.size()), naive_mask(piece, key, offset));
    ASSERT_EQ(dst[align + piece.size()], 'G');
  }
}

TEST(WsMask, MaskingInPiecesWithOffsetsEqualsMaskingAtOnce) {
  std::mt19937 rng(7);
  const std::string input = random_string(rng, 1000);
  const ws::mask_key key{1, 2, 3, 250};
  std::string pieces = input;
  std::size_t done = 0;
  for (std::size_t step : {1u, 3u, 17u, 64u, 200u, 715u}) {
    ws::apply_mask(pieces.data() + done, step, key, done);
    done += step;
  }
  ASSERT_EQ(done, input.size());
  EXPECT_EQ(pieces, naive_mask(input, key, 0));
  // Masking twice restores the input.
  ws::apply_mask(pieces.data(), pieces.size(), key);
  EXPECT_EQ(pieces, input);
}

#include "server/security/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace server::security {
namespace {

TEST(DigestTest, Sha256OfAbc) {
  EXPECT_EQ(HexEncode(Digest(HashAlgorithm::kSha256, "abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, Sha256OfEmpty) {
  EXPECT_EQ(HexEncode(Digest(HashAlgorithm::kSha256, "")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(DigestTest, Sm3OfAbc) {
  EXPECT_EQ(HexEncode(Digest(HashAlgorithm::kSm3, "abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST(DigestTest, Sm3OfSixtyFourBytes) {
  // GB/T 32905-2016 appendix A, example 2: "abcd" repeated 16 times.
  std::string data;
  for (int i = 0; i < 16; ++i) data += "abcd";
  EXPECT_EQ(HexEncode(Digest(HashAlgorithm::kSm3, data)),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
}

TEST(DigestTest, ParsesAlgorithmNames) {
  EXPECT_EQ(ParseHashAlgorithm("sha256"), HashAlgorithm::kSha256);
  EXPECT_EQ(ParseHashAlgorithm("sm3"), HashAlgorithm::kSm3);
  EXPECT_EQ(ParseHashAlgorithm("SHA256"), std::nullopt);
  EXPECT_EQ(ParseHashAlgorithm("md5"), std::nullopt);
  EXPECT_EQ(ParseHashAlgorithm(""), std::nullopt);
  EXPECT_EQ(HashAlgorithmName(HashAlgorithm::kSm3), "sm3");
  EXPECT_EQ(HashAlgorithmName(HashAlgorithm::kSha256), "sha256");
}

TEST(HexTest, RoundTrip) {
  const std::string bytes("\x00\x01\x7f\x80\xff", 5);
  EXPECT_EQ(HexEncode(bytes), "00017f80ff");
  EXPECT_EQ(HexDecode("00017f80ff"), bytes);
  EXPECT_EQ(HexDecode("00017F80FF"), bytes);
  EXPECT_EQ(HexDecode(""), std::string());
}

TEST(HexTest, RejectsInvalid) {
  EXPECT_EQ(HexDecode("abc"), std::nullopt);
  EXPECT_EQ(HexDecode("zz"), std::nullopt);
  EXPECT_EQ(HexDecode("0 "), std::nullopt);
}

TEST(Base64UrlTest, Rfc4648Vectors) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  for (std::string_view s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(s)), std::string(s));
  }
}

TEST(Base64UrlTest, UsesTheUrlAlphabet) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(Base64UrlEncode(bytes), "-_-_");
  EXPECT_EQ(Base64UrlDecode("-_-_"), bytes);
}

TEST(Base64UrlTest, RoundTripsEveryByte) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= bytes.size(); n += 37) {
    const std::string part = bytes.substr(0, n);
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(part)), part);
  }
}

TEST(Base64UrlTest, RejectsInvalid) {
  EXPECT_EQ(Base64UrlDecode("Zg=="), std::nullopt);    // padding
  EXPECT_EQ(Base64UrlDecode("Zm9v+w"), std::nullopt);  // standard alphabet
  EXPECT_EQ(Base64UrlDecode("Zm9v/w"), std::nullopt);
  EXPECT_EQ(Base64UrlDecode("Zm 9v"), std::nullopt);  // whitespace
  EXPECT_EQ(Base64UrlDecode("Zm9vY"), std::nullopt);  // length % 4 == 1
  EXPECT_EQ(Base64UrlDecode("Zh"), std::nullopt);     // non-zero unused bits
}

}  // namespace
}  // namespace server::security

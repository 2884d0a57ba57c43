#define CAF_SUITE protocol.http_compression
#include "test_support.hpp"

#include "protocol/http_compression.hpp"

#include <zlib.h>

#include <random>

using namespace nl::protocol;

namespace {

std::string gunzip(const std::string& z, size_t expected) {
  std::string out(expected + 16, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK)
    return "<init failed>";
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
  zs.avail_in = static_cast<uInt>(z.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  bool rest = zs.avail_in != 0;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || rest)
    return "<not one complete gzip member>";
  return out;
}

}  // namespace

CAF_TEST(what Go and other clients send takes gzip) {
  CAF_CHECK(accepts_gzip("gzip"));                        // Go's transport
  CAF_CHECK(accepts_gzip("gzip, deflate"));               // Python requests
  CAF_CHECK(accepts_gzip("deflate, gzip, br, zstd"));     // curl --compressed
  CAF_CHECK(accepts_gzip("gzip, deflate, br"));           // browsers
  CAF_CHECK(accepts_gzip("GZIP"));
  CAF_CHECK(accepts_gzip("x-gzip"));
  CAF_CHECK(accepts_gzip(" gzip ;q=0.5 "));
  CAF_CHECK(accepts_gzip("gzip;q=1.000"));
  CAF_CHECK(accepts_gzip("*"));
  CAF_CHECK(accepts_gzip("br;q=1, *;q=0.1"));
  CAF_CHECK(accepts_gzip("gzip;level=9"));  // a parameter that is not a weight
}

CAF_TEST(absent refused or malformed means no gzip) {
  CAF_CHECK(!accepts_gzip(""));
  CAF_CHECK(!accepts_gzip("identity"));
  CAF_CHECK(!accepts_gzip("deflate, br"));
  CAF_CHECK(!accepts_gzip("gzip;q=0"));
  CAF_CHECK(!accepts_gzip("gzip;q=0.000"));
  CAF_CHECK(!accepts_gzip("gzip;q=0, *"));  // named refusal wins over *
  CAF_CHECK(!accepts_gzip("*;q=0"));
  CAF_CHECK(!accepts_gzip("gzip;q=2"));
  CAF_CHECK(!accepts_gzip("gzip;q=1.5"));
  CAF_CHECK(!accepts_gzip("gzip;q=0.1234"));
  CAF_CHECK(!accepts_gzip("gzip;q="));
  CAF_CHECK(!accepts_gzip("gzip;q"));
  CAF_CHECK(!accepts_gzip("gzipp"));
  CAF_CHECK(!accepts_gzip("gz ip"));
  CAF_CHECK(!accepts_gzip(",,,;;;"));
  CAF_CHECK(!accepts_gzip(std::string_view{"gzip\0", 5}));
}

CAF_TEST(gzip members decode to the input) {
  for (std::string in : {std::string{}, std::string{"x"}, std::string(100000, 'a')}) {
    auto z = gzip_compress(in);
    CAF_CHECK_EQUAL(z.substr(0, 2), "\x1f\x8b");  // gzip magic
    CAF_CHECK(gunzip(z, in.size()) == in);
  }
  // Incompressible bytes grow only by the framing.
  std::mt19937 rnd{7};
  std::string noise(1 << 20, '\0');
  for (auto& c : noise)
    c = static_cast<char>(rnd());
  auto z = gzip_compress(noise);
  CAF_CHECK_LESS(z.size(), noise.size() + 1024);
  CAF_CHECK(gunzip(z, noise.size()) == noise);
}

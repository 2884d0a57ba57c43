#include "storage/block/ulid.hpp"

#include <chrono>
#include <random>

namespace nl::storage {

namespace {

constexpr char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

bool is_base32(char c) {
  for (const char* p = alphabet; *p; ++p)
    if (*p == c)
      return true;
  return false;
}

}  // namespace

std::string make_ulid(int64_t ms) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  // 128 bits: 48 of time, 80 of randomness; 26 digits of 5 bits from the top
  // (the first digit carries only 3 bits).
  unsigned __int128 v = static_cast<unsigned __int128>(static_cast<uint64_t>(ms) & 0xFFFFFFFFFFFFULL) << 80;
  unsigned __int128 r = (static_cast<unsigned __int128>(rng()) << 64) | rng();
  v |= r & ((static_cast<unsigned __int128>(1) << 80) - 1);
  std::string out(26, '0');
  for (int i = 25; i >= 0; --i) {
    out[static_cast<size_t>(i)] = alphabet[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
  return out;
}

std::string make_ulid() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return make_ulid(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

bool is_ulid(std::string_view s) {
  if (s.size() != 26 || s[0] > '7')
    return false;
  for (char c : s)
    if (!is_base32(c))
      return false;
  return true;
}

}  // namespace nl::storage

#pragma once
// Bytes as lower-case hex digits and back, for suites that compare encoded
// bytes with a spelled-out expectation.
#include <string>
#include <string_view>

namespace nl::test {

/// Two lower-case hex digits a byte, nothing between.
inline std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

/// The bytes that `hex` spells as `h` (an odd last digit is ignored).
inline std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string{h.substr(i, 2)}, nullptr, 16)));
  return out;
}

}  // namespace nl::test

#pragma once
// Remote-write bodies for the suites that push samples through the
// frontend, stamped near the wall clock the head judges them by.
#include <chrono>
#include <cstdint>
#include <string>

#include "protocol/remote_write.hpp"
#include "protocol/snappy_block.hpp"

namespace nl::test {

/// The wall clock in milliseconds since the epoch.
inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// A snappy-compressed WriteRequest with `n` samples of up{job=<job>}, one
/// a second from `t0` (ms), all 1.
inline std::string write_body(const std::string& job, int n, int64_t t0) {
  protocol::write_series s;
  s.labels = {{"__name__", "up"}, {"job", job}};
  for (int i = 0; i < n; ++i)
    s.samples.push_back({t0 + i * 1000, 1.0});
  return protocol::snappy_encode(protocol::encode_write_request({s}));
}

}  // namespace nl::test

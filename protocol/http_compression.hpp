#pragma once
// gzip for HTTP answers (Content-Encoding: gzip), as Prometheus compresses
// its API's JSON, /federate and /metrics for clients that ask for it. Go
// clients (Grafana, promtool, client_golang) always send
// "Accept-Encoding: gzip" and decode transparently; a JSON answer shrinks
// about 3x (a 1.2 MB range-query matrix: 372 KB).
//
// Negotiation follows RFC 9110 §12.5.3: the header is a comma-separated
// list of codings with optional ";q=" weights; "gzip" (or the old alias
// "x-gzip"), or "*" when gzip is not named, is accepted unless its weight
// is 0. Prometheus 2.42 compares list items literally (only a bare "gzip"
// counts, "gzip;q=1" does not) and also offers deflate; Nightlight speaks
// only gzip, which every client that sends Accept-Encoding accepts.
#include <string>
#include <string_view>

namespace nl::protocol {

/// Whether a request with this Accept-Encoding value (may be empty or
/// malformed: then no) takes a gzip-encoded answer.
bool accepts_gzip(std::string_view accept_encoding);

/// `data` as one gzip member (RFC 1952), at zlib's fastest level: the
/// compression runs on the HTTP threads, which also decode remote writes,
/// and level 1 is 16% larger than the default level 6 on a JSON range
/// result. Throws std::bad_alloc when memory runs out.
std::string gzip_compress(std::string_view data);

}  // namespace nl::protocol

#include "nightlight/api/error.hpp"

namespace nightlight::api {

const char* to_string(errc code) {
  switch (code) {
    case errc::cancelled: return "CANCELLED";
    case errc::unknown: return "UNKNOWN";
    case errc::invalid_argument: return "INVALID_ARGUMENT";
    case errc::deadline_exceeded: return "DEADLINE_EXCEEDED";
    case errc::not_found: return "NOT_FOUND";
    case errc::already_exists: return "ALREADY_EXISTS";
    case errc::permission_denied: return "PERMISSION_DENIED";
    case errc::resource_exhausted: return "RESOURCE_EXHAUSTED";
    case errc::failed_precondition: return "FAILED_PRECONDITION";
    case errc::aborted: return "ABORTED";
    case errc::out_of_range: return "OUT_OF_RANGE";
    case errc::unimplemented: return "UNIMPLEMENTED";
    case errc::internal: return "INTERNAL";
    case errc::unavailable: return "UNAVAILABLE";
    case errc::data_loss: return "DATA_LOSS";
    case errc::unauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

std::string error::to_string() const {
  std::string out = api::to_string(code);
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

}  // namespace nightlight::api

#include "actors/errors.hpp"

namespace nl::actors {

const char* to_string(error_code c) {
  switch (c) {
    case error_code::bad_input: return "bad_input";
    case error_code::overloaded: return "overloaded";
    case error_code::disk_full: return "disk_full";
    case error_code::wal_deadline: return "wal_deadline";
    case error_code::wal_failed: return "wal_failed";
    case error_code::timeout: return "timeout";
    case error_code::too_many_samples: return "too_many_samples";
    case error_code::unavailable: return "unavailable";
    case error_code::internal: return "internal";
    case error_code::execution: return "execution";
    case error_code::canceled: return "canceled";
    case error_code::stale_series_refs: return "stale_series_refs";
  }
  return "unknown";
}

error_code code_of(const caf::error& err) {
  if (err.category() == error_category && err.code() >= static_cast<uint8_t>(error_code::bad_input)
      && err.code() <= static_cast<uint8_t>(last_error_code))
    return static_cast<error_code>(err.code());
  if (err == caf::sec::request_timeout)
    return error_code::timeout;
  if (err == caf::sec::request_receiver_down || err == caf::exit_reason::user_shutdown)
    return error_code::unavailable;
  return error_code::internal;
}

std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return caf::to_string(err);
}

std::string render_error(uint8_t code, caf::atom_value, const caf::message& context) {
  std::string out = "nightlight: ";
  out += code >= static_cast<uint8_t>(error_code::bad_input) && code <= static_cast<uint8_t>(last_error_code)
           ? to_string(static_cast<error_code>(code))
           : "unknown";
  if (context.size() == 1 && context.match_element<std::string>(0)) {
    out += " (";
    out += context.get_as<std::string>(0);
    out += ')';
  }
  return out;
}

}  // namespace nl::actors

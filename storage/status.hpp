#pragma once
// status and result<T>: errors as values on every storage path (no
// exceptions on append, encode, decode or postings paths). Shaped like
// leveldb's Status: a code plus a human-readable message.
#include <string>
#include <utility>
#include <variant>

namespace nl::storage {

class [[nodiscard]] status {
 public:
  enum class code {
    ok,
    invalid_argument,  ///< caller's input can never be accepted
    corruption,        ///< bytes on disk or on the wire are damaged
    io_error,          ///< the operating system refused
    out_of_order,      ///< sample older than the series' newest sample
    out_of_bounds,     ///< sample outside the head's valid time range
    duplicate_sample,  ///< same timestamp, different value
    not_found,
    limit_exceeded,    ///< a configured limit was hit
    no_space,          ///< the file system is full (ENOSPC, EDQUOT): may pass
  };

  status() = default;
  static status ok() { return {}; }
  static status invalid_argument(std::string m) { return {code::invalid_argument, std::move(m)}; }
  static status corruption(std::string m) { return {code::corruption, std::move(m)}; }
  static status io_error(std::string m) { return {code::io_error, std::move(m)}; }
  static status out_of_order(std::string m) { return {code::out_of_order, std::move(m)}; }
  static status out_of_bounds(std::string m) { return {code::out_of_bounds, std::move(m)}; }
  static status duplicate_sample(std::string m) { return {code::duplicate_sample, std::move(m)}; }
  static status not_found(std::string m) { return {code::not_found, std::move(m)}; }
  static status limit_exceeded(std::string m) { return {code::limit_exceeded, std::move(m)}; }
  static status no_space(std::string m) { return {code::no_space, std::move(m)}; }

  bool is_ok() const { return code_ == code::ok; }
  explicit operator bool() const { return is_ok(); }
  code error_code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  status(code c, std::string m) : code_(c), message_(std::move(m)) {}
  code code_ = code::ok;
  std::string message_;
};

/// Either a value or a non-ok status.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}
  result(status s) : v_(std::move(s)) {}
  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  /// The error; status::ok() when a value is held.
  status error() const { return is_ok() ? status::ok() : std::get<1>(v_); }

 private:
  std::variant<T, status> v_;
};

}  // namespace nl::storage

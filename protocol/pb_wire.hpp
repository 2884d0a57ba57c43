#pragma once
// Minimal protobuf wire-format reader and writer shared by the remote write
// and remote read codecs. Header-only so the hot decode loop inlines.
//
// Wire format recap: a message is a sequence of (tag, payload) with
// tag = uvarint(field_number << 3 | wire_type). Wire types: 0 varint,
// 1 fixed64 (LE), 2 length-delimited (uvarint length + bytes), 5 fixed32 (LE);
// 3/4 are the deprecated group start/end markers, which prompb never uses.
//
// The reader never reads past its end: every failure sets an error message
// ("protobuf: ...") and makes the reader report done(), so callers can write
// `while (r.next(field)) {...}` and check r.failed() afterwards.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace nl::protocol::pb {

enum wire_type : uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, group_start = 3,
                            group_end = 4, fixed32 = 5 };

/// One field header plus, for length-delimited fields, its payload.
struct field {
  uint32_t number = 0;
  uint32_t type = 0;
  uint64_t value = 0;      ///< varint, fixed64 or fixed32 payload
  std::string_view bytes;  ///< length-delimited payload (points into the input)
};

/// Walks one message. Does not own the bytes; they must outlive the reader
/// and every string_view it hands out.
class reader {
 public:
  reader(const char* begin, const char* end, const char* base)
    : p_(begin), end_(end), base_(base) {}
  explicit reader(std::string_view msg) : reader(msg.data(), msg.data() + msg.size(), msg.data()) {}
  /// A reader over a nested message `bytes` that reports offsets relative to
  /// the same base as `parent`.
  reader(std::string_view bytes, const reader& parent)
    : reader(bytes.data(), bytes.data() + bytes.size(), parent.base_) {}

  /// Reads the next field; false at the end of the message or on error.
  bool next(field& f) {
    if (p_ >= end_ || failed())
      return false;
    uint64_t tag = 0;
    if (!read_varint(tag))
      return false;
    f.number = static_cast<uint32_t>(tag >> 3);
    f.type = static_cast<uint32_t>(tag & 7);
    if (f.number == 0 || (tag >> 3) > 0x1fffffff)
      return fail(bad_field_number, 0);
    switch (f.type) {
      case varint:
        return read_varint(f.value);
      case fixed64:
        if (end_ - p_ < 8)
          return fail(truncated_fixed64, 0);
        std::memcpy(&f.value, p_, 8);  // x86-64 and aarch64 are little-endian
        p_ += 8;
        return true;
      case fixed32: {
        if (end_ - p_ < 4)
          return fail(truncated_fixed32, 0);
        uint32_t v;
        std::memcpy(&v, p_, 4);
        f.value = v;
        p_ += 4;
        return true;
      }
      case length_delimited: {
        uint64_t n = 0;
        if (!read_varint(n))
          return false;
        if (n > static_cast<uint64_t>(end_ - p_))
          return fail(length_too_big, n);
        f.bytes = std::string_view(p_, static_cast<size_t>(n));
        p_ += n;
        return true;
      }
      case group_start:
      case group_end:
        return fail(group, f.type);
      default:
        return fail(bad_wire_type, f.type);
    }
  }

  enum problem : uint8_t { none, bad_varint, bad_field_number, truncated_fixed64,
                           truncated_fixed32, length_too_big, group, bad_wire_type, custom };

  bool failed() const { return problem_ != none; }
  /// "protobuf: <what> at offset <n>", or empty. Built only when asked for,
  /// so a reader stays a few trivially copyable words on the hot path.
  std::string error() const {
    std::string what;
    switch (problem_) {
      case none: return {};
      case bad_varint: what = "truncated or overlong varint"; break;
      case bad_field_number: what = "invalid field number"; break;
      case truncated_fixed64: what = "truncated fixed64"; break;
      case truncated_fixed32: what = "truncated fixed32"; break;
      case length_too_big:
        what = "length " + std::to_string(arg_) + " exceeds the enclosing message";
        break;
      case group: what = "groups (wire type " + std::to_string(arg_) + ") are not supported"; break;
      case bad_wire_type: what = "invalid wire type " + std::to_string(arg_); break;
      case custom: what = custom_; break;
    }
    return "protobuf: " + what + " at offset " + std::to_string(offset_);
  }
  /// Records an error found by the caller (e.g. a bad packed payload);
  /// `what` must be a string literal.
  bool fail(const char* what) {
    custom_ = what;
    return fail(custom, 0);
  }

  /// Decodes one uvarint of at most 10 bytes from [p, end); false if it is
  /// truncated or longer. Bits above 64 are dropped, as protobuf does.
  static bool decode_varint(const char*& p, const char* end, uint64_t& out) {
    uint64_t v = 0;
    for (int i = 0; i < 10; ++i) {
      if (p >= end)
        return false;
      auto b = static_cast<uint8_t>(*p++);
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (b < 0x80) {
        out = v;
        return true;
      }
    }
    return false;
  }

 private:
  bool read_varint(uint64_t& out) {
    // Fast path: one-byte varints are most tags and most small values.
    if (p_ < end_ && static_cast<uint8_t>(*p_) < 0x80) {
      out = static_cast<uint8_t>(*p_++);
      return true;
    }
    const char* start = p_;
    if (!decode_varint(p_, end_, out)) {
      p_ = start;
      return fail(bad_varint, 0);
    }
    return true;
  }

  bool fail(problem p, uint64_t arg) {
    if (problem_ == none) {
      problem_ = p;
      arg_ = arg;
      offset_ = static_cast<size_t>(p_ - base_);
    }
    p_ = end_;
    return false;
  }

  const char* p_;
  const char* end_;
  const char* base_;
  problem problem_ = none;
  uint64_t arg_ = 0;
  size_t offset_ = 0;
  const char* custom_ = nullptr;
};

/// Appends protobuf fields to a std::string.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}

  void put_varint(uint64_t v) {
    char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }
  void put_tag(uint32_t number, wire_type t) { put_varint((uint64_t{number} << 3) | t); }
  void varint_field(uint32_t number, uint64_t v) {
    put_tag(number, varint);
    put_varint(v);
  }
  void int64_field(uint32_t number, int64_t v) { varint_field(number, static_cast<uint64_t>(v)); }
  void double_field(uint32_t number, double v) {
    put_tag(number, fixed64);
    put_double(v);
  }
  void bool_field(uint32_t number, bool v) { varint_field(number, v ? 1 : 0); }
  /// A double without its tag: an element of a packed repeated double.
  void put_double(double v) {
    char buf[8];
    std::memcpy(buf, &v, 8);
    out_.append(buf, 8);
  }
  void bytes_field(uint32_t number, std::string_view b) {
    put_tag(number, length_delimited);
    put_varint(b.size());
    out_.append(b.data(), b.size());
  }

  /// Header of a nested message whose encoded size the caller computed.
  void nested_header(uint32_t number, size_t size) {
    put_tag(number, length_delimited);
    put_varint(size);
  }

  /// Encoded size of a varint, and of a whole field with a 1-byte tag.
  static size_t varint_size(uint64_t v) {
    // 7 bits a byte: ceil(significant bits / 7), at least 1.
    return static_cast<size_t>((64 - __builtin_clzll(v | 1)) * 9 + 64) / 64;
  }
  static size_t bytes_field_size(size_t n) { return 1 + varint_size(n) + n; }
  /// Bytes written so far (the whole output string, not just this writer's).
  size_t size() const { return out_.size(); }

 private:
  std::string& out_;
};

}  // namespace nl::protocol::pb

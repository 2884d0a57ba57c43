// A block's tombstones file (storage/FORMAT.md, "Blocks", "tombstones"):
//
//   file    := "NLTS" 0x01 00 00 00  body  crc32c(body)<4b LE>
//   body    := n<uvarint> entry{n}
//   entry   := series<uvarint> k<uvarint> range{k}
//   range   := mint<varint> (maxt - mint)<uvarint>
//
// `series` is the number itself in the first entry and the difference to
// the previous entry's (>= 1) after it. The ranges of an entry ascend and
// neither overlap nor touch (mint > previous maxt + 1): the map is stored
// in its one canonical form, so equal maps give equal bytes.
#include "storage/tombstones.hpp"

#include <algorithm>

#include "storage/coding.hpp"
#include "storage/file.hpp"

namespace nl::storage {

namespace {

constexpr std::string_view magic = "NLTS";
constexpr uint8_t version = 1;
constexpr size_t header_size = 8;

// Whether b starts right after a ends (no gap between integer ranges).
bool touches(const time_interval& a, const time_interval& b) {
  return a.maxt != INT64_MAX && a.maxt + 1 == b.mint;
}

}  // namespace

void add_interval(interval_list& xs, time_interval iv) {
  // The first range that ends at or after iv.mint - 1 (it may merge).
  auto it = std::lower_bound(xs.begin(), xs.end(), iv, [](const time_interval& x, const time_interval& y) {
    return x.maxt < y.mint && !touches(x, y);
  });
  auto last = it;
  while (last != xs.end() && (last->mint <= iv.maxt || touches(iv, *last))) {
    iv.mint = std::min(iv.mint, last->mint);
    iv.maxt = std::max(iv.maxt, last->maxt);
    ++last;
  }
  it = xs.erase(it, last);
  xs.insert(it, iv);
}

bool is_deleted(const interval_list& xs, int64_t t) {
  auto it = std::lower_bound(xs.begin(), xs.end(), t, [](const time_interval& x, int64_t v) { return x.maxt < v; });
  return it != xs.end() && it->mint <= t;
}

result<std::shared_ptr<const chunk>> without_deleted(const std::shared_ptr<const chunk>& c,
                                                     const interval_list& deleted) {
  bool touched = std::any_of(deleted.begin(), deleted.end(),
                             [&](const time_interval& iv) { return iv.overlaps(c->min_time(), c->max_time()); });
  if (!touched)
    return c;
  std::vector<sample> xs;
  if (auto st = c->decode(INT64_MIN, INT64_MAX, xs); !st)
    return st;
  xor_appender app{c->bytes().size()};
  for (const auto& s : xs)
    if (!is_deleted(deleted, s.t))
      app.append(s.t, s.v);
  if (app.empty())
    return std::shared_ptr<const chunk>{};
  return std::shared_ptr<const chunk>{app.cut()};
}

std::string encode_tombstones(const tombstone_map& ts) {
  std::string out{magic};
  out.push_back(static_cast<char>(version));
  out.append(3, '\0');
  std::string body;
  size_t n = 0;
  for (const auto& [id, xs] : ts)
    n += xs.empty() ? 0 : 1;
  put_uvarint(body, n);
  uint64_t prev = 0;
  bool first = true;
  for (const auto& [id, xs] : ts) {
    if (xs.empty())
      continue;
    put_uvarint(body, first ? id : id - prev);
    put_uvarint(body, xs.size());
    for (const auto& iv : xs) {
      put_varint(body, iv.mint);
      put_uvarint(body, static_cast<uint64_t>(iv.maxt) - static_cast<uint64_t>(iv.mint));
    }
    prev = id;
    first = false;
  }
  out.append(body);
  put_fixed32(out, crc32c(body));
  return out;
}

result<tombstone_map> decode_tombstones(std::string_view bytes, const std::string& path) {
  auto bad = [&](const std::string& what) { return status::corruption(path + ": " + what); };
  if (bytes.size() < header_size + 4)
    return bad("shorter than its header and checksum");
  if (bytes.substr(0, 4) != magic)
    return bad("bad magic");
  if (static_cast<uint8_t>(bytes[4]) != version)
    return bad("unknown version " + std::to_string(static_cast<uint8_t>(bytes[4])));
  if (bytes[5] != 0 || bytes[6] != 0 || bytes[7] != 0)
    return bad("header padding is not zero");
  auto body = bytes.substr(header_size, bytes.size() - header_size - 4);
  if (crc32c(body) != decode_fixed32(bytes.data() + bytes.size() - 4))
    return bad("checksum mismatch");
  auto in = body;
  auto at = [&] { return " at offset " + std::to_string(header_size + body.size() - in.size()); };
  uint64_t n = 0;
  if (!get_uvarint(in, n) || n > in.size())
    return bad("series count" + at());
  tombstone_map out;
  uint64_t id = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t d = 0, k = 0;
    if (!get_uvarint(in, d) || !get_uvarint(in, k))
      return bad("entry truncated" + at());
    if (i > 0 && (d == 0 || id + d < id))
      return bad("series numbers not ascending" + at());
    id = i == 0 ? d : id + d;
    if (k == 0 || k > in.size())
      return bad("range count of series " + std::to_string(id) + at());
    interval_list xs;
    xs.reserve(k);
    for (uint64_t j = 0; j < k; ++j) {
      int64_t mint = 0;
      uint64_t len = 0;
      if (!get_varint(in, mint) || !get_uvarint(in, len))
        return bad("range of series " + std::to_string(id) + " truncated" + at());
      // INT64_MAX - mint, exact in modular arithmetic for every mint.
      if (len > static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(mint))
        return bad("range of series " + std::to_string(id) + " ends past the largest time" + at());
      auto maxt = static_cast<int64_t>(static_cast<uint64_t>(mint) + len);
      time_interval iv{mint, maxt};
      if (!xs.empty() && (iv.mint <= xs.back().maxt || touches(xs.back(), iv)))
        return bad("ranges of series " + std::to_string(id) + " not ascending and apart" + at());
      xs.push_back(iv);
    }
    out.emplace_hint(out.end(), id, std::move(xs));
  }
  if (!in.empty())
    return bad(std::to_string(in.size()) + " bytes after the last entry");
  return out;
}

status write_tombstones_file(const std::string& block_dir, const tombstone_map& ts) {
  auto path = block_dir + "/" + std::string{tombstones_file_name};
  bool empty = std::all_of(ts.begin(), ts.end(), [](const auto& e) { return e.second.empty(); });
  if (empty)
    return remove_file_durably(path);
  auto tmp = path + ".tmp";
  if (auto st = remove_tree(tmp); !st)  // a failed attempt's leftover
    return st;
  auto f = create_new_file(tmp);
  if (!f)
    return f.error();
  auto fail = [&](status st) {
    (void)(*f)->close();
    (void)remove_file(tmp);
    return st;
  };
  if (auto st = (*f)->append(encode_tombstones(ts)); !st)
    return fail(st);
  if (auto st = (*f)->sync(); !st)
    return fail(st);
  if (auto st = (*f)->close(); !st) {
    (void)remove_file(tmp);
    return st;
  }
  if (auto st = rename_path(tmp, path); !st) {
    (void)remove_file(tmp);
    return st;
  }
  return sync_dir(block_dir);
}

result<tombstone_map> read_tombstones_file(const std::string& block_dir) {
  auto path = block_dir + "/" + std::string{tombstones_file_name};
  auto exists = path_exists(path);
  if (!exists)
    return exists.error();
  if (!*exists)
    return tombstone_map{};
  auto bytes = read_whole_file(path);
  if (!bytes)
    return bytes.error();
  return decode_tombstones(*bytes, path);
}

}  // namespace nl::storage

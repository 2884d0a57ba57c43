#define CAF_SUITE storage.head.head_snapshot
#include "test_support.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "storage/chunk/chunk_files.hpp"
#include "storage/coding.hpp"
#include "storage/file.hpp"
#include "storage/hex.hpp"
#include "storage/head/head_snapshot.hpp"
#include "storage/label_key.hpp"

using namespace nl::storage;

namespace {

constexpr int64_t minute = 60000;

label_set ls(std::vector<label> l) { return label_set::from_unsorted(std::move(l)); }

head_options options(uint64_t shard = 0, uint64_t shards = 1) {
  head_options o;
  o.ref_start = 1 + shard;
  o.ref_stride = shards;
  o.samples_per_chunk = 5;  // several closed chunks per series
  o.chunk_range_ms = 60 * minute;
  o.ooo_window_ms = 30 * minute;
  return o;
}

uint64_t series(head& h, const std::string& name, const std::string& job) {
  auto labels = ls({{"__name__", name}, {"job", job}});
  auto slot = h.get_or_create(labels.hash(), label_key(labels));
  CAF_REQUIRE(slot.is_ok());
  return slot->ref();
}

// Every series' labels and samples, in label order.
std::vector<std::pair<std::string, std::vector<sample>>> everything(const head& h) {
  std::vector<std::pair<std::string, std::vector<sample>>> out;
  for (auto& s : h.select({}, INT64_MIN, INT64_MAX)) {
    std::vector<sample> xs;
    CAF_REQUIRE(decode_chunks(s.chunks, INT64_MIN, INT64_MAX, xs).is_ok());
    out.emplace_back(s.labels.to_string(), std::move(xs));
  }
  return out;
}

bool same(const std::vector<std::pair<std::string, std::vector<sample>>>& a,
          const std::vector<std::pair<std::string, std::vector<sample>>>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || a[i].second.size() != b[i].second.size())
      return false;
    for (size_t k = 0; k < a[i].second.size(); ++k)
      if (a[i].second[k].t != b[i].second[k].t
          || float_bits(a[i].second[k].v) != float_bits(b[i].second[k].v))
        return false;
  }
  return true;
}

// A head with closed and open chunks, a series without samples, an alias,
// out-of-order samples, a constant series and a raised floor.
void fill(head& h) {
  auto a = series(h, "up", "a");
  auto b = series(h, "up", "b");
  auto c = series(h, "flat", "c");
  (void)series(h, "never", "sampled");
  for (int i = 0; i < 23; ++i) {
    CAF_REQUIRE(h.append(a, 100 * minute + i * 15000, i * 1.5).is_ok());
    CAF_REQUIRE(h.append(b, 100 * minute + i * 15000, i % 3 == 0 ? -0.0 : 1e300 / (i + 1)).is_ok());
    CAF_REQUIRE(h.append(c, 100 * minute + i * 15000, 7).is_ok());
  }
  CAF_REQUIRE(h.append(a, 100 * minute + 7500, 99).is_ok());  // out of order
  CAF_REQUIRE_EQUAL(h.stats().ooo_samples, 1u);
  // The labels of `b` under another ref, as a replayed WAL may have them.
  CAF_REQUIRE(h.create_series_with_ref(1000, ls({{"__name__", "up"}, {"job", "b"}})).is_ok());
  h.raise_min_valid_time(90 * minute);
}

}  // namespace

CAF_TEST(a head read back from its state is the same head) {
  head h{options()};
  fill(h);
  std::string state;
  CAF_REQUIRE(h.write_state(state).is_ok());
  head back{options()};
  // Start-up raises the floor to the newest block's end before loading,
  // as before a replay; the state does not carry it.
  back.raise_min_valid_time(90 * minute);
  CAF_REQUIRE(back.read_state(state).is_ok());
  CAF_CHECK(same(everything(h), everything(back)));
  CAF_CHECK_EQUAL(back.num_series(), h.num_series() - 1);  // never{} had no sample
  CAF_CHECK_EQUAL(back.min_time(), h.min_time());
  CAF_CHECK_EQUAL(back.max_time(), h.max_time());
  CAF_CHECK_EQUAL(back.min_valid_time(), h.min_valid_time());
  CAF_CHECK_EQUAL(back.ooo_sequence(), h.ooo_sequence());
  auto hs = h.stats();
  auto bs = back.stats();
  CAF_CHECK_EQUAL(bs.samples, hs.samples);
  CAF_CHECK_EQUAL(bs.chunks, hs.chunks);
  CAF_CHECK_EQUAL(bs.chunk_bytes, hs.chunk_bytes);
  CAF_CHECK_EQUAL(bs.ooo_samples, hs.ooo_samples);
  // The alias still leads to its series; refs continue where they were.
  CAF_CHECK_EQUAL(back.labels_of(1000)->to_string(), h.labels_of(1000)->to_string());
  CAF_CHECK_EQUAL(series(back, "new", "x"), series(h, "new", "x"));
  // Appending goes on the same way in both (open chunks restored, chunks
  // cut at the same sample), including the constant series.
  for (auto* x : {&h, &back})
    for (int i = 23; i < 31; ++i) {
      CAF_REQUIRE(x->append(*x->find_ref(ls({{"__name__", "up"}, {"job", "a"}})), 100 * minute + i * 15000, i)
                    .is_ok());
      CAF_REQUIRE(x->append(*x->find_ref(ls({{"__name__", "flat"}, {"job", "c"}})), 100 * minute + i * 15000,
                            i == 30 ? 8 : 7)
                    .is_ok());
      CAF_REQUIRE(x->append(1000, 100 * minute + i * 15000, -i).is_ok());
    }
  CAF_CHECK(same(everything(h), everything(back)));
  CAF_CHECK_EQUAL(back.stats().chunks, h.stats().chunks);
  // The restored appenders wrote the very bytes the originals did.
  CAF_CHECK_EQUAL(back.stats().chunk_bytes, h.stats().chunk_bytes);
  // Refusals are the same too: out of bounds below the floor and the
  // out-of-order window, an older sample inside it.
  auto a = *back.find_ref(ls({{"__name__", "up"}, {"job", "a"}}));
  CAF_CHECK_EQUAL(back.append(a, 60 * minute, 1).error_code(), status::code::out_of_bounds);
  CAF_CHECK_EQUAL(h.append(a, 60 * minute, 1).error_code(), status::code::out_of_bounds);
  CAF_CHECK(back.append(a, 100 * minute + 7500, 99).is_ok());  // the stored out-of-order sample
  CAF_CHECK_EQUAL(back.append(a, 100 * minute + 7500, 98).error_code(), status::code::duplicate_sample);
}

namespace {

// A head state by hand (storage/FORMAT.md, "Head snapshot"): `pairs`,
// then series as (ref, pair indexes), each with one open chunk of one
// sample at t = ref.
std::string state_of(const std::vector<std::string>& pairs,
                     const std::vector<std::pair<uint64_t, std::vector<uint64_t>>>& series) {
  std::string out;
  put_uvarint(out, 1000);  // next_ref
  put_uvarint(out, 0);     // ooo_seq
  put_uvarint(out, pairs.size());
  for (const auto& p : pairs)
    put_length_prefixed(out, p);
  put_uvarint(out, series.size());
  uint64_t prev = 0;
  for (const auto& [ref, indexes] : series) {
    put_uvarint(out, ref - prev);
    prev = ref;
    put_uvarint(out, indexes.size());
    for (auto i : indexes)
      put_uvarint(out, i);
    put_uvarint(out, 0);  // no closed chunk
    xor_appender a;
    a.append(static_cast<int64_t>(ref), 1);
    put_length_prefixed(out, a.bytes());
    auto st = a.saved_state();
    put_varint(out, st.first_t);
    put_uvarint(out, 0);
    put_uvarint(out, st.t_delta);
    put_fixed64(out, st.value_bits);
    out.push_back(static_cast<char>(st.leading));
    out.push_back(static_cast<char>(st.trailing));
    out.push_back(static_cast<char>(st.free_bits));
  }
  put_uvarint(out, 0);  // aliases
  put_uvarint(out, 0);  // out-of-order series
  return out;
}

status::code load(const std::string& state) {
  head h{options()};
  return h.read_state(state).error_code();
}

}  // namespace

CAF_TEST(a state names labels by a pair table that is checked) {
  const std::vector<std::string> pairs = {label_pair("__name__", "up"), label_pair("job", "a"), label_pair("job", "b"),
                                          label_pair("job", "unused")};
  {
    head h{options()};
    CAF_REQUIRE(h.read_state(state_of(pairs, {{1, {0, 1}}, {2, {0, 2}}})).is_ok());
    // Found by their labels: the hash put together from the pairs' parts
    // is the label set's.
    CAF_CHECK_EQUAL(h.find_ref(ls({{"__name__", "up"}, {"job", "a"}})), std::optional<uint64_t>{1});
    CAF_CHECK_EQUAL(h.find_ref(ls({{"__name__", "up"}, {"job", "b"}})), std::optional<uint64_t>{2});
    CAF_CHECK_EQUAL(h.labels_of(2)->to_string(), ls({{"__name__", "up"}, {"job", "b"}}).to_string());
    // Indexed under each pair; a pair no series uses is not a value.
    CAF_CHECK_EQUAL(h.label_values("job", {}, INT64_MIN, INT64_MAX), (std::vector<std::string>{"a", "b"}));
    auto job_b = h.select({*matcher::make(match_type::equal, "job", "b")}, INT64_MIN, INT64_MAX);
    CAF_REQUIRE_EQUAL(job_b.size(), 1u);
    CAF_CHECK_EQUAL(job_b[0].ref, 2u);
    // Refs go on from next_ref.
    CAF_CHECK_EQUAL(series(h, "up", "c"), 1000u);
  }
  const auto corrupt = status::code::corruption;
  CAF_CHECK_EQUAL(load(state_of({label_pair("job", "a"), label_pair("job", "a")}, {{1, {0}}})), corrupt);   // pair twice
  CAF_CHECK_EQUAL(load(state_of({label_pair("job", "")}, {{1, {0}}})), corrupt);                      // empty value
  CAF_CHECK_EQUAL(load(state_of({std::string{"\x08__na", 5}}, {{1, {0}}})), corrupt);            // truncated
  CAF_CHECK_EQUAL(load(state_of({std::string{"\x83\x00job\x01a", 7}}, {{1, {0}}})), corrupt);  // long varint
  CAF_CHECK_EQUAL(load(state_of(pairs, {{1, {1, 0}}})), corrupt);                               // unsorted
  CAF_CHECK_EQUAL(load(state_of(pairs, {{1, {0, 1, 2}}})), corrupt);                            // name twice
  CAF_CHECK_EQUAL(load(state_of(pairs, {{1, {0, 4}}})), corrupt);                               // no such pair
  CAF_CHECK_EQUAL(load(state_of(pairs, {{1, {}}})), corrupt);                                   // no labels
  CAF_CHECK_EQUAL(load(state_of(pairs, {{1, {0, 1}}, {2, {0, 1}}})), corrupt);                  // same labels
  // Chunk ranges beyond int64 (a span over 2^63 after a negative start)
  // are refused, not overflowed.
  {
    std::string bad;
    put_uvarint(bad, 2);  // next_ref
    put_uvarint(bad, 0);
    put_uvarint(bad, 1);
    put_length_prefixed(bad, label_pair("job", "a"));
    put_uvarint(bad, 1);
    put_uvarint(bad, 1);  // ref 1
    put_uvarint(bad, 1);
    put_uvarint(bad, 0);
    auto with_closed = [&bad](uint64_t span) {
      auto out = bad;
      put_uvarint(out, 1);  // one closed chunk, from -1
      put_varint(out, -1);
      put_uvarint(out, span);
      put_fixed64(out, 0);
      put_length_prefixed(out, std::string{"\x00\x01\x00", 3});
      put_uvarint(out, 0);  // no open chunk
      put_uvarint(out, 0);
      put_uvarint(out, 0);
      return out;
    };
    CAF_CHECK_EQUAL(load(with_closed((uint64_t{1} << 63) + 1)), corrupt);
    CAF_CHECK_EQUAL(load(with_closed(uint64_t{1} << 63)), status::code::ok);  // ends at INT64_MAX
    xor_appender a;
    a.append(-1, 1);
    auto with_open = bad;
    put_uvarint(with_open, 0);  // no closed chunk
    put_length_prefixed(with_open, a.bytes());
    put_varint(with_open, -1);
    put_uvarint(with_open, ~uint64_t{0});
    put_uvarint(with_open, 0);
    put_fixed64(with_open, 0);
    with_open += std::string{"\xff\x00\x00", 3};
    put_uvarint(with_open, 0);
    put_uvarint(with_open, 0);
    CAF_CHECK_EQUAL(load(with_open), corrupt);
  }
  // A state without series (an empty head's) loads as an empty head.
  {
    head empty{options()};
    std::string state;
    CAF_REQUIRE(empty.write_state(state).is_ok());
    head back{options()};
    CAF_CHECK(back.read_state(state).is_ok());
    CAF_CHECK_EQUAL(back.num_series(), 0u);
  }
  // A ref at or above the next ref to hand out would be handed out again.
  CAF_CHECK_EQUAL(load(state_of(pairs, {{1, {0, 1}}, {1000, {0, 2}}})), corrupt);
  CAF_CHECK_EQUAL(load(state_of(pairs, {{uint64_t{1} << 63, {0, 1}}})), corrupt);
}

CAF_TEST(a head with chunk files writes and loads its closed chunks through them) {
  nl::test::temp_dir tmp;
  auto with_files = [&](const std::string& name) {
    auto h = std::make_unique<head>(options());
    auto files = chunk_files::open(tmp.path + "/" + name);
    CAF_REQUIRE(files.is_ok());
    h->use_chunk_files(std::move(*files));
    return h;
  };
  auto h = with_files("a");
  fill(*h);
  CAF_CHECK(!std::filesystem::is_empty(tmp.path + "/a"));  // closed chunks went to a file
  std::string state;
  CAF_REQUIRE(h->write_state(state).is_ok());
  auto back = with_files("b");
  back->raise_min_valid_time(90 * minute);
  CAF_REQUIRE(back->read_state(state).is_ok());
  CAF_CHECK(!std::filesystem::is_empty(tmp.path + "/b"));
  CAF_CHECK(same(everything(*h), everything(*back)));
  CAF_CHECK_EQUAL(back->stats().chunk_bytes, h->stats().chunk_bytes);
  // A state that fails half-way leaves no file behind once its head goes.
  auto broken = with_files("c");
  CAF_CHECK(!broken->read_state(std::string_view{state}.substr(0, state.size() * 2 / 3)).is_ok());
  CAF_CHECK(!std::filesystem::is_empty(tmp.path + "/c"));  // it had loaded some chunks
  broken.reset();
  CAF_CHECK(std::filesystem::is_empty(tmp.path + "/c"));
  back.reset();
  CAF_CHECK(std::filesystem::is_empty(tmp.path + "/b"));
}

CAF_TEST(a head with staged samples has no state to write) {
  head h{options()};
  auto labels = ls({{"__name__", "up"}});
  auto slot = h.get_or_create(labels.hash(), label_key(labels));
  CAF_REQUIRE(slot.is_ok());
  CAF_REQUIRE(h.stage(*slot, 1000, 1).is_ok());
  std::string state;
  CAF_CHECK_EQUAL(h.write_state(state).error_code(), status::code::invalid_argument);
  CAF_CHECK(state.empty());
  CAF_REQUIRE(h.append_staged(*slot, 1000, 1).is_ok());
  CAF_CHECK(h.write_state(state).is_ok());
}

CAF_TEST(damaged state bytes are corruption and never crash) {
  head h{options()};
  fill(h);
  std::string state;
  CAF_REQUIRE(h.write_state(state).is_ok());
  for (size_t n = 0; n < state.size(); ++n) {
    head back{options()};
    auto st = back.read_state(std::string_view{state}.substr(0, n));
    CAF_CHECK_EQUAL(st.error_code(), status::code::corruption);
  }
  // Flipped bytes: an error or a valid different head (a flipped value
  // bit decodes), never a crash; the file's checksums catch them all.
  size_t refused = 0;
  for (size_t i = 0; i < state.size(); ++i) {
    auto bad = state;
    bad[i] = static_cast<char>(bad[i] ^ 0x41);
    head back{options()};
    refused += back.read_state(bad).is_ok() ? 0 : 1;
  }
  CAF_CHECK_GREATER(refused, 0u);
  head back{options()};
  CAF_CHECK(back.read_state(state + "x").error_code() == status::code::corruption);
  // Only an empty head takes a state.
  CAF_CHECK_EQUAL(h.read_state(state).error_code(), status::code::invalid_argument);
}

CAF_TEST(the snapshot file stands for the WAL only while everything matches) {
  nl::test::temp_dir dir;
  const auto path = dir.path + "/" + head_snapshot_file;
  std::vector<std::shared_ptr<head>> heads = {std::make_shared<head>(options(0, 2)),
                                              std::make_shared<head>(options(1, 2))};
  fill(*heads[0]);
  auto r = series(*heads[1], "other", "shard");
  CAF_REQUIRE(heads[1]->append(r, 100 * minute, 42).is_ok());
  metadata_store meta;
  meta.apply({123, {"up", metric_type::gauge, "Up or not.", ""}});
  CAF_REQUIRE(write_head_snapshot(path, heads, meta, "00000007 100\n", 5 * minute).is_ok());
  CAF_CHECK(!path_exists(path + ".tmp").value());
  auto fresh = [] {
    return std::vector<std::shared_ptr<head>>{std::make_shared<head>(options(0, 2)),
                                              std::make_shared<head>(options(1, 2))};
  };
  {
    auto back = fresh();
    metadata_store m2;
    auto loaded = read_head_snapshot(path, back, m2, "00000007 100\n");
    CAF_REQUIRE(loaded.is_ok());
    CAF_CHECK_EQUAL(loaded->blocks_end, 5 * minute);  // the caller compares it with its blocks
    CAF_CHECK_EQUAL(loaded->replay_from, 0u);          // the WAL is as it was
    CAF_CHECK_EQUAL(loaded->series, heads[0]->num_series() + heads[1]->num_series() - 1);  // never{}
    CAF_CHECK_EQUAL(loaded->samples, heads[0]->stats().samples + heads[1]->stats().samples);
    CAF_CHECK(same(everything(*back[0]), everything(*heads[0])));
    CAF_CHECK(same(everything(*back[1]), everything(*heads[1])));
    auto listed = m2.list("", -1, 0);
    CAF_REQUIRE_EQUAL(listed.size(), 1u);
    CAF_CHECK_EQUAL(listed[0].help, "Up or not.");
  }
  auto refused = [&](const std::string& fp, size_t shards) {
    std::vector<std::shared_ptr<head>> back;
    for (size_t i = 0; i < shards; ++i)
      back.push_back(std::make_shared<head>(options(i, shards)));
    metadata_store m2;
    auto loaded = read_head_snapshot(path, back, m2, fp);
    return loaded.is_ok() ? status::code::ok : loaded.error().error_code();
  };
  {  // A segment written since (a start that loaded it, then a crash).
    auto back = fresh();
    metadata_store m2;
    auto loaded = read_head_snapshot(path, back, m2, "00000007 100\n00000008 5\n");
    CAF_REQUIRE(loaded.is_ok());
    CAF_CHECK_EQUAL(loaded->replay_from, 8u);
    CAF_CHECK(same(everything(*back[0]), everything(*heads[0])));
  }
  CAF_CHECK_EQUAL(refused("00000007 101\n", 2), status::code::invalid_argument);  // a segment it has changed
  CAF_CHECK_EQUAL(refused("00000007 100\n", 3), status::code::invalid_argument);
  // Any flipped byte of the file is caught by a checksum or the header.
  std::string bytes;
  {
    std::ifstream in{path, std::ios::binary};
    bytes.assign(std::istreambuf_iterator<char>{in}, {});
  }
  for (size_t i = 0; i < bytes.size(); i += 7) {
    auto bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    CAF_REQUIRE(write_whole_file(path, bad).is_ok());
    auto code = refused("00000007 100\n", 2);
    CAF_CHECK(code == status::code::corruption || code == status::code::invalid_argument);
  }
  CAF_REQUIRE(write_whole_file(path, bytes.substr(0, bytes.size() - 1)).is_ok());
  CAF_CHECK_EQUAL(refused("00000007 100\n", 2), status::code::corruption);
  CAF_REQUIRE(remove_file(path).is_ok());
  CAF_CHECK_EQUAL(refused("00000007 100\n", 2), status::code::not_found);
}

CAF_TEST(the WAL fingerprint changes with any file of the WAL) {
  nl::test::temp_dir dir;
  auto fingerprint = [&dir] {
    auto r = wal_fingerprint(dir.wal());
    CAF_REQUIRE(r.is_ok());
    return *r;
  };
  CAF_CHECK_EQUAL(fingerprint(), "");
  dir.put("wal/00000003", "abc");
  dir.put("wal/checkpoint.00000002/00000001", "xy");
  auto first = wal_fingerprint(dir.wal());
  CAF_REQUIRE(first.is_ok());
  CAF_CHECK_EQUAL(*first, "00000003 3\ncheckpoint.00000002/\ncheckpoint.00000002/00000001 2\n");
  dir.put("wal/00000003", "abcd");
  CAF_CHECK_NOT_EQUAL(fingerprint(), *first);
  dir.put("wal/00000003", "abc");
  CAF_CHECK_EQUAL(fingerprint(), *first);
  dir.put("wal/00000004", "");
  CAF_CHECK_NOT_EQUAL(fingerprint(), *first);
}

CAF_TEST(a snapshot stands for a WAL that only gained newer segments in a row) {
  const std::string taken = "00000003 70\n00000004 9\ncheckpoint.00000002/\ncheckpoint.00000002/00000001 2\n";
  // The first segment to replay, as a plain value (CAF_CHECK_EQUAL keeps
  // references to its arguments).
  auto first = [](const std::string& then, const std::string& now) -> uint64_t {
    auto r = wal_segments_after(then, now);
    CAF_REQUIRE(r.is_ok());
    return *r;
  };
  auto code = [&](const std::string& current) {
    auto r = wal_segments_after(taken, current);
    return r.is_ok() ? status::code::ok : r.error().error_code();
  };
  const std::string ckpt = "checkpoint.00000002/\ncheckpoint.00000002/00000001 2\n";
  CAF_CHECK_EQUAL(first(taken, taken), 0u);  // nothing written since
  CAF_CHECK_EQUAL(first(taken, "00000003 70\n00000004 9\n00000005 0\n" + ckpt), 5u);
  CAF_CHECK_EQUAL(first(taken, "00000003 70\n00000004 9\n00000005 4096\n00000006 12\n" + ckpt), 5u);
  // Grown, shrunk or gone: a file the snapshot covers changed.
  CAF_CHECK_EQUAL(code("00000003 70\n00000004 10\n" + ckpt), status::code::invalid_argument);
  CAF_CHECK_EQUAL(code("00000003 70\n00000004 8\n" + ckpt), status::code::invalid_argument);
  CAF_CHECK_EQUAL(code("00000004 9\n" + ckpt), status::code::invalid_argument);
  CAF_CHECK_EQUAL(code("00000003 70\n00000004 9\n"), status::code::invalid_argument);
  // A new checkpoint (the segments before it are about to go), a gap, a
  // segment numbered before the snapshot's newest, anything else new.
  CAF_CHECK_EQUAL(code(taken + "checkpoint.00000004/\n"), status::code::invalid_argument);
  CAF_CHECK_EQUAL(code("00000003 70\n00000004 9\n00000006 1\n" + ckpt), status::code::invalid_argument);
  CAF_CHECK_EQUAL(code("00000001 5\n00000003 70\n00000004 9\n" + ckpt), status::code::invalid_argument);
  CAF_CHECK_EQUAL(code(taken + "stray 1\n"), status::code::invalid_argument);
  // A checkpoint newer than every segment: the next segment follows it.
  CAF_CHECK_EQUAL(first("checkpoint.00000009/\ncheckpoint.00000009/00000000 4\n",
                        "00000010 7\ncheckpoint.00000009/\ncheckpoint.00000009/00000000 4\n"),
                  10u);
  CAF_CHECK_EQUAL(first("", ""), 0u);
}

CAF_TEST(golden bytes of a head state and a snapshot file) {
  // storage/FORMAT.md, "Head snapshot": one series up{} with (1000, 1) and
  // (2000, 1) in its open chunk.
  head_options o;
  head h{o};
  auto labels = ls({{"__name__", "up"}});
  auto slot = h.get_or_create(labels.hash(), label_key(labels));
  CAF_REQUIRE(slot.is_ok());
  CAF_REQUIRE(h.append(slot->ref(), 1000, 1).is_ok());
  CAF_REQUIRE(h.append(slot->ref(), 2000, 1).is_ok());
  std::string state;
  CAF_REQUIRE(h.write_state(state).is_ok());
  CAF_CHECK_EQUAL(nl::test::hex(state),
                  "02"                            // next_ref 2
                  "00"                            // ooo_seq
                  "01"                            // one pair:
                  "0c" "08" "5f5f6e616d655f5f" "02" "7570"  // __name__="up"
                  "01"                            // one series
                  "01"                            // ref 1 (after 0)
                  "01" "00"                       // one label: pair 0
                  "00"                            // no closed chunk
                  "0f" "0002" "d00f" "3ff0000000000000" "e807" "00"  // open chunk
                  "d00f" "e807" "e807"            // first t 1000, span 1000, last step 1000
                  "000000000000f03f"              // last value 1
                  "ff" "00" "07"                  // no value window yet, 7 bits free
                  "00"                            // no alias
                  "00");                          // no out-of-order samples
  head back{o};
  CAF_REQUIRE(back.read_state(state).is_ok());
  CAF_CHECK_EQUAL(back.find_ref(labels), std::optional<uint64_t>{1});
  nl::test::temp_dir dir;
  const auto path = dir.path + "/" + head_snapshot_file;
  metadata_store meta;
  CAF_REQUIRE(write_head_snapshot(path, {std::make_shared<head>(o)}, meta, "w 1\n", INT64_MIN).is_ok());
  auto bytes = read_whole_file(path);
  CAF_REQUIRE(bytes.is_ok());
  // Shards, blocks_end, the options (chunk range 2h, 120 samples a
  // chunk, no out-of-order window, out-of-bounds window 1h, no stored
  // duplicates), the fingerprint.
  std::string header =
    nl::test::unhex("01" "ffffffffffffffffff01" "80f4ee06" "78" "00" "80bab703" "00" "04" "7720310a");
  std::string empty_state = nl::test::unhex("01" "00" "00" "00" "00" "00");
  auto section = [](const std::string& b) {
    std::string out;
    put_fixed64(out, b.size());
    out += b;
    put_fixed32(out, crc32c(b));
    return out;
  };
  CAF_CHECK_EQUAL(nl::test::hex(*bytes),
                  nl::test::hex("NLHEADS2" + section(header) + section(empty_state) + section("")));
  CAF_CHECK_EQUAL(nl::test::hex(section("")), "000000000000000000000000");
}

CAF_TEST(series without data and their aliases are left out) {
  // A series whose batch the WAL refused exists in the head without a
  // series record in the WAL; a replay would not have it either.
  head h{options()};
  auto kept = series(h, "up", "kept");
  CAF_REQUIRE(h.append(kept, 1000, 1).is_ok());
  (void)series(h, "up", "unlogged");
  CAF_REQUIRE(h.create_series_with_ref(1000, ls({{"__name__", "up"}, {"job", "unlogged"}})).is_ok());
  CAF_REQUIRE(h.create_series_with_ref(1001, ls({{"__name__", "up"}, {"job", "kept"}})).is_ok());
  std::string state;
  CAF_REQUIRE(h.write_state(state).is_ok());
  head back{options()};
  CAF_REQUIRE(back.read_state(state).is_ok());
  CAF_CHECK_EQUAL(back.num_series(), 1u);
  CAF_CHECK(!back.find_ref(ls({{"__name__", "up"}, {"job", "unlogged"}})).has_value());
  CAF_CHECK(!back.labels_of(1000).is_ok());
  CAF_CHECK_EQUAL(back.labels_of(1001)->to_string(), h.labels_of(kept)->to_string());
  // Its ref is not handed out again: WAL records may still name it.
  CAF_CHECK_EQUAL(series(back, "new", "x"), series(h, "new", "x"));
}

#pragma once
// Series references on a node link. A link session (one connection
// between two nodes, from its hello until it goes down) numbers the series
// it sends: the first batch that carries a series sends its label key and
// gives it the next number, later batches send only the number. So a
// series' key crosses the link, and is checked and hashed by the receiver,
// once per session instead of once per sample (it was 151 of the ~170
// bytes a sample cost on the link, and most of the receiver's work).
// Prometheus' remote write 2.0 does the same per request with its symbol
// table; a link can do it per session because its messages arrive in order
// and the session ends with the connection.
//
// series_ref_sender (the link actor) hands out the numbers;
// series_ref_receiver (the peer's gateway) learns them in the same order.
// Both keep every key of the session, so a session costs about its keys'
// bytes on each side; the sender starts a new session when that passes its
// cap (see actors/cluster/link.hpp).
//
// Not thread-safe: each is owned by one actor.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/prefetch.hpp"
#include "storage/status.hpp"

namespace nl::storage {

/// A session's label keys at most: the sender starts a new session when
/// its keys pass this, the receiver refuses a batch that would take its
/// copy past receiver_session_key_limit() of it, a quarter more for the
/// batch that crossed it (so a peer cannot grow a gateway's memory without
/// bound).
constexpr size_t max_session_key_bytes = size_t{256} << 20;
constexpr size_t receiver_session_key_limit(size_t sender_cap) { return sender_cap + sender_cap / 4; }

/// Label keys numbered 0, 1, 2, ... in the order they were added, with
/// their hashes (hash_label_key).
class numbered_keys {
 public:
  uint32_t size() const { return static_cast<uint32_t>(hashes_.size()); }
  size_t key_bytes() const { return keys_.size(); }
  std::string_view key(uint32_t id) const {
    size_t begin = id == 0 ? 0 : ends_[id - 1];
    return std::string_view{keys_}.substr(begin, ends_[id] - begin);
  }
  /// Speed hint: fetch what key(id) reads first.
  void prefetch_key(uint32_t id) const { nl::storage::prefetch(&ends_[id == 0 ? 0 : id - 1]); }
  uint64_t hash(uint32_t id) const { return hashes_[id]; }
  void add(uint64_t hash, std::string_view key);
  void clear();

 private:
  std::string keys_;
  std::vector<uint32_t> ends_;  ///< key i is keys_[ends_[i-1], ends_[i])
  std::vector<uint64_t> hashes_;
};

/// The sending side of a link session.
class series_ref_sender {
 public:
  struct ref {
    uint32_t id;
    bool is_new;  ///< numbered by this call: its key must go with the batch
  };
  /// The number of the series with label key `key` (`hash` =
  /// hash_label_key(key)); a series the session has not seen gets the next
  /// number. Two keys with one hash get two numbers.
  ref assign(uint64_t hash, std::string_view key);
  /// Starts loading the table slot of `hash`: nearly every assign() misses
  /// the cache, so a caller walking a batch fetches a few series ahead.
  void prefetch(uint64_t hash) const {
    if (!slots_.empty())
      nl::storage::prefetch(&slots_[hash & (slots_.size() - 1)]);
  }
  /// And, a few series later (the slot in the cache), where the key that
  /// assign() will compare ends.
  void prefetch_key(uint64_t hash) const;
  /// Forgets every number (a new session starts at 0) and frees the memory.
  void reset();
  uint32_t size() const { return keys_.size(); }
  size_t key_bytes() const { return keys_.key_bytes(); }

 private:
  void grow();
  numbered_keys keys_;
  /// Open addressing by hash, linear probing, at most half full: the high
  /// 32 bits of a key's hash (so that a probe compares keys only when
  /// those agree, without reading the hash column) above its id + 1; 0 =
  /// empty.
  std::vector<uint64_t> slots_;
  static uint64_t tag_of(uint64_t hash) { return hash & ~uint64_t{0xffffffff}; }
};

/// The receiving side of a link session. It also numbers the series of
/// each head shard (storage/head/shard.hpp) apart, densely: a series'
/// shard slot is how many of the session's series went to its shard
/// before it, so that a shard can keep what it learns of the session's
/// series in an array (actors/head_block.hpp, numberings).
class series_ref_receiver {
 public:
  /// REQUIRES: num_shards > 0.
  explicit series_ref_receiver(size_t num_shards = 1) : next_slot_(num_shards, 0) {}
  /// Numbers the label keys in `keys` (one after the other, as
  /// append_label_key writes them) from size() on, checking and hashing
  /// each. corruption (naming the key) when they are not exactly `count`
  /// valid non-empty keys; the keys before the bad one stay numbered.
  status define(std::string_view keys, uint32_t count);
  uint32_t size() const { return keys_.size(); }
  std::string_view key(uint32_t id) const { return keys_.key(id); }
  uint64_t hash(uint32_t id) const { return keys_.hash(id); }
  /// The series' slot in its shard.
  uint32_t shard_slot(uint32_t id) const { return shard_slots_[id]; }
  size_t key_bytes() const { return keys_.key_bytes(); }
  void clear();

 private:
  numbered_keys keys_;
  std::vector<uint32_t> shard_slots_;  ///< by number
  std::vector<uint32_t> next_slot_;    ///< by shard
};

}  // namespace nl::storage

#define CAF_SUITE storage.wal.segment_times
#include "test_support.hpp"

#include "storage/wal/segment_times.hpp"

using nl::storage::segment_times;

CAF_TEST(a checkpoint replaces the oldest segments holding only older samples) {
  segment_times t{5, 0};  // segments 1-4 were written before a restart
  t.note(5, 100);
  t.note(6, 250);
  t.note(7, 150);  // late samples after newer ones
  t.note(8, 400);
  // Segment 9 is current. Cut at 200: 1-5 hold only older samples, 6 does
  // not, so 7 waits too.
  CAF_CHECK_EQUAL(t.bound(9, 200), 5u);
  // Nothing newer is old enough, but 6-8 were closed at the previous call:
  // they go now whatever they hold.
  CAF_CHECK_EQUAL(t.bound(10, 200), 8u);
  // Segment 9, closed since, holds nothing: it is old.
  CAF_CHECK_EQUAL(t.bound(10, 200), 9u);
  CAF_CHECK_EQUAL(t.bound(10, 200), 0u);  // nothing new
}

CAF_TEST(segments without samples and segments before the writer count as old) {
  segment_times t{3, 0};
  t.note(4, 1000);
  CAF_CHECK(t.only_older(3, 10));  // metadata only
  CAF_CHECK(!t.only_older(4, 10));
  CAF_CHECK_EQUAL(t.bound(5, 10), 3u);
  CAF_CHECK_EQUAL(t.bound(6, 2000), 5u);
}

CAF_TEST(the bound never goes back to a checkpoint taken before) {
  // Checkpoint 7 exists and the writer started at 8: with nothing written,
  // there is nothing to replace (a second checkpoint 7 would be refused).
  segment_times t{8, 7};
  CAF_CHECK_EQUAL(t.bound(8, 100), 0u);
  t.note(8, 50);
  CAF_CHECK_EQUAL(t.bound(9, 100), 8u);
}

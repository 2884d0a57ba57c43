#define CAF_SUITE actors.errors
#include "test_support.hpp"

#include "actors/errors.hpp"
#include "actors/messages.hpp"

using namespace nl::actors;

CAF_TEST(our codes keep their code and message) {
  auto err = caf::make_error(error_code::disk_full, "WAL: write: No space left on device");
  CAF_CHECK(code_of(err) == error_code::disk_full);
  CAF_CHECK_EQUAL(message_of(err), "WAL: write: No space left on device");
  CAF_CHECK(err == error_code::disk_full);
  CAF_CHECK(code_of(caf::make_error(error_code::bad_input, "x")) == error_code::bad_input);
}

CAF_TEST(caf errors map to the nearest code) {
  CAF_CHECK(code_of(caf::make_error(caf::sec::request_timeout)) == error_code::timeout);
  CAF_CHECK(code_of(caf::make_error(caf::sec::request_receiver_down)) == error_code::unavailable);
  CAF_CHECK(code_of(caf::make_error(caf::sec::runtime_error, "boom")) == error_code::internal);
  CAF_CHECK_EQUAL(message_of(caf::make_error(caf::sec::runtime_error, "boom")), "boom");
}

CAF_TEST(errors render with their code name and survive serialisation) {
  caf::actor_system_config cfg;
  register_message_types(cfg);
  caf::actor_system sys{cfg};
  auto err = caf::make_error(error_code::wal_deadline, "late");
  CAF_CHECK_EQUAL(sys.render(err), "nightlight: wal_deadline (late)");
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  CAF_REQUIRE(!sink(err));
  caf::error back;
  caf::binary_deserializer source{sys, buf};
  CAF_REQUIRE(!source(back));
  CAF_CHECK(code_of(back) == error_code::wal_deadline);
  CAF_CHECK_EQUAL(message_of(back), "late");
}

// What one node-link round trip costs by itself: CAF's remote messaging
// (BASP over TCP on loopback) between two processes configured as
// Nightlight's nodes are (scheduler threads, no moderate polling, the
// middleman), carrying a link_batch of the size the cluster benchmark's
// requests produce and answered at once by an actor that stores nothing.
// The CPU both processes spend per round trip is the floor under the cost
// a forwarded batch adds to a write (docs/CLUSTER.md, "Scaling").
//
// usage: link_probe serve                      (prints its port, runs until stdin closes)
//        link_probe drive PORT SERVER_PID [--requests N] [--inflight K] [--series S]
// Not a test; run it on a quiet machine.
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "actors/messages.hpp"

using namespace nl::actors;

namespace {

struct probe_config : caf::actor_system_config {
  probe_config() {
    register_message_types(*this);
    load<caf::io::middleman>();
    set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
    set("scheduler.max-threads", size_t{std::max(2u, std::thread::hardware_concurrency())});
    set("work-stealing.moderate-poll-attempts", size_t{0});
  }
};

using sink_actor = caf::typed_actor<caf::replies_to<append_atom, link_batch>::with<append_result>>;

sink_actor::behavior_type sink() {
  return {[](append_atom, const link_batch& b) { return append_result{b.num_samples, 0, {}, {}}; }};
}

double cpu_seconds_of(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15)
      ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

link_batch probe_batch(uint32_t series) {
  append_batch samples;
  std::vector<uint32_t> refs;
  for (uint32_t i = 0; i < series; ++i) {
    samples.add_series(nl::storage::label_set::from_unsorted({{"__name__", "up"}}));
    samples.add_sample(1'700'000'000'000 + i, 0x3ff0000000000000 + i);
    refs.push_back(i);
  }
  link_batch b;
  b.session = 1;
  b.new_count = series;  // numbers as a session's first batch does; the sink checks nothing
  b.set_columns(refs, samples);
  return b;
}

int serve(caf::actor_system& sys) {
  auto s = sys.spawn(sink);
  auto port = sys.middleman().publish(s, 0, "127.0.0.1");
  if (!port) {
    std::cerr << "publish failed: " << sys.render(port.error()) << "\n";
    return 1;
  }
  std::cout << *port << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  return 0;
}

int drive(caf::actor_system& sys, uint16_t port, long server_pid, size_t requests, size_t inflight, uint32_t series) {
  auto peer = sys.middleman().remote_actor<sink_actor>("127.0.0.1", port);
  if (!peer) {
    std::cerr << "connect failed: " << sys.render(peer.error()) << "\n";
    return 1;
  }
  auto batch = probe_batch(series);
  auto self_cpu0 = cpu_seconds_of(getpid());
  auto peer_cpu0 = cpu_seconds_of(server_pid);
  auto t0 = std::chrono::steady_clock::now();
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  sys.spawn([=](caf::event_based_actor* self) {
    auto sent = std::make_shared<size_t>(0);
    auto answered = std::make_shared<size_t>(0);
    auto next = std::make_shared<std::function<void()>>();
    *next = [=] {
      if (*sent == requests)
        return;
      ++*sent;
      self->request(*peer, std::chrono::seconds(30), append_atom_v, batch)
        .then([=](append_result&) {
          if (++*answered == requests)
            done->set_value();
          else
            (*next)();
        });
    };
    for (size_t i = 0; i < inflight; ++i)
      (*next)();
  });
  fut.wait();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double self_cpu = cpu_seconds_of(getpid()) - self_cpu0;
  double peer_cpu = cpu_seconds_of(server_pid) - peer_cpu0;
  std::printf("RESULT round_trips=%zu inflight=%zu series=%u seconds=%.3f round_trips_per_sec=%.0f "
              "sender_us=%.1f receiver_us=%.1f total_us=%.1f\n",
              requests, inflight, series, secs, requests / secs, 1e6 * self_cpu / requests,
              1e6 * peer_cpu / requests, 1e6 * (self_cpu + peer_cpu) / requests);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: link_probe serve | drive PORT SERVER_PID [--requests N] [--inflight K] [--series S]\n";
    return 2;
  }
  std::string mode = argv[1];
  size_t requests = 20000;
  size_t inflight = 2;
  uint32_t series = 333;
  for (int i = 4; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    auto v = std::stoul(argv[i + 1]);
    if (a == "--requests")
      requests = v;
    else if (a == "--inflight")
      inflight = v;
    else if (a == "--series")
      series = static_cast<uint32_t>(v);
  }
  probe_config cfg;
  caf::actor_system sys{cfg};
  if (mode == "serve")
    return serve(sys);
  if (mode == "drive" && argc >= 4)
    return drive(sys, static_cast<uint16_t>(std::stoul(argv[2])), std::stol(argv[3]), requests, inflight, series);
  std::cerr << "usage: link_probe serve | drive PORT SERVER_PID [...]\n";
  return 2;
}

// Probe: CAF 0.17.6 openssl module, asynchronous connect through the
// SSL middleman actor (no blocking remote_actor), with our own deadline.
//   probe server PORT tls|plain DIR
//   probe client PORT tls|plain DIR [ROUNDS]
//   probe peer PORT tls|plain DIR OTHER_PORT [ROUNDS]   (publishes on PORT
//     and dials OTHER_PORT each second: run two, each dialling the other)
// DIR holds node.pem, node.key and ca.pem.
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <iostream>
#include <thread>
using namespace caf;
using namespace std::chrono_literals;
using echo = typed_actor<replies_to<int>::with<int>>;
struct cfg_t : actor_system_config {
  cfg_t(const char* dir, bool tls) {
    load<io::middleman>();
    if (tls) {
      load<openssl::manager>();
      set("openssl.certificate", std::string(dir) + "/node.pem");
      set("openssl.key", std::string(dir) + "/node.key");
      set("openssl.cafile", std::string(dir) + "/ca.pem");
    }
    set("middleman.heartbeat-interval", timespan{500ms});
    set("middleman.connection-timeout", timespan{2s});
    add_message_type<echo>("echo");
  }
};
int main(int argc, char** argv) {
  std::string role = argv[1];
  uint16_t port = atoi(argv[2]);
  bool tls = std::string(argv[3]) == "tls";
  cfg_t cfg{argv[4], tls};
  actor_system sys{cfg};
  if (role == "server" || role == "peer") {
    auto e = sys.spawn([]() -> echo::behavior_type { return {[](int x) { return x + 1; }}; });
    auto p = tls ? openssl::publish(e, port, "127.0.0.1", true) : sys.middleman().publish(e, port, "127.0.0.1", true);
    std::cout << "published " << (p ? std::to_string(*p) : sys.render(p.error())) << std::endl;
    if (role == "server") {
      std::this_thread::sleep_for(std::chrono::hours(1));
      return 0;
    }
    port = atoi(argv[5]);  // a peer dials the other peer
    argv[5] = argc > 6 ? argv[6] : argv[5];
  }
  int rounds = argc > 5 ? atoi(argv[5]) : 1;
  auto mm = tls ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
  scoped_actor self{sys};
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    self->request(mm, 3s, connect_atom_v, std::string("127.0.0.1"), port).receive(
      [&](node_id& nid, strong_actor_ptr& p, std::set<std::string>&) {
        std::cout << "round " << r << " connected " << to_string(nid).substr(0, 12) << " in "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count() << " ms" << std::endl;
        if (!p) { std::cout << "  null actor" << std::endl; return; }
        auto e = actor_cast<echo>(p);
        self->monitor(e);
        self->request(e, 2s, r).receive([&](int y) { std::cout << "  echo " << y << std::endl; },
                                        [&](error& err) { std::cout << "  echo failed " << sys.render(err) << std::endl; });
      },
      [&](error& err) {
        std::cout << "round " << r << " connect failed: " << sys.render(err) << " after "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count() << " ms" << std::endl;
      });
    std::this_thread::sleep_for(1s);
    // A DOWN of an earlier round's proxy: the connection was dropped.
    self->receive([&](down_msg& dm) { std::cout << "  DOWN " << sys.render(dm.reason) << std::endl; },
                  after(std::chrono::milliseconds(0)) >> [] {});
  }
  std::_Exit(0);
}

#pragma once
// TLS material as files only this process can open, for a TLS stack that
// takes file names and re-reads them (gRPC's file watcher): each PEM lives
// in a memfd named /proc/self/fd/N, so the private key is never copied to
// disk. replace() swaps a file's content in one step (a fresh memfd is
// dup2()ed over the same descriptor): a reader that opens the path gets
// the old file or the new one, never half of each. The material comes
// from the HTTP context's checks (tls_context.hpp), so the other stack
// only ever sees certificates and keys HTTP accepted.
#include <memory>
#include <string>

#include "protocol/tls_context.hpp"
#include "storage/status.hpp"

namespace nl::protocol {

class tls_material_files {
 public:
  /// Three files (the CA one stays empty without a CA); io_error when
  /// memfds cannot be made.
  static storage::result<std::unique_ptr<tls_material_files>> create(const tls_material& m);
  ~tls_material_files();
  tls_material_files(const tls_material_files&) = delete;
  tls_material_files& operator=(const tls_material_files&) = delete;

  /// Replaces all three contents, the key first (a reader that pairs the
  /// new key with the old certificate notices the change and reads again).
  storage::status replace(const tls_material& m);

  std::string cert_path() const { return path_of(cert_fd_); }
  std::string key_path() const { return path_of(key_fd_); }
  std::string ca_path() const { return path_of(ca_fd_); }

 private:
  tls_material_files() = default;
  static std::string path_of(int fd) { return "/proc/self/fd/" + std::to_string(fd); }
  int cert_fd_ = -1;
  int key_fd_ = -1;
  int ca_fd_ = -1;
};

}  // namespace nl::protocol

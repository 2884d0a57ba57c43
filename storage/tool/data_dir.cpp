#include "storage/tool/data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "storage/block/ulid.hpp"
#include "storage/file.hpp"

namespace nl::storage::tool {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

enum class kind { missing, file, directory };

kind kind_of(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return kind::missing;
  return S_ISDIR(st.st_mode) ? kind::directory : kind::file;
}

// Sorts the entries of a blocks directory into blocks and leftovers.
status list_blocks(const std::string& blocks_dir, data_layout& out) {
  auto names = list_dir(blocks_dir);
  if (!names)
    return names.error();
  std::sort(names->begin(), names->end());
  for (const auto& name : *names) {
    auto path = blocks_dir + "/" + name;
    if (ends_with(name, ".tmp"))
      out.leftovers.push_back(name + ": an unfinished block write (not read; the server removes it at start-up)");
    else if (ends_with(name, ".deleted"))
      out.leftovers.push_back(name + ": an unfinished deletion (not read; the server removes it at start-up)");
    else if (ends_with(name, ".corrupted"))
      out.leftovers.push_back(name + ": a damaged block the server moved aside (not read)");
    else if (is_ulid(name) && kind_of(path) == kind::directory)
      out.block_dirs.push_back(path);
    else
      out.leftovers.push_back(name + ": not a block (ignored)");
  }
  return status::ok();
}

}  // namespace

std::string base_name(const std::string& path) {
  auto p = path;
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  auto slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// Probing takes a shared lock for an instant.
bool lock_held(const std::string& dir) {
  int fd = ::open((dir + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the probe's lock
  return held;
}

result<data_layout> locate(const std::string& dir) {
  data_layout out;
  if (kind_of(dir) != kind::directory)
    return status::invalid_argument(dir + ": not a directory");
  if (kind_of(dir + "/meta.json") != kind::missing) {
    out.block_dirs.push_back(dir);
    return out;
  }
  bool found = false;
  if (kind_of(dir + "/blocks") == kind::directory) {
    if (auto st = list_blocks(dir + "/blocks", out); !st)
      return st;
    found = true;
  }
  if (kind_of(dir + "/wal") == kind::directory) {
    out.wal_dir = dir + "/wal";
    found = true;
  }
  if (!found) {
    // Perhaps the blocks directory itself.
    data_layout blocks;
    if (auto st = list_blocks(dir, blocks); !st)
      return st;
    if (blocks.block_dirs.empty())
      return status::invalid_argument(dir + ": neither a data directory (blocks/, wal/) nor a block (meta.json)");
    out = std::move(blocks);
  }
  out.in_use = lock_held(dir);
  return out;
}

open_result open_layout_blocks(const data_layout& layout) {
  open_result out;
  for (const auto& path : layout.block_dirs) {
    auto b = block::open(path);
    if (b) {
      out.blocks.push_back(std::move(*b));
      continue;
    }
    auto exists = path_exists(path);
    if (exists && !*exists)
      out.vanished.push_back(base_name(path));
    else
      out.failed.push_back(base_name(path) + ": " + b.error().message());
  }
  std::sort(out.blocks.begin(), out.blocks.end(), [](const auto& a, const auto& b) {
    const auto& x = a->meta();
    const auto& y = b->meta();
    return x.min_time != y.min_time ? x.min_time < y.min_time : x.ulid < y.ulid;
  });
  return out;
}

std::vector<std::string> superseded(const std::vector<std::shared_ptr<const block>>& blocks) {
  std::set<std::string> parents;
  for (const auto& b : blocks)
    parents.insert(b->meta().parents.begin(), b->meta().parents.end());
  std::vector<std::string> out;
  for (const auto& b : blocks)
    if (parents.count(b->meta().ulid) > 0)
      out.push_back(b->meta().ulid);
  return out;
}

std::vector<std::shared_ptr<const block>> usable_blocks(const open_result& opened, std::ostream& err,
                                                        bool* damaged) {
  for (const auto& f : opened.failed) {
    err << "error: skipping damaged block " << f << "\n";
    *damaged = true;
  }
  for (const auto& v : opened.vanished)
    err << "note: block " << v << " disappeared while it was read (a running server merged or deleted it)\n";
  auto old = superseded(opened.blocks);
  std::vector<std::shared_ptr<const block>> out;
  for (const auto& b : opened.blocks) {
    if (std::find(old.begin(), old.end(), b->meta().ulid) != old.end()) {
      err << "note: skipping block " << b->meta().ulid
          << ": already merged into a newer block (the server deletes it at start-up)\n";
      continue;
    }
    out.push_back(b);
  }
  return out;
}

}  // namespace nl::storage::tool

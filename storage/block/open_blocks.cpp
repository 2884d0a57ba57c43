#include "storage/block/open_blocks.hpp"

#include <algorithm>
#include <set>

#include "storage/block/ulid.hpp"
#include "storage/file.hpp"

namespace nl::storage {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

result<opened_blocks> open_blocks(const std::string& blocks_dir) {
  opened_blocks out;
  if (auto st = create_dir_if_missing(blocks_dir); !st)
    return st;
  auto names = list_dir(blocks_dir);
  if (!names)
    return names.error();
  std::sort(names->begin(), names->end());
  bool changed = false;
  for (const auto& name : *names) {
    auto path = blocks_dir + "/" + name;
    if (ends_with(name, ".tmp") || ends_with(name, ".deleted")) {
      if (auto st = remove_tree(path); !st)
        return st;
      out.notes.push_back("removed leftover " + name);
      changed = true;
      continue;
    }
    if (!is_ulid(name))
      continue;  // *.corrupted and anything an operator put here
    auto b = block::open(path);
    if (!b) {
      if (auto st = rename_path(path, path + ".corrupted"); !st)
        return st;
      out.corrupted.push_back(name + ": " + b.error().message() + "; moved aside to " + name + ".corrupted");
      changed = true;
      continue;
    }
    out.blocks.push_back(std::move(*b));
  }
  std::set<std::string> parents;
  for (const auto& b : out.blocks)
    parents.insert(b->meta().parents.begin(), b->meta().parents.end());
  auto superseded = [&](const std::shared_ptr<const block>& b) { return parents.count(b->meta().ulid) > 0; };
  for (const auto& b : out.blocks) {
    if (!superseded(b))
      continue;
    if (auto st = remove_tree(b->dir()); !st)
      return st;
    out.notes.push_back("deleted " + b->meta().ulid + ", already merged into a newer block");
    changed = true;
  }
  out.blocks.erase(std::remove_if(out.blocks.begin(), out.blocks.end(), superseded), out.blocks.end());
  if (changed)
    if (auto st = sync_dir(blocks_dir); !st)
      return st;
  return out;
}

}  // namespace nl::storage

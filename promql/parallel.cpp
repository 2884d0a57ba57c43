#include "promql/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

#include "storage/cores.hpp"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace nl::promql {

namespace {

// One run_parts call. Parts are claimed with `next`; whoever finishes the
// last one wakes the caller. Queue entries may outlive the call (a helper
// that arrives late finds nothing left to claim), so jobs are shared and
// `fn` is only touched for a claimed part, while the caller still waits.
struct job {
  const std::function<void(size_t)>* fn;
  size_t parts;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex mtx;
  std::condition_variable finished;

  void work() {
    for (size_t p; (p = next.fetch_add(1)) < parts;) {
      (*fn)(p);
      if (done.fetch_add(1) + 1 == parts) {
        std::lock_guard<std::mutex> g{mtx};
        finished.notify_all();
      }
    }
  }
};

class helper_pool {
 public:
  /// Starts up to n helpers; fewer when the system refuses threads (then
  /// callers run more parts themselves).
  explicit helper_pool(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      try {
        std::thread([this] { loop(); }).detach();
      } catch (const std::system_error&) {
        break;
      }
      ++size_;
    }
  }

  size_t size() const { return size_; }

  void offer(const std::shared_ptr<job>& j, size_t helpers) {
    {
      std::lock_guard<std::mutex> g{mtx_};
      for (size_t i = 0; i < helpers; ++i)
        queue_.push_back(j);
    }
    if (helpers == 1)
      wake_.notify_one();
    else
      wake_.notify_all();
  }

 private:
  void loop() {
    lower_query_thread_priority();
    for (;;) {
      std::shared_ptr<job> j;
      {
        std::unique_lock<std::mutex> l{mtx_};
        wake_.wait(l, [this] { return !queue_.empty(); });
        j = std::move(queue_.front());
        queue_.pop_front();
      }
      j->work();
    }
  }

  std::mutex mtx_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<job>> queue_;
  size_t size_ = 0;
};

helper_pool& helpers() {
  // Never destroyed: helpers block in wait() until the process ends, and
  // no static destructor may pull the pool from under them.
  static auto* pool = [] {
    unsigned cores = storage::available_cores();
    return new helper_pool(cores > 1 ? cores - 1 : 1);
  }();  // leaked on purpose
  return *pool;
}

}  // namespace

void lower_query_thread_priority() {
#ifdef __linux__
  // On Linux the nice value belongs to the thread (the task id), not to
  // the whole process as POSIX would have it.
  auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  int now = ::getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno != 0)
    return;
  (void)::setpriority(PRIO_PROCESS, tid, std::min(19, now + query_thread_nice));
#endif
}

void run_parts(size_t parts, const std::function<void(size_t)>& fn) {
  if (parts <= 1) {
    if (parts == 1)
      fn(0);
    return;
  }
  auto j = std::make_shared<job>();
  j->fn = &fn;
  j->parts = parts;
  auto& pool = helpers();
  try {
    pool.offer(j, std::min(parts - 1, pool.size()));
  } catch (const std::bad_alloc&) {
    // Entries queued before the failure are valid; the rest of the parts
    // are simply taken below. Waiting for every part keeps fn alive.
  }
  j->work();
  std::unique_lock<std::mutex> l{j->mtx};
  j->finished.wait(l, [&] { return j->done.load() == parts; });
}

}  // namespace nl::promql

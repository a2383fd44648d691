// The per-thread tallies of DeclineShortcut.
#include "core/decline_shortcut.h"

#include <new>

namespace asynccrypt {

std::shared_ptr<DeclineShortcut::Tally> DeclineShortcut::tally_for_this_thread() {
  const std::thread::id self = std::this_thread::get_id();
  std::lock_guard lock(mu_);
  for (const auto& [thread, tally] : tallies_) {
    if (thread == self) return tally;
  }
  // Bounded by the threads alive at once: ids are reused once a thread ends.
  // Compiled with -fexceptions: out of memory, the thread goes without a
  // tally (and so without the shortcut) and asks the device every time.
  try {
    auto tally = std::make_shared<Tally>();
    tallies_.emplace_back(self, tally);
    return tally;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

std::uint64_t DeclineShortcut::declined() const {
  std::lock_guard lock(mu_);
  std::uint64_t sum = 0;
  for (const auto& entry : tallies_) sum += entry.second->value();
  return sum;
}

}  // namespace asynccrypt

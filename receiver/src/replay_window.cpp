#include "framehive/receiver/replay_window.hpp"

namespace fh::receiver {

bool ReplayWindow::accept(std::uint64_t c) {
  if (!any_) {
    any_ = true;
    top_ = c;
    bits_.fill(0);
    set(c);
    return true;
  }
  if (c > top_) {
    // Slide forward: the ring positions between the old and the new top now stand for counters
    // not seen yet.
    if (c - top_ >= k_size) {
      bits_.fill(0);
    } else {
      for (std::uint64_t x = top_ + 1; x < c; ++x) clear(x);
      clear(c);
    }
    top_ = c;
    set(c);
    return true;
  }
  if (top_ - c >= k_size || bit(c)) return false;
  set(c);
  return true;
}

void ReplayWindow::restore(std::uint64_t top) {
  any_ = true;
  top_ = top;
  bits_.fill(~std::uint64_t{0});
}

}  // namespace fh::receiver

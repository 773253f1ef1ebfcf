#pragma once
// MallocProbe: the largest heap request and the peak of live heap bytes of the process, seen by
// replacing malloc and friends (malloc_probe.cpp, glibc only; not linked in sanitizer builds, whose
// runtimes own malloc). Requests over the bound are refused (nullptr, ENOMEM) and still recorded.
// Thread-safe.

#include <cstddef>
#include <cstdint>

namespace fh::test {

struct MallocProbe {
  /// Requests larger than this many bytes are refused.
  static constexpr std::size_t k_bound = std::size_t{512} << 20;
  /// True when malloc_probe.cpp is linked in (false in sanitizer builds).
  static bool active();
  /// Largest request since the last reset(), in bytes (refused ones included).
  static std::size_t largest();
  /// Forgets the requests seen so far; the peak starts again from the bytes live now.
  static void reset();
  /// Heap bytes allocated and not yet freed (malloc_usable_size of each block).
  static std::int64_t live();
  /// Most heap bytes live at once since the last reset().
  static std::int64_t peak();
};

}  // namespace fh::test

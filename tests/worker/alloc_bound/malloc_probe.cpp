// Replaces malloc, calloc, realloc, memalign, posix_memalign and aligned_alloc for the whole
// process (the executable's definitions win over libc's for every shared library, libjpeg and
// OpenCV included) and forwards to glibc's own entry points (__libc_malloc ...): glibc 2.36
// has no malloc hooks. free() is replaced too, to count live bytes (malloc_usable_size of each
// block) and their peak. No allocation happens in here.
#include "malloc_probe.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include <malloc.h>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* p);
}

namespace fh::test {
namespace {

std::atomic<std::size_t> largest_request{0};
// Signed: a block that glibc allocated internally without these entry points (reallocarray,
// ...) and that is freed here makes the count drop below what was counted.
std::atomic<std::int64_t> live_bytes{0};
std::atomic<std::int64_t> peak_bytes{0};

std::int64_t usable(void* p) { return static_cast<std::int64_t>(malloc_usable_size(p)); }

/// Counts a block handed out (null: nothing) and returns it.
void* counted(void* p) {
  if (p != nullptr) {
    const std::int64_t now = live_bytes.fetch_add(usable(p)) + usable(p);
    std::int64_t peak = peak_bytes.load(std::memory_order_relaxed);
    while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
    }
  }
  return p;
}

/// Uncounts a block about to be freed or moved by realloc.
void uncount(void* p) {
  if (p != nullptr) live_bytes.fetch_sub(usable(p));
}

/// Records a request; false when it is over the bound and must be refused.
bool admit(std::size_t size) {
  std::size_t seen = largest_request.load(std::memory_order_relaxed);
  while (size > seen && !largest_request.compare_exchange_weak(seen, size)) {
  }
  if (size <= MallocProbe::k_bound) return true;
  errno = ENOMEM;
  return false;
}

}  // namespace

bool MallocProbe::active() { return true; }
std::size_t MallocProbe::largest() { return largest_request.load(); }
void MallocProbe::reset() {
  largest_request.store(0);
  peak_bytes.store(live_bytes.load());
}
std::int64_t MallocProbe::live() { return live_bytes.load(); }
std::int64_t MallocProbe::peak() { return peak_bytes.load(); }

}  // namespace fh::test

using fh::test::admit;
using fh::test::counted;
using fh::test::uncount;

extern "C" {

void* malloc(std::size_t size) noexcept {
  return admit(size) ? counted(__libc_malloc(size)) : nullptr;
}

void free(void* p) noexcept {
  uncount(p);
  __libc_free(p);
}

void* calloc(std::size_t n, std::size_t size) noexcept {
  std::size_t total = 0;
  if (__builtin_mul_overflow(n, size, &total)) total = SIZE_MAX;
  return admit(total) ? counted(__libc_calloc(n, size)) : nullptr;
}

void* realloc(void* p, std::size_t size) noexcept {
  if (!admit(size)) return nullptr;
  const std::int64_t old = p != nullptr ? fh::test::usable(p) : 0;
  void* q = __libc_realloc(p, size);
  if (q == nullptr && size != 0) return nullptr;  // p is still allocated and counted
  fh::test::live_bytes.fetch_sub(old);
  return counted(q);
}

void* memalign(std::size_t alignment, std::size_t size) noexcept {
  return admit(size) ? counted(__libc_memalign(alignment, size)) : nullptr;
}

void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  return admit(size) ? counted(__libc_memalign(alignment, size)) : nullptr;
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  if (!admit(size)) return ENOMEM;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = counted(p);
  return 0;
}

}  // extern "C"

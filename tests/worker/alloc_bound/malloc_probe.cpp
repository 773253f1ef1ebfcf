// Replaces malloc, calloc, realloc, memalign, posix_memalign and aligned_alloc for the whole
// process (the executable's definitions win over libc's for every shared library, libjpeg and
// OpenCV included) and forwards to glibc's own entry points (__libc_malloc ...): glibc 2.36
// has no malloc hooks. free() stays glibc's. No allocation happens in here.
#include "malloc_probe.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

namespace fh::test {
namespace {

std::atomic<std::size_t> largest_request{0};

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
void MallocProbe::reset() { largest_request.store(0); }

}  // namespace fh::test

using fh::test::admit;

extern "C" {

void* malloc(std::size_t size) noexcept { return admit(size) ? __libc_malloc(size) : nullptr; }

void* calloc(std::size_t n, std::size_t size) noexcept {
  std::size_t total = 0;
  if (__builtin_mul_overflow(n, size, &total)) total = SIZE_MAX;
  return admit(total) ? __libc_calloc(n, size) : nullptr;
}

void* realloc(void* p, std::size_t size) noexcept {
  return admit(size) ? __libc_realloc(p, size) : nullptr;
}

void* memalign(std::size_t alignment, std::size_t size) noexcept {
  return admit(size) ? __libc_memalign(alignment, size) : nullptr;
}

void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  return admit(size) ? __libc_memalign(alignment, size) : nullptr;
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  if (!admit(size)) return ENOMEM;
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

}  // extern "C"

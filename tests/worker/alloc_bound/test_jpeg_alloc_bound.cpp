// The fuzz regression inputs that reach JPEG decoding, run through the worker's check and
// decode (decode_jpeg: shared::check_jpeg, then cv::imdecode) under an allocation bound of
// 256 MiB: a case fails if any heap request above it is attempted.
//  - Plain builds: malloc_probe.cpp replaces malloc and friends, refuses requests over the
//    bound and records the largest request; the cases check it.
//  - ASan builds (FH_MALLOC_PROBE=0): ctest sets max_allocation_size_mb=256 with
//    allocator_may_return_null=0, so ASan aborts the program on a larger request.
#define BOOST_TEST_MODULE jpeg_alloc_bound
#include "malloc_probe.hpp"

#include "framehive/worker/detector_jpeg.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#if !FH_MALLOC_PROBE
namespace fh::test {
bool MallocProbe::active() { return false; }
std::size_t MallocProbe::largest() { return 0; }
void MallocProbe::reset() {}
}  // namespace fh::test
#endif

namespace fs = std::filesystem;
using fh::test::MallocProbe;

namespace {

const fs::path k_fuzz_dir = fs::path(FH_SOURCE_DIR) / "tests" / "fuzz";

/// Regular files under dir, sorted.
std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Decodes the file as a worker does; returns whether it decoded.
bool decode_under_bound(const fs::path& p) {
  const auto bytes = bytes_of(p);
  MallocProbe::reset();
  const auto r = fh::worker::decode_jpeg(bytes);
  const std::size_t largest = MallocProbe::largest();
  BOOST_TEST_MESSAGE(p.filename().string() << ": " << (r.ok() ? "decoded" : r.message)
                                           << "; largest request " << largest << " bytes");
  BOOST_TEST(largest <= MallocProbe::k_bound, p.filename().string()
                                                  << " requested " << largest << " bytes");
  return r.ok();
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_probe_sees_and_refuses_a_request_over_the_bound) {
  if (!MallocProbe::active()) {
    BOOST_TEST_MESSAGE("sanitizer build: the bound is ASan's max_allocation_size_mb");
    return;
  }
  // Through a volatile pointer so the compiler cannot drop the malloc/free pair.
  void* (*volatile allocate)(std::size_t) = std::malloc;
  MallocProbe::reset();
  void* p = allocate(MallocProbe::k_bound + 1);
  BOOST_TEST(p == nullptr);
  std::free(p);
  BOOST_TEST(MallocProbe::largest() == MallocProbe::k_bound + 1);
  MallocProbe::reset();
  BOOST_TEST(MallocProbe::largest() == 0u);
}

BOOST_AUTO_TEST_CASE(jpeg_regressions_stay_under_the_bound) {
  const auto files = files_in(k_fuzz_dir / "regressions" / "jpeg");
  BOOST_TEST_REQUIRE(!files.empty());
  for (const auto& f : files) decode_under_bound(f);
}

BOOST_AUTO_TEST_CASE(jpeg_seeds_decode_under_the_bound) {
  const auto files = files_in(k_fuzz_dir / "corpus" / "jpeg");
  BOOST_TEST_REQUIRE(!files.empty());
  for (const auto& f : files) {
    BOOST_TEST(decode_under_bound(f), f.filename().string());
    if (MallocProbe::active()) BOOST_TEST(MallocProbe::largest() > 0u);  // the probe sees them
  }
}

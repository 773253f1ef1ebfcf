// A plain main() for the fuzz targets, without libFuzzer: runs every file named on the command
// line, and every regular file in the directories named (recursively, in sorted order),
// through LLVMFuzzerTestOneInput once. ctest runs it over tests/fuzz/corpus/<target>/ and
// tests/fuzz/regressions/<target>/ in every build, so a fixed crash stays fixed.
// A path that does not exist, a directory without inputs, or no path at all is an error: a
// replay that runs nothing passes silently (a renamed corpus, a typo in CMake), so it fails.
// Exit status 0 when every input ran; 1 for an unreadable, missing or empty input path; a
// finding aborts the process, naming the input first.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fs = std::filesystem;

namespace {

bool run_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz-replay: cannot read %s\n", p.c_str());
    return false;
  }
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>()};
  std::fprintf(stderr, "fuzz-replay: %s (%zu bytes)\n", p.c_str(), bytes.size());
  // A copy of exactly the file's size, so ASan sees reads past the end of the input.
  std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
  static const std::uint8_t none = 0;  // libFuzzer never passes a null pointer either
  LLVMFuzzerTestOneInput(data.empty() ? &none : data.data(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 1;
  }
  std::size_t ran = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(arg)) {
        if (e.is_regular_file() && e.path().filename().string().front() != '.') {
          files.push_back(e.path());
        }
      }
      if (files.empty()) {
        std::fprintf(stderr, "fuzz-replay: %s has no inputs\n", argv[i]);
        ok = false;
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        ok = run_file(f) && ok;
        ++ran;
      }
    } else if (fs::exists(arg, ec)) {
      ok = run_file(arg) && ok;
      ++ran;
    } else {
      std::fprintf(stderr, "fuzz-replay: %s does not exist\n", argv[i]);
      ok = false;
    }
  }
  std::fprintf(stderr, "fuzz-replay: %zu inputs, %s\n", ran,
               ok ? "all ran" : "FAILED: a path above is missing, empty or unreadable");
  return ok ? 0 : 1;
}

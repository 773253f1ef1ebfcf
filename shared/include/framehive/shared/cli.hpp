#pragma once
// Command-line handling shared by every framehive binary: --help, --version, --log-level,
// FRAMEHIVE_* environment variables (flags override them, they override defaults), and the
// mapping of exceptions to exit codes. Not thread-safe; used from main() only.

#include <boost/program_options.hpp>

#include <functional>
#include <optional>
#include <string>

namespace fh::shared {

namespace po = boost::program_options;

/// Exit codes shared by the binaries.
enum ExitCode : int { exit_ok = 0, exit_runtime = 1, exit_usage = 2 };

/// Thrown for bad flag values found after parsing (maps to exit_usage).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Cli {
 public:
  /// program: binary name; synopsis: one usage line; description: a paragraph for --help.
  Cli(std::string program, std::string synopsis, std::string description);

  /// The component's own options; add to it before parse().
  po::options_description& options() { return options_; }
  po::positional_options_description& positional() { return positional_; }

  /// Parses argv then FRAMEHIVE_<FLAG> variables (dashes become underscores, upper case).
  /// Returns an exit code when the program should stop now (--help, --version, bad flag:
  /// the message is already printed); std::nullopt to go on. Sets up logging.
  std::optional<int> parse(int argc, char** argv);

  const po::variables_map& vm() const { return vm_; }

  /// Extra text appended to --help (examples, environment notes).
  void set_epilog(std::string text) { epilog_ = std::move(text); }

 private:
  std::string program_;                            ///< binary name
  std::string synopsis_;                           ///< usage line
  std::string description_;                        ///< help paragraph
  std::string epilog_;                             ///< help examples
  po::options_description options_;                ///< component options
  po::positional_options_description positional_;  ///< positional arguments
  po::variables_map vm_;                           ///< parsed values
};

/// Runs body, mapping exceptions to exit codes with a one-line message on stderr.
int run_main(const std::string& program, const std::function<int()>& body);

/// The value of a --max-pixels option: a pixel count ("8294400") or WIDTHxHEIGHT
/// ("3840x2160"), between k_min_max_jpeg_pixels and k_max_max_jpeg_pixels (jpeg.hpp).
/// Throws UsageError naming the option.
std::size_t parse_max_pixels(const std::string& text);

/// The default of every --max-pixels option, as shown by --help ("3840x2160").
constexpr const char* k_default_max_pixels_text = "3840x2160";

/// The help text of every --max-pixels option.
constexpr const char* k_max_pixels_help =
    "largest frame accepted, as WIDTHxHEIGHT or a pixel count, checked from the JPEG header "
    "before anything is decoded (a guard against decompression bombs)";

/// The project version string, e.g. "0.1.0".
const char* version();

}  // namespace fh::shared

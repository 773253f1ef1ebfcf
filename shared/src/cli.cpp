#include "framehive/shared/cli.hpp"

#include "framehive/shared/jpeg.hpp"
#include "framehive/shared/logging.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <iostream>
#include <set>

namespace fh::shared {

const char* version() { return "0.1.0"; }

std::size_t parse_max_pixels(const std::string& text) {
  const auto bad = [&text](const std::string& why) {
    return UsageError("--max-pixels '" + text + "': " + why +
                      " (expected WIDTHxHEIGHT, e.g. 3840x2160, or a pixel count)");
  };
  const auto number = [&](const std::string& digits) -> std::uint64_t {
    if (digits.empty() || digits.size() > 12 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](unsigned char c) { return std::isdigit(c); })) {
      throw bad("not a number");
    }
    return std::stoull(digits);
  };
  const auto x = text.find_first_of("xX");
  const std::uint64_t pixels = x == std::string::npos
                                   ? number(text)
                                   : number(text.substr(0, x)) * number(text.substr(x + 1));
  if (pixels < k_min_max_jpeg_pixels || pixels > k_max_max_jpeg_pixels) {
    throw bad("out of range " + std::to_string(k_min_max_jpeg_pixels) + ".." +
              std::to_string(k_max_max_jpeg_pixels) + " pixels");
  }
  return static_cast<std::size_t>(pixels);
}

Cli::Cli(std::string program, std::string synopsis, std::string description)
    : program_(std::move(program)),
      synopsis_(std::move(synopsis)),
      description_(std::move(description)),
      options_("Options", 100) {}

std::optional<int> Cli::parse(int argc, char** argv) {
  po::options_description common("Common options", 100);
  common.add_options()("help,h", "show this help and exit")(
      "version", "print the version and exit")("log-level",
                                               po::value<std::string>()->default_value("info"),
                                               "trace, debug, info, warn, error, critical or off");
  po::options_description all;
  all.add(options_).add(common);

  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional_).run(), vm_);
    // Flags were stored first, so they win over the environment.
    std::set<std::string> names;
    for (const auto& opt : all.options()) names.insert(opt->long_name());
    po::store(po::parse_environment(all,
                                    [&names](const std::string& var) -> std::string {
                                      const std::string prefix = "FRAMEHIVE_";
                                      if (var.rfind(prefix, 0) != 0) return "";
                                      std::string name = var.substr(prefix.size());
                                      std::transform(name.begin(), name.end(), name.begin(),
                                                     [](unsigned char c) {
                                                       return c == '_' ? '-' : std::tolower(c);
                                                     });
                                      if (name == "help" || name == "version") return "";
                                      return names.count(name) ? name : "";
                                    }),
              vm_);
    if (vm_.count("help")) {
      std::cout << "Usage: " << synopsis_ << "\n\n"
                << description_ << "\n\n"
                << all << "\nEvery flag can also be set through the environment as\n"
                << "FRAMEHIVE_<FLAG> (upper case, dashes as underscores); a flag given on\n"
                << "the command line wins over the environment.\n";
      if (!epilog_.empty()) std::cout << "\n" << epilog_ << "\n";
      return exit_ok;
    }
    if (vm_.count("version")) {
      std::cout << program_ << " " << version() << "\n";
      return exit_ok;
    }
    po::notify(vm_);
    setup_logging(vm_["log-level"].as<std::string>());
  } catch (const std::exception& e) {
    std::cerr << program_ << ": " << e.what() << "\nTry '" << program_ << " --help'.\n";
    return exit_usage;
  }
  return std::nullopt;
}

int run_main(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.what() << "\nTry '" << program << " --help'.\n";
    return exit_usage;
  } catch (const po::error& e) {
    std::cerr << program << ": " << e.what() << "\nTry '" << program << " --help'.\n";
    return exit_usage;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return exit_runtime;
  }
}

}  // namespace fh::shared

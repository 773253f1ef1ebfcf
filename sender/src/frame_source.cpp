#include "framehive/sender/frame_source.hpp"

#include <sys/stat.h>

#include "framehive/sender/test_pattern_source.hpp"
#include "framehive/shared/protocol.hpp"
#include "libav_source.hpp"

namespace fh::sender {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool is_char_device(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}

std::string last_component(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string sanitise(std::string name) {
  for (char& c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) c = '_';
  }
  if (name.size() > fh::shared::k_max_stream_name) {
    std::size_t n = fh::shared::k_max_stream_name;
    // Do not cut a UTF-8 sequence in half.
    while (n > 0 && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) --n;
    name.resize(n);
  }
  return name.empty() ? std::string("stream") : name;
}

}  // namespace

std::unique_ptr<FrameSource> FrameSource::open(const std::string& spec,
                                               const FrameSourceOptions& options) {
  if (spec.empty()) throw FrameSourceError("empty source");
  if (starts_with(spec, "test:")) return TestPatternSource::from_spec(spec);
  if (starts_with(spec, "/dev/video") ||
      (starts_with(spec, "/dev/") && is_char_device(spec.substr(0, spec.find('?'))))) {
    return std::make_unique<LibavSource>(spec, LibavSource::Kind::device, options);
  }
  if (spec.find("://") != std::string::npos && !starts_with(spec, "file:")) {
    return std::make_unique<LibavSource>(spec, LibavSource::Kind::url, options);
  }
  return std::make_unique<LibavSource>(spec, LibavSource::Kind::file, options);
}

std::string FrameSource::default_stream_name(const std::string& spec) {
  if (starts_with(spec, "test:")) return "test";
  const auto scheme = spec.find("://");
  if (scheme == std::string::npos) {
    // Device options ("/dev/video0?video_size=640x480") are not part of the name.
    const bool device = starts_with(spec, "/dev/");
    return sanitise(last_component(device ? spec.substr(0, spec.find('?')) : spec));
  }
  std::string rest = spec.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("?#"));
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto slash = rest.find('/');
  if (slash == std::string::npos) {  // only a host: use it, without credentials
    const auto at = rest.find_last_of('@');
    return sanitise(at == std::string::npos ? rest : rest.substr(at + 1));
  }
  return sanitise(last_component(rest));
}

}  // namespace fh::sender

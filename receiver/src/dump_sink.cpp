#include "framehive/receiver/dump_sink.hpp"

#include "framehive/shared/logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace fh::receiver {

namespace fs = std::filesystem;

DumpSink::DumpSink(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_)) {
    throw std::runtime_error("cannot create dump directory '" + dir_ +
                             "': " + (ec ? ec.message() : std::string("not a directory")));
  }
}

std::string DumpSink::path_for(std::uint16_t port, std::uint32_t frame_seq) const {
  return dir_ + "/" + std::to_string(port) + "/" + std::to_string(frame_seq) + ".jpg";
}

void DumpSink::deliver(std::vector<ReceivedFrame>& batch, std::vector<bool>& failed) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!write(batch[i])) failed[i] = true;
  }
}

bool DumpSink::write(const ReceivedFrame& frame) {
  auto fail = [this, &frame](const std::string& what, int err) {
    // The first few failures and then one in a thousand: a full disk must not flood the log.
    if (failures_++ < 5 || failures_ % 1000 == 0) {
      fh::shared::logger("net")->warn(
          "dump: cannot write frame {} of port {}: {}: {} ({} failures)", frame.frame_seq,
          frame.port, what, std::strerror(err), failures_);
    }
    return false;
  };
  const std::string port_dir = dir_ + "/" + std::to_string(frame.port);
  if (made_dirs_.count(frame.port) == 0) {
    std::error_code ec;
    fs::create_directories(port_dir, ec);
    if (ec) return fail("mkdir " + port_dir, ec.value());
    made_dirs_.insert(frame.port);
  }
  const std::string final_path = path_for(frame.port, frame.frame_seq);
  const std::string tmp_path = port_dir + "/." + std::to_string(frame.frame_seq) + ".jpg.tmp";
  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    made_dirs_.erase(frame.port);  // the directory may have been removed: recreate next time
    return fail("open " + tmp_path, err);
  }
  const std::uint8_t* p = frame.jpeg.data();
  std::size_t left = frame.jpeg.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(tmp_path.c_str());
      return fail("write " + tmp_path, err);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    return fail("close " + tmp_path, err);
  }
  if (std::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_path.c_str());
    return fail("rename to " + final_path, err);
  }
  return true;
}

}  // namespace fh::receiver

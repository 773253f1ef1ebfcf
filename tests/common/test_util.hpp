#pragma once
// Helpers for tests: paths, child processes started and ended by PID, polling with a deadline.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fh::test {

/// build/bin/<name>
inline std::string bin(const std::string& name) { return std::string(FH_BIN_DIR) + "/" + name; }

inline const char* vtest_avi() { return "/usr/share/doc/opencv-doc/examples/data/vtest.avi"; }
inline const char* megamind_avi() { return "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"; }

/// A child process started with execv; killed (SIGKILL) and reaped on destruction if running.
class Child {
 public:
  Child(const std::string& path, const std::vector<std::string>& args,
        const std::string& log_file = "");
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  /// Sends a signal to this child only.
  void signal(int sig);
  /// Waits up to timeout for exit; returns the exit status (or -signal), or nullopt-like -1000.
  int wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;      ///< child pid
  int status_ = -1000;  ///< exit status once reaped
};

/// Polls pred every 20 ms until it is true or the deadline passes; returns pred's last value.
bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

/// Starts bin("framehive-master") --port port args... (its output to log_file) and returns it
/// once its XML-RPC status answers at http://127.0.0.1:port/RPC2 (no credentials). Throws
/// std::runtime_error with the log when it exits or does not answer within timeout.
std::unique_ptr<Child> start_master(int port, const std::vector<std::string>& args,
                                    const std::string& log_file,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A real 8x8 JPEG (tests/fuzz/corpus/jpeg/optimized_8x8.jpg, 363 bytes): passes the master's
/// header check (shared::check_jpeg) and decodes.
std::vector<unsigned char> tiny_jpeg();
/// tiny_jpeg() without its quantisation tables: the header parses (the master accepts it), the
/// decode fails (a worker fails the task as a corrupt JPEG).
std::vector<unsigned char> undecodable_jpeg();
/// jpeg with `filler` bytes of 0x55 inserted before its EOI marker (a large frame whose header
/// is real).
std::vector<unsigned char> padded_jpeg(std::size_t filler);

/// tiny_jpeg() whose frame header (SOF) declares width x height: a decompression bomb of a few
/// hundred bytes that a decoder would allocate width * height * 3 bytes for.
std::vector<unsigned char> jpeg_declaring(int width, int height);

/// A fresh empty temporary directory.
std::string make_temp_dir(const std::string& tag);

/// A port on 127.0.0.1, free for UDP and TCP when returned, that no other socket gets
/// implicitly: it lies outside the kernel's ephemeral range (so no connect() or unbound
/// sendto() can be given it) and is never returned twice in one process. Only an explicit
/// bind to the same number by another process can still take it.
int free_udp_port();
int free_tcp_port();

/// Whole file contents.
std::string read_file(const std::string& path);

/// Runs a shell command (popen); returns its exit status (-1 if it did not exit normally or
/// could not start) and its standard output in `out` (stderr too with 2>&1).
int run_command(const std::string& cmd, std::string& out);

}  // namespace fh::test

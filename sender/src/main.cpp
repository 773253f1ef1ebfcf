// framehive-sender: publishes cameras, video files or a test pattern as JPEG frames over UDP.
#include <csignal>
#include <iostream>
#include <opencv2/core/utility.hpp>

#include "framehive/sender/sender_app.hpp"
#include "framehive/sender/sender_options.hpp"
#include "framehive/shared/cli.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/shutdown.hpp"

int main(int argc, char** argv) {
  const std::string program = "framehive-sender";
  return fh::shared::run_main(program, [&]() -> int {
    fh::shared::Cli cli(
        program,
        "framehive-sender --source SRC --port N [--source SRC --port N ...] [--receiver HOST] "
        "[options]",
        "Publishes video as independently decodable JPEG frames over UDP in the framehive\n"
        "datagram format (docs/protocol.md). Each --source (file, network URL, V4L2 camera or\n"
        "test pattern) is decoded with FFmpeg, encoded as JPEG and sent, split into datagrams,\n"
        "to the matching --port of the receiver, on its own thread. SIGINT/SIGTERM stop after\n"
        "the current frame.");
    fh::sender::SenderOptions::add_options(cli.options());
    cli.set_epilog(fh::sender::SenderOptions::help_epilog());
    if (const auto code = cli.parse(argc, argv)) return *code;
    // Each stream already has two threads (read, detect, encode | chunk, send): OpenCV's own
    // worker pool would only compete with them.
    cv::setNumThreads(1);
    fh::sender::SenderApp app(fh::sender::SenderOptions::from_vm(cli.vm()));
    // Before any other thread (libav decoder threads included) so they inherit the mask.
    fh::shared::ShutdownWatcher watcher([&app](int sig) {
      fh::shared::logger("app")->info("{}: stopping after the current frame",
                                      sig == SIGINT ? "SIGINT" : "SIGTERM");
      app.stop();
    });
    return app.run(std::cout);
  });
}

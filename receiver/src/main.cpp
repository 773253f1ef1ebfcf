// framehive-receiver: receives camera frames over UDP, reassembles them and hands them on.
#include "framehive/receiver/dump_sink.hpp"
#include "framehive/receiver/receiver.hpp"
#include "framehive/receiver/receiver_options.hpp"
#include "framehive/shared/cli.hpp"

#include <iostream>
#include <memory>

int main(int argc, char** argv) {
  const std::string program = "framehive-receiver";
  return fh::shared::run_main(program, [&]() -> int {
    fh::shared::Cli cli(program, program + " --ports LIST [--bind ADDR] [--dump DIR] [options]",
                        "Receives JPEG frames from framehive-sender cameras over UDP (one port "
                        "per camera), reassembles them from their datagrams, and writes them "
                        "to a directory (--dump) or counts and discards them. Prints per-port "
                        "statistics periodically (stderr) and at exit (stdout). Stops cleanly "
                        "on SIGINT/SIGTERM after delivering every complete frame.");
    fh::receiver::add_receiver_options(cli.options());
    cli.set_epilog(fh::receiver::receiver_help_epilog());
    if (auto code = cli.parse(argc, argv)) return *code;
    const auto config = fh::receiver::receiver_config_from(cli.vm());

    // The output. A new sink (e.g. --master URL) is chosen here; null = count and discard.
    std::unique_ptr<fh::receiver::FrameSink> sink;
    if (!config.dump_dir.empty()) {
      sink = std::make_unique<fh::receiver::DumpSink>(config.dump_dir);
    }

    fh::receiver::Receiver receiver(config, std::move(sink));
    return receiver.run(std::cout);
  });
}

// framehive-receiver: receives camera frames over UDP, reassembles them and hands them on.
#include "framehive/receiver/dump_sink.hpp"
#include "framehive/receiver/master_sink.hpp"
#include "framehive/receiver/receiver.hpp"
#include "framehive/receiver/receiver_options.hpp"
#include "framehive/shared/cli.hpp"
#include "framehive/shared/rpc_client.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>

int main(int argc, char** argv) {
  const std::string program = "framehive-receiver";
  return fh::shared::run_main(program, [&]() -> int {
    fh::shared::Cli cli(
        program, program + " --ports LIST [--bind ADDR] [--master URL | --dump DIR] [options]",
        "Receives JPEG frames from framehive-sender cameras over UDP (one port "
        "per camera), reassembles them from their datagrams, and hands them to "
        "a framehive-master (--master) or writes them to a directory (--dump); "
        "with neither it counts and discards them. Prints per-port statistics "
        "periodically (stderr) and at exit (stdout). Stops cleanly on "
        "SIGINT/SIGTERM after delivering every complete frame.");
    fh::receiver::add_receiver_options(cli.options());
    cli.set_epilog(fh::receiver::receiver_help_epilog());
    if (auto code = cli.parse(argc, argv)) return *code;
    const auto config = fh::receiver::receiver_config_from(cli.vm());
    fh::receiver::tune_allocator(config.reassembly.max_frame_bytes);

    // The output: DumpSink (--dump), MasterSink (--master) or none = count and discard.
    // A new sink is chosen here.
    std::unique_ptr<fh::receiver::FrameSink> sink;
    if (!config.dump_dir.empty()) {
      sink = std::make_unique<fh::receiver::DumpSink>(config.dump_dir);
    } else if (!config.master_url.empty()) {
      if (!config.ca_file.empty()) fh::shared::set_tls_ca_file(config.ca_file);
      fh::shared::set_xmlrpc_size_limit(256u << 20);
      fh::receiver::MasterSinkConfig mc;
      mc.url = config.master_url;
      mc.batch_max = config.batch;
      mc.auth_secret = config.auth_secret;
      char host[256] = "receiver";
      ::gethostname(host, sizeof host - 1);
      mc.receiver_id = std::string(host) + "-" + std::to_string(::getpid());
      sink = std::make_unique<fh::receiver::MasterSink>(mc);
    }

    fh::receiver::Receiver receiver(config, std::move(sink));
    return receiver.run(std::cout);
  });
}

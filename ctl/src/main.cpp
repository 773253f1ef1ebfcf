// framehive-ctl: review a master's results per port, over its XML-RPC API only.
#include "framehive/ctl/ctl.hpp"
#include "framehive/shared/cli.hpp"
#include "framehive/shared/rpc_client.hpp"
#include "framehive/shared/secret.hpp"

#include <iostream>

namespace po = boost::program_options;
using fh::shared::UsageError;

int main(int argc, char** argv) {
  return fh::shared::run_main("framehive-ctl", [&]() -> int {
    fh::shared::Cli cli(
        "framehive-ctl", "framehive-ctl [--master URL] COMMAND [options]",
        "Reviews what a framehive-master recorded, per port (= camera), over its XML-RPC API.\n\n"
        "Commands:\n"
        "  status                          workers, queue depths, per-port counters\n"
        "  results --port P [--limit N] [--follow] [--json]\n"
        "                                  recent results as a table (or JSON lines); --follow\n"
        "                                  keeps printing new ones as they arrive\n"
        "  failures --port P [--limit N] [--json]\n"
        "                                  frames that ended failed, oldest first, with the\n"
        "                                  reason (a worker's error, a timeout, or 'lost:' for\n"
        "                                  frames a stopped master held)\n"
        "  summary --port P [--interval 10s] [--since 10m] [--json]\n"
        "                                  detections per label per time bucket\n"
        "  frame --task ID [-o out.jpg]    the frame with its boxes and labels drawn (the\n"
        "                                  master keeps the last --keep-frames per port)\n"
        "  export --port P [--format csv|jsonl] [--since 1h] [-o FILE]\n"
        "                                  every persisted result, oldest first, one row per\n"
        "                                  detection (csv) or one JSON object per frame\n"
        "  detect IMAGE... [--detector NAME] [--wait 2m] [--json]\n"
        "                                  submits still images (JPEG or PNG) as tasks, waits\n"
        "                                  for a worker to process each and prints the\n"
        "                                  detections (the console's Upload page does the same)\n"
        "  events [--port P] [--type T] [--since 1h] [--limit N] [--follow] [--json]\n"
        "                                  tracked objects' starts, zone entries and exits, ends,\n"
        "                                  and camera/detector/worker alarms (docs/events.md);\n"
        "                                  --type object.start or a family like camera.*\n\n"
        "Exit codes: 0 ok, 1 master unreachable, credentials refused (HTTP 401) or other\n"
        "error, 2 bad usage, 3 unknown port or task.");
    fh::ctl::CtlOptions o;
    std::string interval = "10s", since;
    cli.options().add_options()("master", po::value(&o.master)->default_value(o.master),
                                "the master's XML-RPC endpoint")(
        "command", po::value(&o.command),
        "status | results | failures | summary | frame | export | detect | events")(
        "image", po::value(&o.images)->composing(), "detect: the image files")(
        "detector", po::value(&o.detector),
        "detect: the detector to run (default: the master's --default-detector)")(
        "wait", po::value<std::string>()->default_value("2m"),
        "detect: how long to wait for the results")("port", po::value(&o.port),
                                                    "the camera's UDP port")(
        "limit", po::value(&o.limit)->default_value(20),
        "results, failures, events: how many recent ones")(
        "follow", po::bool_switch(&o.follow), "results, events: keep printing new ones")(
        "type", po::value(&o.type), "events: only this type (object.start) or family (camera.*)")(
        "json", po::bool_switch(&o.json), "JSON lines instead of a table")(
        "interval", po::value(&interval)->default_value("10s"), "summary: bucket length")(
        "since", po::value(&since), "summary/export/events: how far back (e.g. 10m, 2h, 1d)")(
        "task", po::value(&o.task), "frame: the task id (from results)")(
        "output,o", po::value(&o.output), "frame/export: output file")(
        "format", po::value(&o.format)->default_value("csv"), "export: csv or jsonl")(
        "timeout-ms", po::value(&o.timeout_ms)->default_value(10000), "per call")(
        "auth-file", po::value<std::string>()->value_name("PATH"),
        "the master's shared secret (first line of PATH, whitespace trimmed; the file must "
        "not be readable by group or others), sent as HTTP Basic credentials. Without it the "
        "secret comes from FRAMEHIVE_AUTH_SECRET; with neither, none is sent")(
        "ca-file", po::value<std::string>()->value_name("PATH"),
        "CA certificate(s) (PEM) that an https:// master's certificate is checked against; "
        "default: the system's trusted CAs");
    cli.positional().add("command", 1).add("image", -1);
    cli.set_epilog(
        "Examples:\n"
        "  framehive-ctl status\n"
        "  framehive-ctl --master http://10.0.0.5:8000/RPC2 results --port 5001 --follow\n"
        "  framehive-ctl summary --port 5001 --interval 1m --since 10m\n"
        "  framehive-ctl frame --task e3-1042 -o person.jpg\n"
        "  framehive-ctl export --port 5000 --format jsonl --since 1h -o cam5000.jsonl\n"
        "  framehive-ctl detect door.jpg yard.png --detector hog\n"
        "  framehive-ctl events --port 5000 --type object.* --follow\n"
        "  FRAMEHIVE_AUTH_FILE=~/.framehive-secret framehive-ctl status");
    if (auto rc = cli.parse(argc, argv)) return *rc;
    if (o.command.empty())
      throw UsageError(
          "a command is required: status, results, failures, summary, frame, export, detect, "
          "events");
    if (o.command == "detect" && o.images.empty()) throw UsageError("detect needs IMAGE files");
    if (o.command != "detect" && !o.images.empty())
      throw UsageError("unexpected argument '" + o.images.front() + "' for " + o.command);
    const bool needs_port = o.command == "results" || o.command == "failures" ||
                            o.command == "summary" || o.command == "export";
    if (needs_port && (o.port < 1 || o.port > 65535))
      throw UsageError("--port 1..65535 is required for " + o.command);
    if (o.command == "frame" && o.task.empty()) throw UsageError("frame needs --task ID");
    if (o.limit < 1) throw UsageError("--limit must be >= 1");
    fh::shared::check_endpoint_url(o.master, "--master");
    if (o.format != "csv" && o.format != "jsonl") throw UsageError("--format: csv or jsonl");
    try {
      o.interval_s = fh::ctl::parse_duration(interval);
      o.wait_s = fh::ctl::parse_duration(cli.vm()["wait"].as<std::string>());
      if (!since.empty()) {
        o.since_s = fh::ctl::parse_duration(since);
        o.since_given = true;
      }
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
    if (auto secret =
            fh::shared::load_secret(cli.vm(), "auth-file", fh::shared::k_auth_secret_env)) {
      o.auth_secret = std::move(*secret);
    }
    if (cli.vm().count("ca-file")) {
      fh::shared::set_tls_ca_file(cli.vm()["ca-file"].as<std::string>());
    }
    fh::shared::set_xmlrpc_size_limit(256u << 20);
    return fh::ctl::run(o, std::cout, std::cerr);
  });
}

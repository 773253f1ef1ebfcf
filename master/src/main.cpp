// framehive-master: hands frames to detector workers over XML-RPC and keeps their results.
#include "events_config.hpp"
#include "framehive/master/master_app.hpp"
#include "framehive/shared/cli.hpp"
#include "framehive/shared/logging.hpp"
#include "framehive/shared/secret.hpp"
#include "framehive/shared/shutdown.hpp"
#include "scheduling_options.hpp"

#include <iostream>

namespace po = boost::program_options;
using fh::shared::UsageError;

int main(int argc, char** argv) {
  return fh::shared::run_main("framehive-master", [&]() -> int {
    fh::shared::Cli cli(
        "framehive-master", "framehive-master [options]",
        "Queues frames submitted by receivers (add_task/add_tasks), hands them as tasks to\n"
        "detector workers over XML-RPC (http://BIND:PORT/RPC2, see docs/api.md), puts tasks\n"
        "that stay in progress too long or whose worker died back in the queue, and keeps\n"
        "the results per port in SQLite.");
    fh::master::MasterConfig c;
    std::vector<std::string> detectors;
    std::vector<std::string> priorities;
    const fh::master::MasterConfig d;  // every default below comes from the config structs
    cli.options().add_options()(
        "bind", po::value(&c.rpc.bind)->default_value(d.rpc.bind),
        "listen address; 0.0.0.0 to accept workers and receivers from other machines")(
        "port", po::value(&c.rpc.port)->default_value(d.rpc.port),
        "TCP port of the XML-RPC endpoint")(
        "db", po::value(&c.db_path)->default_value(d.db_path),
        "SQLite database for results (WAL mode); ':memory:' keeps nothing")(
        "task-timeout",
        po::value(&c.scheduler.task_timeout)->default_value(d.scheduler.task_timeout),
        "seconds a task may stay in progress before it goes back to the queue")(
        "max-attempts",
        po::value(&c.scheduler.max_attempts)->default_value(d.scheduler.max_attempts),
        "hand-outs of a task before it is failed with reason 'timeout'")(
        "heartbeat-interval",
        po::value(&c.scheduler.heartbeat_interval)->default_value(d.scheduler.heartbeat_interval),
        "seconds between worker heartbeats; 3 missed = worker dead, its tasks reassigned")(
        "monitor-interval", po::value(&c.monitor_interval)->default_value(d.monitor_interval),
        "seconds between passes of the monitor thread")(
        "detector", po::value(&detectors)->composing()->value_name("PORT=NAME[,NAME...]"),
        "detector of a port's frames (repeatable, once per port), e.g. 5001=haar:frontalface; "
        "a list is a fallback chain: each frame goes to the first detector of it that a live "
        "worker offers, e.g. 5001=dnn:/etc/fh/yolo-gpu.json,hog (default: --default-detector)")(
        "priority", po::value(&priorities)->composing()->value_name("PORT=WEIGHT"),
        "weight of a port in the round robin across ports with pending frames (repeatable; an "
        "integer 1..1000, default 1): a port of weight 3 gets 3 hand-outs for every 1 of a "
        "weight-1 port while both are backlogged")(
        "default-detector",
        po::value(&c.scheduler.default_detector)->default_value(d.scheduler.default_detector),
        "detector of frames whose port has no --detector and that name none")(
        "max-pending-per-port",
        po::value(&c.scheduler.max_pending_per_port)
            ->default_value(d.scheduler.max_pending_per_port),
        "pending frames kept per port; the oldest is dropped (counted) beyond. Bounds the\n"
        "latency under overload to about this many frames / detection rate")(
        "max-frame-age",
        po::value(&c.scheduler.max_frame_age)->default_value(d.scheduler.max_frame_age),
        "seconds since capture after which a pending frame expires (counted); 0 = never")(
        "keep-frames", po::value(&c.scheduler.keep_frames)->default_value(d.scheduler.keep_frames),
        "completed frames (JPEG + result) kept per port for get_frame / framehive-ctl frame")(
        "keep-frames-bytes",
        po::value(&c.scheduler.keep_frames_bytes)->default_value(d.scheduler.keep_frames_bytes),
        "JPEG bytes of kept frames, all ports together; the oldest kept frame goes beyond")(
        "max-ports", po::value(&c.scheduler.max_ports)->default_value(d.scheduler.max_ports),
        "ports (cameras) the master keeps books for; frames for further ports are refused with "
        "a fault")(
        "max-workers", po::value(&c.scheduler.max_workers)->default_value(d.scheduler.max_workers),
        "workers listed, dead ones included; when full, the longest-dead are pruned first, and "
        "a new worker is refused when all are alive")(
        "worker-retention",
        po::value(&c.scheduler.worker_retention)->default_value(d.scheduler.worker_retention),
        "seconds a dead worker stays listed in status before it is pruned")(
        "retain-results",
        po::value(&c.scheduler.retain_results)->default_value(d.scheduler.retain_results),
        "results kept per port, in memory and in the database")(
        "stall-after", po::value(&c.scheduler.stall_after)->default_value(d.scheduler.stall_after),
        "seconds without a frame after which a port shows as stalled (console, API, metrics); "
        "0 = never")(
        "max-pending-uploads",
        po::value(&c.scheduler.max_pending_uploads)->default_value(d.scheduler.max_pending_uploads),
        "uploaded images (console, API, framehive-ctl detect) waiting at once; more are refused "
        "(503), never dropped")(
        "max-conn", po::value(&c.rpc.max_conn)->default_value(d.rpc.max_conn),
        "authenticated connections at once (each long-polling worker holds one) and the bound "
        "of the request threads; a request on a connection beyond it is answered 503")(
        "max-conn-per-address",
        po::value(&c.rpc.max_conn_per_address)->default_value(d.rpc.max_conn_per_address),
        "connections from one client address; beyond it its oldest connection that sent no "
        "valid request yet is closed, or the new one is refused")(
        "max-unauth-conn", po::value(&c.rpc.max_unauth_conn)->default_value(d.rpc.max_unauth_conn),
        "connections that have not presented valid credentials (or, without a secret, a "
        "complete request header) yet; beyond it the oldest of them is closed")(
        "header-timeout",
        po::value(&c.rpc.header_timeout_s)->default_value(d.rpc.header_timeout_s, "2"),
        "seconds a new connection has for its TLS handshake and first request header")(
        "request-timeout",
        po::value(&c.rpc.request_timeout_s)->default_value(d.rpc.request_timeout_s),
        "seconds a client has to send a request body after its header (slow clients are "
        "dropped)")("keepalive-timeout",
                    po::value(&c.rpc.keepalive_timeout_s)->default_value(d.rpc.keepalive_timeout_s),
                    "seconds an idle keep-alive connection is kept open")(
        "response-timeout",
        po::value(&c.rpc.response_timeout_s)->default_value(d.rpc.response_timeout_s),
        "seconds a client has to read a whole response (slow readers are cut)")(
        "io-threads", po::value(&c.rpc.io_threads)->default_value(d.rpc.io_threads),
        "threads serving the sockets (1..16); requests run on a separate pool")(
        "tls-cert", po::value(&c.rpc.tls_cert_file)->value_name("FILE"),
        "serve HTTPS only, with this PEM certificate chain (needs --tls-key); clients use "
        "https:// URLs and --ca-file when the certificate is not from a system-trusted CA")(
        "tls-key", po::value(&c.rpc.tls_key_file)->value_name("FILE"),
        "the PEM private key of --tls-cert")(
        "max-request-bytes",
        po::value(&c.rpc.max_request_bytes)->default_value(d.rpc.max_request_bytes),
        "largest XML-RPC request or response in bytes (1 MiB .. 1 GiB)")(
        "max-image-bytes", po::value(&c.rpc.max_image_bytes)->default_value(d.rpc.max_image_bytes),
        "largest image in bytes: a frame's JPEG (add_task, fault -509 beyond) or an upload "
        "(POST /api/v1/images: 413; add_image: fault -509); 1 KiB .. --max-request-bytes")(
        "max-pixels",
        po::value<std::string>()->default_value(fh::shared::k_default_max_pixels_text),
        fh::shared::k_max_pixels_help)(
        "events-config", po::value(&c.events_config)->value_name("FILE"),
        "zones, rules and their webhooks and MQTT broker, tracking thresholds (JSON, "
        "docs/events.md); checked at start (errors name the line) and read again on SIGHUP (a "
        "bad file keeps the running config). Without it, tracks and events are still made and "
        "kept, nothing is delivered")("stats-interval",
                                      po::value(&c.stats_interval)->default_value(d.stats_interval),
                                      "seconds between status log lines; 0 = off")(
        "auth-file", po::value<std::string>()->value_name("PATH"),
        "require HTTP Basic credentials (user 'framehive', password = the secret) on every "
        "XML-RPC request; the secret is the first line of PATH (whitespace trimmed; the file "
        "must not be readable by group or others). Without it, the secret comes from "
        "FRAMEHIVE_AUTH_SECRET; with neither, no authentication");
    cli.set_epilog(
        "Examples:\n"
        "  framehive-master --port 8000 --db results.db\n"
        "  framehive-master --bind 0.0.0.0 --detector 5000=hog --detector 5001=haar:frontalface\n"
        "  framehive-master --detector 5000=dnn:/etc/fh/yolo-gpu.json,hog --priority 5000=3\n"
        "  openssl rand -hex 32 > /etc/framehive/secret && chmod 600 /etc/framehive/secret\n"
        "  framehive-master --bind 0.0.0.0 --auth-file /etc/framehive/secret\n"
        "\n"
        "  framehive-master --bind 0.0.0.0 --auth-file /etc/framehive/secret \\\n"
        "      --tls-cert /etc/framehive/cert.pem --tls-key /etc/framehive/key.pem\n"
        "\n"
        "Security: the secret never goes on the command line (ps shows it). Across untrusted\n"
        "networks give --tls-cert/--tls-key (HTTPS) together with --auth-file: without TLS the\n"
        "secret and the frames cross the network in clear (docs/operations.md, Security).");
    if (auto rc = cli.parse(argc, argv)) return *rc;

    c.scheduler.port_detectors = fh::master::parse_detector_options(detectors);
    c.scheduler.port_weights = fh::master::parse_priority_options(priorities);
    if (c.scheduler.default_detector.empty()) throw UsageError("--default-detector: empty");
    if (c.rpc.port < 0 || c.rpc.port > 65535) throw UsageError("--port: 0..65535");
    if (c.scheduler.task_timeout <= 0) throw UsageError("--task-timeout: must be > 0");
    if (c.scheduler.max_attempts < 1) throw UsageError("--max-attempts: must be >= 1");
    if (c.scheduler.heartbeat_interval <= 0) throw UsageError("--heartbeat-interval: must be > 0");
    if (c.monitor_interval <= 0) throw UsageError("--monitor-interval: must be > 0");
    if (c.scheduler.max_frame_age < 0) throw UsageError("--max-frame-age: must be >= 0");
    if (c.scheduler.keep_frames > 100000) throw UsageError("--keep-frames: at most 100000");
    if (c.scheduler.max_pending_per_port < 1) throw UsageError("--max-pending-per-port: >= 1");
    if (c.scheduler.retain_results < 1) throw UsageError("--retain-results: must be >= 1");
    if (c.scheduler.max_ports < 1 || c.scheduler.max_ports > 65535) {
      throw UsageError("--max-ports: 1..65535");
    }
    if (c.scheduler.max_workers < 1) throw UsageError("--max-workers: must be >= 1");
    if (c.scheduler.worker_retention < 0) throw UsageError("--worker-retention: must be >= 0");
    if (c.rpc.max_conn < 4) throw UsageError("--max-conn: must be >= 4");
    if (c.rpc.max_conn_per_address < 1) throw UsageError("--max-conn-per-address: must be >= 1");
    if (c.rpc.max_unauth_conn < 1) throw UsageError("--max-unauth-conn: must be >= 1");
    if (!(c.rpc.header_timeout_s >= 0.1 && c.rpc.header_timeout_s <= 600)) {
      throw UsageError("--header-timeout: 0.1 .. 600 seconds");
    }
    if (c.rpc.response_timeout_s < 1) throw UsageError("--response-timeout: must be >= 1");
    if (c.rpc.io_threads < 1 || c.rpc.io_threads > 16) throw UsageError("--io-threads: 1..16");
    if (c.rpc.tls_cert_file.empty() != c.rpc.tls_key_file.empty()) {
      throw UsageError("--tls-cert and --tls-key go together");
    }
    if (c.rpc.request_timeout_s < 1) throw UsageError("--request-timeout: must be >= 1");
    if (c.rpc.keepalive_timeout_s < 1) throw UsageError("--keepalive-timeout: must be >= 1");
    if (c.rpc.max_request_bytes < (1u << 20) || c.rpc.max_request_bytes > (1u << 30)) {
      throw UsageError("--max-request-bytes: 1 MiB .. 1 GiB");
    }
    // Left at its default, the image limit follows a smaller --max-request-bytes.
    if (cli.vm()["max-image-bytes"].defaulted()) {
      c.rpc.max_image_bytes = std::min(c.rpc.max_image_bytes, c.rpc.max_request_bytes);
    }
    if (c.rpc.max_image_bytes < 1024 || c.rpc.max_image_bytes > c.rpc.max_request_bytes) {
      throw UsageError("--max-image-bytes: 1 KiB .. --max-request-bytes");
    }

    c.rpc.max_pixels = fh::shared::parse_max_pixels(cli.vm()["max-pixels"].as<std::string>());
    // A bad events config is a usage error (exit 2: systemd does not restart into it).
    if (!c.events_config.empty()) {
      try {
        fh::master::load_events_config(c.events_config);
      } catch (const fh::master::ConfigError& e) {
        throw UsageError(std::string("--events-config: ") + e.what());
      }
    }

    auto secret = fh::shared::load_secret(cli.vm(), "auth-file", fh::shared::k_auth_secret_env);
    if (secret) {
      c.rpc.auth_secret = std::move(*secret);
    } else if (c.rpc.bind.rfind("127.", 0) != 0) {
      fh::shared::logger("rpc")->warn(
          "listening on {} without authentication: anyone who reaches port {} can add tasks "
          "and read results; give --auth-file (docs/operations.md, Security)",
          c.rpc.bind, c.rpc.port);
    }

    fh::shared::block_shutdown_signals(true);
    fh::master::MasterApp app(c);
    fh::shared::ShutdownWatcher watcher([&app](int) { app.stop(); },
                                        [&app] { app.reload_events(); });
    app.run();
    std::cout << app.summary() << std::endl;
    return 0;
  });
}

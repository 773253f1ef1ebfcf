// framehive-worker: takes frames from a framehive-master and runs object detection on them.
#include "framehive/shared/cli.hpp"
#include "framehive/shared/rpc_client.hpp"
#include "framehive/shared/secret.hpp"
#include "framehive/shared/shutdown.hpp"
#include "framehive/worker/worker_app.hpp"

#include <iostream>

namespace po = boost::program_options;
using fh::shared::UsageError;

int main(int argc, char** argv) {
  return fh::shared::run_main("framehive-worker", [&]() -> int {
    fh::shared::Cli cli(
        "framehive-worker", "framehive-worker --master URL --detector NAME [options]",
        "Registers with a framehive-master, heartbeats, long-polls for tasks, decodes each\n"
        "frame's JPEG, runs the detector the task names and reports the detections (or the\n"
        "reason it could not). Re-registers when the master forgot it and reconnects with\n"
        "backoff while the master is down. On SIGINT/SIGTERM it stops taking tasks, finishes\n"
        "what it holds and exits.\n\n"
        "Detectors (capability names):\n"
        "  hog               OpenCV's default HOG people detector (label 'person')\n"
        "  haar:NAME         a cascade from /usr/share/opencv4/haarcascades, e.g.\n"
        "                    haar:frontalface (label 'face'), haar:fullbody, or a path to .xml\n"
        "  dnn:CONFIG        YOLO or SSD through OpenCV DNN; CONFIG is a key=value file naming\n"
        "                    the model (Darknet cfg+weights, ONNX, Caffe prototxt+caffemodel,\n"
        "                    TensorFlow pb), its layout (format=darknet|yolov5|yolov8|ssd),\n"
        "                    preprocessing, class names and thresholds (docs/operations.md)\n"
        "  null              decode only, no detection (benchmarks)");
    fh::worker::WorkerConfig c;  // its member values are the defaults shown and used below
    cli.options().add_options()("master", po::value(&c.master_url)->default_value(c.master_url),
                                "the master's XML-RPC endpoint")(
        "detector", po::value(&c.detectors)->composing(),
        "a capability this worker offers (repeatable); required")(
        "threads", po::value(&c.threads)->default_value(c.threads),
        "task threads, each with its own detectors and connection")(
        "id", po::value(&c.id), "worker id (default: HOSTNAME-PID)")(
        "wait-ms", po::value(&c.wait_ms)->default_value(c.wait_ms),
        "long-poll wait of each request_task in ms")(
        "heartbeat-interval", po::value(&c.heartbeat_interval)->default_value(c.heartbeat_interval),
        "seconds between heartbeats; 0 = the interval the master asks for")(
        "opencv-threads",
        po::value(&c.detector_options.threads)->default_value(c.detector_options.threads),
        "OpenCV threads inside one detection (0 = OpenCV's default, all cores)")(
        "max-pixels",
        po::value<std::string>()->default_value(fh::shared::k_default_max_pixels_text),
        fh::shared::k_max_pixels_help)("max-tasks",
                                       po::value(&c.max_tasks)->default_value(c.max_tasks),
                                       "exit after this many tasks (0 = run until stopped)")(
        "auth-file", po::value<std::string>()->value_name("PATH"),
        "the master's shared secret (first line of PATH, whitespace trimmed; the file must "
        "not be readable by group or others), sent as HTTP Basic credentials. Without it the "
        "secret comes from FRAMEHIVE_AUTH_SECRET; with neither, none is sent")(
        "motion-crop", po::bool_switch(&c.motion_crop),
        "run a frame whose sender reported motion boxes (framehive-sender --motion flag|gate) "
        "on its motion regions only: each box padded by --crop-pad of its size + 32 px, grown "
        "to the detector's minimum window (hog 64x128, haar the cascade window or 30 px, dnn "
        "the network input), clamped to the frame, near ones merged; the frame runs whole when "
        "the regions cover >= 60% of it, for keep-alive frames, and for frames without motion "
        "boxes (default: off, every frame runs whole; docs/motion.md)")(
        "crop-pad", po::value(&c.crop_pad)->default_value(c.crop_pad),
        "with --motion-crop: each side of a motion box grows by this fraction of the box's "
        "size (0..4); smaller saves more CPU and loses more recall (docs/motion.md)")(
        "ca-file", po::value<std::string>()->value_name("PATH"),
        "CA certificate(s) (PEM) that an https:// master's certificate is checked against; "
        "default: the system's trusted CAs")(
        "prefetch", po::value(&c.prefetch)->default_value(c.prefetch),
        "while a detection runs, ask for the next task without waiting (1 = yes, 0 = no). The "
        "master hands one out only if one is pending, which with idle workers long-polling "
        "means all of them are busy; it then waits at this worker instead of in the master's "
        "queue (it counts as in "
        "progress, so --task-timeout must cover two detections), and no round trip sits "
        "between two detections");
    cli.set_epilog(
        "Examples:\n"
        "  framehive-worker --master http://10.0.0.5:8000/RPC2 --detector hog --threads 2\n"
        "  framehive-worker --detector hog --detector haar:frontalface --id cam-gpu-1\n"
        "  framehive-worker --master http://10.0.0.5:8000/RPC2 --detector hog \\\n"
        "      --auth-file /etc/framehive/secret\n"
        "\n"
        "A master that refuses the credentials (HTTP 401) is a configuration error: the worker\n"
        "logs it every 30 s and keeps retrying with backoff until the secrets agree.");
    if (auto rc = cli.parse(argc, argv)) return *rc;
    if (c.detectors.empty()) throw UsageError("--detector is required (e.g. --detector hog)");
    if (c.wait_ms < 0 || c.wait_ms > 30000) throw UsageError("--wait-ms: 0..30000");
    fh::shared::check_endpoint_url(c.master_url, "--master");
    if (c.max_tasks < 0) throw UsageError("--max-tasks: must be >= 0");
    c.max_pixels = fh::shared::parse_max_pixels(cli.vm()["max-pixels"].as<std::string>());
    if (auto secret =
            fh::shared::load_secret(cli.vm(), "auth-file", fh::shared::k_auth_secret_env)) {
      c.auth_secret = std::move(*secret);
    }

    if (cli.vm().count("ca-file")) {
      fh::shared::set_tls_ca_file(cli.vm()["ca-file"].as<std::string>());
    }
    fh::shared::set_xmlrpc_size_limit(64u << 20);
    fh::shared::block_shutdown_signals();
    std::unique_ptr<fh::worker::WorkerApp> app;
    try {
      app = std::make_unique<fh::worker::WorkerApp>(c);
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
    fh::shared::ShutdownWatcher watcher([&app](int) { app->stop(); });
    app->run();
    std::cout << app->summary() << std::endl;
    return 0;
  });
}

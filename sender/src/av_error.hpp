#pragma once
// The one place where libav (AVERROR) codes become text, plus the av_log -> "codec" logger
// bridge. Private to the sender library. Thread-safe.

#include <string>

namespace fh::sender {

/// "No such file or directory", "Invalid data found when processing input", ... for an
/// AVERROR code (negative int).
std::string av_error_text(int averror);

/// True for AVERROR_EOF.
bool av_is_eof(int averror);

/// True for AVERROR(EAGAIN).
bool av_is_again(int averror);

/// True for AVERROR_EXIT (an interrupt callback asked libav to stop).
bool av_is_exit(int averror);

/// Once per process: registers libavdevice inputs (v4l2) and routes libav's own log lines to
/// the "codec" logger at debug level (trace for verbose ones), so a corrupt file yields our
/// one-line error, not libav's chatter. Idempotent, thread-safe.
void libav_init();

}  // namespace fh::sender

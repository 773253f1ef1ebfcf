#include "av_error.hpp"

#include "framehive/shared/logging.hpp"

extern "C" {
#include <libavdevice/avdevice.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
}

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace fh::sender {
namespace {

void av_log_to_spdlog(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > av_log_get_level()) return;
  static const auto log = fh::shared::logger("codec");
  const auto lvl = level <= AV_LOG_WARNING ? spdlog::level::debug : spdlog::level::trace;
  if (!log->should_log(lvl)) return;
  thread_local int print_prefix = 1;
  thread_local std::string pending;
  char line[1024];
  av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
  pending += line;
  if (pending.empty() || pending.back() != '\n') return;  // wait for the end of the line
  pending.pop_back();
  log->log(lvl, "libav: {}", pending);
  pending.clear();
}

}  // namespace

std::string av_error_text(int averror) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(averror, buf, sizeof buf) < 0) {
    std::snprintf(buf, sizeof buf, "libav error %d", averror);
  }
  return buf;
}

bool av_is_eof(int averror) { return averror == AVERROR_EOF; }
bool av_is_again(int averror) { return averror == AVERROR(EAGAIN); }
bool av_is_exit(int averror) { return averror == AVERROR_EXIT; }

void libav_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    av_log_set_level(AV_LOG_VERBOSE);
    av_log_set_callback(av_log_to_spdlog);
    avdevice_register_all();
  });
}

}  // namespace fh::sender

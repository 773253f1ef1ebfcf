#include "libav_source.hpp"

#include "av_error.hpp"
#include "framehive/shared/clock.hpp"
#include "framehive/shared/logging.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cstdio>
#include <string>

namespace fh::sender {
namespace {

/// Consecutive failures of avcodec_receive_frame() after which the source gives up.
constexpr int k_max_receive_errors = 1000;

AVPixelFormat unjpeg(AVPixelFormat f, int& full_range) {
  switch (f) {
    case AV_PIX_FMT_YUVJ420P:
      full_range = 1;
      return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
      full_range = 1;
      return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
      full_range = 1;
      return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
      full_range = 1;
      return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P:
      full_range = 1;
      return AV_PIX_FMT_YUV411P;
    default:
      return f;
  }
}

int sws_colorspace(int av_colorspace) {
  switch (av_colorspace) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_FCC:
      return SWS_CS_FCC;
    case AVCOL_SPC_BT470BG:
      return SWS_CS_ITU601;
    case AVCOL_SPC_SMPTE170M:
      return SWS_CS_SMPTE170M;
    case AVCOL_SPC_SMPTE240M:
      return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    default:
      return SWS_CS_DEFAULT;
  }
}

std::string base_name(const std::string& spec) {
  const auto slash = spec.find_last_of('/');
  return slash == std::string::npos ? spec : spec.substr(slash + 1);
}

}  // namespace

struct LibavSource::Impl {
  std::string spec;                                                     ///< what was opened
  Kind kind = Kind::file;                                               ///< file, URL or device
  const std::atomic<bool>* interrupt = nullptr;                         ///< external stop flag
  AVFormatContext* fmt = nullptr;                                       ///< demuxer
  AVCodecContext* dec = nullptr;                                        ///< decoder
  AVPacket* pkt = nullptr;                                              ///< reused packet
  AVFrame* frame = nullptr;                                             ///< reused decoded frame
  SwsContext* sws = nullptr;                                            ///< converter to BGR24
  int sws_w = 0, sws_h = 0, sws_fmt = -1, sws_range = -1, sws_cs = -1;  ///< sws parameters
  int stream = -1;                                                      ///< video stream index
  AVRational time_base{0, 1};                                           ///< of the video stream
  std::int64_t start_pts = AV_NOPTS_VALUE;                              ///< stream start time
  double fps = 0;                   ///< native rate, 0 if unknown
  cv::Size size;                    ///< size of the first frame
  bool draining = false;            ///< flush packet sent
  bool have_first = false;          ///< `first` holds the frame decoded by open
  CapturedFrame first;              ///< first frame, decoded eagerly
  std::int64_t index = 0;           ///< index of the next frame handed out
  std::string error;                ///< fatal error, empty if none
  std::uint64_t decode_errors = 0;  ///< skipped packets/frames

  ~Impl() {
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
  }

  static int interrupt_cb(void* opaque) {
    const auto* self = static_cast<const Impl*>(opaque);
    return self->interrupt != nullptr && self->interrupt->load() ? 1 : 0;
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw FrameSourceError("cannot open source '" + spec + "': " + why);
  }

  void open(const FrameSourceOptions& options) {
    libav_init();
    const AVInputFormat* input_format = nullptr;
    AVDictionary* dict = nullptr;
    std::string url = spec;
    if (kind == Kind::device) {
      input_format = av_find_input_format("video4linux2");
      if (input_format == nullptr) fail("libavdevice has no video4linux2 input");
      // "/dev/video0?video_size=1280x720&framerate=30&input_format=mjpeg": v4l2 options.
      const auto q = spec.find('?');
      if (q != std::string::npos) {
        url = spec.substr(0, q);
        const int r = av_dict_parse_string(&dict, spec.c_str() + q + 1, "=", "&", 0);
        if (r < 0) {
          av_dict_free(&dict);
          fail("bad device options after '?': " + av_error_text(r));
        }
      }
    }
    if (kind == Kind::url && options.network_timeout_s > 0) {
      const auto us = std::to_string(static_cast<long long>(options.network_timeout_s * 1e6));
      av_dict_set(&dict, "rw_timeout", us.c_str(), 0);  // generic protocols (http, tcp)
      av_dict_set(&dict, "timeout", us.c_str(), 0);     // rtsp socket I/O timeout
    }
    fmt = avformat_alloc_context();
    if (fmt == nullptr) fail("out of memory");
    fmt->interrupt_callback.callback = &Impl::interrupt_cb;
    fmt->interrupt_callback.opaque = this;
    int r = avformat_open_input(&fmt, url.c_str(), input_format, &dict);
    std::string unused;
    for (const AVDictionaryEntry* e = nullptr;
         (e = av_dict_get(dict, "", e, AV_DICT_IGNORE_SUFFIX));) {
      unused += std::string(unused.empty() ? "" : ", ") + e->key;
    }
    av_dict_free(&dict);
    if (r < 0) fail(av_error_text(r));  // avformat_open_input freed fmt
    if (kind == Kind::device && !unused.empty()) fail("unknown device options: " + unused);
    r = avformat_find_stream_info(fmt, nullptr);
    if (r < 0) fail("cannot read stream info: " + av_error_text(r));
    const AVCodec* codec = nullptr;
    stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream == AVERROR_STREAM_NOT_FOUND) fail("no video stream");
    if (stream < 0 || codec == nullptr) fail("no decoder for the video stream");
    AVStream* st = fmt->streams[stream];
    dec = avcodec_alloc_context3(codec);
    if (dec == nullptr) fail("out of memory");
    r = avcodec_parameters_to_context(dec, st->codecpar);
    if (r < 0) fail("bad codec parameters: " + av_error_text(r));
    dec->pkt_timebase = st->time_base;
    // Slice threads only: frame threading would add frames of latency on live sources.
    dec->thread_count = 0;
    dec->thread_type = FF_THREAD_SLICE;
    r = avcodec_open2(dec, codec, nullptr);
    if (r < 0)
      fail(std::string("cannot open the ") + codec->name + " decoder: " + av_error_text(r));
    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    if (pkt == nullptr || frame == nullptr) fail("out of memory");
    time_base = st->time_base;
    start_pts = st->start_time;
    const AVRational rate = av_guess_frame_rate(fmt, st, nullptr);
    if (rate.num > 0 && rate.den > 0) fps = av_q2d(rate);
    if (fps > 1000) fps = 0;  // a timebase, not a frame rate
    if (!decode(first)) {
      fail(error.empty() ? std::string("no decodable video frame") : error);
    }
    have_first = true;
    size = first.image.size();
  }

  bool convert(CapturedFrame& out) {
    const int w = frame->width;
    const int h = frame->height;
    if (w <= 0 || h <= 0 || frame->format < 0) return false;
    int range = frame->color_range == AVCOL_RANGE_JPEG ? 1 : 0;
    const AVPixelFormat src = unjpeg(static_cast<AVPixelFormat>(frame->format), range);
    const int cs = sws_colorspace(frame->colorspace);
    if (sws == nullptr || w != sws_w || h != sws_h || src != sws_fmt || range != sws_range ||
        cs != sws_cs) {
      sws_freeContext(sws);
      sws = sws_getContext(w, h, src, w, h, AV_PIX_FMT_BGR24, SWS_BILINEAR, nullptr, nullptr,
                           nullptr);
      if (sws == nullptr) {
        error = std::string("cannot convert pixel format ") +
                (av_get_pix_fmt_name(src) ? av_get_pix_fmt_name(src) : "?") + " to BGR";
        return false;
      }
      sws_setColorspaceDetails(sws, sws_getCoefficients(cs), range,
                               sws_getCoefficients(SWS_CS_DEFAULT), 0, 0, 1 << 16, 1 << 16);
      sws_w = w;
      sws_h = h;
      sws_fmt = src;
      sws_range = range;
      sws_cs = cs;
    }
    out.image = cv::Mat(h, w, CV_8UC3);  // fresh buffer: earlier frames stay valid
    std::uint8_t* dst[4] = {out.image.data, nullptr, nullptr, nullptr};
    int dst_stride[4] = {static_cast<int>(out.image.step[0]), 0, 0, 0};
    sws_scale(sws, frame->data, frame->linesize, 0, h, dst, dst_stride);
    out.capture_us = fh::shared::unix_micros();
    out.index = index++;
    const std::int64_t ts = frame->best_effort_timestamp;
    if (ts != AV_NOPTS_VALUE && time_base.den > 0) {
      const std::int64_t origin = start_pts != AV_NOPTS_VALUE ? start_pts : 0;
      out.pts = static_cast<double>(ts - origin) * av_q2d(time_base);
    } else if (fps > 0) {
      out.pts = static_cast<double>(out.index) / fps;
    } else {
      out.pts = -1.0;
    }
    return true;
  }

  /// Decodes the next frame into out; false at EOF (error empty) or on a fatal error.
  bool decode(CapturedFrame& out) {
    int receive_errors = 0;
    while (true) {
      int r = avcodec_receive_frame(dec, frame);
      if (r == 0) {
        const bool ok = convert(out);
        av_frame_unref(frame);
        if (ok) return true;
        if (!error.empty()) return false;
        ++decode_errors;
        continue;
      }
      if (av_is_eof(r)) return false;
      if (!av_is_again(r)) {
        ++decode_errors;
        if (++receive_errors > k_max_receive_errors) {
          error = "decoder keeps failing: " + av_error_text(r);
          return false;
        }
        continue;
      }
      if (draining) return false;
      r = av_read_frame(fmt, pkt);
      if (r < 0) {
        if (av_is_exit(r)) {
          error = "interrupted";
          return false;
        }
        if (!av_is_eof(r)) {
          if (kind != Kind::file) {
            error = "read failed: " + av_error_text(r);
            return false;
          }
          fh::shared::logger("codec")->warn("{}: read error ({}), treating it as the end", spec,
                                            av_error_text(r));
        }
        avcodec_send_packet(dec, nullptr);  // flush: the decoder hands out delayed frames
        draining = true;
        continue;
      }
      if (pkt->stream_index != stream) {
        av_packet_unref(pkt);
        continue;
      }
      r = avcodec_send_packet(dec, pkt);
      av_packet_unref(pkt);
      if (r < 0 && !av_is_again(r)) ++decode_errors;  // corrupt packet: skip it
    }
  }
};

LibavSource::LibavSource(const std::string& spec, Kind kind, const FrameSourceOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->spec = spec;
  impl_->kind = kind;
  impl_->interrupt = options.interrupt;
  impl_->open(options);
  fh::shared::logger("codec")->debug("opened {}", describe());
}

LibavSource::~LibavSource() = default;

bool LibavSource::next(CapturedFrame& frame) {
  Impl& s = *impl_;
  if (s.have_first) {
    s.have_first = false;
    frame = std::move(s.first);
    s.first = CapturedFrame{};
    return true;
  }
  if (!s.error.empty()) return false;
  return s.decode(frame);
}

bool LibavSource::rewind() {
  Impl& s = *impl_;
  if (s.kind != Kind::file) return false;
  const std::int64_t target = s.start_pts != AV_NOPTS_VALUE ? s.start_pts : 0;
  int r = av_seek_frame(s.fmt, s.stream, target, AVSEEK_FLAG_BACKWARD);
  if (r < 0) r = av_seek_frame(s.fmt, -1, 0, AVSEEK_FLAG_BACKWARD);
  if (r < 0) {
    s.error = "cannot rewind: " + av_error_text(r);
    return false;
  }
  avcodec_flush_buffers(s.dec);
  s.draining = false;
  s.have_first = false;
  s.first = CapturedFrame{};
  s.index = 0;
  s.error.clear();
  return true;
}

double LibavSource::fps() const { return impl_->fps; }
cv::Size LibavSource::size() const { return impl_->size; }
bool LibavSource::live() const { return impl_->kind != Kind::file; }
const std::string& LibavSource::error() const { return impl_->error; }
std::uint64_t LibavSource::decode_errors() const { return impl_->decode_errors; }

std::string LibavSource::describe() const {
  const Impl& s = *impl_;
  char buf[128];
  std::snprintf(buf, sizeof buf, " (%s %dx%d %.2f fps)", s.dec ? s.dec->codec->name : "?",
                s.size.width, s.size.height, s.fps);
  return base_name(s.spec) + buf;
}

}  // namespace fh::sender

#pragma once
// A Beast body type for request bodies: a std::string that grows as bytes arrive. Unlike
// http::string_body it never reserves the announced Content-Length up front, so a client that
// announces 60 MiB and sends 1 KiB costs 1 KiB. Reading only (the server never writes it).
// Not thread-safe (one parser at a time, as every Beast body).

#include <boost/beast/core/buffer_traits.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include <cstdint>
#include <string>

namespace fh::master {

struct GrowingBody {
  using value_type = std::string;

  static std::uint64_t size(const value_type& body) { return body.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    explicit reader(boost::beast::http::header<isRequest, Fields>&, value_type& body)
        : body_(body) {}

    /// Nothing reserved: the parser's body_limit bounds what put() may append.
    void init(const boost::optional<std::uint64_t>&, boost::beast::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      const std::size_t extra = boost::beast::buffer_bytes(buffers);
      if (extra > body_.max_size() - body_.size()) {
        ec = boost::beast::http::error::buffer_overflow;
        return 0;
      }
      for (const auto b : boost::beast::buffers_range_ref(buffers)) {
        body_.append(static_cast<const char*>(b.data()), b.size());  // grows geometrically
      }
      ec = {};
      return extra;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;  ///< the message's body
  };
};

}  // namespace fh::master

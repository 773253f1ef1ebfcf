#pragma once
// The console's files (master/web/) and the Debian web libraries it uses (Chart.js from
// libjs-chart.js, Bootstrap from libjs-bootstrap5), embedded in the master binary at build
// time by master/web/embed.cmake: nothing is read from disk or the internet at run time.
// Immutable data, thread-safe.

#include <string_view>

namespace fh::master::web {

struct Asset {
  std::string_view content_type;  ///< e.g. "text/javascript; charset=utf-8"
  std::string_view body;          ///< the file's bytes
  std::string_view etag;          ///< a quoted strong ETag (a hash of body)
};

/// The asset served at path ("/" is the console page, "/login" the login form, the rest under
/// "/assets/"); nullptr when there is none.
const Asset* find(std::string_view path);

}  // namespace fh::master::web

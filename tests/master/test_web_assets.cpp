// The console's embedded files (master/web/embed.cmake -> web_assets.cpp): the table has the
// pages and libraries at the paths the master serves, their bytes match their ETags, every
// asset a page refers to is embedded, and nothing is loaded from the internet.
#include <boost/test/unit_test.hpp>

#include "web_assets.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace web = fh::master::web;

namespace {

const std::vector<std::string> kPaths = {"/",
                                         "/login",
                                         "/assets/app.js",
                                         "/assets/login.js",
                                         "/assets/app.css",
                                         "/assets/favicon.svg",
                                         "/assets/bootstrap.min.css",
                                         "/assets/chart.min.js"};

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// The ETag embed.cmake computes: the first 128 bits of the SHA-256 of the body, hex, quoted.
std::string expected_etag(std::string_view body) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  std::string hex = "\"";
  char buf[3];
  for (int i = 0; i < 16; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    hex += buf;
  }
  return hex + "\"";
}

/// Every value of attr="..." in an HTML page.
std::vector<std::string> attribute_values(std::string_view html, std::string_view attr) {
  std::vector<std::string> out;
  const std::string key = std::string(" ") + std::string(attr) + "=\"";
  for (auto at = html.find(key); at != std::string_view::npos; at = html.find(key, at + 1)) {
    const auto begin = at + key.size();
    const auto end = html.find('"', begin);
    if (end == std::string_view::npos) {
      break;
    }
    out.emplace_back(html.substr(begin, end - begin));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(web_assets)

BOOST_AUTO_TEST_CASE(console_page_is_html_with_the_app_script) {
  const web::Asset* page = web::find("/");
  BOOST_REQUIRE(page != nullptr);
  BOOST_TEST(page->content_type == "text/html; charset=utf-8");
  BOOST_TEST(contains(page->body, "<!doctype html>"));
  BOOST_TEST(contains(page->body, "src=\"/assets/app.js\""));
  BOOST_TEST(contains(page->body, "src=\"/assets/chart.min.js\""));
  BOOST_TEST(contains(page->body, "href=\"/assets/bootstrap.min.css\""));
}

BOOST_AUTO_TEST_CASE(login_page_posts_password_and_next) {
  const web::Asset* page = web::find("/login");
  BOOST_REQUIRE(page != nullptr);
  BOOST_TEST(page->content_type == "text/html; charset=utf-8");
  BOOST_TEST(contains(page->body, "action=\"/login\""));
  BOOST_TEST(contains(page->body, "method=\"post\""));
  BOOST_TEST(contains(page->body, "name=\"password\""));
  BOOST_TEST(contains(page->body, "name=\"next\""));
}

BOOST_AUTO_TEST_CASE(libraries_are_embedded_whole) {
  const web::Asset* chart = web::find("/assets/chart.min.js");
  BOOST_REQUIRE(chart != nullptr);
  BOOST_TEST(chart->content_type == "text/javascript; charset=utf-8");
  BOOST_TEST(chart->body.size() > 100000u);
  BOOST_TEST(contains(chart->body, "Chart.js v3."));
  const web::Asset* css = web::find("/assets/bootstrap.min.css");
  BOOST_REQUIRE(css != nullptr);
  BOOST_TEST(css->content_type == "text/css; charset=utf-8");
  BOOST_TEST(contains(css->body, "Bootstrap"));
  BOOST_TEST(css->body.size() > 100000u);
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_not_found) {
  BOOST_TEST(web::find("/nope") == nullptr);
  BOOST_TEST(web::find("") == nullptr);
  BOOST_TEST(web::find("/assets/") == nullptr);
  BOOST_TEST(web::find("/assets/app.js/") == nullptr);
  BOOST_TEST(web::find("/index.html") == nullptr);
  BOOST_TEST(web::find("/ASSETS/APP.JS") == nullptr);
}

BOOST_AUTO_TEST_CASE(etags_are_quoted_hashes_of_the_bytes) {
  std::vector<std::string> seen;
  for (const auto& path : kPaths) {
    const web::Asset* a = web::find(path);
    BOOST_REQUIRE_MESSAGE(a != nullptr, path << " is not embedded");
    BOOST_TEST(!a->body.empty(), path << " is empty");
    BOOST_TEST(a->etag == expected_etag(a->body), path << ": ETag " << a->etag);
    seen.emplace_back(a->etag);
  }
  std::sort(seen.begin(), seen.end());
  BOOST_TEST((std::adjacent_find(seen.begin(), seen.end()) == seen.end()));
}

BOOST_AUTO_TEST_CASE(pages_refer_only_to_embedded_assets) {
  for (const char* page_path : {"/", "/login"}) {
    const web::Asset* page = web::find(page_path);
    BOOST_REQUIRE(page != nullptr);
    for (const char* attr : {"src", "href"}) {
      for (const auto& value : attribute_values(page->body, attr)) {
        if (value.rfind("/assets/", 0) != 0) {
          continue;  // "#/search" and other in-page links
        }
        BOOST_TEST(web::find(value) != nullptr, page_path << " refers to " << value);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(nothing_is_loaded_from_the_internet) {
  // What would make a browser fetch a script, a style, a font or an image from elsewhere.
  // (Namespace URIs such as xmlns="http://www.w3.org/2000/svg" and licence comments are fine.)
  const std::vector<std::string> loaders = {
      "src=\"http",  "src='http",  "src=http",      "href=\"http",  "href='http",
      "href=http",   "url(http",   "url(\"http",    "url('http",    "@import",
      "from \"http", "from 'http", "import(\"http", "import('http", "fetch(\"http",
      "fetch('http", "//cdn.",     "googleapis",    "unpkg.com",    "jsdelivr"};
  for (const auto& path : kPaths) {
    const web::Asset* a = web::find(path);
    BOOST_REQUIRE(a != nullptr);
    const std::string body = lower(a->body);
    for (const auto& needle : loaders) {
      BOOST_TEST(!contains(body, needle), path << " contains " << needle);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Events: the EventStore (events, outbox, snapshots, counters; reopening the file = a master
// restart) and EventDelivery against real peers: an HTTP server in this process (Boost.Beast)
// for webhooks, signatures checked with an independent HMAC; a mosquitto broker started as a
// child process for MQTT, killed and restarted mid-run.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include "event_delivery.hpp"
#include "event_store.hpp"
#include "events_config.hpp"
#include "framehive/shared/clock.hpp"
#include "test_util.hpp"

#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <fstream>
#include <set>

namespace {

using fh::master::Delivery;
using fh::master::EmittedEvent;
using fh::master::EventDelivery;
using fh::master::EventQuery;
using fh::master::EventsConfig;
using fh::master::EventStore;
using fh::shared::api::Event;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

bool wait_until(const std::function<bool()>& pred, double seconds) {
  return fh::test::poll_until(pred, std::chrono::milliseconds(static_cast<int>(seconds * 1000)));
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

Event make_event(const std::string& id, const std::string& type, int port, double time) {
  Event e;
  e.id = id;
  e.type = type;
  e.time = time;
  e.port = port;
  e.stream = "cam" + std::to_string(port);
  if (type.rfind("object.", 0) == 0) {
    e.track_id = 7;
    e.label = "person";
    e.confidence = 0.875;
    e.x = 1;
    e.y = 2;
    e.w = 30;
    e.h = 40;
    e.start = time - 1;
    e.snapshot_task_id = "t-" + id;
  } else {
    e.detail = "no frame for 10 s";
  }
  e.rules = {"r1"};
  return e;
}

EmittedEvent emitted(const Event& e, std::vector<Delivery> deliveries = {}) {
  return EmittedEvent{e, std::move(deliveries)};
}

Delivery webhook(const std::string& url, const std::string& secret_file = "") {
  return Delivery{"webhook", url, secret_file, "r1"};
}

Delivery mqtt(const std::string& topic) { return Delivery{"mqtt", topic, "", "r1"}; }

std::string hmac_hex(const std::string& key, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &len);
  std::string out;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out;
}

std::int64_t get(const std::map<std::string, std::int64_t>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

// ---- A webhook receiver: HTTP/1.1 or HTTPS on 127.0.0.1, a thread per connection ----

class HookServer {
 public:
  struct Request {
    std::string body, event_id, event_type, signature, content_type;
    int status = 0;             ///< what it answered
    Clock::time_point arrived;  ///< when the request was read
  };
  /// Decides the status of each request (called in order of arrival, under the lock).
  using Policy = std::function<int(const Request&, std::size_t index)>;
  /// The certificate chain and private key (PEM files) of an HTTPS server.
  struct Tls {
    std::string cert, key;
  };

  /// Plain HTTP; each answer waits delay_s first.
  HookServer(int port, Policy policy, double delay_s = 0)
      : policy_(std::move(policy)), delay_s_(delay_s), acceptor_(io_) {
    listen(port);
  }
  /// HTTPS with tls's certificate; counts failed handshakes.
  HookServer(int port, Policy policy, const Tls& tls)
      : policy_(std::move(policy)),
        delay_s_(0),
        ssl_(std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server)),
        acceptor_(io_) {
    ssl_->use_certificate_chain_file(tls.cert);
    ssl_->use_private_key_file(tls.key, asio::ssl::context::pem);
    listen(port);
  }
  ~HookServer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  /// Event ids answered with 2xx.
  std::set<std::string> delivered_ids() {
    std::set<std::string> out;
    for (const auto& r : requests()) {
      if (r.status / 100 == 2) out.insert(r.event_id);
    }
    return out;
  }
  /// TLS handshakes that failed (HTTPS only).
  int handshakes_failed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return handshakes_failed_;
  }

 private:
  void listen(int port) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  void accept_loop() {
    for (;;) {
      tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      std::lock_guard<std::mutex> lock(mutex_);
      if (ec || stopping_) return;
      fds_.insert(s.native_handle());
      threads_.emplace_back([this, sock = std::move(s)]() mutable { serve(std::move(sock)); });
    }
  }

  void serve(tcp::socket s) {
    const int fd = s.native_handle();
    if (!ssl_) {
      serve_requests(s);
      forget(fd);
      return;
    }
    asio::ssl::stream<tcp::socket> tls(std::move(s), *ssl_);
    boost::system::error_code ec;
    tls.handshake(asio::ssl::stream_base::server, ec);
    if (ec) {
      std::lock_guard<std::mutex> lock(mutex_);
      handshakes_failed_++;
    } else {
      serve_requests(tls);
    }
    forget(fd);
  }

  /// Drops a connection from fds_: before its socket closes, as its number may be reused.
  void forget(int fd) {
    std::lock_guard<std::mutex> lock(mutex_);
    fds_.erase(fd);
  }

  template <class Stream>
  void serve_requests(Stream& s) {
    try {
      beast::flat_buffer buf;
      for (;;) {
        http::request<http::string_body> req;
        boost::system::error_code ec;
        http::read(s, buf, req, ec);
        if (ec) break;
        Request r;
        r.arrived = Clock::now();
        r.body = req.body();
        r.event_id = std::string(req["X-Framehive-Event-Id"]);
        r.event_type = std::string(req["X-Framehive-Event-Type"]);
        r.signature = std::string(req["X-Framehive-Signature"]);
        r.content_type = std::string(req[http::field::content_type]);
        if (delay_s_ > 0) {
          std::unique_lock<std::mutex> lk(mutex_);
          cv_.wait_for(lk, std::chrono::duration<double>(delay_s_), [this] { return stopping_; });
        }
        {
          std::lock_guard<std::mutex> lock(mutex_);
          if (stopping_) break;
          r.status = policy_(r, requests_.size());
          requests_.push_back(r);
        }
        http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        http::write(s, res, ec);
        if (ec || !req.keep_alive()) break;
      }
    } catch (const std::exception& e) {
      BOOST_TEST_MESSAGE("hook server: " << e.what());
    }
  }

  Policy policy_;
  const double delay_s_;
  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> ssl_;  ///< HTTPS when set (read-only once listening)
  tcp::acceptor acceptor_;  ///< used by accept_thread_ only (shut down by its fd at the end)
  std::thread accept_thread_;
  std::mutex mutex_;  ///< guards stopping_, fds_, threads_, requests_, handshakes_failed_ (and
                      ///< calls policy_)
  std::condition_variable cv_;  ///< stopping_
  bool stopping_ = false;
  std::set<int> fds_;  ///< open connections
  std::vector<std::thread> threads_;
  std::vector<Request> requests_;
  int handshakes_failed_ = 0;
};

HookServer::Policy always(int status) {
  return [status](const HookServer::Request&, std::size_t) { return status; };
}

std::shared_ptr<EventsConfig> fast_config() {
  auto c = std::make_shared<EventsConfig>();
  c->delivery.backoff_initial = 0.05;
  c->delivery.backoff_max = 0.4;
  c->delivery.webhook_timeout = 5;
  return c;
}

// ---- A mosquitto broker (child process) and a subscriber ----

class Broker {
 public:
  /// security: the listener's settings (TLS files, password file).
  explicit Broker(int port, const std::string& security = "allow_anonymous true\n")
      : port_(port), dir_(fh::test::make_temp_dir("mosquitto")) {
    std::ofstream(dir_ + "/mosquitto.conf")
        << "listener " << port_ << " 127.0.0.1\n"
        << security << "persistence true\npersistence_location " << dir_
        << "/\n"
        // As root, mosquitto would switch to its own user, which cannot write dir_.
        << (::getuid() == 0 ? "user root\n" : "");
  }
  void start() {
    child_ = std::make_unique<fh::test::Child>(
        "/usr/sbin/mosquitto", std::vector<std::string>{"-c", dir_ + "/mosquitto.conf"},
        dir_ + "/mosquitto.log");
    const bool up = wait_until(
        [&] {
          asio::io_context io;
          tcp::socket s(io);
          boost::system::error_code ec;
          s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)}, ec);
          return !ec;
        },
        10);
    BOOST_REQUIRE_MESSAGE(
        up, "mosquitto did not start: " + fh::test::read_file(dir_ + "/mosquitto.log"));
  }
  /// SIGTERM: the broker saves its sessions (persistence) and exits.
  void stop() {
    if (!child_) return;
    child_->signal(SIGTERM);
    BOOST_REQUIRE_EQUAL(child_->wait(std::chrono::milliseconds(10000)), 0);
    child_.reset();
  }
  /// SIGKILL: no goodbye, nothing saved.
  void kill() {
    if (!child_) return;
    child_->signal(SIGKILL);
    child_->wait(std::chrono::milliseconds(10000));
    child_.reset();
  }
  int port() const { return port_; }

 private:
  int port_;
  std::string dir_;
  std::unique_ptr<fh::test::Child> child_;
};

class Subscriber {
 public:
  struct Message {
    std::string topic, payload;
    int qos = 0;
    bool retain = false;
  };
  /// clean = false: a durable session (its QoS 1 messages are queued while it is away).
  Subscriber(int port, const std::string& id, bool clean) {
    m_ = mosquitto_new(id.c_str(), clean, this);
    BOOST_REQUIRE(m_);
    mosquitto_connect_callback_set(m_, [](mosquitto* m, void* self, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, "framehive/#", 1);
      static_cast<Subscriber*>(self)->set_subscribed(rc == 0);
    });
    mosquitto_message_callback_set(m_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard<std::mutex> lock(s->mutex_);
      s->messages_.push_back({msg->topic,
                              std::string(static_cast<const char*>(msg->payload),
                                          static_cast<std::size_t>(msg->payloadlen)),
                              msg->qos, msg->retain});
    });
    mosquitto_reconnect_delay_set(m_, 1, 1, false);
    BOOST_REQUIRE_EQUAL(mosquitto_connect(m_, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    BOOST_REQUIRE_EQUAL(mosquitto_loop_start(m_), MOSQ_ERR_SUCCESS);
  }
  ~Subscriber() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }
  std::vector<Message> messages() {
    std::lock_guard<std::mutex> lock(mutex_);
    return messages_;
  }
  /// Ids of the events received on topic.
  std::set<std::string> event_ids(const std::string& topic) {
    std::set<std::string> out;
    for (const auto& m : messages()) {
      if (m.topic == topic) out.insert(fh::master::event_from_json(m.payload).id);
    }
    return out;
  }
  bool has(const std::string& topic, const std::string& payload) {
    for (const auto& m : messages()) {
      if (m.topic == topic && m.payload == payload) return true;
    }
    return false;
  }
  bool subscribed() {
    std::lock_guard<std::mutex> lock(mutex_);
    return subscribed_;
  }

 private:
  void set_subscribed(bool v) {
    std::lock_guard<std::mutex> lock(mutex_);
    subscribed_ = v;
  }
  mosquitto* m_ = nullptr;
  std::mutex mutex_;  ///< guards messages_ and subscribed_ (written by the loop thread)
  std::vector<Message> messages_;
  bool subscribed_ = false;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(event_delivery)

// ---------------- EventStore ----------------

BOOST_AUTO_TEST_CASE(event_json_round_trips_with_the_documented_members) {
  auto e = make_event("e1", "object.zone_enter", 5000, 1000.5);
  e.zone = "door";
  e.seq = 12;
  const auto j = nlohmann::json::parse(fh::master::event_json(e));
  for (const char* k : {"id", "type", "time", "port", "stream", "seq", "track_id", "label",
                        "confidence", "box", "zone", "start", "end", "snapshot_task_id", "rules"}) {
    BOOST_TEST_CONTEXT(k) { BOOST_TEST(j.contains(k)); }
  }
  BOOST_TEST(!j.contains("detail"));
  BOOST_TEST(j["box"]["w"].get<int>() == 30);
  const auto back = fh::master::event_from_json(fh::master::event_json(e));
  BOOST_TEST(fh::master::event_json(back) == fh::master::event_json(e));

  auto c = make_event("c1", "camera.stalled", 5001, 1000);
  const auto jc = nlohmann::json::parse(fh::master::event_json(c));
  BOOST_TEST(!jc.contains("seq"));
  BOOST_TEST(!jc.contains("track_id"));
  BOOST_TEST(!jc.contains("box"));
  BOOST_TEST(jc["detail"].get<std::string>() == "no frame for 10 s");
  BOOST_CHECK_THROW(fh::master::event_from_json("{not json"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(add_and_query_by_port_type_time_cursor_and_limit) {
  EventStore store(":memory:");
  std::vector<EmittedEvent> evs;
  for (int i = 0; i < 10; ++i) {
    const char* type = i % 3 == 0 ? "object.start" : i % 3 == 1 ? "object.end" : "camera.stalled";
    evs.push_back(emitted(make_event("e" + std::to_string(i), type, 5000 + i % 2, 100.0 + i)));
  }
  store.add(evs, 200);
  BOOST_TEST(store.event_count() == 10);

  auto all = store.query({});
  BOOST_REQUIRE_EQUAL(all.size(), 10u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    BOOST_TEST(all[i].id == "e" + std::to_string(i));
    BOOST_TEST(all[i].seq > (i ? all[i - 1].seq : 0));
  }
  EventQuery q;
  q.port = 5001;
  BOOST_TEST(store.query(q).size() == 5u);
  q = {};
  q.type = "object.start";
  BOOST_TEST(store.query(q).size() == 4u);  // e0 e3 e6 e9
  q.type = "object.*";
  BOOST_TEST(store.query(q).size() == 7u);
  q.type = "camera.*";
  BOOST_TEST(store.query(q).size() == 3u);
  q = {};
  q.since = 105;
  BOOST_TEST(store.query(q).size() == 5u);
  q = {};
  q.after_seq = all[6].seq;
  auto after = store.query(q);
  BOOST_REQUIRE_EQUAL(after.size(), 3u);
  BOOST_TEST(after[0].id == "e7");
  q = {};
  q.limit = 2;
  q.newest_first = true;
  auto newest = store.query(q);
  BOOST_REQUIRE_EQUAL(newest.size(), 2u);
  BOOST_TEST(newest[0].id == "e9");
  BOOST_TEST(newest[1].id == "e8");
  q = {};
  q.port = 5000;
  q.type = "object.*";
  q.since = 103;
  BOOST_TEST(store.query(q).size() == 2u);  // e4 (end) e6 (start), e8 is camera
}

BOOST_AUTO_TEST_CASE(adding_an_event_again_adds_nothing) {
  EventStore store(":memory:");
  const auto e = make_event("same", "object.start", 5000, 100);
  store.add({emitted(e, {webhook("http://127.0.0.1:1/a")})}, 100);
  store.add({emitted(e, {webhook("http://127.0.0.1:1/a"), mqtt("framehive/5000/events")})}, 101);
  BOOST_TEST(store.event_count() == 1);
  BOOST_TEST(store.due(200, 100).size() == 1u);
  BOOST_TEST(get(store.stats(200).pending, "webhook") == 1);
  BOOST_TEST(get(store.stats(200).pending, "mqtt") == 0);
}

BOOST_AUTO_TEST_CASE(outbox_due_retry_delivered) {
  EventStore store(":memory:");
  store.add({emitted(make_event("a", "object.start", 5000, 100),
                     {webhook("http://h1/x", "/k"), mqtt("framehive/5000/events")}),
             emitted(make_event("b", "object.end", 5000, 101), {webhook("http://h1/x")})},
            100);
  auto due = store.due(100, 10);
  BOOST_REQUIRE_EQUAL(due.size(), 3u);
  BOOST_TEST(due[0].event_id == "a");
  BOOST_TEST(due[0].delivery.kind == "webhook");
  BOOST_TEST(due[0].delivery.secret_file == "/k");
  BOOST_TEST(due[0].delivery.rule == "r1");
  BOOST_TEST(due[1].delivery.kind == "mqtt");
  BOOST_TEST(due[2].event_id == "b");
  // The body is the stored event with its seq.
  const auto stored = store.query({});
  BOOST_TEST(due[0].body == fh::master::event_json(stored[0]));
  BOOST_TEST(fh::master::event_from_json(due[2].body).seq == stored[1].seq);

  BOOST_TEST(store.due(100, 10, "mqtt").size() == 1u);
  BOOST_TEST(store.due(100, 10, "webhook", 1).size() == 1u);  // one per target
  BOOST_TEST(store.due(99, 10).empty());                      // not due before they were added

  store.retry(due[0].id, 130, "HTTP status 500");
  due = store.due(120, 10);
  BOOST_REQUIRE_EQUAL(due.size(), 2u);
  BOOST_TEST(due[0].delivery.kind == "mqtt");
  due = store.due(130, 10);
  BOOST_REQUIRE_EQUAL(due.size(), 3u);
  BOOST_TEST(due[0].attempts == 1);
  BOOST_TEST(due[0].last_error == "HTTP status 500");

  store.defer_target("webhook", "http://h1/x", 200);
  BOOST_TEST(store.due(150, 10).size() == 1u);  // the mqtt row only

  for (const auto& it : due) store.delivered(it.id);
  store.delivered(due[0].id);  // again: nothing
  const auto s = store.stats(300);
  BOOST_TEST(get(s.pending, "webhook") == 0);
  BOOST_TEST(get(s.delivered, "webhook") == 2);
  BOOST_TEST(get(s.delivered, "mqtt") == 1);
  BOOST_TEST(s.oldest_pending_age == 0.0);
  BOOST_TEST(store.due(1e12, 10).empty());
}

BOOST_AUTO_TEST_CASE(expire_by_age_and_count_and_the_counters_survive_a_reopen) {
  const auto path = fh::test::make_temp_dir("event_store") + "/events.db";
  fh::master::DeliverySettings ds;
  ds.max_age = 100;
  ds.max_pending = 3;
  {
    EventStore store(path);
    std::vector<EmittedEvent> old, fresh;
    for (int i = 0; i < 2; ++i) {
      old.push_back(emitted(make_event("old" + std::to_string(i), "object.start", 5000, 0),
                            {webhook("http://h/x"), mqtt("framehive/5000/events")}));
    }
    for (int i = 0; i < 5; ++i) {
      fresh.push_back(emitted(make_event("new" + std::to_string(i), "object.start", 5000, 0),
                              {webhook("http://h/x")}));
    }
    store.add(old, 1000);
    store.add(fresh, 1050);
    BOOST_TEST(store.stats(1060).oldest_pending_age == 60.0);
    // 9 rows, 6 over the bound: the 4 old ones (2 webhook, 2 mqtt) and 2 fresh.
    BOOST_TEST(store.expire(1060, ds) == 6);
    auto s = store.stats(1060);
    BOOST_TEST(get(s.pending, "webhook") == 3);
    BOOST_TEST(get(s.dropped, "webhook") == 4);
    BOOST_TEST(get(s.dropped, "mqtt") == 2);
    // By age: the rest are older than 100 s at 1151.
    BOOST_TEST(store.expire(1151, ds) == 3);
    BOOST_TEST(get(store.stats(1151).dropped, "webhook") == 7);
  }
  EventStore reopened(path);
  const auto s = reopened.stats(2000);
  BOOST_TEST(get(s.dropped, "webhook") == 7);
  BOOST_TEST(get(s.dropped, "mqtt") == 2);
  BOOST_TEST(s.pending.empty());
  BOOST_TEST(reopened.event_count() == 7);  // the events stay (retention)
}

BOOST_AUTO_TEST_CASE(expire_returns_the_number_dropped) {
  EventStore store(":memory:");
  fh::master::DeliverySettings ds;
  ds.max_pending = 1;
  store.add({emitted(make_event("a", "object.start", 1, 0),
                     {webhook("http://h/x"), webhook("http://h/y")})},
            10);
  BOOST_TEST(store.expire(10, ds) == 1);
  BOOST_TEST(store.due(10, 10).size() == 1u);
  BOOST_TEST(store.due(10, 10)[0].delivery.target == "http://h/y");  // the oldest went
}

BOOST_AUTO_TEST_CASE(snapshots_put_get_bounded_and_pruned) {
  EventStore::Limits limits;
  limits.max_snapshots = 3;
  limits.max_snapshot_bytes = 1000;
  EventStore store(":memory:", limits);
  auto jpeg = [](std::size_t n, std::uint8_t v) {
    return std::make_shared<const std::vector<std::uint8_t>>(n, v);
  };
  BOOST_TEST(!store.snapshot("t1"));
  store.put_snapshot("t1", 5000, jpeg(10, 1), 100);
  store.put_snapshot("t1", 5000, jpeg(20, 2), 101);  // replaced
  auto img = store.snapshot("t1");
  BOOST_REQUIRE(img);
  BOOST_TEST(img->size() == 20u);
  BOOST_TEST((*img)[0] == 2);
  store.put_snapshot("t2", 5000, jpeg(10, 3), 102);
  store.put_snapshot("t3", 5000, jpeg(10, 4), 103);
  store.put_snapshot("t4", 5000, jpeg(10, 5), 104);  // count 4 > 3: t1 goes
  BOOST_TEST(!store.snapshot("t1"));
  BOOST_TEST(store.snapshot("t2"));
  store.put_snapshot("t5", 5000, jpeg(985, 6), 105);  // bytes: 10+10+10+985 > 1000
  BOOST_TEST(!store.snapshot("t2"));
  BOOST_TEST(!store.snapshot("t3"));
  BOOST_TEST(store.snapshot("t4"));  // 10 + 985 fit
  BOOST_TEST(store.snapshot("t5"));

  // Prune: events and snapshots older than retention; an event with a pending delivery stays.
  store.add({emitted(make_event("kept", "object.start", 1, 0), {webhook("http://h/x")}),
             emitted(make_event("gone", "object.start", 1, 0))},
            100);
  store.add({emitted(make_event("young", "object.start", 1, 0))}, 190);
  store.prune(200, 50);
  BOOST_TEST(!store.snapshot("t5"));
  auto left = store.query({});
  BOOST_REQUIRE_EQUAL(left.size(), 2u);
  BOOST_TEST(left[0].id == "kept");
  BOOST_TEST(left[1].id == "young");
}

BOOST_AUTO_TEST_CASE(events_outbox_and_snapshots_survive_close_and_reopen) {
  const auto path = fh::test::make_temp_dir("event_store") + "/events.db";
  std::int64_t seq = 0;
  {
    EventStore store(path);
    store.add({emitted(make_event("a", "object.start", 5000, 100), {webhook("http://h/x")})}, 100);
    store.put_snapshot("t-a", 5000, std::make_shared<const std::vector<std::uint8_t>>(5, 9), 100);
    seq = store.query({})[0].seq;
  }
  EventStore store(path);
  auto evs = store.query({});
  BOOST_REQUIRE_EQUAL(evs.size(), 1u);
  BOOST_TEST(evs[0].seq == seq);
  BOOST_TEST(evs[0].snapshot_task_id == "t-a");
  auto due = store.due(100, 10);
  BOOST_REQUIRE_EQUAL(due.size(), 1u);
  BOOST_TEST(due[0].event_id == "a");
  BOOST_TEST(store.snapshot("t-a"));
  // New events continue the sequence.
  store.add({emitted(make_event("b", "object.start", 5000, 100))}, 100);
  BOOST_TEST(store.query({}).back().seq > seq);
}

// ---------------- Webhooks ----------------

BOOST_AUTO_TEST_CASE(webhooks_are_signed_retried_with_backoff_and_all_delivered) {
  const auto dir = fh::test::make_temp_dir("webhooks");
  std::ofstream(dir + "/secret") << "s3cret\n";
  const int port = fh::test::free_tcp_port();
  constexpr std::size_t k_fail = 5, k_events = 10;
  HookServer server(
      port, [](const HookServer::Request&, std::size_t i) { return i < k_fail ? 500 : 200; });
  EventStore store(":memory:");
  EventDelivery delivery(store, fh::shared::SystemClock::instance(), fast_config());
  delivery.start();
  std::vector<EmittedEvent> evs;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  for (std::size_t i = 0; i < k_events; ++i) {
    evs.push_back(emitted(make_event("w" + std::to_string(i), "object.start", 5000, 100),
                          {webhook(url, dir + "/secret")}));
  }
  store.add(evs, fh::shared::SystemClock::instance().wall());
  delivery.wake();
  BOOST_REQUIRE(wait_until([&] { return server.delivered_ids().size() == k_events; }, 20));
  BOOST_REQUIRE(wait_until([&] { return store.stats(0).pending.empty(); }, 5));

  std::map<std::string, std::string> body_of;
  for (const auto& e : store.query({})) body_of[e.id] = fh::master::event_json(e);
  const auto reqs = server.requests();
  BOOST_TEST(reqs.size() >= k_events + k_fail);
  for (const auto& r : reqs) {
    BOOST_TEST_CONTEXT(r.event_id) {
      BOOST_TEST(r.signature == "sha256=" + hmac_hex("s3cret", r.body));
      BOOST_TEST(r.content_type == "application/json");
      BOOST_TEST(r.event_type == "object.start");
      BOOST_REQUIRE(body_of.count(r.event_id));
      BOOST_TEST(r.body == body_of[r.event_id]);
    }
  }
  const auto s = delivery.stats();
  BOOST_TEST(get(s.failed_attempts, "webhook") == static_cast<std::int64_t>(k_fail));
  BOOST_TEST(get(s.delivered, "webhook") >= static_cast<std::int64_t>(k_events));
  BOOST_TEST(s.last_error == "HTTP status 500");
  BOOST_TEST(get(store.stats(0).delivered, "webhook") >= static_cast<std::int64_t>(k_events));
  // Backoff: 5 failures in a row (at most 2 at a time to the target) back off
  // 0.05 * 2^streak s capped at 0.4, 75-100 % of it: however the failures pair up (at worst
  // {0,1} {2,3} {4 + the first success}: 0.075 + 0.3 s) at least 0.375 s pass before the first
  // success; without a backoff this would take milliseconds.
  Clock::time_point first_ok{};
  for (const auto& r : reqs) {
    if (r.status == 200) {
      first_ok = r.arrived;
      break;
    }
  }
  const double span = std::chrono::duration<double>(first_ok - reqs.front().arrived).count();
  BOOST_TEST_MESSAGE("first request to first success: " << span << " s, " << reqs.size()
                                                        << " requests");
  BOOST_TEST(span >= 0.35);
}

BOOST_AUTO_TEST_CASE(retries_of_one_item_back_off_exponentially_up_to_the_cap) {
  const int port = fh::test::free_tcp_port();
  constexpr std::size_t k_fail = 5;
  HookServer server(
      port, [](const HookServer::Request&, std::size_t i) { return i < k_fail ? 503 : 200; });
  EventStore store(":memory:");
  EventDelivery delivery(store, fh::shared::SystemClock::instance(), fast_config());
  delivery.start();
  store.add({emitted(make_event("one", "object.start", 5000, 100),
                     {webhook("http://127.0.0.1:" + std::to_string(port) + "/")})},
            fh::shared::SystemClock::instance().wall());
  delivery.wake();
  BOOST_REQUIRE(wait_until([&] { return server.delivered_ids().size() == 1u; }, 20));
  // The server answers before the client has recorded the success.
  BOOST_REQUIRE(wait_until([&] { return store.stats(0).pending.empty(); }, 5));
  const auto reqs = server.requests();
  BOOST_REQUIRE_EQUAL(reqs.size(), k_fail + 1);
  for (std::size_t i = 1; i < reqs.size(); ++i) {
    const double gap = std::chrono::duration<double>(reqs[i].arrived - reqs[i - 1].arrived).count();
    const double step = std::min(0.4, 0.05 * std::ldexp(1.0, static_cast<int>(i) - 1));
    BOOST_TEST_MESSAGE("retry " << i << " after " << gap << " s (step " << step << " s)");
    BOOST_TEST(gap >= 0.75 * step - 0.002);
    BOOST_TEST(gap <= step + 0.5);  // due within a fetch after its backoff, not at the 1 s poll
  }
  BOOST_TEST(get(delivery.stats().failed_attempts, "webhook") == static_cast<std::int64_t>(k_fail));
  BOOST_TEST(delivery.stats().backing_off.empty());  // a success ends the target's backoff
}

BOOST_AUTO_TEST_CASE(a_target_that_is_down_gets_everything_once_it_is_up) {
  const int port = fh::test::free_tcp_port();
  EventStore store(":memory:");
  EventDelivery delivery(store, fh::shared::SystemClock::instance(), fast_config());
  delivery.start();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/down";
  std::vector<EmittedEvent> evs;
  for (int i = 0; i < 6; ++i) {
    evs.push_back(
        emitted(make_event("d" + std::to_string(i), "object.end", 5000, 100), {webhook(url)}));
  }
  store.add(evs, fh::shared::SystemClock::instance().wall());
  delivery.wake();
  BOOST_REQUIRE(
      wait_until([&] { return get(delivery.stats().failed_attempts, "webhook") >= 3; }, 10));
  BOOST_TEST(get(store.stats(0).pending, "webhook") == 6);
  BOOST_TEST(!delivery.stats().last_error.empty());
  BOOST_TEST_MESSAGE("while down: " << delivery.stats().last_error);
  HookServer server(port, always(204));
  BOOST_REQUIRE(wait_until([&] { return server.delivered_ids().size() == 6u; }, 10));
  BOOST_REQUIRE(wait_until([&] { return store.stats(0).pending.empty(); }, 5));
  delivery.stop();
}

BOOST_AUTO_TEST_CASE(a_slow_target_does_not_delay_another) {
  const int slow_port = fh::test::free_tcp_port(), fast_port = fh::test::free_tcp_port();
  HookServer slow(slow_port, always(200), 3.0);
  HookServer fast(fast_port, always(200));
  auto cfg = fast_config();
  cfg->delivery.webhook_timeout = 10;
  EventStore store(":memory:");
  EventDelivery delivery(store, fh::shared::SystemClock::instance(), cfg);
  delivery.start();
  std::vector<EmittedEvent> evs;
  const auto slow_url = "http://127.0.0.1:" + std::to_string(slow_port) + "/slow";
  const auto fast_url = "http://127.0.0.1:" + std::to_string(fast_port) + "/fast";
  for (int i = 0; i < 8; ++i) {  // the slow target's rows first: oldest in the outbox
    evs.push_back(emitted(make_event("s" + std::to_string(i), "object.start", 5000, 100),
                          {webhook(slow_url)}));
  }
  for (int i = 0; i < 20; ++i) {
    evs.push_back(emitted(make_event("f" + std::to_string(i), "object.start", 5001, 100),
                          {webhook(fast_url)}));
  }
  const auto t0 = Clock::now();
  store.add(evs, fh::shared::SystemClock::instance().wall());
  delivery.wake();
  BOOST_REQUIRE(wait_until([&] { return fast.delivered_ids().size() == 20u; }, 10));
  const double took = seconds_since(t0);
  BOOST_TEST_MESSAGE("fast target: 20 events in " << took
                                                  << " s while the slow one takes 3 s each");
  BOOST_TEST(took < 1.5);
  BOOST_TEST(slow.requests().empty());  // none of the slow ones finished yet
  delivery.stop();                      // aborts the slow requests in flight: their rows stay
  BOOST_TEST(get(store.stats(0).pending, "webhook") == 8);
}

BOOST_AUTO_TEST_CASE(an_unreadable_secret_file_is_a_failed_attempt) {
  const int port = fh::test::free_tcp_port();
  HookServer server(port, always(200));
  EventStore store(":memory:");
  EventDelivery delivery(store, fh::shared::SystemClock::instance(), fast_config());
  delivery.start();
  store.add(
      {emitted(make_event("x", "object.start", 5000, 100),
               {webhook("http://127.0.0.1:" + std::to_string(port) + "/", "/nonexistent/key")})},
      fh::shared::SystemClock::instance().wall());
  delivery.wake();
  BOOST_REQUIRE(
      wait_until([&] { return get(delivery.stats().failed_attempts, "webhook") >= 2; }, 10));
  BOOST_TEST(delivery.stats().last_error.find("/nonexistent/key") != std::string::npos);
  BOOST_TEST(server.requests().empty());
}

// ---------------- MQTT ----------------

BOOST_AUTO_TEST_CASE(mqtt_events_counts_availability_and_a_broker_restart) {
  const int port = fh::test::free_tcp_port();
  Broker broker(port);
  broker.start();
  Subscriber sub(port, "fh-test-sub", false);
  BOOST_REQUIRE(wait_until([&] { return sub.subscribed(); }, 10));

  auto cfg = fast_config();
  cfg->mqtt.enabled = true;
  cfg->mqtt.port = port;
  cfg->mqtt.keepalive = 5;
  EventStore store(":memory:");
  auto delivery = std::make_unique<EventDelivery>(store, fh::shared::SystemClock::instance(), cfg);
  delivery->start();
  BOOST_REQUIRE(wait_until([&] { return delivery->stats().mqtt_connected; }, 10));
  BOOST_REQUIRE(wait_until([&] { return sub.has("framehive/available", "online"); }, 10));

  const std::string topic = "framehive/5000/events";
  auto add = [&](const std::string& prefix, int n) {
    std::vector<EmittedEvent> evs;
    for (int i = 0; i < n; ++i) {
      evs.push_back(emitted(make_event(prefix + std::to_string(i), "object.start", 5000, 100),
                            {mqtt(topic)}));
    }
    store.add(evs, fh::shared::SystemClock::instance().wall());
    delivery->wake();
  };
  add("m", 10);
  BOOST_REQUIRE(wait_until([&] { return sub.event_ids(topic).size() == 10u; }, 10));
  BOOST_REQUIRE(wait_until([&] { return store.stats(0).pending.empty(); }, 10));
  for (const auto& m : sub.messages()) {
    if (m.topic == topic) BOOST_TEST(m.qos == 1);
  }
  // Bodies are the stored JSON.
  std::map<std::string, std::string> body_of;
  for (const auto& e : store.query({})) body_of[e.id] = fh::master::event_json(e);
  for (const auto& m : sub.messages()) {
    if (m.topic == topic)
      BOOST_TEST(m.payload == body_of[fh::master::event_from_json(m.payload).id]);
  }

  // Counts: retained, latest value; a late subscriber gets them.
  delivery->publish_counts(5000, {{"person", 2}, {"car", 1}});
  delivery->publish_counts(5000, {{"person", 3}});  // car gone: 0
  BOOST_REQUIRE(wait_until([&] { return sub.has("framehive/5000/person", "3"); }, 10));
  BOOST_REQUIRE(wait_until([&] { return sub.has("framehive/5000/car", "0"); }, 10));
  {
    Subscriber late(port, "fh-test-late", true);
    BOOST_REQUIRE(wait_until(
        [&] {
          for (const auto& m : late.messages()) {
            if (m.topic == "framehive/5000/person" && m.payload == "3" && m.retain) return true;
          }
          return false;
        },
        10));
    BOOST_TEST(late.has("framehive/available", "online"));
  }

  // The broker goes away; events added meanwhile wait in the outbox; it comes back: all arrive.
  broker.stop();
  BOOST_REQUIRE(wait_until([&] { return !delivery->stats().mqtt_connected; }, 10));
  add("r", 10);
  BOOST_REQUIRE(wait_until([&] { return get(store.stats(0).pending, "mqtt") == 10; }, 5));
  broker.start();
  const auto t0 = Clock::now();
  BOOST_REQUIRE(wait_until([&] { return sub.event_ids(topic).size() == 20u; }, 60));
  BOOST_TEST_MESSAGE("after the broker restart, all events in " << seconds_since(t0) << " s");
  BOOST_REQUIRE(wait_until([&] { return store.stats(0).pending.empty(); }, 10));
  BOOST_TEST(get(delivery->stats().delivered, "mqtt") >= 20);
  // Counts are published again after the reconnect (the restarted broker kept its retained
  // messages through persistence, so look for a fresh one: a change).
  delivery->publish_counts(5000, {{"person", 4}});
  BOOST_REQUIRE(wait_until([&] { return sub.has("framehive/5000/person", "4"); }, 10));

  // A clean stop says "offline".
  delivery->stop();
  BOOST_REQUIRE(wait_until([&] { return sub.has("framehive/available", "offline"); }, 10));
  delivery.reset();
  broker.stop();
}

BOOST_AUTO_TEST_CASE(mqtt_rows_survive_a_broker_killed_mid_burst) {
  // Rows are deleted only on a PUBACK: whatever the killed broker had not acknowledged is sent
  // again to the restarted one; every row is deleted exactly once, none is dropped.
  const int port = fh::test::free_tcp_port();
  Broker broker(port);
  broker.start();
  auto cfg = fast_config();
  cfg->mqtt.enabled = true;
  cfg->mqtt.port = port;
  EventStore store(":memory:");
  EventDelivery delivery(store, fh::shared::SystemClock::instance(), cfg);
  delivery.start();
  BOOST_REQUIRE(wait_until([&] { return delivery.stats().mqtt_connected; }, 10));
  constexpr int k_events = 3000;
  std::vector<EmittedEvent> evs;
  for (int i = 0; i < k_events; ++i) {
    evs.push_back(emitted(make_event("k" + std::to_string(i), "object.start", 5000, 100),
                          {mqtt("framehive/5000/events")}));
  }
  store.add(evs, fh::shared::SystemClock::instance().wall());
  delivery.wake();
  BOOST_REQUIRE(wait_until([&] { return get(store.stats(0).delivered, "mqtt") > 0; }, 10));
  broker.kill();
  const auto pending = get(store.stats(0).pending, "mqtt");
  BOOST_TEST_MESSAGE("broker killed with " << pending << " of " << k_events << " rows pending");
  BOOST_REQUIRE(wait_until([&] { return !delivery.stats().mqtt_connected; }, 10));
  broker.start();
  BOOST_REQUIRE(wait_until([&] { return store.stats(0).pending.empty(); }, 60));
  const auto s = store.stats(0);
  BOOST_TEST(get(s.delivered, "mqtt") == k_events);
  BOOST_TEST(get(s.dropped, "mqtt") == 0);
  delivery.stop();
  broker.stop();
}

BOOST_AUTO_TEST_CASE(mqtt_waits_for_a_late_broker_and_follows_set_config) {
  const int port_a = fh::test::free_tcp_port(), port_b = fh::test::free_tcp_port();
  Broker a(port_a), b(port_b);
  auto cfg = fast_config();
  cfg->mqtt.enabled = true;
  cfg->mqtt.port = port_a;
  EventStore store(":memory:");
  EventDelivery delivery(store, fh::shared::SystemClock::instance(), cfg);
  delivery.start();  // nothing listens on port_a yet
  BOOST_TEST(!delivery.stats().mqtt_connected);
  a.start();
  BOOST_REQUIRE(wait_until([&] { return delivery.stats().mqtt_connected; }, 20));
  Subscriber sub_a(port_a, "fh-test-a", true);
  BOOST_REQUIRE(wait_until([&] { return sub_a.has("framehive/available", "online"); }, 10));

  b.start();
  Subscriber sub_b(port_b, "fh-test-b", true);
  BOOST_REQUIRE(wait_until([&] { return sub_b.subscribed(); }, 10));
  auto moved = std::make_shared<EventsConfig>(*cfg);
  moved->mqtt.port = port_b;
  delivery.set_config(moved);
  BOOST_REQUIRE(wait_until([&] { return sub_b.has("framehive/available", "online"); }, 10));
  BOOST_TEST(sub_a.has("framehive/available", "offline"));  // the old broker was told
  store.add({emitted(make_event("b1", "object.start", 5000, 100), {mqtt("framehive/5000/events")})},
            fh::shared::SystemClock::instance().wall());
  delivery.wake();
  BOOST_REQUIRE(wait_until(
      [&] { return sub_b.event_ids("framehive/5000/events") == std::set<std::string>{"b1"}; }, 10));
  // An unchanged MQTT section keeps the connection.
  auto same = std::make_shared<EventsConfig>(*moved);
  same->retention = 60;
  delivery.set_config(same);
  delivery.publish_counts(7, {{"dog", 1}});
  BOOST_REQUIRE(wait_until([&] { return sub_b.has("framehive/7/dog", "1"); }, 10));
  int onlines = 0;
  for (const auto& m : sub_b.messages())
    onlines += m.topic == "framehive/available" && m.payload == "online";
  BOOST_TEST(onlines == 1);
  delivery.stop();
  a.stop();
  b.stop();
}

BOOST_AUTO_TEST_CASE(https_webhooks_verify_the_target_against_the_ca_file) {
  const auto dir = fh::test::make_temp_dir("https_hook");
  std::string out;
  const int rc = fh::test::run_command(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -keyout " +
          dir + "/key.pem -out " + dir +
          "/cert.pem -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>&1",
      out);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  std::ofstream(dir + "/secret") << "tls-s3cret\n";
  const int port = fh::test::free_tcp_port();
  HookServer server(port, always(200), HookServer::Tls{dir + "/cert.pem", dir + "/key.pem"});
  // Without the CA (the system's trusted CAs do not know this certificate): refused, retried.
  auto cfg = fast_config();
  EventStore store(":memory:");
  EventDelivery delivery(store, fh::shared::SystemClock::instance(), cfg);
  delivery.start();
  const std::string url = "https://127.0.0.1:" + std::to_string(port) + "/hook";
  store.add(
      {emitted(make_event("tls1", "object.start", 5000, 100), {webhook(url, dir + "/secret")}),
       emitted(make_event("tls2", "object.end", 5000, 101), {webhook(url, dir + "/secret")})},
      fh::shared::SystemClock::instance().wall());
  delivery.wake();
  BOOST_REQUIRE(wait_until([&] { return server.handshakes_failed() > 0; }, 10));
  // The server sees the handshake fail before the client has counted its failed attempt.
  BOOST_REQUIRE(
      wait_until([&] { return get(delivery.stats().failed_attempts, "webhook") >= 1; }, 10));
  BOOST_TEST(server.requests().empty());
  BOOST_TEST(get(store.stats(0).pending, "webhook") == 2);
  // With delivery.ca_file: verified, delivered, signed.
  auto good = std::make_shared<EventsConfig>(*cfg);
  good->delivery.ca_file = dir + "/cert.pem";
  delivery.set_config(good);
  BOOST_REQUIRE(wait_until([&] { return store.stats(0).pending.empty(); }, 15));
  std::set<std::string> ids;
  for (const auto& r : server.requests()) {
    ids.insert(r.event_id);
    BOOST_TEST(r.signature == "sha256=" + hmac_hex("tls-s3cret", r.body));
  }
  BOOST_TEST(ids == (std::set<std::string>{"tls1", "tls2"}));
  delivery.stop();
}

BOOST_AUTO_TEST_CASE(mqtt_over_tls_with_a_password) {
  const auto dir = fh::test::make_temp_dir("mqtt_tls");
  std::string out;
  int rc = fh::test::run_command(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -keyout " +
          dir + "/key.pem -out " + dir +
          "/cert.pem -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>&1",
      out);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  rc = fh::test::run_command("mosquitto_passwd -b -c " + dir + "/passwd fh 'pa ss' 2>&1", out);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  const int port = fh::test::free_tcp_port();
  Broker broker(port, "allow_anonymous false\npassword_file " + dir + "/passwd\ncafile " + dir +
                          "/cert.pem\ncertfile " + dir + "/cert.pem\nkeyfile " + dir +
                          "/key.pem\n");
  broker.start();

  auto cfg = fast_config();
  cfg->mqtt.enabled = true;
  cfg->mqtt.port = port;
  cfg->mqtt.tls = true;
  cfg->mqtt.ca_file = dir + "/cert.pem";
  cfg->mqtt.username = "fh";
  cfg->mqtt.password = "wrong";
  EventStore store(":memory:");
  EventDelivery delivery(store, fh::shared::SystemClock::instance(), cfg);
  delivery.start();
  store.add({emitted(make_event("t1", "object.start", 5000, 100), {mqtt("framehive/5000/events")})},
            fh::shared::SystemClock::instance().wall());
  delivery.wake();
  // A wrong password: refused (a bounded look, the connection would take milliseconds).
  BOOST_TEST(!wait_until([&] { return delivery.stats().mqtt_connected; }, 1.5));
  BOOST_TEST(get(store.stats(0).pending, "mqtt") == 1);
  BOOST_TEST(delivery.stats().last_error.find("not authorised") != std::string::npos);
  auto good = std::make_shared<EventsConfig>(*cfg);
  good->mqtt.password = "pa ss";
  delivery.set_config(good);
  BOOST_REQUIRE(wait_until([&] { return delivery.stats().mqtt_connected; }, 10));
  BOOST_REQUIRE(wait_until([&] { return store.stats(0).pending.empty(); }, 10));
  BOOST_TEST(get(store.stats(0).delivered, "mqtt") == 1);
  delivery.stop();
  broker.stop();
}

BOOST_AUTO_TEST_SUITE_END()

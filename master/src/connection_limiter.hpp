#pragma once
// Admission control of the master's HTTP connections, so that connections that never present
// credentials cannot starve the clients that do. A connection is "unauthenticated" from accept
// until its first request header passed the credentials check (with no secret configured:
// until it sent one complete, valid request header), "authenticated" from then on.
//  - per address: at most per_address connections (of both kinds) from one client address; a
//    new one beyond it closes that address's oldest unauthenticated connection, or is refused
//    when the address has only authenticated ones;
//  - unauthenticated: at most max_unauthenticated in all; a new one beyond it closes the oldest
//    unauthenticated connection (of any address). Legitimate clients send their header at
//    once, so the oldest unauthenticated connections are the idle and the slow ones;
//  - authenticated: at most max_authenticated (--max-conn); authenticate() says no beyond it.
// Thread-safe. Members are evicted through their evict(), called without the lock held.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fh::master {

class ConnectionLimiter {
 public:
  /// A tracked connection.
  class Member {
   public:
    virtual ~Member() = default;
    /// Closes the connection soon (any thread; must not call back into the limiter).
    virtual void evict() = 0;
  };
  using Id = std::uint64_t;  ///< 0: not admitted

  struct Limits {
    std::size_t max_authenticated = 256;     ///< authenticated connections in all
    std::size_t per_address = 256;           ///< connections from one address
    std::size_t max_unauthenticated = 1024;  ///< unauthenticated connections in all
  };
  struct Counters {
    std::size_t authenticated = 0;    ///< now
    std::size_t unauthenticated = 0;  ///< now
    std::uint64_t refused = 0;        ///< new connections refused (address full)
    std::uint64_t evicted = 0;        ///< unauthenticated connections closed for newer ones
    std::uint64_t over_max_conn = 0;  ///< authenticate() said no
  };

  explicit ConnectionLimiter(Limits limits);

  /// Registers a new connection from address; 0 when refused. Evicts as described above.
  Id admit(const std::string& address, std::weak_ptr<Member> member);
  /// Marks it authenticated; false (state unchanged) when max_authenticated are.
  bool authenticate(Id id);
  /// Forgets it (0: no-op).
  void release(Id id);
  /// Evicts every connection (server stop).
  void evict_all();
  Counters counters() const;

 private:
  struct Entry {
    std::string address;                 ///< client address (no port)
    std::weak_ptr<Member> member;        ///< the connection
    bool authenticated = false;          ///< past its first valid header
    std::list<Id>::iterator in_all;      ///< position in unauth_ (unauthenticated only)
    std::list<Id>::iterator in_address;  ///< position in its address's list (idem)
  };
  struct Address {
    std::size_t connections = 0;  ///< of both kinds
    std::list<Id> unauth;         ///< unauthenticated, oldest first
  };
  /// Removes an unauthenticated entry from the queues and the maps; returns its member.
  std::weak_ptr<Member> drop_unauthenticated(Id id);

  const Limits limits_;
  mutable std::mutex mutex_;  ///< guards everything below
  std::unordered_map<Id, Entry> entries_;
  std::unordered_map<std::string, Address> addresses_;
  std::list<Id> unauth_;  ///< unauthenticated, oldest first
  Id next_id_ = 1;
  Counters counters_;
};

}  // namespace fh::master

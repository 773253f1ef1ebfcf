#include "connection_limiter.hpp"

#include <vector>

namespace fh::master {

ConnectionLimiter::ConnectionLimiter(Limits limits) : limits_(limits) {}

std::weak_ptr<ConnectionLimiter::Member> ConnectionLimiter::drop_unauthenticated(Id id) {
  auto it = entries_.find(id);
  auto member = std::move(it->second.member);
  auto a = addresses_.find(it->second.address);
  a->second.unauth.erase(it->second.in_address);
  if (--a->second.connections == 0) addresses_.erase(a);
  unauth_.erase(it->second.in_all);
  entries_.erase(it);
  --counters_.unauthenticated;
  ++counters_.evicted;
  return member;
}

ConnectionLimiter::Id ConnectionLimiter::admit(const std::string& address,
                                               std::weak_ptr<Member> member) {
  std::vector<std::weak_ptr<Member>> victims;
  Id id = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto a = addresses_.find(address);
    if (a != addresses_.end() && a->second.connections >= limits_.per_address) {
      if (a->second.unauth.empty()) {
        ++counters_.refused;
        return 0;
      }
      victims.push_back(drop_unauthenticated(a->second.unauth.front()));
    }
    if (counters_.unauthenticated >= limits_.max_unauthenticated && !unauth_.empty()) {
      victims.push_back(drop_unauthenticated(unauth_.front()));
    }
    id = next_id_++;
    Address& addr = addresses_[address];
    ++addr.connections;
    Entry e;
    e.address = address;
    e.member = std::move(member);
    e.in_all = unauth_.insert(unauth_.end(), id);
    e.in_address = addr.unauth.insert(addr.unauth.end(), id);
    entries_.emplace(id, std::move(e));
    ++counters_.unauthenticated;
  }
  for (auto& v : victims) {
    if (auto m = v.lock()) m->evict();
  }
  return id;
}

bool ConnectionLimiter::authenticate(Id id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;  // evicted meanwhile
  Entry& e = it->second;
  if (e.authenticated) return true;
  if (counters_.authenticated >= limits_.max_authenticated) {
    ++counters_.over_max_conn;
    return false;
  }
  addresses_[e.address].unauth.erase(e.in_address);
  unauth_.erase(e.in_all);
  e.authenticated = true;
  --counters_.unauthenticated;
  ++counters_.authenticated;
  return true;
}

void ConnectionLimiter::release(Id id) {
  if (id == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;  // evicted: already forgotten
  Entry& e = it->second;
  auto a = addresses_.find(e.address);
  if (e.authenticated) {
    --counters_.authenticated;
  } else {
    a->second.unauth.erase(e.in_address);
    unauth_.erase(e.in_all);
    --counters_.unauthenticated;
  }
  if (--a->second.connections == 0) addresses_.erase(a);
  entries_.erase(it);
}

void ConnectionLimiter::evict_all() {
  std::vector<std::weak_ptr<Member>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.reserve(entries_.size());
    for (const auto& [id, e] : entries_) all.push_back(e.member);
  }
  for (auto& v : all) {
    if (auto m = v.lock()) m->evict();
  }
}

ConnectionLimiter::Counters ConnectionLimiter::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

}  // namespace fh::master

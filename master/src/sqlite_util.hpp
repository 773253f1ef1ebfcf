#pragma once
// The SQLite plumbing the master's stores share (result_store.cpp, event_store.cpp): opening a
// connection the same way (WAL, synchronous=NORMAL, a busy timeout), exec and prepare that throw
// with SQLite's message, transactions that roll back on an exception, statement RAII and
// text columns. Free functions on a connection: thread-safe as far as the caller's own lock
// on that connection makes them.

#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace fh::master::sqlite {

/// Finalizes a statement when it goes out of scope.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

inline std::string col_text(sqlite3_stmt* s, int i) {
  const auto* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

inline void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

/// Runs sql; throws std::runtime_error "database: <message> in: <sql>".
inline void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(std::string("database: ") + msg + " in: " + sql);
  }
}

/// A prepared statement (the caller finalizes it, or holds it in a Stmt); throws on error.
inline sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("database: ") + sqlite3_errmsg(db) + " in: " + sql);
  }
  return s;
}

/// Opens (creates) the database at path for one thread at a time (the caller's lock), in WAL
/// mode with synchronous=NORMAL and a 5 s busy timeout (the stores share the file). Throws
/// std::runtime_error "cannot open database 'PATH': ..." and closes what it opened.
inline sqlite3* open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open database '" + path + "': " + msg);
  }
  try {
    sqlite3_busy_timeout(db, 5000);
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "PRAGMA synchronous=NORMAL");
  } catch (const std::exception& e) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open database '" + path + "': " + e.what());
  }
  return db;
}

/// Runs body between begin (e.g. "BEGIN IMMEDIATE") and COMMIT; on an exception rolls back and
/// throws "database: <what>: <reason>".
template <class Body>
void transaction(sqlite3* db, const char* begin, const char* what, Body&& body) {
  exec(db, begin);
  try {
    body();
    exec(db, "COMMIT");
  } catch (const std::exception& e) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw std::runtime_error(std::string("database: ") + what + ": " + e.what());
  }
}

}  // namespace fh::master::sqlite

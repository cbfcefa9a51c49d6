#pragma once
// What the two memcached adapters must share so that they agree on every key: MemcachedStore
// (libmemcached, synchronous: doveadm and the submission process) and AsyncMemcached (our own
// pipelined client: the auth process) are used side by side on the same keys, so both must
// place a key on the same server and encode its expiration the same way. Placement is
// libmemcached's ketama over the configured list in its order; this file builds that
// memcached_st once for both instead of each adapter spelling it out (and drifting apart).

#include "settings.hh" // Server

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

// libmemcached stays out of this header: only the .cc files include it.
struct memcached_st;

namespace account_guard {

struct MemcachedFree {
	void operator()(memcached_st *memc) const;
};
using MemcachedHandle = std::unique_ptr<memcached_st, MemcachedFree>;

// A memcached_st with `servers` added in the given order and the behaviors that decide where a
// key lives (ketama, weighted, MD5) and how keys are checked (binary protocol). Opens no
// socket and resolves no name. `servers_text` receives "host:port,host:port" for messages.
// Throws std::invalid_argument for an empty list, an empty host or port 0, StoreError if
// libmemcached refuses a behavior.
MemcachedHandle create_memcached(const std::vector<Server> &servers, std::string &servers_text);

// Sets one libmemcached behavior (a memcached_behavior_t; int keeps libmemcached out of this
// header). Throws StoreError naming it if libmemcached refuses.
void set_memcached_behavior(memcached_st *memc, int behavior, std::uint64_t value);

// The arguments both adapters take besides the server list: throws std::invalid_argument for a
// non-positive timeout or a negative retry interval.
void check_memcached_timing(std::chrono::milliseconds timeout, std::chrono::seconds retry);

// The expiration field memcached is sent for the port's absolute `expires` (0 = never).
std::time_t memcached_expiration(std::time_t expires);

// "host:port", IPv6 literals in brackets.
std::string server_text(const Server &server);

} // namespace account_guard

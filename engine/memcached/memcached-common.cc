// The server list set-up and the value encodings both memcached adapters share (see
// memcached-common.hh for why they must be one piece of code).
#include "memcached-common.hh"

#include "store.hh" // StoreError

#include <libmemcached/memcached.h>

#include <cstdint>
#include <new>
#include <stdexcept>

namespace account_guard {

namespace {

// memcached reads an expiration of up to 30 days as seconds from now and anything larger as an
// absolute Unix time. The port's `expires` is absolute, and every absolute time after
// 1970-01-31 is larger than 30 days, so it passes through unchanged and means the same on
// every node, whatever its clock says "now" is. Only degenerate values need mapping.
constexpr std::time_t relative_expiration_limit = 60 * 60 * 24 * 30;

} // namespace

void MemcachedFree::operator()(memcached_st *memc) const
{
	memcached_free(memc);
}

MemcachedHandle create_memcached(const std::vector<Server> &servers, std::string &servers_text)
{
	if (servers.empty())
		throw std::invalid_argument("memcached: no servers given");

	// memcached_create() only allocates; nothing here resolves a name or opens a socket.
	MemcachedHandle memc(memcached_create(nullptr));
	if (!memc)
		throw std::bad_alloc();

	servers_text.clear();
	for (const Server &server : servers) {
		if (server.host.empty() || server.host.find('\0') != std::string::npos)
			throw std::invalid_argument("memcached: invalid server host '" +
						    server.host + "'");
		if (server.port == 0)
			throw std::invalid_argument("memcached: invalid port 0 for server " +
						    server.host);
		memcached_return_t rc =
			memcached_server_add(memc.get(), server.host.c_str(), server.port);
		if (memcached_failed(rc))
			throw std::invalid_argument("memcached: cannot add server " +
						    server_text(server) + ": " +
						    memcached_strerror(memc.get(), rc));
		if (!servers_text.empty())
			servers_text += ",";
		servers_text += server_text(server);
	}

	const struct {
		memcached_behavior_t behavior;
		std::uint64_t value;
	} behaviors[] = {
		// Binary values (NUL bytes) and compact, unambiguous framing; libmemcached also
		// checks keys by the binary protocol's rules then.
		{MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1},
		// Ketama (MD5, 160 points per server): adding or removing one server moves only
		// that server's share of the keys, and every node places a key identically.
		{MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1},
	};
	for (const auto &b : behaviors)
		set_memcached_behavior(memc.get(), b.behavior, b.value);
	return memc;
}

void set_memcached_behavior(memcached_st *memc, int behavior, std::uint64_t value)
{
	memcached_return_t rc = memcached_behavior_set(memc, static_cast<memcached_behavior_t>(behavior), value);
	if (memcached_failed(rc))
		throw StoreError("memcached: cannot set behavior " + std::to_string(behavior) + ": " +
				 memcached_strerror(memc, rc));
}

std::time_t memcached_expiration(std::time_t expires)
{
	if (expires == 0)
		return 0;
	// A moment in January 1970 (or before) would be read as "this many seconds from now";
	// and a negative value would wrap around in the protocol's unsigned 32-bit field to a
	// time in 2106. Both are in the past as absolute times, so send the smallest absolute
	// time instead: memcached stores the item as expired, which is what the caller asked.
	if (expires <= relative_expiration_limit)
		return relative_expiration_limit + 1;
	// The binary protocol carries 32 bits; later than 2106 is "never" for all practical ends.
	if (static_cast<std::uint64_t>(expires) > UINT32_MAX)
		return static_cast<std::time_t>(UINT32_MAX);
	return expires;
}

std::string server_text(const Server &server)
{
	// Bracket IPv6 literals so that the port stays readable.
	if (server.host.find(':') != std::string::npos)
		return "[" + server.host + "]:" + std::to_string(server.port);
	return server.host + ":" + std::to_string(server.port);
}

void check_memcached_timing(std::chrono::milliseconds timeout, std::chrono::seconds retry)
{
	if (timeout.count() <= 0)
		throw std::invalid_argument("memcached: the timeout must be positive");
	if (retry.count() < 0)
		throw std::invalid_argument("memcached: the retry interval must not be negative");
}

} // namespace account_guard

#include "memcached-store.hh"

#include <libmemcached/memcached.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <new>
#include <stdexcept>

namespace account_guard {

namespace {

std::int32_t clamp_int32(long long value)
{
	return static_cast<std::int32_t>(std::clamp<long long>(value, 0, INT32_MAX));
}

// libmemcached's message reads "(0x5581f2c0) CONNECTION FAILURE(Connection refused),  host:
// 127.0.0.1:11211 -> ./src/libmemcached/io.cc:145": drop the object address and the source
// location, which mean nothing to a postmaster, and the doubled space.
std::string readable_error(const char *message)
{
	std::string text = message != nullptr ? message : "";
	if (text.rfind("(0x", 0) == 0) {
		std::size_t end = text.find(") ");
		if (end != std::string::npos)
			text.erase(0, end + 2);
	}
	std::size_t at = text.rfind(" -> ");
	if (at != std::string::npos)
		text.erase(at);
	for (std::size_t pos; (pos = text.find("  ")) != std::string::npos;)
		text.erase(pos, 1);
	return text;
}

// Errors of a connection that failed while in use, as opposed to answers of the server.
bool is_connection_error(memcached_return_t rc)
{
	switch (rc) {
	// What memcached_mget() reports when writing its request failed.
	case MEMCACHED_SOME_ERRORS:
	case MEMCACHED_CONNECTION_FAILURE:
	case MEMCACHED_WRITE_FAILURE:
	case MEMCACHED_READ_FAILURE:
	case MEMCACHED_UNKNOWN_READ_FAILURE:
	case MEMCACHED_ERRNO:
		return true;
	default:
		return false;
	}
}

} // namespace

// A result buffer owned by the store. It must not be created by memcached_result_create(memc,
// NULL): memcached_fetch_result() frees such a heap result by itself when it reaches the end of
// the responses, which would leave any owner holding a dangling pointer. A result initialised
// in caller-provided storage is only reset there.
struct MemcachedStore::Result {
	memcached_result_st result{};

	explicit Result(memcached_st *memc)
	{
		if (memcached_result_create(memc, &result) == nullptr)
			throw std::bad_alloc();
	}
	~Result() { memcached_result_free(&result); }
	Result(const Result &) = delete;
	Result &operator=(const Result &) = delete;
};

MemcachedStore::MemcachedStore(const std::vector<Server> &servers,
			       std::chrono::milliseconds timeout, std::chrono::seconds retry)
	: retry_(retry)
{
	if (servers.empty())
		throw std::invalid_argument("memcached: no servers given");
	check_memcached_timing(timeout, retry);

	// The server list and the behaviors that decide placement, shared with AsyncMemcached.
	memc_ = create_memcached(servers, servers_text_);
	memcached_st *memc = memc_.get();
	server_count_ = servers.size();

	const std::int32_t timeout_ms = clamp_int32(timeout.count());
	const std::int32_t timeout_us = clamp_int32(static_cast<long long>(timeout.count()) * 1000);
	const struct {
		memcached_behavior_t behavior;
		std::uint64_t value;
	} behaviors[] = {
		// (The binary protocol and ketama are set by create_memcached().)
		// gets() must return the CAS token that compare_and_swap() presents.
		{MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1},
		// Requests are tiny and each waits for its answer: never let Nagle hold them back
		// (gets() writes its GETKQ and NOOP separately).
		{MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
		// Milliseconds: the poll() for an outstanding connect, and each poll() for
		// writing or reading once connected. These are the bounds that count; the
		// sockets are always non-blocking.
		{MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, static_cast<std::uint64_t>(timeout_ms)},
		{MEMCACHED_BEHAVIOR_POLL_TIMEOUT, static_cast<std::uint64_t>(timeout_ms)},
		// Microseconds: SO_SNDTIMEO/SO_RCVTIMEO. Without effect on non-blocking sockets,
		// set so that no path can block longer than the timeout.
		{MEMCACHED_BEHAVIOR_SND_TIMEOUT, static_cast<std::uint64_t>(timeout_us)},
		{MEMCACHED_BEHAVIOR_RCV_TIMEOUT, static_cast<std::uint64_t>(timeout_us)},
		// The first failed connect (refused or timed out) puts the server "in timeout":
		// calls for its keys fail at once with SERVER_TEMPORARILY_DISABLED until
		// `retry` seconds have passed, then one call tries to connect again.
		{MEMCACHED_BEHAVIOR_SERVER_TIMEOUT_LIMIT, 1},
		{MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, static_cast<std::uint64_t>(
			std::min<long long>(retry.count(), INT32_MAX))},
		// Never eject a failed server from the continuum. Ejection would move its keys
		// to the other servers while it is down and back to it when it returns, where
		// the old values are still stored: a lock written during the outage would vanish
		// and a pre-outage history reappear. An unreachable key is an error the engine's
		// fail mode handles; a silently rehashed one is not. (Without ejection,
		// SERVER_FAILURE_LIMIT and DEAD_TIMEOUT have no effect in libmemcached 1.1.4.)
		{MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0},
	};
	for (const auto &b : behaviors)
		set_memcached_behavior(memc, b.behavior, b.value);

	result_ = std::make_unique<Result>(memc);
}

MemcachedStore::~MemcachedStore() = default;

void MemcachedStore::fail(const char *operation, std::string_view key, int code) const
{
	auto rc = static_cast<memcached_return_t>(code);
	std::string message = "memcached ";
	message += operation;
	message += " '";
	// Keys are short; a long one is a bug, and a message is no place for all of it.
	message += key.substr(0, 80);
	if (key.size() > 80)
		message += "...";
	message += "' failed: ";
	// libmemcached's last error names the server and the system error ("CONNECTION
	// FAILURE(Connection refused), host: 127.0.0.1:11211") when it recorded one for this call;
	// a summary code such as SOME_ERRORS comes without, so give both then.
	const memcached_return_t last = memcached_last_error(memc_.get());
	if (last != rc) {
		message += memcached_strerror(memc_.get(), rc);
		if (last != MEMCACHED_SUCCESS)
			message += ": ";
	}
	if (last != MEMCACHED_SUCCESS)
		message += readable_error(memcached_last_error_message(memc_.get()));
	message += " [servers ";
	message += servers_text_;
	message += "]";
	throw StoreError(message);
}

void MemcachedStore::check_suspended(const char *operation, std::string_view key)
{
	if (suspended_.empty())
		return;
	const auto now = std::chrono::steady_clock::now();
	suspended_.erase(std::remove_if(suspended_.begin(), suspended_.end(),
					[now](const auto &s) { return s.second <= now; }),
			 suspended_.end());
	if (suspended_.empty())
		return;
	const memcached_instance_st *server =
		memcached_server_by_key(memc_.get(), key.data(), key.size(), nullptr);
	for (const auto &s : suspended_) {
		if (s.first != server)
			continue;
		throw StoreError(std::string("memcached ") + operation + " '" + std::string(key) +
				 "' failed: server " + memcached_server_name(server) + ":" +
				 std::to_string(memcached_server_port(server)) +
				 " timed out; skipped for " + std::to_string(retry_.count()) +
				 " s [servers " + servers_text_ + "]");
	}
}

bool MemcachedStore::again(int code, std::string_view key, int &attempts)
{
	auto rc = static_cast<memcached_return_t>(code);
	attempts++;
	if (rc == MEMCACHED_TIMEOUT) {
		const memcached_instance_st *server =
			memcached_server_by_key(memc_.get(), key.data(), key.size(), nullptr);
		if (server != nullptr)
			suspended_.emplace_back(server, std::chrono::steady_clock::now() + retry_);
		return false;
	}
	// Only a connection that was open and then closed by the server, which is how a restart
	// of memcached (or an idle connection dropped on the way) shows: end of file, reset, broken
	// pipe. The process behind such a connection is gone, so the request was not applied and
	// sending it again on a new connection does not apply it twice. (A server that applied it
	// and then died has lost all its data anyway.) Without this, every process would fail
	// one call after each memcached restart. A refused or timed-out connect is not retried.
	if (attempts > 1 || !is_connection_error(rc))
		return false;
	const int error = memcached_last_error_errno(memc_.get());
	return error == 0 || error == ECONNRESET || error == EPIPE || error == ECONNABORTED;
}

std::optional<Versioned> MemcachedStore::gets(std::string_view key)
{
	const char *keys[] = {key.data()};
	const std::size_t lengths[] = {key.size()};
	std::optional<Versioned> found;
	fetch(key, keys, lengths, 1, [&](std::string_view, Versioned &&v) { found = std::move(v); });
	return found;
}

template <typename OnResult>
void MemcachedStore::fetch(std::string_view anchor, const char *const *keys, const std::size_t *lengths,
			   std::size_t count, OnResult &&on_result)
{
	check_suspended("gets", anchor);
	memcached_st *memc = memc_.get();
	memcached_return_t rc;
	auto attempt = [&]() {
		// In the binary protocol this sends a GETKQ per key (silent on a miss) and NOOP,
		// whose answer ends the reply: one round trip for hits and misses alike, all keys
		// on `anchor`'s server.
		rc = memcached_mget_by_key(memc, anchor.data(), anchor.size(), keys, lengths, count);
		if (rc != MEMCACHED_SUCCESS)
			return rc;
		memcached_result_st *result;
		// Read to the end even after a hit so that no response stays queued.
		while ((result = memcached_fetch_result(memc, &result_->result, &rc)) != nullptr) {
			on_result(std::string_view(memcached_result_key_value(result),
						   memcached_result_key_length(result)),
				  Versioned{std::string(memcached_result_value(result), memcached_result_length(result)),
					    memcached_result_cas(result)});
		}
		return rc == MEMCACHED_NOTFOUND ? MEMCACHED_END : rc;
	};
	int attempts = 0;
	while (attempt() != MEMCACHED_END) {
		if (!again(rc, anchor, attempts))
			fail("gets", anchor, rc);
	}
}

CasResult MemcachedStore::compare_and_swap(std::string_view key, std::string_view value,
					   std::uint64_t cas, std::time_t expires)
{
	const char *operation = cas != 0 ? "cas" : "add";
	check_suspended(operation, key);
	memcached_return_t rc;
	int attempts = 0;
	do {
		if (cas != 0)
			rc = memcached_cas(memc_.get(), key.data(), key.size(), value.data(),
					   value.size(), memcached_expiration(expires), 0, cas);
		else
			rc = memcached_add(memc_.get(), key.data(), key.size(), value.data(),
					   value.size(), memcached_expiration(expires), 0);
	} while (rc != MEMCACHED_SUCCESS && again(rc, key, attempts));
	switch (rc) {
	case MEMCACHED_SUCCESS:
		return CasResult::stored;
	// Changed since gets() (DATA_EXISTS), deleted or expired since (NOTFOUND), or created
	// by someone else when we expected it absent (DATA_EXISTS or NOTSTORED for add).
	case MEMCACHED_DATA_EXISTS:
	case MEMCACHED_NOTFOUND:
	case MEMCACHED_NOTSTORED:
		return CasResult::conflict;
	default:
		fail(operation, key, rc);
	}
}

void MemcachedStore::set(std::string_view key, std::string_view value, std::time_t expires)
{
	check_suspended("set", key);
	memcached_return_t rc;
	int attempts = 0;
	do {
		rc = memcached_set(memc_.get(), key.data(), key.size(), value.data(), value.size(),
				   memcached_expiration(expires), 0);
	} while (rc != MEMCACHED_SUCCESS && again(rc, key, attempts));
	if (rc != MEMCACHED_SUCCESS)
		fail("set", key, rc);
}

bool MemcachedStore::add(std::string_view key, std::string_view value, std::time_t expires)
{
	return add_with(key, key, value, expires); // placed by its own key: memcached_add
}

bool MemcachedStore::same_server(std::string_view a, std::string_view b)
{
	// Placement is a pure function of the key and the server list (ketama): no I/O.
	memcached_return_t rc_a, rc_b;
	const memcached_instance_st *server_a = memcached_server_by_key(memc_.get(), a.data(), a.size(), &rc_a);
	const memcached_instance_st *server_b = memcached_server_by_key(memc_.get(), b.data(), b.size(), &rc_b);
	return server_a == server_b;
}

void MemcachedStore::remove(std::string_view key)
{
	remove_with(key, key); // placed by its own key: memcached_delete
}

VersionedPair MemcachedStore::gets_with(std::string_view key, std::string_view companion)
{
	const char *keys[] = {key.data(), companion.data()};
	const std::size_t lengths[] = {key.size(), companion.size()};
	VersionedPair found;
	fetch(key, keys, lengths, 2, [&](std::string_view got, Versioned &&v) {
		if (got == key)
			found.first = std::move(v);
		else if (got == companion)
			found.second = std::move(v);
	});
	return found;
}

bool MemcachedStore::add_with(std::string_view anchor, std::string_view key, std::string_view value,
			      std::time_t expires)
{
	check_suspended("add", anchor);
	memcached_return_t rc;
	int attempts = 0;
	do {
		rc = memcached_add_by_key(memc_.get(), anchor.data(), anchor.size(), key.data(), key.size(),
					  value.data(), value.size(), memcached_expiration(expires), 0);
	} while (rc != MEMCACHED_SUCCESS && again(rc, anchor, attempts));
	switch (rc) {
	case MEMCACHED_SUCCESS:
		return true;
	case MEMCACHED_DATA_EXISTS:
	case MEMCACHED_NOTSTORED:
		return false;
	default:
		fail("add", key, rc);
	}
}

bool MemcachedStore::append_with(std::string_view anchor, std::string_view key, std::string_view value)
{
	check_suspended("append", anchor);
	memcached_return_t rc;
	int attempts = 0;
	do {
		rc = memcached_append_by_key(memc_.get(), anchor.data(), anchor.size(), key.data(),
					     key.size(), value.data(), value.size(), 0, 0);
	} while (rc != MEMCACHED_SUCCESS && again(rc, anchor, attempts));
	switch (rc) {
	case MEMCACHED_SUCCESS:
		return true;
	case MEMCACHED_NOTSTORED: // no item to append to
	case MEMCACHED_NOTFOUND:
		return false;
	default:
		fail("append", key, rc);
	}
}

void MemcachedStore::remove_with(std::string_view anchor, std::string_view key)
{
	check_suspended("delete", anchor);
	memcached_return_t rc;
	int attempts = 0;
	do {
		rc = memcached_delete_by_key(memc_.get(), anchor.data(), anchor.size(), key.data(), key.size(), 0);
	} while (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND && again(rc, anchor, attempts));
	if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND)
		fail("delete", key, rc);
}

} // namespace account_guard

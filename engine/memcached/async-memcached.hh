#pragma once
// The production adapter of the AsyncStore port: a memcached client that never blocks, for the
// auth process, which serves every login of the node from one Dovecot ioloop. It owns one
// non-blocking TCP connection per server and is driven by the caller's loop in the manner of
// libcurl's multi interface: it says which sockets to watch and when to fire its one timer
// (IoHooks), the caller reports readiness (on_io, on_timer). Requests are only appended to a
// connection's buffer when made; everything accumulated is written with one write() when the
// socket is reported writable, and the answers (binary protocol, in order) are read with large
// reads. So the logins that arrive in one loop turn cost one write and about one read per
// server, instead of a blocking round trip each. Placement and the failure rules (timeouts,
// suspension, one resend after a restart) are those of MemcachedStore, which doveadm and the
// submission process keep using on the same keys.

#include "async-store.hh"
#include "memcached-common.hh"
#include "settings.hh" // Server

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// libmemcached stays out of this header: only the .cc includes it.
struct memcached_instance_st;

namespace account_guard {

// Bits of IoHooks::watch's `events` and of AsyncMemcached::on_io's `ready`.
constexpr unsigned io_read = 1;
constexpr unsigned io_write = 2;

// What AsyncMemcached needs from the caller's event loop. Called from inside AsyncMemcached's
// methods (also from inside a request call); neither hook may call back into it.
struct IoHooks {
	// Watch `fd` for the events in `events` (io_read | io_write) and report them through
	// on_io() (level-triggered: again on every loop turn while the condition holds);
	// 0 = stop watching fd (always before the fd is closed). Called only when the wanted set
	// of an fd changes.
	std::function<void(int fd, unsigned events)> watch;
	// (Re)arm the single one-shot timer to call on_timer() after `ms` milliseconds (0 = on the
	// next loop turn), replacing any earlier setting; -1 disarms it. Once it has fired it is
	// disarmed until armed again. A timer that fires early or needlessly does no harm.
	std::function<void(int ms)> timer;
};

// One connection per server, opened on the first request for one of its keys (never in the
// constructor). Single-threaded; not to be carried across fork() once used. Must not be
// destroyed from inside a waiter's on_reply, and on_reply must not throw.
class AsyncMemcached final : public AsyncStore {
public:
	// `timeout` bounds each request (from the call to its answer, including a connect) and a
	// connect: when the oldest unanswered request of a connection is older, all of that
	// connection's requests fail, it is closed, and its server is skipped (requests for its
	// keys fail at once) for `retry`; so is a server that refuses the connection. A
	// connection the server closed (memcached restarted) is reopened and its unanswered
	// requests are sent once more. Server names are resolved (getaddrinfo, blocking) once, by
	// resolve_servers() or else at the first connect, and the addresses kept for every
	// reconnect; numeric addresses cost nothing.
	// Throws std::invalid_argument for an empty server list, an empty host, port 0, a
	// non-positive timeout, a negative retry or a missing hook.
	// Timeouts, suspensions and after() run on `now` (tests inject a fake clock; the
	// caller's timer still fires in real time, and an early or needless one does no harm).
	using Now = std::function<std::chrono::steady_clock::time_point()>;
	AsyncMemcached(const std::vector<Server> &servers, std::chrono::milliseconds timeout,
		       IoHooks hooks, std::chrono::seconds retry = std::chrono::seconds(2),
		       Now now = std::chrono::steady_clock::now);
	// Closes every connection (unwatching its fd first), disarms the timer and drops every
	// outstanding request without answering it.
	~AsyncMemcached() override;

	AsyncMemcached(const AsyncMemcached &) = delete;
	AsyncMemcached &operator=(const AsyncMemcached &) = delete;

	// The caller's loop: `fd` is ready for the events in `ready` (io_read | io_write; an
	// error or hang-up counts as both). Unknown fds are ignored.
	void on_io(int fd, unsigned ready);
	// The caller's loop: the timer fired.
	void on_timer();
	// Resolves every server name now (blocking), so that no connect later has to: for a
	// process's start-up. A name that does not resolve is tried again at its first connect.
	void resolve_servers();

	void gets(std::string_view key, StoreWaiter &waiter) override;
	void compare_and_swap(std::string_view key, std::string_view value, std::uint64_t cas,
			      std::time_t expires, StoreWaiter &waiter) override;
	void set(std::string_view key, std::string_view value, std::time_t expires,
		 StoreWaiter &waiter) override;
	void remove(std::string_view key, StoreWaiter &waiter) override;
	void gets_with(std::string_view key, std::string_view companion, StoreWaiter &waiter) override;
	void add_with(std::string_view anchor, std::string_view key, std::string_view value,
		      std::time_t expires, StoreWaiter &waiter) override;
	void append_with(std::string_view anchor, std::string_view key, std::string_view value,
			 StoreWaiter &waiter) override;
	void remove_with(std::string_view anchor, std::string_view key, StoreWaiter &waiter) override;
	void after(std::chrono::microseconds delay, StoreWaiter &waiter) override;
	std::chrono::steady_clock::time_point now() override { return now_(); }
	bool same_server(std::string_view a, std::string_view b) override;
	std::size_t server_count() const override { return connections_.size(); }

	// "host:port,host:port", as used in error messages.
	const std::string &servers_text() const { return servers_text_; }
	// The position in the server list of the server that holds `key` (as MemcachedStore
	// places it), or server_count() if the key cannot be placed (empty, too long).
	std::size_t server_of(std::string_view key);

	// Counters for tests and benchmarks.
	struct Stats {
		std::uint64_t requests = 0; // memcached requests made (not after())
		std::uint64_t writes = 0;   // write system calls
		std::uint64_t reads = 0;    // read system calls
		std::uint64_t resolutions = 0;      // getaddrinfo() calls
		std::uint64_t connect_attempts = 0; // connect() calls
		std::uint64_t connects = 0;         // connections established
		std::uint64_t resent = 0;   // requests sent again after the server closed
		std::uint64_t timeouts = 0; // connections failed for a timeout
	};
	const Stats &stats() const { return stats_; }

private:
	using Clock = std::chrono::steady_clock;
	enum class Op : std::uint8_t { gets, cas, add, set, remove, gets_with, append };

	struct Request {
		StoreWaiter *waiter = nullptr;
		Op op = Op::gets;
		bool resent = false;
		std::uint32_t opaque = 0;
		Clock::time_point deadline;
		std::string encoded; // the request as sent (key and value included)
		// gets_with: the companion's GETQ goes first (opaque - 1), so its answer, if any,
		// comes before the GET's, which ends the request; `main_at` is where the GET starts.
		std::size_t main_at = 0;
		bool companion_hit = false;
		std::string companion_value;
		std::uint64_t companion_cas = 0;
	};
	struct Connection {
		enum class State : std::uint8_t { closed, connecting, open };
		std::size_t index = 0; // in servers_
		int fd = -1;
		State state = State::closed;
		unsigned watched = 0; // what hooks_.watch was last told for fd
		// Requests in order: written or not, all unanswered.
		std::deque<Request> pending;
		// Bytes to write: out[out_sent..] (a resend rebuilds it from `pending`).
		std::string out;
		std::size_t out_sent = 0;
		// Bytes read and not yet parsed: in[in_begin..in_end].
		std::vector<char> in;
		std::size_t in_begin = 0, in_end = 0;
		std::uint32_t next_opaque = 0;
		Clock::time_point connect_deadline;
		// The resolved addresses (struct sockaddr bytes) of the connect under way and the
		// next one to try; the last connect error.
		std::vector<std::string> addresses;
		std::vector<std::string> resolved; // the server name's addresses, once known
		std::size_t next_address = 0;
		std::string connect_error;
		// After a timeout or refused connect: until when requests fail at once, and why.
		Clock::time_point suspended_until;
		std::string suspended_detail;
	};
	// An answer that could not be given where it was found (inside a request call) or whose
	// connection is gone: delivered by deliver_queued().
	struct Queued {
		StoreWaiter *waiter;
		std::string error;
	};

	// `anchor`: the key whose server gets the request (the key itself, or the account
	// record's key for the items placed with it).
	template <typename Encode>
	void request(Op op, std::string_view anchor, StoreWaiter &waiter, Encode &&encode);
	std::string message(Op op, std::string_view key, std::string_view detail) const;
	void fail_later(StoreWaiter &waiter, Op op, std::string_view key, std::string_view detail);

	bool resolve(Connection &c);
	bool start_connect(Connection &c);
	bool try_addresses(Connection &c);
	void finish_connect(Connection &c);
	void established(Connection &c);
	void connect_failed(Connection &c);
	void read_from(Connection &c);
	bool parse(Connection &c);
	void answer(const Request &r, std::uint16_t status, std::string_view value,
		    std::uint64_t cas, const Connection &c);
	void flush(Connection &c);
	void lost(Connection &c, std::string_view detail);
	void io_failed(Connection &c, const char *doing, int error);
	void fail_connection(Connection &c, const std::string &detail, bool suspend);
	void close_fd(Connection &c);     // the socket only
	void close_socket(Connection &c); // and the buffers
	void want(Connection &c, unsigned events);
	void deliver_queued();
	void update_timer();

	std::vector<Server> servers_;
	MemcachedHandle placement_; // libmemcached, for memcached_server_by_key() only: no I/O
	std::vector<const memcached_instance_st *> instances_; // placement_'s, by position
	std::string servers_text_;
	std::chrono::milliseconds timeout_;
	std::chrono::seconds retry_;
	IoHooks hooks_;
	Now now_;
	std::vector<Connection> connections_; // by server position; never resized
	std::deque<Queued> queued_;
	// after(): equal times in call order.
	std::multimap<Clock::time_point, StoreWaiter *> timers_;
	bool timer_armed_ = false;
	Clock::time_point timer_at_;
	Stats stats_;
};

} // namespace account_guard

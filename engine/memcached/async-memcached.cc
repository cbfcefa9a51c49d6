// AsyncMemcached (see async-memcached.hh): the connection state machine, the request queue of
// each connection and the single timer. Answers are given only from on_io() and on_timer(),
// never from inside a request call; everything that is known at call time (a suspended server,
// a refused connect, a bad key) is queued and delivered from the next loop turn.
#include "async-memcached.hh"

#include "memcached-protocol.hh"

#include <libmemcached/memcached.h>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace account_guard {

namespace proto = memcached_protocol;

namespace {

// One read() takes up to this much: the answers to a whole loop turn's requests at once.
constexpr std::size_t read_chunk = 64 * 1024;
// Written bytes are dropped from the front of the output buffer once they are this many.
constexpr std::size_t out_compact = 64 * 1024;

const char *operation_name(int op)
{
	static const char *const names[] = {"gets", "cas", "add", "set", "delete", "gets", "append"};
	return names[op];
}

std::string errno_text(int error)
{
	return std::strerror(error);
}

} // namespace

AsyncMemcached::AsyncMemcached(const std::vector<Server> &servers,
			       std::chrono::milliseconds timeout, IoHooks hooks,
			       std::chrono::seconds retry, Now now)
	: servers_(servers), timeout_(timeout), retry_(retry), hooks_(std::move(hooks)),
	  now_(std::move(now))
{
	if (servers.empty())
		throw std::invalid_argument("memcached: no servers given");
	check_memcached_timing(timeout, retry);
	if (!hooks_.watch || !hooks_.timer)
		throw std::invalid_argument("memcached: the I/O hooks must be set");
	if (!now_)
		throw std::invalid_argument("memcached: no clock given");

	// The same list and placement behaviors as MemcachedStore; this memcached_st never
	// connects, it only answers memcached_server_by_key().
	placement_ = create_memcached(servers, servers_text_);
	const std::uint32_t count = memcached_server_count(placement_.get());
	for (std::uint32_t i = 0; i < count; i++)
		instances_.push_back(memcached_server_instance_by_position(placement_.get(), i));
	if (instances_.size() != servers.size())
		throw std::invalid_argument("memcached: libmemcached holds " +
					    std::to_string(instances_.size()) + " servers for " +
					    std::to_string(servers.size()) + " given");

	connections_.resize(servers.size());
	for (std::size_t i = 0; i < connections_.size(); i++)
		connections_[i].index = i;
}

AsyncMemcached::~AsyncMemcached()
{
	for (Connection &c : connections_) {
		if (c.fd < 0)
			continue;
		if (c.watched != 0)
			hooks_.watch(c.fd, 0);
		::close(c.fd);
	}
	if (timer_armed_)
		hooks_.timer(-1);
}

std::size_t AsyncMemcached::server_of(std::string_view key)
{
	if (key.empty() || key.size() > proto::max_key_length)
		return connections_.size();
	// Ketama over one server is that server; spare the MD5.
	if (connections_.size() == 1)
		return 0;
	memcached_return_t rc;
	const memcached_instance_st *instance =
		memcached_server_by_key(placement_.get(), key.data(), key.size(), &rc);
	for (std::size_t i = 0; i < instances_.size(); i++)
		if (instances_[i] == instance)
			return i;
	return connections_.size();
}

bool AsyncMemcached::same_server(std::string_view a, std::string_view b)
{
	return server_of(a) == server_of(b);
}

std::string AsyncMemcached::message(Op op, std::string_view key, std::string_view detail) const
{
	std::string text = "memcached ";
	text += operation_name(static_cast<int>(op));
	text += " '";
	// Keys are short; a long one is a bug, and a message is no place for all of it.
	text += key.substr(0, 80);
	if (key.size() > 80)
		text += "...";
	text += "' failed: ";
	text += detail;
	text += " [servers ";
	text += servers_text_;
	text += "]";
	return text;
}

void AsyncMemcached::fail_later(StoreWaiter &waiter, Op op, std::string_view key,
				std::string_view detail)
{
	queued_.push_back(Queued{&waiter, message(op, key, detail)});
}

// ---- requests

template <typename Encode>
void AsyncMemcached::request(Op op, std::string_view anchor, StoreWaiter &waiter, Encode &&encode)
{
	const std::string_view key = anchor;
	stats_.requests++;
	const std::size_t index = server_of(key);
	if (index >= connections_.size()) {
		fail_later(waiter, op, key,
			   key.empty() || key.size() > proto::max_key_length
				   ? "the key is empty or longer than 250 bytes"
				   : "libmemcached cannot place the key");
		update_timer();
		return;
	}
	Connection &c = connections_[index];
	const auto now = now_();
	if (c.state == Connection::State::closed && now < c.suspended_until) {
		fail_later(waiter, op, key, c.suspended_detail);
		update_timer();
		return;
	}

	Request r;
	r.waiter = &waiter;
	r.op = op;
	r.opaque = c.next_opaque++;
	r.deadline = now + timeout_;
	if (op == Op::gets_with)
		r.opaque = c.next_opaque++; // opaque - 1 is the companion's
	r.main_at = encode(r.encoded, r.opaque);
	c.out.append(r.encoded);
	c.pending.push_back(std::move(r));

	switch (c.state) {
	case Connection::State::open:
		want(c, io_read | io_write);
		break;
	case Connection::State::connecting:
		break; // written once connected
	case Connection::State::closed:
		if (!start_connect(c))
			connect_failed(c);
		break;
	}
	update_timer();
}

void AsyncMemcached::gets(std::string_view key, StoreWaiter &waiter)
{
	request(Op::gets, key, waiter, [&](std::string &out, std::uint32_t opaque) {
		proto::append_get(out, key, opaque);
		return std::size_t{0};
	});
}

void AsyncMemcached::compare_and_swap(std::string_view key, std::string_view value,
				      std::uint64_t cas, std::time_t expires, StoreWaiter &waiter)
{
	const auto expiration = static_cast<std::uint32_t>(memcached_expiration(expires));
	// cas 0 = "only if absent": ADD; else SET that memcached applies only while the item
	// still has that cas.
	request(cas != 0 ? Op::cas : Op::add, key, waiter,
		[&](std::string &out, std::uint32_t opaque) {
			proto::append_store(out, cas != 0 ? proto::op_set : proto::op_add, key,
					    value, expiration, cas, opaque);
			return std::size_t{0};
		});
}

void AsyncMemcached::set(std::string_view key, std::string_view value, std::time_t expires,
			 StoreWaiter &waiter)
{
	const auto expiration = static_cast<std::uint32_t>(memcached_expiration(expires));
	request(Op::set, key, waiter, [&](std::string &out, std::uint32_t opaque) {
		proto::append_store(out, proto::op_set, key, value, expiration, 0, opaque);
		return std::size_t{0};
	});
}

void AsyncMemcached::remove(std::string_view key, StoreWaiter &waiter)
{
	request(Op::remove, key, waiter, [&](std::string &out, std::uint32_t opaque) {
		proto::append_delete(out, key, opaque);
		return std::size_t{0};
	});
}

void AsyncMemcached::gets_with(std::string_view key, std::string_view companion, StoreWaiter &waiter)
{
	if (companion.empty() || companion.size() > proto::max_key_length) {
		stats_.requests++;
		fail_later(waiter, Op::gets_with, companion, "the key is empty or longer than 250 bytes");
		update_timer();
		return;
	}
	request(Op::gets_with, key, waiter, [&](std::string &out, std::uint32_t opaque) {
		proto::append_getq(out, companion, opaque - 1);
		const std::size_t main_at = out.size();
		proto::append_get(out, key, opaque);
		return main_at;
	});
}

void AsyncMemcached::add_with(std::string_view anchor, std::string_view key, std::string_view value,
			      std::time_t expires, StoreWaiter &waiter)
{
	const auto expiration = static_cast<std::uint32_t>(memcached_expiration(expires));
	request(Op::add, anchor, waiter, [&](std::string &out, std::uint32_t opaque) {
		proto::append_store(out, proto::op_add, key, value, expiration, 0, opaque);
		return std::size_t{0};
	});
}

void AsyncMemcached::append_with(std::string_view anchor, std::string_view key, std::string_view value,
				 StoreWaiter &waiter)
{
	request(Op::append, anchor, waiter, [&](std::string &out, std::uint32_t opaque) {
		proto::append_append(out, key, value, opaque);
		return std::size_t{0};
	});
}

void AsyncMemcached::remove_with(std::string_view anchor, std::string_view key, StoreWaiter &waiter)
{
	request(Op::remove, anchor, waiter, [&](std::string &out, std::uint32_t opaque) {
		proto::append_delete(out, key, opaque);
		return std::size_t{0};
	});
}

void AsyncMemcached::after(std::chrono::microseconds delay, StoreWaiter &waiter)
{
	const auto now = now_();
	timers_.emplace(delay.count() > 0 ? now + delay : now, &waiter);
	update_timer();
}

// ---- connecting

bool AsyncMemcached::resolve(Connection &c)
{
	const Server &server = servers_[c.index];
	addrinfo hints{};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	addrinfo *found = nullptr;
	const std::string port = std::to_string(server.port);
	stats_.resolutions++;
	const int rc = getaddrinfo(server.host.c_str(), port.c_str(), &hints, &found);
	if (rc != 0) {
		c.connect_error = std::string("cannot resolve: ") +
				  (rc == EAI_SYSTEM ? errno_text(errno) : gai_strerror(rc));
		return false;
	}
	c.resolved.clear();
	for (addrinfo *ai = found; ai != nullptr; ai = ai->ai_next)
		c.resolved.emplace_back(reinterpret_cast<const char *>(ai->ai_addr), ai->ai_addrlen);
	freeaddrinfo(found);
	if (c.resolved.empty()) {
		c.connect_error = "cannot resolve: no address";
		return false;
	}
	return true;
}

void AsyncMemcached::resolve_servers()
{
	for (Connection &c : connections_) {
		if (c.resolved.empty())
			(void)resolve(c); // a failure is tried again, and reported, at connect
	}
}

bool AsyncMemcached::start_connect(Connection &c)
{
	c.addresses.clear();
	c.next_address = 0;
	c.connect_error.clear();
	// Resolved once: a name lookup blocks, and a reconnect must never stall the process
	// (resolve_servers() does it at start-up; a name that failed then is tried here).
	if (c.resolved.empty() && !resolve(c))
		return false;
	c.addresses = c.resolved;
	return try_addresses(c);
}

// Starts a connect to the next address: true if under way or done, false if none is left.
bool AsyncMemcached::try_addresses(Connection &c)
{
	while (c.next_address < c.addresses.size()) {
		const std::string &address = c.addresses[c.next_address++];
		const auto *sa = reinterpret_cast<const sockaddr *>(address.data());
		int fd = ::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			c.connect_error = errno_text(errno);
			continue;
		}
		// Requests are small and a whole batch goes out in one write: Nagle would only
		// hold back the last segment.
		stats_.connect_attempts++;
		const int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (::connect(fd, sa, static_cast<socklen_t>(address.size())) == 0) {
			c.fd = fd;
			established(c);
			return true;
		}
		if (errno == EINPROGRESS || errno == EINTR) {
			c.fd = fd;
			c.state = Connection::State::connecting;
			c.connect_deadline = now_() + timeout_;
			want(c, io_write);
			return true;
		}
		c.connect_error = errno_text(errno);
		::close(fd);
	}
	return false;
}

void AsyncMemcached::finish_connect(Connection &c)
{
	int error = 0;
	socklen_t length = sizeof(error);
	if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
		error = errno;
	if (error == 0) {
		established(c);
		// The socket is writable: send what waited for the connect now.
		flush(c);
		return;
	}
	c.connect_error = errno_text(error);
	// Only the socket goes: the requests wait in `out` for the next address.
	close_fd(c);
	if (!try_addresses(c))
		connect_failed(c);
}

void AsyncMemcached::established(Connection &c)
{
	c.state = Connection::State::open;
	c.addresses.clear();
	stats_.connects++;
	// Watch for reading all the time, also when idle: a server that goes away is noticed
	// (end of file) before the next request is sent to it.
	want(c, c.out_sent < c.out.size() ? io_read | io_write : io_read);
}

void AsyncMemcached::connect_failed(Connection &c)
{
	std::string detail = "server " + server_text(servers_[c.index]) + ": cannot connect: " +
			     c.connect_error + "; skipped for " + std::to_string(retry_.count()) +
			     " s";
	fail_connection(c, detail, true);
}

// ---- I/O

void AsyncMemcached::on_io(int fd, unsigned ready)
{
	Connection *c = nullptr;
	for (Connection &candidate : connections_)
		if (candidate.fd == fd && fd >= 0)
			c = &candidate;
	if (c != nullptr && ready != 0) {
		if (c->state == Connection::State::connecting) {
			finish_connect(*c);
		} else if (c->state == Connection::State::open) {
			if ((ready & io_read) != 0)
				read_from(*c);
			if ((ready & io_write) != 0 && c->state == Connection::State::open &&
			    c->out_sent < c->out.size())
				flush(*c);
		}
	}
	deliver_queued();
	update_timer();
}

void AsyncMemcached::read_from(Connection &c)
{
	for (;;) {
		if (c.in.size() - c.in_end < read_chunk) {
			// Move what is unparsed to the front, and grow only if that is not enough.
			if (c.in_begin > 0) {
				std::memmove(c.in.data(), c.in.data() + c.in_begin,
					     c.in_end - c.in_begin);
				c.in_end -= c.in_begin;
				c.in_begin = 0;
			}
			if (c.in.size() - c.in_end < read_chunk)
				c.in.resize(c.in_end + read_chunk);
		}
		const std::size_t space = c.in.size() - c.in_end;
		const ssize_t n = ::recv(c.fd, c.in.data() + c.in_end, space, 0);
		stats_.reads++;
		if (n > 0) {
			c.in_end += static_cast<std::size_t>(n);
			if (!parse(c))
				return; // the connection failed
			if (static_cast<std::size_t>(n) < space)
				return; // drained
			continue;
		}
		if (n == 0) {
			lost(c, "closed the connection");
			return;
		}
		const int error = errno;
		if (error == EINTR)
			continue;
		if (error == EAGAIN || error == EWOULDBLOCK)
			return;
		io_failed(c, "read", error);
		return;
	}
}

// Answers every complete response in the input buffer. False if the connection failed.
bool AsyncMemcached::parse(Connection &c)
{
	while (c.in_begin < c.in_end) {
		std::string_view data(c.in.data() + c.in_begin, c.in_end - c.in_begin);
		proto::Response response;
		std::size_t consumed = 0;
		std::string error;
		switch (proto::parse_response(data, response, consumed, error)) {
		case proto::Parse::incomplete:
			return true;
		case proto::Parse::malformed:
			fail_connection(c, "server " + server_text(servers_[c.index]) +
						   " sent a malformed response: " + error,
					false);
			return false;
		case proto::Parse::complete:
			break;
		}
		if (c.pending.empty()) {
			fail_connection(c, "server " + server_text(servers_[c.index]) +
						   " sent a response to no request",
					false);
			return false;
		}
		Request &front = c.pending.front();
		if (front.op == Op::gets_with && response.opaque == front.opaque - 1 &&
		    response.opcode == proto::op_getq) {
			// The companion's answer (a hit: GETQ is silent on a miss); the GET's follows.
			c.in_begin += consumed;
			front.companion_hit = response.status == proto::status_ok;
			if (front.companion_hit) {
				front.companion_value.assign(response.value);
				front.companion_cas = response.cas;
			}
			continue;
		}
		const proto::Opcode opcode = proto::request_opcode(std::string_view(front.encoded).substr(front.main_at));
		if (response.opaque != front.opaque || response.opcode != opcode) {
			fail_connection(c, "server " + server_text(servers_[c.index]) +
						   " sent a response out of order (opcode " +
						   std::to_string(response.opcode) + " opaque " +
						   std::to_string(response.opaque) + " for opcode " +
						   std::to_string(opcode) + " opaque " +
						   std::to_string(front.opaque) + ")",
					false);
			return false;
		}
		c.in_begin += consumed;
		// Off the queue before the waiter runs: it may well make the next request.
		const Request r = std::move(c.pending.front());
		c.pending.pop_front();
		// The value stays valid: a request call only appends to the output buffer, it
		// never touches an open connection's input.
		answer(r, response.status, response.value, response.cas, c);
	}
	c.in_begin = c.in_end = 0;
	return true;
}

void AsyncMemcached::answer(const Request &r, std::uint16_t status, std::string_view value,
			    std::uint64_t cas, const Connection &c)
{
	using S = StoreReply::Status;
	StoreReply reply;
	reply.status = S::failed;
	switch (r.op) {
	case Op::gets_with:
		reply.companion_hit = r.companion_hit;
		reply.companion_value = r.companion_value;
		reply.companion_cas = r.companion_cas;
		[[fallthrough]];
	case Op::gets:
		if (status == proto::status_ok) {
			reply.status = S::hit;
			reply.value = value;
			reply.cas = cas;
		} else if (status == proto::status_not_found) {
			reply.status = S::miss;
		}
		break;
	case Op::cas:
		// Changed since gets() (exists) or deleted or expired since (not found).
		if (status == proto::status_ok)
			reply.status = S::stored;
		else if (status == proto::status_exists || status == proto::status_not_found)
			reply.status = S::conflict;
		break;
	case Op::add:
		if (status == proto::status_ok)
			reply.status = S::stored;
		else if (status == proto::status_exists || status == proto::status_not_stored)
			reply.status = S::conflict;
		break;
	case Op::set:
		if (status == proto::status_ok)
			reply.status = S::stored;
		break;
	case Op::append:
		// Not stored: there is no item to append to.
		if (status == proto::status_ok)
			reply.status = S::stored;
		else if (status == proto::status_not_stored || status == proto::status_not_found)
			reply.status = S::conflict;
		break;
	case Op::remove:
		if (status == proto::status_ok || status == proto::status_not_found)
			reply.status = S::done;
		break;
	}
	std::string error;
	if (reply.status == S::failed) {
		char code[8];
		std::snprintf(code, sizeof(code), "0x%04x", status);
		std::string detail = "server " + server_text(servers_[c.index]) + " answered ";
		const char *text = proto::status_text(status);
		detail += *text != '\0' ? text : "an unknown status";
		detail += " (";
		detail += code;
		detail += ")";
		error = message(r.op, proto::request_key(std::string_view(r.encoded).substr(r.main_at)), detail);
		reply.error = error;
	}
	r.waiter->on_reply(reply);
}

void AsyncMemcached::flush(Connection &c)
{
	// One send of everything accumulated; a short one means the socket buffer is full, and
	// the rest waits until it is writable again.
	for (;;) {
		const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);
		stats_.writes++;
		if (n >= 0) {
			c.out_sent += static_cast<std::size_t>(n);
			break;
		}
		const int error = errno;
		if (error == EINTR)
			continue;
		if (error == EAGAIN || error == EWOULDBLOCK)
			break;
		io_failed(c, "write", error);
		return;
	}
	if (c.out_sent == c.out.size()) {
		c.out.clear();
		c.out_sent = 0;
		want(c, io_read);
	} else {
		if (c.out_sent >= out_compact) {
			c.out.erase(0, c.out_sent);
			c.out_sent = 0;
		}
		want(c, io_read | io_write);
	}
}

// A recv or send that failed for good: a reset or a broken pipe is the server gone (its
// requests are resent once, see lost()); anything else fails the connection's requests.
void AsyncMemcached::io_failed(Connection &c, const char *doing, int error)
{
	if (error == ECONNRESET || error == EPIPE || error == ECONNABORTED)
		lost(c, errno_text(error));
	else
		fail_connection(c, "server " + server_text(servers_[c.index]) + ": cannot " + doing + ": " +
					   errno_text(error),
				false);
}

// The server closed a connection that was open: memcached restarted (or something on the way
// dropped it). Its process is gone, so none of the unanswered requests was applied; send each
// once more on a new connection, and fail those that were already sent twice.
void AsyncMemcached::lost(Connection &c, std::string_view detail)
{
	const std::string text = "server " + server_text(servers_[c.index]) + ": " +
				 std::string(detail);
	close_socket(c);
	if (c.pending.empty())
		return;
	const auto now = now_();
	std::deque<Request> again;
	for (Request &r : c.pending) {
		if (r.resent) {
			fail_later(*r.waiter, r.op, proto::request_key(std::string_view(r.encoded).substr(r.main_at)), text);
			continue;
		}
		r.resent = true;
		r.deadline = now + timeout_;
		r.companion_hit = false; // asked again
		r.companion_value.clear();
		c.out.append(r.encoded);
		again.push_back(std::move(r));
	}
	c.pending = std::move(again);
	if (c.pending.empty())
		return;
	stats_.resent += c.pending.size();
	if (!start_connect(c))
		connect_failed(c);
}

// Fails every request of the connection (answered by deliver_queued()) and closes it.
void AsyncMemcached::fail_connection(Connection &c, const std::string &detail, bool suspend)
{
	close_socket(c);
	for (const Request &r : c.pending)
		fail_later(*r.waiter, r.op, proto::request_key(std::string_view(r.encoded).substr(r.main_at)), detail);
	c.pending.clear();
	if (suspend && retry_.count() > 0) {
		c.suspended_until = now_() + retry_;
		c.suspended_detail = detail;
	}
}

void AsyncMemcached::close_fd(Connection &c)
{
	if (c.fd >= 0) {
		if (c.watched != 0)
			hooks_.watch(c.fd, 0);
		::close(c.fd);
	}
	c.fd = -1;
	c.watched = 0;
	c.state = Connection::State::closed;
}

void AsyncMemcached::close_socket(Connection &c)
{
	close_fd(c);
	c.out.clear();
	c.out_sent = 0;
	c.in.clear();
	c.in.shrink_to_fit();
	c.in_begin = c.in_end = 0;
	c.addresses.clear();
	c.next_address = 0;
}

void AsyncMemcached::want(Connection &c, unsigned events)
{
	if (c.watched == events || c.fd < 0)
		return;
	c.watched = events;
	hooks_.watch(c.fd, events);
}

// ---- time

void AsyncMemcached::on_timer()
{
	timer_armed_ = false;
	auto now = now_();
	for (Connection &c : connections_) {
		auto due = [&]() {
			const bool connecting = c.state == Connection::State::connecting;
			return (connecting && c.connect_deadline <= now) ||
			       (!c.pending.empty() && c.pending.front().deadline <= now);
		};
		if (!due())
			continue;
		// The loop may have run the timer before reporting the answer that is already
		// waiting on the socket: read it before calling the server late.
		if (c.state == Connection::State::open) {
			read_from(c);
			now = now_();
			if (!due())
				continue;
		}
		stats_.timeouts++;
		fail_connection(c, "server " + server_text(servers_[c.index]) +
					   " timed out; skipped for " +
					   std::to_string(retry_.count()) + " s",
				true);
	}
	deliver_queued();
	// Only the timers due now: those their waiters set meanwhile wait for the next turn.
	std::vector<StoreWaiter *> due;
	auto end = timers_.upper_bound(now);
	for (auto it = timers_.begin(); it != end; ++it)
		due.push_back(it->second);
	timers_.erase(timers_.begin(), end);
	for (StoreWaiter *waiter : due) {
		StoreReply reply;
		reply.status = StoreReply::Status::done;
		waiter->on_reply(reply);
	}
	update_timer();
}

void AsyncMemcached::deliver_queued()
{
	if (queued_.empty())
		return;
	// Only what is queued now: answers queued by these waiters' own calls go out on the
	// next loop turn, so that a waiter that retries at once cannot keep the loop here.
	std::deque<Queued> batch;
	batch.swap(queued_);
	for (const Queued &q : batch) {
		StoreReply reply;
		reply.status = StoreReply::Status::failed;
		reply.error = q.error;
		q.waiter->on_reply(reply);
	}
}

void AsyncMemcached::update_timer()
{
	const auto now = now_();
	bool any = false;
	Clock::time_point earliest;
	auto consider = [&](Clock::time_point t) {
		if (!any || t < earliest)
			earliest = t;
		any = true;
	};
	if (!queued_.empty())
		consider(now);
	if (!timers_.empty())
		consider(timers_.begin()->first);
	for (const Connection &c : connections_) {
		if (c.state == Connection::State::connecting)
			consider(c.connect_deadline);
		if (!c.pending.empty())
			consider(c.pending.front().deadline);
	}
	if (!any) {
		if (timer_armed_) {
			timer_armed_ = false;
			hooks_.timer(-1);
		}
		return;
	}
	// An armed timer that fires no later is kept: firing early only costs a turn that finds
	// nothing due, re-arming on every answer would cost a call each.
	if (timer_armed_ && timer_at_ <= earliest)
		return;
	long long ms = 0;
	if (earliest > now) {
		using std::chrono::microseconds;
		const auto us = std::chrono::duration_cast<microseconds>(earliest - now).count();
		ms = (us + 999) / 1000;
	}
	timer_armed_ = true;
	timer_at_ = earliest > now ? earliest : now;
	hooks_.timer(static_cast<int>(std::min<long long>(ms, INT_MAX)));
}

} // namespace account_guard

// AsyncMemcached (see async-memcached.hh), its connections: connecting (resolved once, every
// address in turn), reading and framing the answers, writing what accumulated, and losing a
// connection (a resend once after a restart, or failing its requests). The requests, their
// answers and the timer are in async-memcached.cc.
#include "async-memcached.hh"

#include "memcached-protocol.hh"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace account_guard {

namespace proto = memcached_protocol;

namespace {

// One read() takes up to this much: the answers to a whole loop turn's requests at once.
constexpr std::size_t read_chunk = 64 * 1024;
// Written bytes are dropped from the front of the output buffer once they are this many.
constexpr std::size_t out_compact = 64 * 1024;

std::string errno_text(int error)
{
	return std::strerror(error);
}

} // namespace

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

} // namespace account_guard

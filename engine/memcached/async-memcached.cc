// AsyncMemcached (see async-memcached.hh): placement, the requests and their answers, and the
// single timer (the connections' state machine is in async-memcached-connection.cc). Answers are given only from on_io() and on_timer(),
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

const char *operation_name(int op)
{
	static const char *const names[] = {"gets", "cas", "add", "set", "delete", "gets", "append"};
	return names[op];
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
	stats_.requests++;
	const std::size_t index = server_of(anchor);
	if (index >= connections_.size()) {
		fail_later(waiter, op, anchor,
			   anchor.empty() || anchor.size() > proto::max_key_length
				   ? "the key is empty or longer than 250 bytes"
				   : "libmemcached cannot place the key");
		update_timer();
		return;
	}
	Connection &c = connections_[index];
	const auto now = now_();
	if (c.state == Connection::State::closed && now < c.suspended_until) {
		fail_later(waiter, op, anchor, c.suspended_detail);
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

// auth-load: a load generator for Dovecot's auth-client protocol (issue 8, item 3).
//
// It speaks to the auth process the way a login process does (src/lib-auth, the auth-client
// protocol): "VERSION\t1\t2" and "CPID\t<n>", waits for the server's handshake up to "DONE",
// then sends pipelined
//   AUTH\t<id>\tPLAIN\tservice=smtp\tnologin\trip=<ip>\tresp=<base64("\0user\0password")>
// requests (nologin: authenticate only, no master login follows) and reads "OK\t<id>..." or
// "FAIL\t<id>...". Many connections, each with a window of outstanding requests, one thread,
// epoll: cheap enough that Dovecot, not this client, is what saturates the machine (its own
// CPU time is reported).
//
//   auth-load --socket BASE_DIR/auth-client [--conns 16] [--window 8] [--users 20000]
//             [--rip known|new] [--service smtp] [--warmup N] [--seconds S] [--max N]
//
// Users are u<index>@bench.example with password pw-<index>, index in [0, users); request k
// goes to user k mod users. rip=known: every user always logs in from its own network in
// 198.19.0.0/16; rip=new: pass p over the users comes from 198.18.p.0/24, a network the account
// has not used (keep passes under the ip limit: --max). Both ranges are in the generated GeoIP
// test databases (tests/data/make-test-mmdb.pl).
//
// Prints "measuring" once the first --warmup replies arrived, "done" when --seconds (or
// --max requests) have passed, then one JSON line with the figures. Every run is bounded: it
// stops issuing requests at the end of the window and gives the last replies 10 s.

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "load-common.hh"

using bench::base64;
using bench::cpu_s;
using bench::now_s;

namespace {


struct Options {
	std::string socket_path;
	int conns = 16;
	int window = 8;
	long users = 20000;
	long first_user = 0;
	std::string rip = "known";
	std::string service = "smtp";
	long warmup = 0;
	double seconds = 5;
	long max_requests = 0; // 0: no limit
};

struct Slot {
	bool busy = false;
	double sent = 0;
	bool measured = false;
};

struct Conn {
	int fd = -1;
	bool handshaken = false;
	std::string in;
	std::string out;
	size_t out_pos = 0;
	std::vector<Slot> slots;
	std::vector<int> free_slots;
	uint32_t seq = 0;
	int outstanding = 0;
	bool want_write = false;
};

class Load {
public:
	explicit Load(const Options &o) : o_(o)
	{
		resp_.reserve(static_cast<size_t>(o.users));
		for (long u = 0; u < o.users; u++) {
			std::string user = "u" + std::to_string(o.first_user + u) + "@bench.example";
			std::string pass = "pw-" + std::to_string(o.first_user + u);
			resp_.push_back(base64(std::string(1, '\0') + user + std::string(1, '\0') + pass));
		}
	}

	int run()
	{
		ep_ = epoll_create1(0);
		if (ep_ < 0)
			throw std::runtime_error("epoll_create1 failed");
		conns_.resize(static_cast<size_t>(o_.conns));
		for (int i = 0; i < o_.conns; i++)
			open_conn(i);

		start_ = now_s();
		if (o_.warmup == 0)
			start_measuring(start_);
		const double give_up = start_ + 60 + o_.seconds; // handshake + warm-up must not hang
		epoll_event events[64];
		while (true) {
			double t = now_s();
			if (phase_ == Phase::measuring && (t >= measure_start_ + o_.seconds ||
							   (o_.max_requests > 0 && completed_ >= o_.warmup + o_.max_requests))) {
				finish_measuring(t);
			}
			if (phase_ == Phase::draining && (outstanding_total() == 0 || t > measure_end_ + 10))
				break;
			if (t > give_up && phase_ == Phase::warmup)
				throw std::runtime_error("warm-up did not complete (is the auth process answering?)");
			int n = epoll_wait(ep_, events, 64, 100);
			if (n < 0 && errno != EINTR)
				throw std::runtime_error("epoll_wait failed");
			for (int k = 0; k < n; k++) {
				Conn &c = conns_[events[k].data.u32];
				if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					on_read(c);
				if (events[k].events & EPOLLOUT)
					flush(c);
			}
		}
		report();
		return 0;
	}

private:
	enum class Phase { warmup, measuring, draining };

	int outstanding_total() const
	{
		int n = 0;
		for (const Conn &c : conns_)
			n += c.outstanding;
		return n;
	}

	void open_conn(int i)
	{
		Conn &c = conns_[static_cast<size_t>(i)];
		c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		sockaddr_un sa{};
		sa.sun_family = AF_UNIX;
		std::strncpy(sa.sun_path, o_.socket_path.c_str(), sizeof(sa.sun_path) - 1);
		if (c.fd < 0 || connect(c.fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0)
			throw std::runtime_error("cannot connect to " + o_.socket_path + ": " + std::strerror(errno));
		c.slots.resize(static_cast<size_t>(o_.window));
		for (int s = o_.window - 1; s >= 0; s--)
			c.free_slots.push_back(s);
		epoll_event ev{};
		ev.events = EPOLLIN;
		ev.data.u32 = static_cast<uint32_t>(i);
		epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
		c.out = "VERSION\t1\t2\nCPID\t" + std::to_string(getpid() * 100 + i + 1) + "\n";
		flush(c);
	}

	void flush(Conn &c)
	{
		while (c.out_pos < c.out.size()) {
			ssize_t n = write(c.fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos);
			if (n < 0) {
				if (errno == EAGAIN) {
					if (!c.want_write)
						set_write(c, true);
					return;
				}
				throw std::runtime_error(std::string("write failed: ") + std::strerror(errno));
			}
			c.out_pos += static_cast<size_t>(n);
		}
		c.out.clear();
		c.out_pos = 0;
		if (c.want_write)
			set_write(c, false);
	}

	void set_write(Conn &c, bool on)
	{
		c.want_write = on;
		epoll_event ev{};
		ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
		ev.data.u32 = static_cast<uint32_t>(&c - conns_.data());
		epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
	}

	std::string rip_for(long k, long user) const
	{
		char buf[32];
		if (o_.rip == "new") {
			long pass = k / o_.users;
			std::snprintf(buf, sizeof(buf), "198.18.%ld.%ld", pass & 255, 1 + user % 250);
		} else {
			std::snprintf(buf, sizeof(buf), "198.19.%ld.%ld", user % 256, 1 + (user / 256) % 250);
		}
		return buf;
	}

	bool may_issue() const
	{
		if (phase_ == Phase::draining)
			return false;
		if (o_.max_requests > 0 && issued_ >= o_.max_requests + o_.warmup)
			return false;
		return true;
	}

	void issue(Conn &c)
	{
		if (c.free_slots.empty() || !may_issue())
			return;
		int slot = c.free_slots.back();
		c.free_slots.pop_back();
		long k = issued_++;
		long user = k % o_.users;
		uint32_t id = (++c.seq << 8) | static_cast<uint32_t>(slot);
		char head[160];
		std::snprintf(head, sizeof(head), "AUTH\t%u\tPLAIN\tservice=%s\tnologin\trip=%s\tresp=", id,
			      o_.service.c_str(), rip_for(k, user).c_str());
		c.out += head;
		c.out += resp_[static_cast<size_t>(user)];
		c.out += '\n';
		Slot &s = c.slots[static_cast<size_t>(slot)];
		s.busy = true;
		s.sent = now_s();
		s.measured = phase_ == Phase::measuring;
		c.outstanding++;
	}

	void on_read(Conn &c)
	{
		char buf[65536];
		for (;;) {
			ssize_t n = read(c.fd, buf, sizeof(buf));
			if (n > 0) {
				c.in.append(buf, static_cast<size_t>(n));
				if (static_cast<size_t>(n) < sizeof(buf))
					break;
				continue;
			}
			if (n == 0)
				throw std::runtime_error("the auth process closed a connection (see its log)");
			if (errno == EAGAIN)
				break;
			throw std::runtime_error(std::string("read failed: ") + std::strerror(errno));
		}
		size_t pos = 0;
		for (;;) {
			size_t nl = c.in.find('\n', pos);
			if (nl == std::string::npos)
				break;
			line(c, c.in.data() + pos, nl - pos);
			pos = nl + 1;
		}
		c.in.erase(0, pos);
		flush(c);
	}

	void line(Conn &c, const char *p, size_t len)
	{
		std::string_view l(p, len);
		if (!c.handshaken) {
			if (l == "DONE") {
				c.handshaken = true;
				for (int i = 0; i < o_.window; i++)
					issue(c);
			}
			return;
		}
		bool ok = l.substr(0, 3) == "OK\t";
		bool fail = l.substr(0, 5) == "FAIL\t";
		if (!ok && !fail) {
			other_++;
			if (other_ == 1)
				std::fprintf(stderr, "auth-load: unexpected reply: %.*s\n", static_cast<int>(len), p);
			if (l.substr(0, 5) != "CONT\t")
				return;
		}
		size_t tab = l.find('\t');
		uint32_t id = static_cast<uint32_t>(std::strtoul(std::string(l.substr(tab + 1, 12)).c_str(), nullptr, 10));
		size_t slot = id & 0xff;
		if (slot >= c.slots.size() || !c.slots[slot].busy)
			return;
		Slot &s = c.slots[slot];
		double t = now_s();
		if (fail && fails_++ == 0)
			std::fprintf(stderr, "auth-load: first failure: %.*s\n", static_cast<int>(len), p);
		completed_++;
		if (phase_ == Phase::measuring) {
			completed_in_window_++;
			ok_ += ok;
			fail_in_window_ += fail;
			if (s.measured)
				latencies_.push_back(static_cast<float>((t - s.sent) * 1e3));
		}
		s.busy = false;
		c.free_slots.push_back(static_cast<int>(slot));
		c.outstanding--;
		if (phase_ == Phase::warmup && completed_ >= o_.warmup)
			start_measuring(t);
		issue(c);
	}

	void start_measuring(double t)
	{
		phase_ = Phase::measuring;
		measure_start_ = t;
		cpu_start_ = cpu_s();
		std::printf("measuring\n");
		std::fflush(stdout);
	}

	void finish_measuring(double t)
	{
		phase_ = Phase::draining;
		measure_end_ = t;
		cpu_end_ = cpu_s();
		std::printf("done\n");
		std::fflush(stdout);
	}

	void report()
	{
		std::sort(latencies_.begin(), latencies_.end());
		auto q = [&](double f) -> double {
			if (latencies_.empty())
				return 0;
			size_t i = std::min(latencies_.size() - 1, static_cast<size_t>(f * static_cast<double>(latencies_.size())));
			return latencies_[i];
		};
		double sum = 0;
		for (float v : latencies_)
			sum += v;
		const double secs = measure_end_ - measure_start_;
		std::printf("{\"conns\":%d,\"window\":%d,\"rip\":\"%s\",\"seconds\":%.3f,\"completed\":%ld,\"ok\":%ld,"
			    "\"fail\":%ld,\"other\":%ld,\"rate\":%.1f,\"samples\":%zu,\"mean_ms\":%.3f,\"p50_ms\":%.3f,"
			    "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"client_cpu\":%.3f,"
			    "\"issued\":%ld,\"fail_total\":%ld}\n",
			    o_.conns, o_.window, o_.rip.c_str(), secs, completed_in_window_, ok_, fail_in_window_, other_,
			    secs > 0 ? static_cast<double>(completed_in_window_) / secs : 0.0, latencies_.size(),
			    latencies_.empty() ? 0.0 : sum / static_cast<double>(latencies_.size()), q(0.5), q(0.9), q(0.99),
			    q(0.999), latencies_.empty() ? 0.0 : static_cast<double>(latencies_.back()),
			    secs > 0 ? (cpu_end_ - cpu_start_) / secs : 0.0, issued_, fails_);
		std::fflush(stdout);
	}

	Options o_;
	std::vector<std::string> resp_;
	std::vector<Conn> conns_;
	int ep_ = -1;
	Phase phase_ = Phase::warmup;
	long issued_ = 0, completed_ = 0, completed_in_window_ = 0, ok_ = 0, fail_in_window_ = 0, fails_ = 0,
	     other_ = 0;
	double start_ = 0, measure_start_ = 0, measure_end_ = 0, cpu_start_ = 0, cpu_end_ = 0;
	std::vector<float> latencies_;
};

Options parse(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (i + 1 >= argc)
			throw std::runtime_error("missing value for " + a);
		std::string v = argv[++i];
		if (a == "--socket")
			o.socket_path = v;
		else if (a == "--conns")
			o.conns = std::atoi(v.c_str());
		else if (a == "--window")
			o.window = std::atoi(v.c_str());
		else if (a == "--users")
			o.users = std::atol(v.c_str());
		else if (a == "--first-user")
			o.first_user = std::atol(v.c_str());
		else if (a == "--rip")
			o.rip = v;
		else if (a == "--service")
			o.service = v;
		else if (a == "--warmup")
			o.warmup = std::atol(v.c_str());
		else if (a == "--seconds")
			o.seconds = std::atof(v.c_str());
		else if (a == "--max")
			o.max_requests = std::atol(v.c_str());
		else
			throw std::runtime_error("unknown option " + a);
	}
	if (o.socket_path.empty())
		throw std::runtime_error("--socket is required");
	if (o.window < 1 || o.window > 256 || o.conns < 1 || o.conns > 1000 || o.users < 1)
		throw std::runtime_error("need 1 <= window <= 256, 1 <= conns <= 1000, users >= 1");
	if (o.rip != "known" && o.rip != "new")
		throw std::runtime_error("--rip is known or new");
	if (o.seconds <= 0 || o.seconds > 120)
		throw std::runtime_error("--seconds must be in (0, 120]");
	return o;
}

} // namespace

int main(int argc, char **argv)
{
	try {
		Options o = parse(argc, argv);
		Load load(o);
		return load.run();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "auth-load: %s\n", e.what());
		return 2;
	}
}

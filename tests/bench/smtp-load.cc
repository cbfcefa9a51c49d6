// smtp-load: recipients per second through real submission sessions (issue 8, item 4).
//
//   smtp-load --port PORT [--sessions 8] [--rcpts 50] [--seconds 5 | --transactions N]
//             [--first-user 0] [--barrier]
//
// Opens --sessions SMTP sessions to Dovecot's submission service on 127.0.0.1, each logged
// in (AUTH PLAIN) as its own account u<first-user + i>@bench.example / pw-<...>. Then every
// session runs transactions back to back: MAIL FROM and --rcpts RCPT TO pipelined in one
// write, then DATA with a small message (or RSET when no recipient was accepted). With
// --barrier it prints "ready" once all sessions are logged in and waits for a line on stdin
// before the first transaction (so the caller can read memcached's counters in between),
// and after the last transaction prints "done" and waits for another line before QUIT (so the
// caller can read the CPU time of the submission processes while they still exist). Then one
// JSON line with the figures.
// Bounded: --seconds at most 120; sessions that do not answer within 30 s abort the run.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

#include "load-common.hh"

using bench::base64;
using bench::cpu_s;
using bench::now_s;

namespace {


enum class Cmd { greeting, ehlo, auth, mail, rcpt, data, body, rset, quit };

struct Session {
	int fd = -1;
	int index = 0;
	std::string in, out;
	std::deque<Cmd> expect; // replies still to come, in order
	bool ready = false, finished = false;
	int accepted = 0;       // RCPTs accepted in the current transaction
	double txn_start = 0;
};

struct Options {
	int port = 0;
	int sessions = 8;
	int rcpts = 50;
	double seconds = 5;
	long transactions = 0; // per session; 0: time-based
	long first_user = 0;
	bool barrier = false;
};

class Load {
public:
	explicit Load(const Options &o) : o_(o) {}

	int run()
	{
		ep_ = epoll_create1(0);
		sessions_.resize(static_cast<size_t>(o_.sessions));
		for (int i = 0; i < o_.sessions; i++)
			open(i);
		// Log in every session.
		loop([&] { return ready_ + failed_ >= o_.sessions; }, now_s() + 30, "login");
		if (failed_ > 0)
			throw std::runtime_error(std::to_string(failed_) + " sessions could not log in (see above)");
		if (o_.barrier) {
			std::printf("ready\n");
			std::fflush(stdout);
			char line[64];
			if (std::fgets(line, sizeof(line), stdin) == nullptr)
				return 1;
		}
		start_ = now_s();
		cpu_start_ = cpu_s();
		for (Session &s : sessions_)
			begin_transaction(s);
		loop([&] { return finished_ >= o_.sessions; }, start_ + o_.seconds + 30, "transactions");
		end_ = now_s();
		cpu_end_ = cpu_s();
		std::printf("done\n");
		std::fflush(stdout);
		if (o_.barrier) {
			char line[64];
			if (std::fgets(line, sizeof(line), stdin) == nullptr)
				return 1;
		}
		for (Session &s : sessions_) {
			send(s, "QUIT\r\n");
			s.expect.push_back(Cmd::quit);
		}
		quitting_ = true;
		finished_ = 0;
		loop([&] { return finished_ >= o_.sessions; }, now_s() + 10, "QUIT");
		std::sort(txn_ms_.begin(), txn_ms_.end());
		auto q = [&](double f) -> double {
			return txn_ms_.empty() ? 0 : txn_ms_[std::min(txn_ms_.size() - 1, static_cast<size_t>(f * static_cast<double>(txn_ms_.size())))];
		};
		const double secs = end_ - start_;
		const long rcpt_total = rcpt_ok_ + rcpt_refused_ + rcpt_other_;
		std::printf("{\"sessions\":%d,\"rcpts_per_txn\":%d,\"seconds\":%.3f,\"transactions\":%ld,\"rcpt_ok\":%ld,"
			    "\"rcpt_refused\":%ld,\"rcpt_other\":%ld,\"rate\":%.1f,\"txn_p50_ms\":%.3f,\"txn_p99_ms\":%.3f,"
			    "\"client_cpu\":%.3f,\"data_ok\":%ld}\n",
			    o_.sessions, o_.rcpts, secs, transactions_, rcpt_ok_, rcpt_refused_, rcpt_other_,
			    secs > 0 ? static_cast<double>(rcpt_total) / secs : 0.0, q(0.5), q(0.99),
			    secs > 0 ? (cpu_end_ - cpu_start_) / secs : 0.0, data_ok_);
		std::fflush(stdout);
		for (Session &s : sessions_)
			close(s.fd);
		return 0;
	}

private:
	template <typename Done>
	void loop(Done done, double deadline, const char *what)
	{
		epoll_event events[64];
		while (!done()) {
			if (now_s() > deadline)
				throw std::runtime_error(std::string("timed out waiting for ") + what);
			int n = epoll_wait(ep_, events, 64, 100);
			for (int k = 0; k < n; k++)
				on_read(sessions_[events[k].data.u32]);
		}
	}

	void open(int i)
	{
		Session &s = sessions_[static_cast<size_t>(i)];
		s.index = i;
		s.fd = socket(AF_INET, SOCK_STREAM, 0);
		sockaddr_in sa{};
		sa.sin_family = AF_INET;
		sa.sin_port = htons(static_cast<uint16_t>(o_.port));
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (s.fd < 0 || connect(s.fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0)
			throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(o_.port));
		int one = 1;
		setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		epoll_event ev{};
		ev.events = EPOLLIN;
		ev.data.u32 = static_cast<uint32_t>(i);
		epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd, &ev);
		s.expect.push_back(Cmd::greeting);
	}

	void send(Session &s, const std::string &data)
	{
		size_t off = 0;
		while (off < data.size()) {
			// Blocking socket: a full send buffer waits for Dovecot to read, which it does.
			ssize_t n = write(s.fd, data.data() + off, data.size() - off);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				throw std::runtime_error(std::string("write failed: ") + std::strerror(errno));
			}
			off += static_cast<size_t>(n);
		}
	}

	std::string user(const Session &s) const
	{
		return "u" + std::to_string(o_.first_user + s.index) + "@bench.example";
	}

	void begin_transaction(Session &s)
	{
		const bool time_up = o_.transactions > 0 ? s_txns(s) >= o_.transactions : now_s() >= start_ + o_.seconds;
		if (time_up) {
			// Idle until every session is through: QUIT comes after "done", so that the
			// caller still finds the submission processes when it reads their CPU time.
			s.finished = true;
			finished_++;
			return;
		}
		s.accepted = 0;
		s.txn_start = now_s();
		std::string batch = "MAIL FROM:<" + user(s) + ">\r\n";
		s.expect.push_back(Cmd::mail);
		for (int r = 0; r < o_.rcpts; r++) {
			batch += "RCPT TO:<r" + std::to_string(r) + "-" + std::to_string(rcpt_seq_++) + "@sink.invalid>\r\n";
			s.expect.push_back(Cmd::rcpt);
		}
		send(s, batch);
	}

	long s_txns(const Session &s) const { return txns_per_session_.empty() ? 0 : txns_per_session_[static_cast<size_t>(s.index)]; }

	void on_read(Session &s)
	{
		char buf[65536];
		ssize_t n = read(s.fd, buf, sizeof(buf));
		if (n <= 0) {
			if (quitting_) {
				epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
				return;
			}
			if (!s.finished) {
				if (!s.ready)
					failed_++;
				s.finished = true;
				finished_++;
				std::fprintf(stderr, "smtp-load: session %d closed by the server\n", s.index);
			}
			epoll_ctl(ep_, EPOLL_CTL_DEL, s.fd, nullptr);
			return;
		}
		s.in.append(buf, static_cast<size_t>(n));
		size_t pos = 0;
		for (;;) {
			size_t nl = s.in.find('\n', pos);
			if (nl == std::string::npos)
				break;
			std::string line = s.in.substr(pos, nl - pos);
			pos = nl + 1;
			if (!line.empty() && line.back() == '\r')
				line.pop_back();
			if (line.size() > 3 && line[3] == '-')
				continue; // continuation of a multi-line reply
			reply(s, line);
		}
		s.in.erase(0, pos);
	}

	void reply(Session &s, const std::string &line)
	{
		if (s.expect.empty()) {
			std::fprintf(stderr, "smtp-load: session %d: unexpected reply %s\n", s.index, line.c_str());
			return;
		}
		const Cmd cmd = s.expect.front();
		s.expect.pop_front();
		const int code = std::atoi(line.substr(0, 3).c_str());
		switch (cmd) {
		case Cmd::greeting:
			send(s, "EHLO client.invalid\r\n");
			s.expect.push_back(Cmd::ehlo);
			break;
		case Cmd::ehlo: {
			const long u = o_.first_user + s.index;
			std::string token = base64(std::string(1, '\0') + user(s) + std::string(1, '\0') + "pw-" + std::to_string(u));
			send(s, "AUTH PLAIN " + token + "\r\n");
			s.expect.push_back(Cmd::auth);
			break;
		}
		case Cmd::auth:
			if (code == 235) {
				s.ready = true;
				ready_++;
			} else {
				std::fprintf(stderr, "smtp-load: session %d: AUTH: %s\n", s.index, line.c_str());
				failed_++;
			}
			break;
		case Cmd::mail:
			if (code != 250)
				std::fprintf(stderr, "smtp-load: MAIL: %s\n", line.c_str());
			break;
		case Cmd::rcpt:
			if (code / 100 == 2) {
				rcpt_ok_++;
				s.accepted++;
			} else if (code == 451) {
				rcpt_refused_++;
			} else {
				if (rcpt_other_++ == 0)
					std::fprintf(stderr, "smtp-load: RCPT: %s\n", line.c_str());
			}
			if (!s.expect.empty())
				break;
			// The last RCPT of the batch: send the message, or reset.
			if (s.accepted > 0) {
				send(s, "DATA\r\n");
				s.expect.push_back(Cmd::data);
			} else {
				send(s, "RSET\r\n");
				s.expect.push_back(Cmd::rset);
			}
			break;
		case Cmd::data:
			if (code == 354) {
				send(s, "From: <" + user(s) + ">\r\nSubject: bench\r\n\r\nbench\r\n.\r\n");
				s.expect.push_back(Cmd::body);
			} else {
				std::fprintf(stderr, "smtp-load: DATA: %s\n", line.c_str());
				send(s, "RSET\r\n");
				s.expect.push_back(Cmd::rset);
			}
			break;
		case Cmd::body:
		case Cmd::rset:
			if (cmd == Cmd::body && code == 250)
				data_ok_++;
			else if (cmd == Cmd::body)
				std::fprintf(stderr, "smtp-load: end of DATA: %s\n", line.c_str());
			end_transaction(s);
			break;
		case Cmd::quit:
			finished_++;
			break;
		}
	}

	void end_transaction(Session &s)
	{
		transactions_++;
		if (txns_per_session_.empty())
			txns_per_session_.assign(static_cast<size_t>(o_.sessions), 0);
		txns_per_session_[static_cast<size_t>(s.index)]++;
		txn_ms_.push_back((now_s() - s.txn_start) * 1e3);
		begin_transaction(s);
	}

	Options o_;
	int ep_ = -1;
	std::vector<Session> sessions_;
	std::vector<long> txns_per_session_;
	int ready_ = 0, failed_ = 0, finished_ = 0;
	bool quitting_ = false;
	long rcpt_ok_ = 0, rcpt_refused_ = 0, rcpt_other_ = 0, transactions_ = 0, data_ok_ = 0, rcpt_seq_ = 0;
	double start_ = 0, end_ = 0, cpu_start_ = 0, cpu_end_ = 0;
	std::vector<double> txn_ms_;
};

Options parse(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--barrier") {
			o.barrier = true;
			continue;
		}
		if (i + 1 >= argc)
			throw std::runtime_error("missing value for " + a);
		std::string v = argv[++i];
		if (a == "--port")
			o.port = std::atoi(v.c_str());
		else if (a == "--sessions")
			o.sessions = std::atoi(v.c_str());
		else if (a == "--rcpts")
			o.rcpts = std::atoi(v.c_str());
		else if (a == "--seconds")
			o.seconds = std::atof(v.c_str());
		else if (a == "--transactions")
			o.transactions = std::atol(v.c_str());
		else if (a == "--first-user")
			o.first_user = std::atol(v.c_str());
		else
			throw std::runtime_error("unknown option " + a);
	}
	if (o.port <= 0 || o.sessions < 1 || o.sessions > 256 || o.rcpts < 1 || o.rcpts > 1000 || o.seconds <= 0 ||
	    o.seconds > 120)
		throw std::runtime_error("need --port, 1 <= sessions <= 256, 1 <= rcpts <= 1000, 0 < seconds <= 120");
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
		std::fprintf(stderr, "smtp-load: %s\n", e.what());
		return 2;
	}
}

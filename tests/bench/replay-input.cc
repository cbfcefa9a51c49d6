// Input for the benchmark of account-guard-replay (INTERFACE §9): N events of M accounts spread
// evenly over D days, in time order, as JSON lines or as Dovecot's syslog "Login:" lines;
// deterministic for a seed (the same arguments write the same bytes). Prints figures; asserts
// nothing.
//
// Usage: replay-input --format jsonl|dovecot --events N --accounts M [--seed S] [--days D]
//                     [--start EPOCH] [--messages PERCENT] [--attacks PER_MILLION] [-o FILE]
//
// The accounts (u<i>@isp.example) behave like an ISP's customers, each with networks of its own
// derived from the seed and its number (nothing per account is stored here, so M can be large):
//  - a home network (a /24 of 198.18.0.0/16: the benchmark GeoIP database's "US", one ASN), for
//    a third of the accounts also an IPv6 /64 (of 3fff::/20, the documentation range the
//    database does not know: no country) used for half their home logins;
//  - half of the accounts a work network (another /24 of 198.18.0.0/16);
//  - a mobile carrier (198.19.0.0/16, also "US"): each login from one of 16 /24s of the
//    account's own part of it, any host;
//  - occasionally (3% of logins) a network it has never used: half of the time a random /24 of
//    198.18.0.0/15 (at home), half of the time abroad (198.51.100.0/24 "FR", 203.0.113.0/24 "BR",
//    233.252.0.0/24 "IT", 100.64.0.0/10 "NL").
// A customer's usual networks are all in one country, as an ISP's are: what locks is a burst
// from new networks (below) or travel to two countries within a day.
// Logins: 55% home, 22% work (home when there is none), 20% mobile, 3% new; services imap 80%,
// pop3 10%, submission 10%. With --format jsonl, PERCENT of the events (default 10) are messages
// from one of the account's usual networks with 1-5 recipients out of 200,000 outside
// addresses. Dovecot's log has no messages: with --format dovecot every event is a Login line
// (the messages' share becomes submission-login logins). The account of each event is drawn
// uniformly, so an account has N/M events on average (Poisson).
// Attacks: PER_MILLION of the events (default 20) start a burst of 15 logins into one account
// from networks it has never used (random /24s of 198.18.0.0/15 mostly, the foreign ranges above), one after the
// other within a second or so: stolen passwords tried from a botnet, which the default ip_limit
// (10/1h) locks; the burst's logins count among the N events.
//
// At the end, one JSON object on stderr: what was written (events, logins, messages,
// recipients, bytes, accounts that got at least one event, first and last time).

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

std::uint64_t splitmix(std::uint64_t &state)
{
	std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

std::uint64_t mix(std::uint64_t a, std::uint64_t b)
{
	std::uint64_t s = a * 0x2545F4914F6CDD1Dull ^ b;
	return splitmix(s);
}

// xoshiro256** for the stream of events.
class Rng {
public:
	explicit Rng(std::uint64_t seed)
	{
		for (auto &v : s_)
			v = splitmix(seed);
	}
	std::uint64_t next()
	{
		const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
		const std::uint64_t t = s_[1] << 17;
		s_[2] ^= s_[0];
		s_[3] ^= s_[1];
		s_[1] ^= s_[2];
		s_[0] ^= s_[3];
		s_[2] ^= t;
		s_[3] = rotl(s_[3], 45);
		return result;
	}
	// Uniform in [0, n).
	std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }

private:
	static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
	std::uint64_t s_[4];
};

class Out {
public:
	explicit Out(FILE *f) : f_(f) { buf_.reserve(size_ + 4096); }
	~Out() { flush(); }
	void put(char c) { buf_.push_back(c); }
	void put(const char *s) { buf_.append(s); }
	void put(const char *s, std::size_t n) { buf_.append(s, n); }
	void num(std::uint64_t v)
	{
		char tmp[24];
		int n = 0;
		do {
			tmp[n++] = static_cast<char>('0' + v % 10);
			v /= 10;
		} while (v);
		while (n)
			buf_.push_back(tmp[--n]);
	}
	void pad2(unsigned v)
	{
		buf_.push_back(static_cast<char>('0' + v / 10));
		buf_.push_back(static_cast<char>('0' + v % 10));
	}
	void hex(unsigned v)
	{
		char tmp[8];
		int n = 0;
		do {
			tmp[n++] = "0123456789abcdef"[v & 15];
			v >>= 4;
		} while (v);
		while (n)
			buf_.push_back(tmp[--n]);
	}
	void end_line()
	{
		buf_.push_back('\n');
		if (buf_.size() >= size_)
			flush();
	}
	void flush()
	{
		if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
			std::fprintf(stderr, "replay-input: write: %s\n", std::strerror(errno));
			std::exit(1);
		}
		written_ += buf_.size();
		buf_.clear();
	}
	std::uint64_t written() const { return written_ + buf_.size(); }

private:
	FILE *f_;
	std::string buf_;
	const std::size_t size_ = 1 << 20;
	std::uint64_t written_ = 0;
};

// An address, written as text: IPv4 (v6 false) or an IPv6 in 2001:db8::/32.
struct Address {
	bool v6 = false;
	std::uint32_t v4 = 0;
	std::uint16_t w[8] = {}; // the 16-bit groups of an IPv6 address
};

void put_address(Out &out, const Address &a)
{
	if (!a.v6) {
		out.num(a.v4 >> 24);
		out.put('.');
		out.num((a.v4 >> 16) & 255);
		out.put('.');
		out.num((a.v4 >> 8) & 255);
		out.put('.');
		out.num(a.v4 & 255);
		return;
	}
	for (int i = 0; i < 8; i++) {
		if (i)
			out.put(':');
		out.hex(a.w[i]);
	}
}

constexpr std::uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }

struct Account {
	std::uint64_t h;
	bool has_v6, has_work;
};

Account account_of(std::uint64_t seed, std::uint64_t id)
{
	std::uint64_t h = mix(seed, id);
	return {h, (h >> 60) % 3 == 0, ((h >> 62) & 1) != 0};
}

// A host in one of the 256 /24s of 198.18.0.0/16 + `half` (0 or 1: 198.19.0.0/16).
std::uint32_t in_bench_us(std::uint64_t net, std::uint64_t host, unsigned half = 0)
{
	return ip4(198, 18 + half, 0, 0) + static_cast<std::uint32_t>((net % 256) << 8) + 1 + static_cast<std::uint32_t>(host % 254);
}

Address home(const Account &a, Rng &rng)
{
	Address r;
	if (a.has_v6 && (rng.next() & 1)) {
		r.v6 = true;
		r.w[0] = 0x3fff;
		r.w[1] = static_cast<std::uint16_t>((a.h >> 8) & 0x0fff);
		r.w[2] = static_cast<std::uint16_t>(a.h >> 24);
		r.w[3] = static_cast<std::uint16_t>(a.h >> 40);
		const std::uint64_t iid = mix(a.h, 6); // a stable interface identifier
		for (int i = 0; i < 4; i++)
			r.w[4 + i] = static_cast<std::uint16_t>(iid >> (16 * i));
		return r;
	}
	r.v4 = in_bench_us(a.h, a.h >> 9);
	return r;
}

Address usual(const Account &a, Rng &rng, std::uint64_t pick /* 0..96 */)
{
	if (pick < 55)
		return home(a, rng);
	if (pick < 77) {
		if (!a.has_work)
			return home(a, rng);
		const std::uint64_t w = mix(a.h, 1);
		return Address{false, in_bench_us(w, w >> 9), {}};
	}
	// mobile: one of 16 /24s of the account's part of the carrier's 198.19.0.0/16
	const std::uint64_t net = mix(a.h, 2) + rng.below(16);
	return Address{false, in_bench_us(net, rng.next(), 1), {}};
}

// A network the account has (almost certainly) never used.
Address stranger(Rng &rng)
{
	switch (rng.below(8)) {
	case 0: return Address{false, ip4(198, 51, 100, 1 + static_cast<unsigned>(rng.below(254))), {}};
	case 1: return Address{false, ip4(203, 0, 113, 1 + static_cast<unsigned>(rng.below(254))), {}};
	case 2: return Address{false, ip4(233, 252, 0, 1 + static_cast<unsigned>(rng.below(254))), {}};
	case 3: return Address{false, ip4(100, 64, 0, 0) + static_cast<std::uint32_t>(rng.below(1u << 22)), {}};
	default: return Address{false, in_bench_us(rng.next(), rng.next(), static_cast<unsigned>(rng.below(2))), {}};
	}
}

Address login_address(const Account &a, Rng &rng)
{
	const std::uint64_t pick = rng.below(100);
	return pick < 97 ? usual(a, rng, pick) : stranger(rng);
}

const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void put_syslog_time(Out &out, std::int64_t t)
{
	static std::int64_t cached = -1;
	static char text[16];
	if (t != cached) {
		std::time_t tt = static_cast<std::time_t>(t);
		std::tm tm{};
		gmtime_r(&tt, &tm);
		std::snprintf(text, sizeof(text), "%s %2d %02d:%02d:%02d", months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
			      tm.tm_min, tm.tm_sec);
		cached = t;
	}
	out.put(text, 15);
}

void put_user(Out &out, std::uint64_t id)
{
	out.put('u');
	out.num(id);
	out.put("@isp.example");
}

[[noreturn]] void usage()
{
	std::fprintf(stderr, "usage: replay-input --format jsonl|dovecot --events N --accounts M [--seed S] [--days D] "
			     "[--start EPOCH] [--messages PERCENT] [--attacks PER_MILLION] [-o FILE]\n");
	std::exit(2);
}

} // namespace

int main(int argc, char **argv)
{
	std::string format, output;
	std::uint64_t events = 0, accounts = 0, seed = 1, days = 30, message_pct = 10, attacks = 20;
	std::int64_t start = 1793491200; // 2026-11-01 00:00:00 UTC
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&]() -> const char * {
			if (i + 1 >= argc)
				usage();
			return argv[++i];
		};
		if (a == "--format")
			format = value();
		else if (a == "--events")
			events = std::strtoull(value(), nullptr, 10);
		else if (a == "--accounts")
			accounts = std::strtoull(value(), nullptr, 10);
		else if (a == "--seed")
			seed = std::strtoull(value(), nullptr, 10);
		else if (a == "--days")
			days = std::strtoull(value(), nullptr, 10);
		else if (a == "--start")
			start = std::strtoll(value(), nullptr, 10);
		else if (a == "--messages")
			message_pct = std::strtoull(value(), nullptr, 10);
		else if (a == "--attacks")
			attacks = std::strtoull(value(), nullptr, 10);
		else if (a == "-o")
			output = value();
		else
			usage();
	}
	if ((format != "jsonl" && format != "dovecot") || events == 0 || accounts == 0 || days == 0 || message_pct > 100 ||
	    attacks > 1000000)
		usage();
	const bool jsonl = format == "jsonl";

	FILE *f = stdout;
	if (!output.empty() && output != "-") {
		f = std::fopen(output.c_str(), "w");
		if (!f) {
			std::fprintf(stderr, "replay-input: %s: %s\n", output.c_str(), std::strerror(errno));
			return 1;
		}
	}
	std::uint64_t logins = 0, messages = 0, recipients = 0, used = 0, attack_logins = 0, bursts = 0;
	std::uint64_t burst_left = 0, burst_id = 0;
	std::vector<bool> seen(accounts);
	Rng rng(seed);
	const std::uint64_t span = days * 86400;
	std::int64_t last = start;
	{
		Out out(f);
		for (std::uint64_t i = 0; i < events; i++) {
			const std::int64_t t = start + static_cast<std::int64_t>(static_cast<unsigned __int128>(i) * span / events);
			last = t;
			bool attack = false;
			if (burst_left == 0 && attacks > 0 && rng.below(1000000) < attacks) {
				burst_left = 15;
				burst_id = rng.below(accounts);
				bursts++;
			}
			if (burst_left > 0) {
				attack = true;
				burst_left--;
				attack_logins++;
			}
			const std::uint64_t id = attack ? burst_id : rng.below(accounts);
			if (!seen[id]) {
				seen[id] = true;
				used++;
			}
			const Account acct = account_of(seed, id);
			const std::uint64_t kind = rng.below(100);
			const bool message = !attack && jsonl && kind < message_pct;
			if (message) {
				messages++;
				const Address ip = usual(acct, rng, rng.below(97));
				out.put("{\"time\":");
				out.num(static_cast<std::uint64_t>(t));
				out.put(",\"event\":\"message\",\"user\":\"");
				put_user(out, id);
				out.put("\",\"ip\":\"");
				put_address(out, ip);
				out.put("\",\"from\":\"");
				put_user(out, id);
				out.put("\",\"to\":[");
				const std::uint64_t n = 1 + rng.below(5);
				for (std::uint64_t r = 0; r < n; r++) {
					const std::uint64_t c = rng.below(200000);
					if (r)
						out.put(',');
					out.put("\"c");
					out.num(c);
					out.put("@mx");
					out.num(c % 97);
					out.put(".example\"");
				}
				recipients += n;
				out.put("]}");
				out.end_line();
				continue;
			}
			logins++;
			const Address ip = attack ? stranger(rng) : login_address(acct, rng);
			const std::uint64_t svc = rng.below(100);
			const char *service = attack                          ? "imap"
					      : kind < message_pct || svc < 10 ? "submission"
					      : svc < 20                       ? "pop3"
									       : "imap";
			if (jsonl) {
				out.put("{\"time\":");
				out.num(static_cast<std::uint64_t>(t));
				out.put(",\"event\":\"login\",\"user\":\"");
				put_user(out, id);
				out.put("\",\"service\":\"");
				out.put(service);
				out.put("\",\"ip\":\"");
				put_address(out, ip);
				out.put("\"}");
			} else {
				put_syslog_time(out, t);
				out.put(" mail");
				out.num(1 + (i & 1));
				out.put(" dovecot: ");
				out.put(service);
				out.put("-login: Login: user=<");
				put_user(out, id);
				out.put(">, method=PLAIN, rip=");
				put_address(out, ip);
				out.put(ip.v6 ? ", lip=3fff::25, mpid=" : ", lip=192.0.2.25, mpid=");
				out.num(1000 + rng.below(60000));
				out.put(", TLS, session=<");
				std::uint64_t s = rng.next();
				for (int k = 0; k < 16; k++, s >>= 4)
					out.put("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(s & 15) * 4 + (k & 3)]);
				out.put(">");
			}
			out.end_line();
		}
		out.flush();
		std::fprintf(stderr,
			     "{\"format\": \"%s\", \"events\": %llu, \"logins\": %llu, \"messages\": %llu, \"recipients\": %llu, "
			     "\"attack_bursts\": %llu, \"attack_logins\": %llu, "
			     "\"bytes\": %llu, \"accounts\": %llu, \"accounts_used\": %llu, \"seed\": %llu, \"first\": %lld, "
			     "\"last\": %lld}\n",
			     format.c_str(), static_cast<unsigned long long>(events), static_cast<unsigned long long>(logins),
			     static_cast<unsigned long long>(messages), static_cast<unsigned long long>(recipients),
			     static_cast<unsigned long long>(bursts), static_cast<unsigned long long>(attack_logins),
			     static_cast<unsigned long long>(out.written()), static_cast<unsigned long long>(accounts),
			     static_cast<unsigned long long>(used), static_cast<unsigned long long>(seed),
			     static_cast<long long>(start), static_cast<long long>(last));
	}
	if (f != stdout && std::fclose(f) != 0) {
		std::fprintf(stderr, "replay-input: %s: %s\n", output.c_str(), std::strerror(errno));
		return 1;
	}
	return 0;
}

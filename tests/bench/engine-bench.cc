// Engine benchmark (issue 8, items 1 and 6): login and RCPT decisions per second on one core
// with the in-memory store, GeoIP lookups on, and the cost per login as an account's history
// grows. Prints figures; asserts nothing (speed is measured, never tested).
//
// Usage: engine-bench COUNTRY.mmdb ASN.mmdb

#include "account-service.hh"
#include "geo-databases.hh"
#include "memory-store.hh"

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace account_guard;
using Clock = std::chrono::steady_clock;

namespace {

Settings bench_settings()
{
	return parse_settings([](const char *name) -> const char * {
		std::string n(name);
		if (n == "account_guard_ip_limit")
			return "10/1h 50/24h";
		if (n == "account_guard_country_limit")
			return "3/24h";
		return nullptr;
	});
}

struct Runner {
	std::time_t now = 1790000000;
	MemoryStore store{[this] { return now; }};
	Settings settings = bench_settings();
	AccountService service{store, "ag:"};
	GeoDatabases *geo = nullptr;

	Verdict login(const std::string &user, const IpAddress &ip)
	{
		LoginInput in;
		in.user = user;
		in.service = "smtp";
		in.ip = ip;
		in.password = std::string_view("correct horse battery staple");
		in.now = static_cast<std::uint32_t>(now);
		if (geo) {
			GeoInfo g = geo->lookup(ip);
			in.country = g.country;
			in.asn = g.asn;
		}
		return service.login(settings, in).verdict;
	}
};

template <typename F>
double per_second(int n, F &&f)
{
	auto start = Clock::now();
	for (int i = 0; i < n; i++)
		f(i);
	double secs = std::chrono::duration<double>(Clock::now() - start).count();
	return n / secs;
}

IpAddress ip_of(std::uint32_t n)
{
	IpAddress ip;
	ip.v4 = true;
	ip.bytes[0] = 198;
	ip.bytes[1] = static_cast<std::uint8_t>(18 + ((n >> 16) & 1));
	ip.bytes[2] = static_cast<std::uint8_t>(n >> 8);
	ip.bytes[3] = static_cast<std::uint8_t>(n);
	return ip;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::fprintf(stderr, "usage: %s COUNTRY.mmdb ASN.mmdb\n", argv[0]);
		return 2;
	}
	GeoDatabases geo(argv[1], argv[2]);
	const int n = 400000;

	// GeoIP lookup alone (country + ASN).
	volatile int sink = 0;
	double lookups = per_second(n, [&](int i) {
		GeoInfo g = geo.lookup(ip_of(static_cast<std::uint32_t>(i) * 256));
		sink = sink + (g.country ? 1 : 0);
	});
	std::printf("geoip lookup (country + ASN):          %10.0f /s  (%.2f us each)\n", lookups, 1e6 / lookups);

	// Login from a known network: one read, nothing to write.
	{
		Runner r;
		r.geo = &geo;
		const int accounts = 10000;
		for (int a = 0; a < accounts; a++)
			r.login("user" + std::to_string(a) + "@example.com", ip_of(static_cast<std::uint32_t>(a % 5) * 256));
		std::vector<std::string> users;
		for (int a = 0; a < accounts; a++)
			users.push_back("user" + std::to_string(a) + "@example.com");
		double rate = per_second(n, [&](int i) {
			r.login(users[static_cast<std::size_t>(i % accounts)],
				ip_of(static_cast<std::uint32_t>((i % accounts) % 5) * 256 + 7));
		});
		std::printf("login, known network (read only):      %10.0f /s  (%.2f us each)\n", rate, 1e6 / rate);
	}

	// Login from a new network each time: read + compare-and-swap; accounts rotate so none
	// reaches the limit.
	{
		Runner r;
		r.geo = &geo;
		const int accounts = 50000;
		std::vector<std::string> users;
		for (int a = 0; a < accounts; a++)
			users.push_back("user" + std::to_string(a) + "@example.com");
		double rate = per_second(n, [&](int i) {
			r.now = 1790000000 + i / 1000;
			r.login(users[static_cast<std::size_t>(i % accounts)],
				ip_of(static_cast<std::uint32_t>(i / accounts) * 256));
		});
		std::printf("login, new network (read + write):     %10.0f /s  (%.2f us each)\n", rate, 1e6 / rate);
	}

	// RCPT: read + compare-and-swap of the recipient counters.
	{
		Runner r;
		const int accounts = 10000;
		std::vector<std::string> users;
		for (int a = 0; a < accounts; a++)
			users.push_back("user" + std::to_string(a) + "@example.com");
		double rate = per_second(n, [&](int i) {
			r.service.rcpt(r.settings, users[static_cast<std::size_t>(i % accounts)],
				       static_cast<std::uint32_t>(r.now));
		});
		std::printf("rcpt (read + write):                   %10.0f /s  (%.2f us each)\n", rate, 1e6 / rate);
	}

	// Growth: cost per login as one account's history fills up to the limit.
	{
		std::printf("growth: login cost by networks already in the window (limit 50/24h):\n");
		for (int size : {1, 10, 25, 50}) {
			Runner r;
			r.settings.ip_limit = parse_limit_list("n", "100/24h");
			for (int k = 0; k < size; k++)
				r.login("grower", ip_of(static_cast<std::uint32_t>(k) * 256));
			double rate = per_second(n / 4, [&](int i) {
				r.login("grower", ip_of(static_cast<std::uint32_t>(i % size) * 256));
			});
			std::printf("  %3d networks: %10.0f /s  (%.2f us each)\n", size, rate, 1e6 / rate);
		}
	}
	return sink == -1;
}

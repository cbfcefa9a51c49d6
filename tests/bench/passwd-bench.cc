// passwd-bench: the figures issue 5 asks for, measured on a breached-password file generated
// here (random SHA-1 fingerprints plus the hashes of some of the benchmark's own passwords).
//
//   passwd-bench [--entries N] [--passwords N] [--dir DIR]
//
// Prints: the build rate of build-breached (entries/s, from SHA1:count text), the file's bytes
// per entry and false-positive rate, the time of one policy check (median, p99) including the
// breached lookup with the file in the page cache, and the lookup alone warm and cold (pages
// dropped from the cache with POSIX_FADV_DONTNEED before each lookup).
// Built by meson, not registered as a test: run it by hand, e.g.
//   build/password-policy/passwd-bench

#include "breached-builder.hh"
#include "breached-db.hh"
#include "policy.hh"
#include "sha1.hh"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace account_guard;
using Clock = std::chrono::steady_clock;

namespace {

double micros(Clock::duration d)
{
	return std::chrono::duration<double, std::micro>(d).count();
}

struct Summary {
	double median, p99, max;
};

Summary summarize(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))]; };
	return {at(0.5), at(0.99), v.back()};
}

std::string hex_upper(const unsigned char *d, std::size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	std::string s;
	for (std::size_t i = 0; i < n; i++) {
		s += hex[d[i] >> 4];
		s += hex[d[i] & 15];
	}
	return s;
}

// Candidate passwords of the kinds a password-change form sees.
std::vector<std::string> candidates(std::size_t n, std::mt19937_64 &rng)
{
	static const char *words[] = {"mango", "tiger", "quartz", "lantern", "velvet", "otter", "harbor",
				      "cobalt", "meadow", "pixel", "saffron", "glacier", "walnut", "comet",
				      "\xd1\x89\xd1\x83\xd0\xba\xd0\xb0", "\xd0\xbb\xd0\xb0\xd0\xbc\xd0\xbf\xd0\xb0",
				      "K\xc3\xb6ln", "\xf0\x9f\xa6\x8a"};
	static const char *weak[] = {"password1234567", "qwertyuiopasdfgh", "iloveyou12345678",
				     "aaaaaaaaaaaaaaaa", "alice@example.com", "Password123!Password"};
	static const char alnum[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789#%&*+=?@";
	std::vector<std::string> out;
	for (std::size_t i = 0; i < n; i++) {
		std::string pw;
		switch (i % 4) {
		case 0: // passphrase
			for (int w = 0; w < 4; w++)
				pw += std::string(w ? "-" : "") + words[rng() % (sizeof(words) / sizeof(words[0]))];
			pw += std::to_string(rng() % 100);
			break;
		case 1: // random characters, 16-24
			for (std::size_t c = 0, len = 16 + rng() % 9; c < len; c++)
				pw += alnum[rng() % (sizeof(alnum) - 1)];
			break;
		case 2: // weak
			pw = weak[rng() % (sizeof(weak) / sizeof(weak[0]))];
			break;
		default: // a long random one, 40-64
			for (std::size_t c = 0, len = 40 + rng() % 25; c < len; c++)
				pw += alnum[rng() % (sizeof(alnum) - 1)];
			break;
		}
		out.push_back(pw);
	}
	return out;
}

} // namespace

int main(int argc, char **argv)
{
	std::uint64_t entries = 10000000;
	std::size_t passwords = 4000;
	std::string dir = "/tmp";
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--entries" && i + 1 < argc)
			entries = std::strtoull(argv[++i], nullptr, 10);
		else if (a == "--passwords" && i + 1 < argc)
			passwords = std::strtoull(argv[++i], nullptr, 10);
		else if (a == "--dir" && i + 1 < argc)
			dir = argv[++i];
		else {
			std::fprintf(stderr, "usage: passwd-bench [--entries N] [--passwords N] [--dir DIR]\n");
			return 2;
		}
	}
	std::mt19937_64 rng(20240601);
	const std::vector<std::string> pws = candidates(passwords, rng);

	// ---- generate the SHA1:count input: random fingerprints + every 8th candidate ----
	const std::string input = dir + "/passwd-bench-pwned.txt";
	const std::string output = dir + "/passwd-bench-pwned.bin";
	std::printf("generating %" PRIu64 " SHA1:count lines in %s ...\n", entries, input.c_str());
	std::fflush(stdout);
	std::vector<std::array<unsigned char, 20>> hashes;
	hashes.reserve(entries);
	for (std::size_t i = 0; i < pws.size() && hashes.size() < entries; i += 8)
		hashes.push_back(sha1(pws[i]));
	while (hashes.size() < entries) {
		std::array<unsigned char, 20> h;
		for (std::size_t b = 0; b < 20; b += 8) {
			std::uint64_t r = rng();
			std::memcpy(h.data() + b, &r, std::min<std::size_t>(8, 20 - b));
		}
		hashes.push_back(h);
	}
	std::sort(hashes.begin(), hashes.end());
	{
		FILE *f = std::fopen(input.c_str(), "w");
		if (f == nullptr) {
			std::perror(input.c_str());
			return 1;
		}
		std::vector<char> buf(1 << 20);
		std::setvbuf(f, buf.data(), _IOFBF, buf.size());
		for (const auto &h : hashes)
			std::fprintf(f, "%s:%u\r\n", hex_upper(h.data(), 20).c_str(), static_cast<unsigned>(rng() % 1000 + 1));
		std::fclose(f);
	}
	hashes.clear();
	hashes.shrink_to_fit();

	// ---- build ----
	auto t0 = Clock::now();
	auto stats = build_breached_file(input, output, {});
	auto t1 = Clock::now();
	if (!stats) {
		std::fprintf(stderr, "build failed: %s\n", stats.error().c_str());
		return 1;
	}
	const double build_s = std::chrono::duration<double>(t1 - t0).count();
	std::printf("build-breached: %" PRIu64 " entries in %.2f s = %.2f M entries/s; %u bucket bits\n",
		    stats->entries, build_s, static_cast<double>(stats->entries) / build_s / 1e6, stats->bucket_bits);
	std::printf("file: %" PRIu64 " bytes = %.3f bytes per entry; false-positive rate %.2e\n",
		    stats->file_bytes, static_cast<double>(stats->file_bytes) / static_cast<double>(stats->entries),
		    stats->false_positive_rate);

	// ---- check, warm ----
	auto settings = parse_password_settings([&](const char *name) -> const char * {
		return std::strcmp(name, "account_guard_password_breached_db") == 0 ? output.c_str() : nullptr;
	});
	auto policy = PasswordPolicy::create(std::move(*settings));
	if (!policy) {
		std::fprintf(stderr, "%s\n", policy.error().c_str());
		return 1;
	}
	std::vector<double> check_us, accepted_us;
	std::size_t accepted = 0, breached = 0;
	for (int round = 0; round < 2; round++) { // round 0 warms caches and zxcvbn's tables
		check_us.clear();
		accepted_us.clear();
		accepted = breached = 0;
		for (const std::string &pw : pws) {
			auto a = Clock::now();
			auto v = policy->check(Candidate{pw, "alice@example.com", std::nullopt});
			auto b = Clock::now();
			check_us.push_back(micros(b - a));
			if (v && v->accepted()) {
				accepted++;
				accepted_us.push_back(micros(b - a));
			}
			if (v && v->has("breached"))
				breached++;
		}
	}
	Summary all = summarize(check_us);
	std::printf("check (policy, breached lookup included), %zu passwords (%zu accepted, %zu breached): "
		    "median %.1f us, p99 %.1f us, max %.1f us\n",
		    pws.size(), accepted, breached, all.median, all.p99, all.max);
	if (!accepted_us.empty()) {
		Summary acc = summarize(accepted_us);
		std::printf("check of accepted passwords only: median %.1f us, p99 %.1f us\n", acc.median, acc.p99);
	}

	// ---- the lookup alone, warm and cold ----
	const BreachedDb &db = *policy->breached_db();
	std::vector<double> warm, cold;
	for (int i = 0; i < 20000; i++) {
		std::string pw = "lookup-" + std::to_string(i);
		auto a = Clock::now();
		(void)db.contains(pw);
		warm.push_back(micros(Clock::now() - a));
	}
	// Cold: unmap, drop the file's pages from the page cache, map it again (open reads the
	// header page and the first and last index pages), then time one lookup.
	std::optional<PasswordPolicy> owner(std::move(*policy));
	owner.reset();
	int fd = open(output.c_str(), O_RDONLY);
	for (int i = 0; i < 300 && fd >= 0; i++) {
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		auto fresh = BreachedDb::open(output);
		if (!fresh)
			break;
		std::string pw = "cold-" + std::to_string(i);
		auto a = Clock::now();
		(void)fresh->contains(pw);
		cold.push_back(micros(Clock::now() - a));
	}
	if (fd >= 0)
		close(fd);
	Summary w = summarize(warm);
	std::printf("breached lookup alone, page cache warm: median %.2f us, p99 %.2f us\n", w.median, w.p99);
	if (!cold.empty()) {
		Summary c = summarize(cold);
		std::printf("breached lookup alone, page cache dropped (2 page reads from disk): median %.1f us, "
			    "p99 %.1f us\n", c.median, c.p99);
	}

	unlink(input.c_str());
	unlink(output.c_str());
	return 0;
}

#pragma once
// What the load generators (auth-load, smtp-load) share: clocks for rates and their own CPU
// use, and base64 for AUTH PLAIN.

#include <sys/resource.h>
#include <time.h>

#include <cstddef>
#include <string>

namespace bench {

inline double now_s()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline double cpu_s()
{
	rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

inline std::string base64(const std::string &in)
{
	static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	std::string out;
	size_t i = 0;
	for (; i + 2 < in.size(); i += 3) {
		unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
			     static_cast<unsigned char>(in[i + 2]);
		out += table[v >> 18];
		out += table[(v >> 12) & 63];
		out += table[(v >> 6) & 63];
		out += table[v & 63];
	}
	if (i + 1 == in.size()) {
		unsigned v = static_cast<unsigned char>(in[i]) << 16;
		out += table[v >> 18];
		out += table[(v >> 12) & 63];
		out += "==";
	} else if (i + 2 == in.size()) {
		unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
		out += table[v >> 18];
		out += table[(v >> 12) & 63];
		out += table[(v >> 6) & 63];
		out += '=';
	}
	return out;
}

} // namespace bench

#pragma once
// Runs lines through a replay parser and keeps what came out, for the parsers' unit tests.

#include "log-parser.hh"
#include "log-time.hh"

#include <string>
#include <vector>

namespace replay_test {

using namespace account_guard::replay;

// Epoch seconds of a UTC date and time.
inline std::int64_t utc(int year, unsigned month, unsigned day, unsigned hour = 0, unsigned minute = 0,
			unsigned second = 0)
{
	return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

struct Run {
	std::vector<ReplayEvent> events;
	std::vector<LineResult> results;
	std::string error; // last_error() after the last line
};

// Lines numbered from 1, then finish().
inline Run run(Format format, const std::vector<std::string> &lines, std::int64_t modified = utc(2026, 12, 31))
{
	auto parser = make_parser(format, 3, modified);
	Run r;
	std::uint64_t number = 0;
	for (const std::string &line : lines)
		r.results.push_back(parser->parse(line, ++number, r.events));
	parser->finish(r.events);
	r.error = parser->last_error();
	return r;
}

inline LineResult one(Format format, const std::string &line, std::string *error = nullptr)
{
	Run r = run(format, {line});
	if (error != nullptr)
		*error = r.error;
	return r.results.at(0);
}

} // namespace replay_test

#pragma once
// The body of the replay parsers' fuzz targets: the input split at '\n' into lines, each
// parsed, then finish(). Checks the parser's promises: times never go backwards, every event
// names its file and a line that was read, and a message has recipients.
#include "log-parser.hh"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

inline int fuzz_replay_parser(account_guard::replay::Format format, const std::uint8_t *data, std::size_t size)
{
	using namespace account_guard::replay;
	// December 31st 2026: syslog stamps of any month get a year.
	auto parser = make_parser(format, 7, 1798675200);
	std::string_view text(reinterpret_cast<const char *>(data), size);
	std::vector<ReplayEvent> events;
	std::uint64_t number = 0;
	while (!text.empty()) {
		std::size_t newline = text.find('\n');
		std::string_view line = text.substr(0, newline);
		text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
		LineResult result = parser->parse(line, ++number, events);
		if (result == LineResult::unparsable && parser->last_error().empty())
			std::abort();
	}
	parser->finish(events);
	for (std::size_t i = 0; i < events.size(); i++) {
		const ReplayEvent &e = events[i];
		if (e.file != 7 || e.line < 1 || e.line > number || (i > 0 && e.time < events[i - 1].time))
			std::abort();
		if (e.kind == EventKind::login && e.user.empty())
			std::abort();
		if (format == Format::postfix && e.kind == EventKind::message && e.to.empty())
			std::abort();
	}
	return 0;
}

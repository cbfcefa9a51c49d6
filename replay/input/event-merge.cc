#include "event-merge.hh"

#include "text.hh"

#include <stdexcept>

namespace account_guard::replay {

namespace {

constexpr std::size_t shown_length = 160;
// Lines read ahead to detect a file's format.
constexpr std::size_t sniffed_lines = 20;

} // namespace

struct EventMerge::Source {
	std::uint32_t index = 0;
	std::unique_ptr<LineInput> input;
	std::unique_ptr<LogParser> parser;
	std::vector<std::string> sniffed; // lines read to detect the format, not yet parsed
	std::size_t sniffed_next = 0;
	std::uint64_t sniffed_first_number = 1;
	std::vector<ReplayEvent> produced; // the parser's output buffer, reused
	std::deque<ReplayEvent> ready;
	bool ended = false;
	bool counted = true; // false for the second view of a file: its lines are counted once
};

EventMerge::EventMerge(const std::vector<std::string> &paths, Format format)
{
	for (std::size_t i = 0; i < paths.size(); i++) {
		auto s = std::make_unique<Source>();
		s->index = static_cast<std::uint32_t>(i);
		s->input = std::make_unique<LineInput>(paths[i]);
		Format f = format;
		bool both_logs = false;
		if (f == Format::automatic) {
			std::string_view line;
			while (s->sniffed.size() < sniffed_lines && s->input->next(line))
				s->sniffed.emplace_back(line);
			f = detect_format(s->sniffed);
			// Debian's syslog writes Dovecot and Postfix into one mail.log: a log file is
			// read through both parsers, as two sources of the same lines, and the merge
			// puts their events in order. (Standard input can be read only once: there
			// the first lines decide.)
			both_logs = f != Format::jsonl && paths[i] != "-";
		}
		s->parser = make_parser(f, s->index, s->input->modified());
		const std::int64_t modified = s->input->modified();
		sources_.push_back(std::move(s));
		if (both_logs) {
			auto other = std::make_unique<Source>();
			other->index = static_cast<std::uint32_t>(i);
			other->input = std::make_unique<LineInput>(paths[i]);
			other->parser = make_parser(f == Format::postfix ? Format::dovecot : Format::postfix,
						    other->index, modified);
			other->counted = false;
			sources_.push_back(std::move(other));
		}
	}
}

EventMerge::~EventMerge() = default;

bool EventMerge::fill(Source &s)
{
	while (s.ready.empty() && !s.ended) {
		std::string_view line;
		std::uint64_t number;
		if (s.sniffed_next < s.sniffed.size()) {
			line = s.sniffed[s.sniffed_next];
			number = s.sniffed_first_number + s.sniffed_next++;
		} else if (s.input->next(line)) {
			number = s.input->line_number();
		} else {
			s.parser->finish(s.produced);
			s.ended = true;
			s.sniffed.clear();
			number = 0;
		}
		if (!s.ended) {
			counts_.lines += s.counted ? 1 : 0;
			switch (s.parser->parse(line, number, s.produced)) {
			case LineResult::event:
				break;
			case LineResult::ignored:
				counts_.ignored += s.counted ? 1 : 0;
				break;
			case LineResult::unparsable:
				counts_.unparsable++;
				if (counts_.first_unparsable.size() < shown_unparsable) {
					std::string shown = printable(line.substr(0, shown_length));
					if (line.size() > shown_length)
						shown += "...";
					counts_.first_unparsable.push_back(
						BadLine{s.index, number, s.parser->last_error(), std::move(shown)});
				}
				break;
			}
		}
		for (ReplayEvent &e : s.produced)
			s.ready.push_back(std::move(e));
		s.produced.clear();
	}
	return !s.ready.empty();
}

bool EventMerge::next(ReplayEvent &event)
{
	// A handful of files at most: a linear scan for the earliest beats a heap.
	Source *best = nullptr;
	for (auto &s : sources_) {
		if (!fill(*s))
			continue;
		if (best == nullptr || s->ready.front().time < best->ready.front().time)
			best = s.get();
	}
	if (best == nullptr)
		return false;
	event = std::move(best->ready.front());
	best->ready.pop_front();
	return true;
}

std::uint64_t EventMerge::bytes_read() const
{
	std::uint64_t n = 0;
	for (const auto &s : sources_)
		n += s->counted ? s->input->bytes_read() : 0;
	return n;
}

std::uint64_t EventMerge::total_size() const
{
	std::uint64_t n = 0;
	for (const auto &s : sources_) {
		if (!s->counted)
			continue;
		if (s->input->size() == 0)
			return 0;
		n += s->input->size();
	}
	return n;
}

} // namespace account_guard::replay

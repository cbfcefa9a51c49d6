#pragma once
// The two outputs of account-guard-replay (INTERFACE §9): the readable report (by account,
// then totals per rule) and --json (one object a decision, then the summary).

#include "decision.hh"
#include "event-merge.hh"
#include "simulator.hh"
#include "tally.hh"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace account_guard::replay {

// What the report's end needs besides the decisions.
struct RunTotals {
	const InputCounts &input;
	const EventCounts &events;
	const Tally &tally;
	std::size_t still_locked = 0;
	std::int64_t first_time = 0, last_time = 0; // of the events, 0 when none
};

class Report : public DecisionSink {
public:
	virtual void finish(const RunTotals &totals) = 0;
};

// `files` are the inputs as named on the command line; output goes to `out`.
std::unique_ptr<Report> make_json_report(std::vector<std::string> files, std::FILE *out);
std::unique_ptr<Report> make_text_report(std::vector<std::string> files, std::FILE *out);

} // namespace account_guard::replay

// --json: one object a decision as it is taken, then {"summary": ...} (INTERFACE §9).

#include "json-writer.hh"
#include "report.hh"
#include "text.hh"

namespace account_guard::replay {

namespace {

void append_counts(std::string &out, const std::array<std::uint64_t, decision_kinds> &counts)
{
	out += '{';
	for (int k = 0; k < decision_kinds; k++) {
		if (k > 0)
			out += ", ";
		append_json_string(out, decision_name(static_cast<DecisionKind>(k)));
		out += ": " + std::to_string(counts[static_cast<std::size_t>(k)]);
	}
	out += '}';
}

class JsonReport : public Report {
public:
	JsonReport(std::vector<std::string> files, std::FILE *out) : files_(std::move(files)), out_(out) {}

	void decided(const Decision &d) override
	{
		line_.clear();
		line_ += "{\"file\": ";
		append_json_string(line_, d.where.file < files_.size() ? files_[d.where.file] : "");
		line_ += ", \"line\": " + std::to_string(d.where.line);
		line_ += ", \"time\": ";
		append_json_string(line_, format_time_utc(d.time));
		line_ += ", \"user\": ";
		append_json_string(line_, d.user);
		line_ += ", \"event\": ";
		append_json_string(line_, event_kind_name(d.event));
		line_ += ", \"decision\": ";
		append_json_string(line_, decision_name(d.decision));
		line_ += ", \"rule\": ";
		append_json_string(line_, d.rule);
		line_ += ", \"reason\": ";
		append_json_string(line_, d.reason);
		if (d.event == EventKind::message && d.accepted >= 0) {
			line_ += ", \"accepted\": " + std::to_string(d.accepted);
			line_ += ", \"refused\": " + std::to_string(d.refused);
		}
		if (!d.evidence.empty()) {
			line_ += ", \"evidence\": [";
			for (std::size_t i = 0; i < d.evidence.size(); i++) {
				if (i > 0)
					line_ += ", ";
				line_ += "{\"file\": ";
				const auto f = d.evidence[i].file;
				append_json_string(line_, f < files_.size() ? files_[f] : "");
				line_ += ", \"line\": " + std::to_string(d.evidence[i].line) + "}";
			}
			line_ += ']';
		}
		line_ += "}\n";
		std::fwrite(line_.data(), 1, line_.size(), out_);
	}

	void finish(const RunTotals &t) override
	{
		std::string s = "{\"summary\": {\"lines\": " + std::to_string(t.input.lines);
		s += ", \"unparsable\": " + std::to_string(t.input.unparsable);
		s += ", \"ignored\": " + std::to_string(t.input.ignored);
		s += ", \"events\": {";
		for (std::size_t k = 0; k < t.events.by_kind.size(); k++) {
			if (k > 0)
				s += ", ";
			append_json_string(s, event_kind_name(static_cast<EventKind>(k)));
			s += ": " + std::to_string(t.events.by_kind[k]);
		}
		s += "}, \"recipients\": " + std::to_string(t.events.recipients);
		s += ", \"recipients_refused\": " + std::to_string(t.tally.recipients_refused);
		s += ", \"decisions\": ";
		append_counts(s, t.tally.decisions);
		s += ", \"rules\": {";
		bool first = true;
		for (const auto &[rule, counts] : t.tally.rules) {
			if (!first)
				s += ", ";
			first = false;
			append_json_string(s, rule);
			s += ": ";
			append_counts(s, counts);
		}
		s += "}, \"accounts_locked\": " + std::to_string(t.tally.accounts_locked.size());
		s += ", \"accounts_still_locked\": " + std::to_string(t.still_locked);
		s += ", \"accounts_refused\": " + std::to_string(t.tally.accounts_refused.size());
		s += ", \"unused_events\": " + std::to_string(t.events.unused);
		s += "}}\n";
		std::fwrite(s.data(), 1, s.size(), out_);
		std::fflush(out_);
	}

private:
	std::vector<std::string> files_;
	std::FILE *out_;
	std::string line_; // reused: one decision a line
};

} // namespace

std::unique_ptr<Report> make_json_report(std::vector<std::string> files, std::FILE *out)
{
	return std::make_unique<JsonReport>(std::move(files), out);
}

} // namespace account_guard::replay

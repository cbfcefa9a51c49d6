// The readable report: for each account the guard would have acted on, what it did, when,
// by which rule and on which lines; then the totals per rule. Accounts are listed in the
// order of their first decision, which is the order a postmaster reads an incident in.

#include "report.hh"
#include "text.hh"

#include <map>
#include <optional>
#include <unordered_map>

namespace account_guard::replay {

namespace {

struct Happened {
	std::int64_t time = 0;
	std::string rule, reason;
	LineRef where;
	std::vector<LineRef> evidence;
};

struct AccountStory {
	std::string user;
	std::vector<Happened> locks, unlocks;
	std::optional<Happened> first_rcpt_refusal;
	std::uint64_t logins_refused = 0, messages_refused = 0, recipients_refused = 0, notifications = 0;
};

class TextReport : public Report {
public:
	TextReport(std::vector<std::string> files, std::FILE *out) : files_(std::move(files)), out_(out) {}

	void decided(const Decision &d) override
	{
		auto [it, inserted] = index_.try_emplace(d.user, stories_.size());
		if (inserted) {
			stories_.emplace_back();
			stories_.back().user = d.user;
		}
		AccountStory &a = stories_[it->second];
		Happened h{d.time, d.rule, d.reason, d.where, d.evidence};
		switch (d.decision) {
		case DecisionKind::lock:
			a.locks.push_back(std::move(h));
			break;
		case DecisionKind::unlock:
			a.unlocks.push_back(std::move(h));
			break;
		case DecisionKind::refuse_login:
			a.logins_refused++;
			break;
		case DecisionKind::refuse_rcpt:
			a.messages_refused++;
			a.recipients_refused += d.refused > 0 ? static_cast<std::uint64_t>(d.refused) : 0;
			if (!a.first_rcpt_refusal)
				a.first_rcpt_refusal = std::move(h);
			break;
		case DecisionKind::notify:
			a.notifications++;
			break;
		case DecisionKind::probation:
			break;
		}
	}

	void finish(const RunTotals &t) override
	{
		print_header(t);
		std::size_t locked = 0;
		for (const AccountStory &a : stories_)
			locked += a.locks.empty() ? 0 : 1;
		std::fprintf(out_, "\nAccounts locked: %zu\n", locked);
		for (const AccountStory &a : stories_)
			if (!a.locks.empty())
				print_story(a);
		std::fprintf(out_, "\nAccounts with recipients refused, never locked: %zu\n", stories_.size() - locked);
		for (const AccountStory &a : stories_)
			if (a.locks.empty())
				print_story(a);
		print_totals(t);
	}

private:
	std::string where(LineRef r) const
	{
		return (r.file < files_.size() ? files_[r.file] : "?") + ":" + std::to_string(r.line);
	}

	void print_header(const RunTotals &t)
	{
		const auto &k = t.events.by_kind;
		std::fprintf(out_, "account-guard-replay: %llu lines, %llu logins, %llu messages (%llu recipients), "
				   "%llu password changes",
			     (unsigned long long)t.input.lines, (unsigned long long)k[0], (unsigned long long)k[1],
			     (unsigned long long)t.events.recipients, (unsigned long long)k[2]);
		if (t.events.unused > 0)
			std::fprintf(out_, ", %llu bounces and complaints (not used by this version's rules)",
				     (unsigned long long)t.events.unused);
		std::fprintf(out_, "\n");
		if (t.first_time != 0)
			std::fprintf(out_, "from %s to %s\n", format_time_utc(t.first_time).c_str(),
				     format_time_utc(t.last_time).c_str());
		if (t.input.unparsable > 0) {
			std::fprintf(out_, "unparsable lines: %llu; the first:\n", (unsigned long long)t.input.unparsable);
			for (const BadLine &b : t.input.first_unparsable)
				std::fprintf(out_, "  %s: %s: %s\n", where(LineRef{b.file, b.line}).c_str(),
					     b.why.c_str(), b.text.c_str());
		}
	}

	void print_story(const AccountStory &a)
	{
		std::fprintf(out_, "  %s\n", printable(a.user).c_str());
		std::size_t u = 0;
		for (const Happened &l : a.locks) {
			std::fprintf(out_, "    locked    %s  %s: %s (%s)\n", format_time_utc(l.time).c_str(),
				     l.rule.c_str(), l.reason.c_str(), where(l.where).c_str());
			if (!l.evidence.empty()) {
				std::string lines;
				for (const LineRef &e : l.evidence)
					lines += (lines.empty() ? "" : ", ") + where(e);
				std::fprintf(out_, "              evidence: %s\n", lines.c_str());
			}
			// Its unlock, if one followed.
			for (; u < a.unlocks.size() && a.unlocks[u].time < l.time; u++) {
			}
			if (u < a.unlocks.size()) {
				std::fprintf(out_, "    unlocked  %s  %s (%s)\n", format_time_utc(a.unlocks[u].time).c_str(),
					     a.unlocks[u].reason.c_str(), where(a.unlocks[u].where).c_str());
				u++;
			}
		}
		if (a.logins_refused > 0)
			std::fprintf(out_, "    refused   %llu logins\n", (unsigned long long)a.logins_refused);
		if (a.first_rcpt_refusal) {
			const Happened &r = *a.first_rcpt_refusal;
			std::fprintf(out_, "    refused   %llu recipients of %llu messages, first %s  %s: %s (%s)\n",
				     (unsigned long long)a.recipients_refused, (unsigned long long)a.messages_refused,
				     format_time_utc(r.time).c_str(), r.rule.c_str(), r.reason.c_str(),
				     where(r.where).c_str());
		}
		if (a.notifications > 0)
			std::fprintf(out_, "    notified  %llu times\n", (unsigned long long)a.notifications);
	}

	void print_totals(const RunTotals &t)
	{
		std::fprintf(out_, "\nTotals per rule:\n");
		for (const auto &[rule, c] : t.tally.rules) {
			std::fprintf(out_, "  %-40s", rule.c_str());
			for (int k = 0; k < decision_kinds; k++)
				if (c[static_cast<std::size_t>(k)] > 0)
					std::fprintf(out_, " %s %llu", decision_name(static_cast<DecisionKind>(k)),
						     (unsigned long long)c[static_cast<std::size_t>(k)]);
			std::fprintf(out_, "\n");
		}
		std::fprintf(out_, "Accounts locked: %zu (still locked at the end: %zu); accounts with a login "
				   "or recipient refused: %zu; recipients refused: %llu\n",
			     t.tally.accounts_locked.size(), t.still_locked, t.tally.accounts_refused.size(),
			     (unsigned long long)t.tally.recipients_refused);
		std::fflush(out_);
	}

	std::vector<std::string> files_;
	std::FILE *out_;
	std::vector<AccountStory> stories_;
	std::unordered_map<std::string, std::size_t> index_;
};

} // namespace

std::unique_ptr<Report> make_text_report(std::vector<std::string> files, std::FILE *out)
{
	return std::make_unique<TextReport>(std::move(files), out);
}

} // namespace account_guard::replay

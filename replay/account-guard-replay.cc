// account-guard-replay: what the guard would have done on past logs (INTERFACE §9, man page
// account-guard-replay(1)). The composition root: options and settings, the inputs merged in
// time order, the simulator, the report.

#include "event-merge.hh"
#include "geo-databases.hh"
#include "replay-options.hh"
#include "report.hh"
#include "simulator.hh"
#include "tally.hh"
#include "dovecot-config.hh"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

using namespace account_guard;
using namespace account_guard::replay;

namespace {

// Every decision is counted for the totals and handed to the report.
class Counted : public DecisionSink {
public:
	Counted(Tally &tally, DecisionSink &next) : tally_(tally), next_(next) {}
	void decided(const Decision &d) override
	{
		tally_.add(d);
		next_.decided(d);
	}

private:
	Tally &tally_;
	DecisionSink &next_;
};

// A line on stderr now and then, only for a person watching (a tty): how far the inputs are.
class Progress {
public:
	explicit Progress(const EventMerge &merge) : merge_(merge), shown_(isatty(STDERR_FILENO) == 1) {}
	void tick(std::uint64_t events)
	{
		if (!shown_ || (events & ((1u << 20) - 1)) != 0)
			return;
		const std::uint64_t total = merge_.total_size();
		if (total > 0)
			std::fprintf(stderr, "\raccount-guard-replay: %3.0f%%, %llu events",
				     100.0 * static_cast<double>(merge_.bytes_read()) / static_cast<double>(total),
				     static_cast<unsigned long long>(events));
		else
			std::fprintf(stderr, "\raccount-guard-replay: %llu events", static_cast<unsigned long long>(events));
		dirty_ = true;
	}
	~Progress()
	{
		if (dirty_)
			std::fprintf(stderr, "\r\033[K");
	}

private:
	const EventMerge &merge_;
	bool shown_;
	bool dirty_ = false;
};

std::string hostname()
{
	char name[256] = "";
	if (gethostname(name, sizeof(name) - 1) != 0)
		return {};
	return name;
}

int usage_error(const std::string &message)
{
	std::fprintf(stderr, "account-guard-replay: %s\n%s", message.c_str(), usage_text);
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	Result<Options> parsed = parse_options(argc, argv);
	if (!parsed)
		return usage_error(parsed.error());
	const Options &options = parsed.value();
	if (options.help) {
		std::fputs(usage_text, stdout);
		return 0;
	}
	Result<Settings> settings = load_settings(options, hostname(), default_dovecot_config, default_doveconf);
	if (!settings) {
		std::fprintf(stderr, "account-guard-replay: %s\n", settings.error().c_str());
		return 2;
	}
	try {
		std::unique_ptr<GeoDatabases> geo;
		const Settings &s = settings.value();
		if (!s.geoip_db.empty() || !s.asn_db.empty() || !s.city_db.empty())
			// Checked once: the files do not change under a replay.
			geo = std::make_unique<GeoDatabases>(s.geoip_db, s.asn_db, s.city_db, 1 << 30);
		EventMerge merge(options.files, options.format);
		std::unique_ptr<Report> report = options.json ? make_json_report(options.files, stdout)
							     : make_text_report(options.files, stdout);
		Tally tally;
		Counted counted(tally, *report);
		Simulator simulator(s, geo.get(), counted);
		Progress progress(merge);
		ReplayEvent event;
		std::uint64_t events = 0;
		std::int64_t first = 0, last = 0;
		while (merge.next(event)) {
			if (events++ == 0)
				first = event.time;
			last = std::max(last, event.time);
			simulator.apply(event);
			progress.tick(events);
		}
		report->finish(RunTotals{merge.counts(), simulator.counts(), tally,
					 simulator.accounts_locked_now(), first, last});
	} catch (const SettingError &e) {
		std::fprintf(stderr, "account-guard-replay: %s\n", e.what());
		return 2;
	} catch (const std::runtime_error &e) {
		std::fprintf(stderr, "account-guard-replay: %s\n", e.what());
		return 2;
	}
	return 0;
}

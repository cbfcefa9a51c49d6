#pragma once
// Lists too long for a setting line (`account_guard_suspect_networks = file:PATH`): one entry
// a line, blank lines and '#' comments ignored, read with the setting's own parser so that a
// bad line is reported like a bad setting (naming the setting, the file and the line).
// Files are replaced by cron jobs (hosting-ASN lists, Tor exits): ListFileWatcher notices a
// replaced file and reads it again, keeping the old list when the new one cannot be read.

#include "network.hh"

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

// Throw SettingError ("<name>: <problem> '<value>'") for a missing file or a bad line.
NetworkList read_network_file(std::string_view name, const std::string &path);
std::vector<std::uint32_t> read_asn_file(std::string_view name, const std::string &path);

// Whether a file changed since the last look, looking at most every `interval` seconds:
// called on every login, it costs a comparison until the interval has passed, then one stat.
class ListFileWatcher {
public:
	explicit ListFileWatcher(std::string path, std::time_t interval = 5);
	// True once for each replacement (a new mtime, size or inode) seen at `now`.
	bool changed(std::time_t now);
	const std::string &path() const { return path_; }

private:
	std::string path_;
	std::time_t interval_;
	std::time_t last_check_ = 0;
	struct Identity {
		long long mtime_ns = 0, size = -1;
		unsigned long long inode = 0;
		bool operator==(const Identity &o) const { return mtime_ns == o.mtime_ns && size == o.size && inode == o.inode; }
	} seen_;
	static Identity identify(const std::string &path);
};

} // namespace account_guard

#include "list-file.hh"

#include "settings.hh"
#include "text.hh"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

namespace account_guard {

namespace {

// Calls parse(line) for every entry line; a SettingError of the parser gets the place added.
template <typename Parse>
void read_lines(std::string_view name, const std::string &path, Parse parse)
{
	std::ifstream in(path);
	if (!in)
		throw SettingError(setting_error_text(name, std::string("cannot read file (") + std::strerror(errno) + ")",
						      path));
	std::string line;
	unsigned long number = 0;
	while (std::getline(in, line)) {
		number++;
		const std::size_t hash = line.find('#');
		std::string_view entry(line.data(), hash == std::string::npos ? line.size() : hash);
		while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t' || entry.back() == '\r'))
			entry.remove_suffix(1);
		while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
			entry.remove_prefix(1);
		if (entry.empty())
			continue;
		try {
			parse(entry);
		} catch (const SettingError &e) {
			throw SettingError(std::string(e.what()) + " (" + path + " line " + std::to_string(number) + ")");
		}
	}
}

} // namespace

NetworkList read_network_file(std::string_view name, const std::string &path)
{
	NetworkList list;
	read_lines(name, path, [&](std::string_view entry) {
		for (const Network &n : parse_network_list(name, entry).items())
			list.add(n);
	});
	return list;
}

std::vector<std::uint32_t> read_asn_file(std::string_view name, const std::string &path)
{
	std::vector<std::uint32_t> asns;
	read_lines(name, path, [&](std::string_view entry) {
		for (std::uint32_t asn : parse_asn_list(name, entry))
			asns.push_back(asn);
	});
	return asns;
}

ListFileWatcher::ListFileWatcher(std::string path, std::time_t interval)
	: path_(std::move(path)), interval_(interval), seen_(identify(path_)) {}

ListFileWatcher::Identity ListFileWatcher::identify(const std::string &path)
{
	struct stat st;
	Identity id;
	if (stat(path.c_str(), &st) != 0)
		return id;
	id.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
	id.size = static_cast<long long>(st.st_size);
	id.inode = static_cast<unsigned long long>(st.st_ino);
	return id;
}

bool ListFileWatcher::changed(std::time_t now)
{
	if (now - last_check_ < interval_ && now >= last_check_)
		return false;
	last_check_ = now;
	const Identity id = identify(path_);
	if (id == seen_)
		return false;
	seen_ = id;
	return true;
}

} // namespace account_guard

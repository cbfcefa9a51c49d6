#pragma once
// One MaxMind-format database file (libmaxminddb, memory-mapped), replaced without a restart
// when the file on disk changes: postmasters run geoipupdate weekly, and Dovecot's auth
// process lives for days. For one thread at a time: neither the replacement nor the strings it
// remembers are locked (each Dovecot process has its own).

#include "network.hh"

#include <cstddef>
#include <ctime>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/types.h>

struct MMDB_s;

namespace account_guard {

class GeoError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

class MmdbDatabase {
public:
	// Opens the file now; throws GeoError naming the file and the reason.
	explicit MmdbDatabase(std::string path);
	~MmdbDatabase();
	MmdbDatabase(const MmdbDatabase &) = delete;
	MmdbDatabase &operator=(const MmdbDatabase &) = delete;

	const std::string &path() const { return path_; }

	// The value at a path of map keys, e.g. {"country", "iso_code"}; nullopt if the address
	// or the value is not in the database. keys must be a static array: strings already read
	// are remembered by record and by the address of their path.
	std::optional<std::string> lookup_string(const IpAddress &ip, const char *const *keys) const;
	std::optional<std::uint32_t> lookup_uint32(const IpAddress &ip, const char *const *keys) const;
	// Several numbers of one record with one walk of the tree (a location is three): sets
	// values_r[i] to the number at paths[i], of any numeric type, or nullopt where the
	// address or that value is not in the database.
	void lookup_numbers(const IpAddress &ip, const char *const *const *paths, std::size_t count,
			    std::optional<double> *values_r) const;

	enum class Reload { unchanged, reloaded, failed };
	// If the file changed since it was opened (inode, size or mtime), opens the new one and
	// switches to it. On failure the old database stays in use; *error_r says why, and a
	// file that failed is not retried until it changes again.
	Reload reload_if_changed(std::string *error_r);

private:
	struct FileId {
		dev_t dev = 0;
		ino_t ino = 0;
		off_t size = 0;
		long long mtime_ns = 0;
		bool operator==(const FileId &o) const
		{
			return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns;
		}
	};
	struct Handle;
	static std::unique_ptr<Handle> open(const std::string &path, FileId *id_r);

	std::string path_;
	std::unique_ptr<Handle> handle_;
	FileId opened_;
	std::optional<FileId> failed_;
};

} // namespace account_guard

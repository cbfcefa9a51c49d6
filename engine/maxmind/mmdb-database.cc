#include "mmdb-database.hh"

#include <maxminddb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace account_guard {

struct MmdbDatabase::Handle {
	MMDB_s mmdb{};
	// Strings already read, by the data record they are in: many networks share one record
	// (every network of a country points to the country's), and following a path of map keys
	// costs more than the tree walk to the record. Direct-mapped; goes with the file's
	// mapping when a new file replaces it.
	struct CachedString {
		std::uint32_t offset = 0;
		const char *const *keys = nullptr; // a static path, known by its address
		std::optional<std::string> value;
	};
	std::array<CachedString, 256> strings;
	~Handle() { MMDB_close(&mmdb); }
};

namespace {

bool stat_file(const std::string &path, struct stat *st, std::string *error_r)
{
	if (stat(path.c_str(), st) < 0) {
		*error_r = std::strerror(errno);
		return false;
	}
	if (!S_ISREG(st->st_mode)) {
		*error_r = "not a regular file";
		return false;
	}
	return true;
}

// The data record of ip's network; false if the address is not in the database.
bool find_entry(const MMDB_s *mmdb, const IpAddress &ip, MMDB_entry_s *entry_r)
{
	struct sockaddr_storage ss;
	std::memset(&ss, 0, sizeof(ss));
	if (ip.v4) {
		auto *sin = reinterpret_cast<struct sockaddr_in *>(&ss);
		sin->sin_family = AF_INET;
		std::memcpy(&sin->sin_addr, ip.bytes.data(), 4);
	} else {
		auto *sin6 = reinterpret_cast<struct sockaddr_in6 *>(&ss);
		sin6->sin6_family = AF_INET6;
		std::memcpy(&sin6->sin6_addr, ip.bytes.data(), 16);
	}
	int mmdb_error = MMDB_SUCCESS;
	MMDB_lookup_result_s result =
		MMDB_lookup_sockaddr(mmdb, reinterpret_cast<const struct sockaddr *>(&ss), &mmdb_error);
	// An IPv6 address in an IPv4-only database is an error, not a crash: treat as unknown.
	if (mmdb_error != MMDB_SUCCESS || !result.found_entry)
		return false;
	*entry_r = result.entry;
	return true;
}

// Follows keys from an entry; true with *data_r filled if the value is there.
bool get_value(MMDB_entry_s *entry, const char *const *keys, MMDB_entry_data_s *data_r)
{
	return MMDB_aget_value(entry, data_r, keys) == MMDB_SUCCESS && data_r->has_data;
}

} // namespace

std::unique_ptr<MmdbDatabase::Handle> MmdbDatabase::open(const std::string &path, FileId *id_r)
{
	struct stat st;
	std::string error;
	if (!stat_file(path, &st, &error))
		throw GeoError("cannot open '" + path + "': " + error);
	auto handle = std::make_unique<Handle>();
	int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &handle->mmdb);
	if (status != MMDB_SUCCESS) {
		std::string reason = status == MMDB_IO_ERROR ? std::string(MMDB_strerror(status)) + ": " + std::strerror(errno)
							     : MMDB_strerror(status);
		// MMDB_open cleans up after itself on failure; a zeroed MMDB_s is safe to close.
		std::memset(&handle->mmdb, 0, sizeof(handle->mmdb));
		throw GeoError("cannot open '" + path + "': " + reason);
	}
	id_r->dev = st.st_dev;
	id_r->ino = st.st_ino;
	id_r->size = st.st_size;
	id_r->mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
	return handle;
}

MmdbDatabase::MmdbDatabase(std::string path) : path_(std::move(path))
{
	handle_ = open(path_, &opened_);
}

MmdbDatabase::~MmdbDatabase() = default;

std::optional<std::string> MmdbDatabase::lookup_string(const IpAddress &ip, const char *const *keys) const
{
	MMDB_entry_s entry;
	if (!find_entry(&handle_->mmdb, ip, &entry))
		return std::nullopt;
	Handle::CachedString &cached = handle_->strings[entry.offset % handle_->strings.size()];
	if (cached.keys == keys && cached.offset == entry.offset)
		return cached.value;
	MMDB_entry_data_s data;
	std::optional<std::string> value;
	if (get_value(&entry, keys, &data) && data.type == MMDB_DATA_TYPE_UTF8_STRING)
		value.emplace(data.utf8_string, data.data_size);
	cached.offset = entry.offset;
	cached.keys = keys;
	cached.value = value;
	return value;
}

std::optional<std::uint32_t> MmdbDatabase::lookup_uint32(const IpAddress &ip, const char *const *keys) const
{
	MMDB_entry_s entry;
	MMDB_entry_data_s data;
	if (!find_entry(&handle_->mmdb, ip, &entry) || !get_value(&entry, keys, &data))
		return std::nullopt;
	switch (data.type) {
	case MMDB_DATA_TYPE_UINT32:
		return data.uint32;
	case MMDB_DATA_TYPE_UINT16:
		return data.uint16;
	default:
		return std::nullopt;
	}
}

void MmdbDatabase::lookup_numbers(const IpAddress &ip, const char *const *const *paths, std::size_t count,
				  std::optional<double> *values_r) const
{
	for (std::size_t i = 0; i < count; i++)
		values_r[i].reset();
	MMDB_entry_s entry;
	if (!find_entry(&handle_->mmdb, ip, &entry))
		return;
	for (std::size_t i = 0; i < count; i++) {
		MMDB_entry_data_s data;
		if (!get_value(&entry, paths[i], &data))
			continue;
		switch (data.type) {
		case MMDB_DATA_TYPE_DOUBLE:
			values_r[i] = data.double_value;
			break;
		case MMDB_DATA_TYPE_FLOAT:
			values_r[i] = data.float_value;
			break;
		case MMDB_DATA_TYPE_UINT16:
			values_r[i] = data.uint16;
			break;
		case MMDB_DATA_TYPE_UINT32:
			values_r[i] = data.uint32;
			break;
		case MMDB_DATA_TYPE_INT32:
			values_r[i] = data.int32;
			break;
		case MMDB_DATA_TYPE_UINT64:
			values_r[i] = static_cast<double>(data.uint64);
			break;
		default:
			break;
		}
	}
}

MmdbDatabase::Reload MmdbDatabase::reload_if_changed(std::string *error_r)
{
	struct stat st;
	std::string error;
	FileId now_id;
	if (!stat_file(path_, &st, &error)) {
		// Mid-replacement (unlink + rename) or gone: keep what we have, say so once.
		now_id = FileId{};
		if (failed_ && *failed_ == now_id)
			return Reload::unchanged;
		failed_ = now_id;
		*error_r = "cannot open '" + path_ + "': " + error + "; keeping the database loaded before";
		return Reload::failed;
	}
	now_id.dev = st.st_dev;
	now_id.ino = st.st_ino;
	now_id.size = st.st_size;
	now_id.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
	if (now_id == opened_ || (failed_ && *failed_ == now_id))
		return Reload::unchanged;
	try {
		FileId id;
		auto fresh = open(path_, &id);
		handle_ = std::move(fresh);
		opened_ = id;
		failed_.reset();
		return Reload::reloaded;
	} catch (const GeoError &e) {
		failed_ = now_id;
		*error_r = std::string(e.what()) + "; keeping the database loaded before";
		return Reload::failed;
	}
}

} // namespace account_guard

#pragma once
// memcached's binary protocol, as far as AsyncMemcached speaks it: encoding GET, SET, ADD and
// DELETE requests and framing responses. Pure functions over bytes, no sockets, so that the
// parser (which reads whatever a server, or anything listening on its port, sends) can be unit
// tested and fuzzed on its own. Every length is checked before it is used; a response that
// breaks the framing rules is reported, never trusted.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace account_guard::memcached_protocol {

constexpr std::size_t header_size = 24;
// The longest key the protocol allows (memcached's KEY_MAX_LENGTH).
constexpr std::size_t max_key_length = 250;
// The largest response body accepted: memcached's default item size limit is 1 MiB, and the
// engine's values are a few hundred bytes. Anything longer is not a memcached answering us.
constexpr std::uint32_t max_body_length = 1024 * 1024;

constexpr std::uint8_t request_magic = 0x80;
constexpr std::uint8_t response_magic = 0x81;

enum Opcode : std::uint8_t {
	op_get = 0x00,
	op_set = 0x01,
	op_add = 0x02,
	op_delete = 0x04,
	op_getq = 0x09,   // quiet: no answer on a miss
	op_append = 0x0e,
};

enum Status : std::uint16_t {
	status_ok = 0x0000,
	status_not_found = 0x0001,
	status_exists = 0x0002,
	status_too_large = 0x0003,
	status_invalid = 0x0004,
	status_not_stored = 0x0005,
};

// Append one request to `out`. The caller checks the key length (1..max_key_length).
void append_get(std::string &out, std::string_view key, std::uint32_t opaque);
// SET (cas 0: unconditional; else only if the item still has that cas) or ADD. Flags are 0.
void append_store(std::string &out, Opcode opcode, std::string_view key, std::string_view value,
		  std::uint32_t expiration, std::uint64_t cas, std::uint32_t opaque);
void append_delete(std::string &out, std::string_view key, std::uint32_t opaque);
// GETQ: answered only on a hit (or an error), so a GET after it on the same connection ends
// the reply of both: two keys in one round trip, and nothing extra on the wire for a miss.
void append_getq(std::string &out, std::string_view key, std::uint32_t opaque);
// APPEND: adds `value` to the end of an existing item (not stored when there is none).
void append_append(std::string &out, std::string_view key, std::string_view value,
		   std::uint32_t opaque);

// The key of a request appended by one of the functions above (starting at its header).
std::string_view request_key(std::string_view request);
// Its opcode.
Opcode request_opcode(std::string_view request);

struct Response {
	std::uint8_t opcode = 0;
	std::uint16_t status = 0;
	std::uint32_t opaque = 0;
	std::uint64_t cas = 0;
	// Views into the parsed buffer.
	std::string_view extras;
	std::string_view key;
	std::string_view value;
};

enum class Parse {
	complete,   // `response` filled, `consumed` bytes used
	incomplete, // a valid beginning: wait for more bytes
	malformed,  // not a response: `error` says why; the stream cannot be resynchronised
};

// Frames the response at the start of `data`.
Parse parse_response(std::string_view data, Response &response, std::size_t &consumed,
		     std::string &error);

// A short text for a status ("Key exists"), or "" for an unknown one.
const char *status_text(std::uint16_t status);

} // namespace account_guard::memcached_protocol

// The binary protocol's framing (see memcached-protocol.hh): big-endian fields written and read
// byte by byte, so that neither alignment nor the host's byte order matters.
#include "memcached-protocol.hh"

namespace account_guard::memcached_protocol {

namespace {

void put16(std::string &out, std::uint16_t v)
{
	out.push_back(static_cast<char>(v >> 8));
	out.push_back(static_cast<char>(v));
}

void put32(std::string &out, std::uint32_t v)
{
	for (int shift = 24; shift >= 0; shift -= 8)
		out.push_back(static_cast<char>(v >> shift));
}

void put64(std::string &out, std::uint64_t v)
{
	for (int shift = 56; shift >= 0; shift -= 8)
		out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t get(std::string_view data, std::size_t at, std::size_t bytes)
{
	std::uint64_t v = 0;
	for (std::size_t i = 0; i < bytes; i++)
		v = (v << 8) | static_cast<unsigned char>(data[at + i]);
	return v;
}

void put_header(std::string &out, Opcode opcode, std::size_t key_length,
		std::size_t extras_length, std::size_t body_length, std::uint32_t opaque,
		std::uint64_t cas)
{
	out.reserve(out.size() + header_size + body_length);
	out.push_back(static_cast<char>(request_magic));
	out.push_back(static_cast<char>(opcode));
	put16(out, static_cast<std::uint16_t>(key_length));
	out.push_back(static_cast<char>(extras_length));
	out.push_back(0); // data type: raw bytes
	put16(out, 0);    // vbucket
	put32(out, static_cast<std::uint32_t>(body_length));
	put32(out, opaque);
	put64(out, cas);
}

} // namespace

void append_get(std::string &out, std::string_view key, std::uint32_t opaque)
{
	put_header(out, op_get, key.size(), 0, key.size(), opaque, 0);
	out.append(key);
}

void append_store(std::string &out, Opcode opcode, std::string_view key, std::string_view value,
		  std::uint32_t expiration, std::uint64_t cas, std::uint32_t opaque)
{
	put_header(out, opcode, key.size(), 8, 8 + key.size() + value.size(), opaque, cas);
	put32(out, 0); // flags
	put32(out, expiration);
	out.append(key);
	out.append(value);
}

void append_delete(std::string &out, std::string_view key, std::uint32_t opaque)
{
	put_header(out, op_delete, key.size(), 0, key.size(), opaque, 0);
	out.append(key);
}

void append_getq(std::string &out, std::string_view key, std::uint32_t opaque)
{
	put_header(out, op_getq, key.size(), 0, key.size(), opaque, 0);
	out.append(key);
}

void append_append(std::string &out, std::string_view key, std::string_view value,
		   std::uint32_t opaque)
{
	put_header(out, op_append, key.size(), 0, key.size() + value.size(), opaque, 0);
	out.append(key);
	out.append(value);
}

std::string_view request_key(std::string_view request)
{
	if (request.size() < header_size)
		return {};
	const std::size_t key_length = get(request, 2, 2);
	const std::size_t extras_length = get(request, 4, 1);
	return request.substr(header_size + extras_length, key_length);
}

Opcode request_opcode(std::string_view request)
{
	return static_cast<Opcode>(request.size() > 1 ? static_cast<unsigned char>(request[1]) : 0);
}

Parse parse_response(std::string_view data, Response &response, std::size_t &consumed,
		     std::string &error)
{
	// Check what the bytes at hand already show, so that garbage is recognised at once
	// rather than after waiting for a body length it claims.
	if (!data.empty() && static_cast<unsigned char>(data[0]) != response_magic) {
		error = "bad magic byte " + std::to_string(static_cast<unsigned char>(data[0]));
		return Parse::malformed;
	}
	if (data.size() < header_size)
		return Parse::incomplete;
	const std::uint64_t key_length = get(data, 2, 2);
	const std::uint64_t extras_length = get(data, 4, 1);
	const std::uint64_t data_type = get(data, 5, 1);
	const std::uint64_t body_length = get(data, 8, 4);
	if (data_type != 0) {
		error = "unknown data type " + std::to_string(data_type);
		return Parse::malformed;
	}
	if (body_length > max_body_length) {
		error = "body of " + std::to_string(body_length) + " bytes (at most " +
			std::to_string(max_body_length) + " accepted)";
		return Parse::malformed;
	}
	if (key_length + extras_length > body_length) {
		error = "key and extras (" + std::to_string(key_length + extras_length) +
			" bytes) longer than the body (" + std::to_string(body_length) + ")";
		return Parse::malformed;
	}
	if (data.size() - header_size < body_length)
		return Parse::incomplete;

	response.opcode = static_cast<std::uint8_t>(get(data, 1, 1));
	response.status = static_cast<std::uint16_t>(get(data, 6, 2));
	response.opaque = static_cast<std::uint32_t>(get(data, 12, 4));
	response.cas = get(data, 16, 8);
	std::string_view body = data.substr(header_size, body_length);
	response.extras = body.substr(0, extras_length);
	response.key = body.substr(extras_length, key_length);
	response.value = body.substr(extras_length + key_length);
	consumed = header_size + body_length;
	return Parse::complete;
}

const char *status_text(std::uint16_t status)
{
	switch (status) {
	case 0x0000: return "No error";
	case 0x0001: return "Key not found";
	case 0x0002: return "Key exists";
	case 0x0003: return "Value too large";
	case 0x0004: return "Invalid arguments";
	case 0x0005: return "Item not stored";
	case 0x0006: return "Incr/Decr on non-numeric value";
	case 0x0007: return "The vbucket belongs to another server";
	case 0x0008: return "Authentication error";
	case 0x0009: return "Authentication continue";
	case 0x0081: return "Unknown command";
	case 0x0082: return "Out of memory";
	case 0x0083: return "Not supported";
	case 0x0084: return "Internal error";
	case 0x0085: return "Busy";
	case 0x0086: return "Temporary failure";
	default: return "";
	}
}

} // namespace account_guard::memcached_protocol

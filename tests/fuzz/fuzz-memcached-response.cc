// libFuzzer target: the binary-protocol response parser of AsyncMemcached, which reads whatever
// arrives from a memcached port. The input is a byte stream parsed as the client does: response
// after response until one is incomplete or malformed. Every view must lie inside the input,
// the parts must add up to the frame, and a frame must never be claimed beyond the input or
// over the size limit; a parse must also be the same when the stream arrives cut in two.
#include "memcached-protocol.hh"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace account_guard::memcached_protocol;

namespace {

bool inside(std::string_view part, std::string_view whole)
{
	return part.empty() || (part.data() >= whole.data() &&
				part.data() + part.size() <= whole.data() + whole.size());
}

// Parses the stream; the sizes of the complete frames, then -1 (incomplete) or -2 (malformed).
std::vector<long> frames(std::string_view data)
{
	std::vector<long> sizes;
	for (;;) {
		Response r;
		std::size_t consumed = 0;
		std::string error;
		switch (parse_response(data, r, consumed, error)) {
		case Parse::incomplete:
			if (data.size() >= header_size + max_body_length)
				std::abort(); // waits beyond the limit
			sizes.push_back(-1);
			return sizes;
		case Parse::malformed:
			if (error.empty())
				std::abort();
			sizes.push_back(-2);
			return sizes;
		case Parse::complete:
			break;
		}
		if (consumed < header_size || consumed > data.size() ||
		    consumed > header_size + max_body_length)
			std::abort();
		const std::string_view frame = data.substr(0, consumed);
		if (!inside(r.extras, frame) || !inside(r.key, frame) || !inside(r.value, frame))
			std::abort();
		if (r.extras.size() + r.key.size() + r.value.size() != consumed - header_size)
			std::abort();
		sizes.push_back(static_cast<long>(consumed));
		data.remove_prefix(consumed);
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view stream(reinterpret_cast<const char *>(data), size);
	const std::vector<long> whole = frames(stream);
	// A prefix of the stream yields the same complete frames as far as it reaches.
	const std::vector<long> half = frames(stream.substr(0, size / 2));
	for (std::size_t i = 0; i + 1 < half.size(); i++)
		if (i >= whole.size() || half[i] != whole[i])
			std::abort();
	// Garbage is recognised from the bytes that show it, so also in the prefix.
	if (half.back() == -2 && (whole.size() < half.size() || whole[half.size() - 1] != -2))
		std::abort();
	return 0;
}

#include "keys.hh"

#include "sha256.hh"

namespace account_guard {

std::string account_key(std::string_view prefix, KeyKind kind, std::string_view user)
{
	// 128 bits of SHA-256 in base64url: 22 characters; collisions are out of reach.
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	Sha256Digest digest = sha256(user);

	char text[22];
	std::size_t len = 0;
	unsigned int bits = 0, acc = 0;
	for (int i = 0; i < 16; i++) {
		acc = (acc << 8) | digest[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			text[len++] = alphabet[(acc >> bits) & 63];
		}
	}
	text[len++] = alphabet[(acc << (6 - bits)) & 63]; // 128 = 21 * 6 + 2: 2 bits remain

	std::string key;
	key.reserve(prefix.size() + 2 + sizeof(text));
	key.append(prefix);
	key.push_back(static_cast<char>(kind));
	key.push_back(':');
	key.append(text, len);
	return key;
}

std::string sibling_key(std::string_view key, std::string_view prefix, KeyKind kind)
{
	std::string sibling(key);
	sibling[prefix.size()] = static_cast<char>(kind);
	return sibling;
}

} // namespace account_guard

#include "fingerprint.hh"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/random.h>

#include <chrono>
#include <string>

namespace account_guard {

std::uint16_t password_fingerprint(std::uint32_t salt, std::string_view user, std::string_view password)
{
	// salt (4 bytes LE) || user || NUL || password, hashed in one call; the buffer holding
	// the password is wiped before it is freed.
	std::string input;
	input.reserve(4 + user.size() + 1 + password.size());
	for (int shift = 0; shift < 32; shift += 8)
		input.push_back(static_cast<char>((salt >> shift) & 0xff));
	input.append(user);
	input.push_back('\0');
	input.append(password);
	unsigned char digest[SHA256_DIGEST_LENGTH];
	SHA256(reinterpret_cast<const unsigned char *>(input.data()), input.size(), digest);
	OPENSSL_cleanse(input.data(), input.size());
	std::uint16_t fp = static_cast<std::uint16_t>((digest[0] << 8) | digest[1]);
	OPENSSL_cleanse(digest, sizeof(digest));
	return static_cast<std::uint16_t>(fp >> (16 - fingerprint_bits));
}

std::uint32_t random_salt()
{
	std::uint32_t salt = 0;
	if (getrandom(&salt, sizeof(salt), GRND_NONBLOCK) == static_cast<ssize_t>(sizeof(salt)))
		return salt;
	// Only reachable before the kernel's pool is initialised; the salt is not secret.
	return static_cast<std::uint32_t>(
		std::chrono::steady_clock::now().time_since_epoch().count());
}

} // namespace account_guard

#include "fingerprint.hh"

#include "sha256.hh"

#include <openssl/crypto.h>
#include <sys/random.h>

#include <chrono>
#include <string>

namespace account_guard {

std::uint16_t password_fingerprint(std::uint32_t salt, std::string_view user, std::string_view password)
{
	// SHA-256(salt as 4 bytes LE || user || NUL || password), fed in parts so the password is
	// never copied; the digest is wiped once the few bits are taken.
	const char salt_bytes[4] = {static_cast<char>(salt & 0xff), static_cast<char>((salt >> 8) & 0xff),
				    static_cast<char>((salt >> 16) & 0xff), static_cast<char>((salt >> 24) & 0xff)};
	Sha256Digest digest = sha256(std::string_view(salt_bytes, 4), user, std::string_view("\0", 1), password);
	std::uint16_t fp = static_cast<std::uint16_t>((digest[0] << 8) | digest[1]);
	OPENSSL_cleanse(digest.data(), digest.size());
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

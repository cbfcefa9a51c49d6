// See sha256.hh for why this uses OpenSSL's low-level (deprecated in 3.0) interface.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "sha256.hh"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace account_guard {

Sha256Digest sha256(std::string_view a, std::string_view b, std::string_view c, std::string_view d)
{
	SHA256_CTX ctx;
	Sha256Digest out{};
	bool ok = SHA256_Init(&ctx) == 1;
	for (std::string_view part : {a, b, c, d}) {
		if (ok && !part.empty())
			ok = SHA256_Update(&ctx, part.data(), part.size()) == 1;
	}
	ok = ok && SHA256_Final(out.data(), &ctx) == 1;
	// The state held the (possibly secret) input's last block.
	OPENSSL_cleanse(&ctx, sizeof(ctx));
	if (!ok)
		throw std::runtime_error("OpenSSL SHA-256 failed");
	return out;
}

} // namespace account_guard

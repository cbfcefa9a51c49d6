#include "password-hash.hh"

#include "secret.hh"

#include <crypt.h>
#include <sodium.h>

#include <cstring>
#include <memory>
#include <strings.h>

namespace account_guard {

namespace {

struct SchemeInfo {
	HashScheme scheme;
	const char *name;
	const char *crypt_prefix; // crypt(3) setting prefix, or nullptr for libsodium
	unsigned long crypt_count;
};

const SchemeInfo schemes[] = {
	{HashScheme::argon2id, "ARGON2ID", nullptr, 0},
	{HashScheme::argon2i, "ARGON2I", nullptr, 0},
	// Dovecot's defaults (password-scheme-crypt.c): SHA-2 crypt 5000 rounds (written without
	// "rounds="), bcrypt cost 5 with the $2y$ prefix.
	{HashScheme::sha512_crypt, "SHA512-CRYPT", "$6$", 0},
	{HashScheme::sha256_crypt, "SHA256-CRYPT", "$5$", 0},
	{HashScheme::blf_crypt, "BLF-CRYPT", "$2y$", 5},
};

const SchemeInfo &info(HashScheme scheme)
{
	for (const SchemeInfo &s : schemes) {
		if (s.scheme == scheme)
			return s;
	}
	return schemes[0];
}

Result<std::string> hash_sodium(HashScheme scheme, const SecretString &pw)
{
	if (sodium_init() < 0)
		return failure("libsodium could not be initialised");
	char out[crypto_pwhash_STRBYTES];
	int ret;
	if (scheme == HashScheme::argon2id) {
		// Dovecot 2.3: OPSLIMIT_INTERACTIVE raised to 3 (a libsodium 1.0.13 workaround),
		// MEMLIMIT_INTERACTIVE.
		ret = crypto_pwhash_argon2id_str(out, pw.c_str(), pw.size(), 3,
						 crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
	} else {
		ret = crypto_pwhash_argon2i_str(out, pw.c_str(), pw.size(),
						crypto_pwhash_argon2i_OPSLIMIT_INTERACTIVE,
						crypto_pwhash_argon2i_MEMLIMIT_INTERACTIVE);
	}
	if (ret != 0)
		return failure("Argon2 hashing failed (out of memory?)");
	return std::string("{") + info(scheme).name + "}" + out;
}

Result<std::string> hash_crypt(const SchemeInfo &s, const SecretString &pw)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	// rbytes = NULL: libxcrypt takes the salt from the kernel's random source.
	if (crypt_gensalt_rn(s.crypt_prefix, s.crypt_count, nullptr, 0, setting, sizeof(setting)) == nullptr)
		return failure(std::string("cannot make a salt for ") + s.name + ": " + std::strerror(errno));
	auto data = std::make_unique<struct crypt_data>();
	std::memset(data.get(), 0, sizeof(*data));
	const char *h = crypt_rn(pw.c_str(), setting, data.get(), sizeof(*data));
	if (h == nullptr || h[0] == '*') {
		wipe(data.get(), sizeof(*data));
		return failure(std::string(s.name) + " hashing failed");
	}
	std::string result = std::string("{") + s.name + "}" + h;
	wipe(data.get(), sizeof(*data));
	return result;
}

} // namespace

std::optional<HashScheme> parse_hash_scheme(std::string_view name)
{
	for (const SchemeInfo &s : schemes) {
		if (name.size() == std::strlen(s.name) && strncasecmp(name.data(), s.name, name.size()) == 0)
			return s.scheme;
	}
	return std::nullopt;
}

const char *hash_scheme_name(HashScheme scheme)
{
	return info(scheme).name;
}

const char *supported_hash_schemes()
{
	return "ARGON2ID, ARGON2I, SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT";
}

Result<std::string> hash_password(HashScheme scheme, std::string_view password)
{
	if (password.find('\0') != std::string_view::npos)
		return failure("a password with a NUL byte cannot be hashed for Dovecot");
	SecretString pw(password); // NUL-terminated copy, wiped afterwards
	const SchemeInfo &s = info(scheme);
	if (s.crypt_prefix == nullptr)
		return hash_sodium(scheme, pw);
	return hash_crypt(s, pw);
}

bool verify_password_hash(std::string_view hash, std::string_view password)
{
	std::size_t close = hash.find('}');
	if (hash.empty() || hash[0] != '{' || close == std::string_view::npos)
		return false;
	auto scheme = parse_hash_scheme(hash.substr(1, close - 1));
	if (!scheme)
		return false;
	const std::string encoded(hash.substr(close + 1));
	SecretString pw(password);
	if (info(*scheme).crypt_prefix == nullptr) {
		if (sodium_init() < 0)
			return false;
		return crypto_pwhash_str_verify(encoded.c_str(), pw.c_str(), pw.size()) == 0;
	}
	auto data = std::make_unique<struct crypt_data>();
	std::memset(data.get(), 0, sizeof(*data));
	const char *h = crypt_rn(pw.c_str(), encoded.c_str(), data.get(), sizeof(*data));
	bool ok = h != nullptr && encoded == h;
	wipe(data.get(), sizeof(*data));
	return ok;
}

} // namespace account_guard

#include "sha256.hh"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace account_guard {

namespace {

struct MdFree {
	void operator()(EVP_MD *md) const { EVP_MD_free(md); }
};
struct CtxFree {
	void operator()(EVP_MD_CTX *ctx) const { EVP_MD_CTX_free(ctx); }
};

struct Hasher {
	std::unique_ptr<EVP_MD, MdFree> md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
	std::unique_ptr<EVP_MD_CTX, CtxFree> ctx{EVP_MD_CTX_new()};
};

} // namespace

Sha256Digest sha256(std::string_view a, std::string_view b, std::string_view c, std::string_view d)
{
	thread_local Hasher h;
	Sha256Digest out{};
	unsigned int len = 0;
	if (!h.md || !h.ctx || EVP_DigestInit_ex(h.ctx.get(), h.md.get(), nullptr) != 1)
		throw std::runtime_error("OpenSSL SHA-256 unavailable");
	for (std::string_view part : {a, b, c, d}) {
		if (!part.empty() && EVP_DigestUpdate(h.ctx.get(), part.data(), part.size()) != 1)
			throw std::runtime_error("OpenSSL SHA-256 failed");
	}
	if (EVP_DigestFinal_ex(h.ctx.get(), out.data(), &len) != 1 || len != out.size())
		throw std::runtime_error("OpenSSL SHA-256 failed");
	return out;
}

} // namespace account_guard

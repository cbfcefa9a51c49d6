#include "sha1.hh"

#include <openssl/evp.h>

#include <new>

namespace account_guard {

Sha1Digest sha1(std::string_view data)
{
	Sha1Digest digest;
	unsigned int length = 0;
	if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha1(), nullptr) != 1 ||
	    length != digest.size())
		throw std::bad_alloc(); // EVP_Digest fails only when it cannot allocate its context
	return digest;
}

} // namespace account_guard

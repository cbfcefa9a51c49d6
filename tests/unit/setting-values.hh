#pragma once
// Settings as the C API reads them (ag_getenv_fn), from a map: the tests of the C boundary.

#include <map>
#include <string>

namespace account_guard::test {

using Values = std::map<std::string, std::string>;

// An ag_getenv_fn over a Values passed as its context.
inline const char *lookup(const char *name, void *context)
{
	auto *values = static_cast<Values *>(context);
	auto it = values->find(name);
	return it == values->end() ? nullptr : it->second.c_str();
}

} // namespace account_guard::test

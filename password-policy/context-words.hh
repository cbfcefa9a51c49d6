#pragma once
// Context words (NIST SP 800-63B: "context-specific words, such as the name of the service,
// the username, and derivatives thereof"): the user name, its local part, each label of its
// domain with 4 or more characters, and the configured words (brand, ISP names). A password
// is refused when, case-folded and stripped of leading and trailing digits and symbols, it is
// within edit distance 1 of one of them: "Alice2024!" for alice@example.com, "Examp1e!!".

#include "secret.hh"

#include <string>
#include <string_view>
#include <vector>

namespace account_guard {

enum class ContextKind { user_name, domain, configured };

struct ContextWord {
	std::string folded;  // NFKC + case folded (see unicode.hh fold()), for the strength estimate
	std::u32string core; // folded, stripped like the password (strip_to_core), for the distance
	ContextKind kind;
};

// Domain labels shorter than this are not context words ("com", "de", "co").
constexpr std::size_t min_domain_label_length = 4;
// Words whose core is shorter than this are left out of the distance test: one edit away
// from "al" is any two letters, which would refuse passwords that merely have a short core
// (the strength estimate still sees these words).
constexpr std::size_t min_core_length = 3;

// The context words for user (may be empty) and the configured words; empty and invalid
// UTF-8 words are left out, duplicates kept once.
std::vector<ContextWord> make_context_words(std::string_view user,
					    const std::vector<std::string> &configured);

// The folded password's code points without leading and trailing characters that are not
// letters or marks (digits, punctuation, symbols, spaces).
SecretCodePoints strip_to_core(std::string_view folded_password);

// The first word whose core is within edit distance 1 of the password's core, or nullptr.
const ContextWord *find_close_context_word(const SecretCodePoints &core,
					   const std::vector<ContextWord> &words);

} // namespace account_guard

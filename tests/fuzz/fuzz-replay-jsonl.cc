// libFuzzer target: account-guard-replay's jsonl parser over any bytes, as lines.
#include "fuzz-replay-input.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	return fuzz_replay_parser(account_guard::replay::Format::jsonl, data, size);
}

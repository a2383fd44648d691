// The device spec fuzzer's entry function, shared by libFuzzer and the corpus replay test.
#pragma once

#include <cstddef>
#include <cstdint>

namespace asynccrypt::fuzz {

// Interprets data as a device spec ("kind:key=value,..."): parsing never
// fails but with BAD_FUNC_ARG and a message, and a parsed spec written out
// again parses to the same kind and options. Specs of the kinds that are
// safe to open from any options (sim, threads, chaos over threads) are
// opened: an open succeeds exactly when it returns a valid id, a failure
// leaves a reason in asynccrypt_LastError, and an open device answers its
// kind, statistics and capabilities before it closes.
void run_spec(const std::uint8_t* data, std::size_t size);

}  // namespace asynccrypt::fuzz

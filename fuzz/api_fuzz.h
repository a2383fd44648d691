// The API fuzzer's entry function, shared by libFuzzer and the corpus replay test.
#pragma once

#include <cstddef>
#include <cstdint>

namespace asynccrypt::fuzz {

// Interprets data as a sequence of calls (device open/close, object
// init/free, push, poll, pop, wait, fd) over every device kind and checks the
// invariants after each: wolfSSL's queue count matches the events in
// flight, every submitted operation is reported exactly once (or cancelled
// by its free) with a correct result or an injected WC_HW_E, and the run
// ends with nothing left in flight. A violated invariant aborts.
void run_one(const std::uint8_t* data, std::size_t size);

}  // namespace asynccrypt::fuzz

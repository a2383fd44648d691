// Process-wide objects made on first use without the heap, and never destroyed.
#pragma once

#include <new>

namespace asynccrypt {

// The one T of the process for Tag, constructed on first use in static
// storage. Tag tells apart objects of one type: every user of a standard
// type (a std::mutex) names a tag of its own, or it would share the object
// of another user of that type.
// Not the heap: the first use may be an operation's submission or poll,
// which must fail with MEMORY_E rather than abort when memory runs out, and
// a C++ allocation under -fno-exceptions cannot fail gently. Never
// destroyed: queues and devices may be used from atexit handlers, after
// static destructors would have run.
template <typename T, typename Tag = T>
T& immortal() {
  alignas(T) static unsigned char storage[sizeof(T)];
  static T* const object = new (storage) T();
  return *object;
}

}  // namespace asynccrypt

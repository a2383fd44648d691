// Fuzzes random sequences of the async.h API over every device kind, checking invariants.
#include "api_fuzz.h"

#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/queue_state.h"

namespace asynccrypt::fuzz {
namespace {

#define FUZZ_CHECK(cond)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "api_fuzz: invariant failed at %s:%d: %s\n", __FILE__, __LINE__, \
                   #cond);                                                                  \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

constexpr int kDevices = 3;
constexpr int kQueues = 2;
constexpr int kSlots = 6;
constexpr word32 kSz = 2 * WC_ASYNC_THRESH_AES_GCM;  // takes the asynchronous path

// Reads the input as small numbers; zeros once it runs out.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool more() const { return pos_ < size_; }
  unsigned byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  unsigned below(unsigned n) { return byte() % n; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// One AES-GCM object and what the model expects of it.
struct Slot {
  bool live = false;
  Aes aes;
  int queue = -1;  // queue index while an operation is pushed and not harvested
  byte key[16];
  byte iv[12];
  byte in[kSz];
  byte out[kSz];
  byte tag[16];
  byte want[kSz];
  byte want_tag[16];

  int start() {
    std::memset(out, 0, sizeof out);
    return wc_AesGcmEncrypt(&aes, out, in, kSz, iv, sizeof iv, tag, sizeof tag, nullptr, 0);
  }
  // The operation finished with ret: an injected failure, or the right bytes.
  void check_result(int ret) const {
    FUZZ_CHECK(ret == 0 || ret == WC_HW_E);
    if (ret == 0) {
      FUZZ_CHECK(std::memcmp(out, want, kSz) == 0);
      FUZZ_CHECK(std::memcmp(tag, want_tag, sizeof tag) == 0);
    }
  }
};

std::string device_spec(Input& in) {
  switch (in.below(7)) {
    case 0:
      return "sim:skip=0";
    case 1:
      return "sim:skip=" + std::to_string(2 + in.below(4));
    case 2:
      // inline_us=0: every operation pends (the checks below expect it).
      return "threads:workers=" + std::to_string(1 + in.below(2)) +
             ",depth=" + std::to_string(1 + in.below(4)) + ",inline_us=0";
    case 3:
      return "chaos:seed=" + std::to_string(in.byte()) +
             ",maxpolls=" + std::to_string(1 + in.below(6));
    case 4:
      return "chaos:seed=" + std::to_string(in.byte()) +
             ",failpm=" + std::to_string(in.below(1001));
    case 5:
      return "chaos:seed=" + std::to_string(in.byte()) +
             ",over=threads,workers=1,delay=" + std::to_string(in.below(50)) +
             ",failpm=" + std::to_string(in.below(300));
    default:
      return "bogus:" + std::to_string(in.byte());  // must fail, and harmlessly
  }
}

class Session {
 public:
  Session() {
    for (auto& q : queues_) FUZZ_CHECK(wolfEventQueue_Init(&q) == 0);
    devs_.fill(INVALID_DEVID);
  }

  ~Session() {
    drain();
    for (int i = 0; i < kSlots; ++i) free_slot(i);
    for (int q = 0; q < kQueues; ++q) {
      FUZZ_CHECK(queues_[q].count == 0);
      FUZZ_CHECK(asynccrypt_QueueRelease(&queues_[q]) == 0);
      FUZZ_CHECK(QueueTable::instance().find(&queues_[q]) == nullptr);
      wolfEventQueue_Free(&queues_[q]);
    }
    for (int& d : devs_) wolfAsync_DevClose(&d);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void step(Input& in) {
    switch (in.below(11)) {
      case 0:
        open(in);
        break;
      case 1:
        close(in);
        break;
      case 2:
        init(in);
        break;
      case 3:
        push(in);
        break;
      case 4:
      case 5:
        poll(in);
        break;
      case 6:
        free_slot(static_cast<int>(in.below(kSlots)));
        break;
      case 7:
        pop(in);
        break;
      case 8:
        wait(in);
        break;
      case 9:
        single_poll(in);
        break;
      default:
        fd(in);
        break;
    }
    check_counts();
  }

 private:
  void check_counts() {
    std::array<int, kQueues> expect{};
    for (auto& s : slots_) {
      if (s.live && s.queue >= 0) ++expect[static_cast<std::size_t>(s.queue)];
    }
    for (int q = 0; q < kQueues; ++q) FUZZ_CHECK(queues_[q].count == expect[q]);
  }

  void open(Input& in) {
    int& d = devs_[in.below(kDevices)];
    wolfAsync_DevClose(&d);
    const std::string spec = device_spec(in);
    const int ret = asynccrypt_DevOpenSpec(&d, spec.c_str(), nullptr);
    FUZZ_CHECK((ret == 0) == (d >= 0));
    if (spec.rfind("bogus", 0) == 0) FUZZ_CHECK(ret == BAD_FUNC_ARG && d == INVALID_DEVID);
  }

  void close(Input& in) {
    int& d = devs_[in.below(kDevices)];
    wolfAsync_DevClose(&d);
    FUZZ_CHECK(d == INVALID_DEVID);
  }

  void init(Input& in) {
    const int i = static_cast<int>(in.below(kSlots));
    free_slot(i);
    Slot& s = slots_[i];
    const byte seed = static_cast<byte>(in.byte());
    for (word32 k = 0; k < sizeof s.key; ++k) s.key[k] = static_cast<byte>(seed + k);
    for (word32 k = 0; k < sizeof s.iv; ++k) s.iv[k] = static_cast<byte>(seed * 7 + k);
    for (word32 k = 0; k < kSz; ++k) s.in[k] = static_cast<byte>(seed ^ k);
    Aes sync;
    FUZZ_CHECK(wc_AesInit(&sync, nullptr, INVALID_DEVID) == 0);
    FUZZ_CHECK(wc_AesGcmSetKey(&sync, s.key, sizeof s.key) == 0);
    FUZZ_CHECK(wc_AesGcmEncrypt(&sync, s.want, s.in, kSz, s.iv, sizeof s.iv, s.want_tag,
                                sizeof s.want_tag, nullptr, 0) == 0);
    wc_AesFree(&sync);
    // Possibly a closed or never-opened id: those run on the fallback simulator.
    const int dev = devs_[in.below(kDevices)];
    FUZZ_CHECK(wc_AesInit(&s.aes, nullptr, dev >= 0 ? dev : 0) == 0);
    FUZZ_CHECK(wc_AesGcmSetKey(&s.aes, s.key, sizeof s.key) == 0);
    s.live = true;
    s.queue = -1;
  }

  void push(Input& in) {
    const int i = static_cast<int>(in.below(kSlots));
    const int q = static_cast<int>(in.below(kQueues));
    Slot& s = slots_[i];
    if (!s.live || s.queue >= 0) return;
    FUZZ_CHECK(s.start() == WC_PENDING_E);
    FUZZ_CHECK(wc_AsyncHandle(&s.aes.asyncDev, &queues_[q], WC_ASYNC_FLAG_NONE) == 0);
    s.queue = q;
  }

  // Harvests; returns the number of events.
  int poll_queue(int q, WOLF_EVENT_FLAG flags, int max, bool with_array) {
    WOLF_EVENT* events[kSlots + 1] = {};
    int count = -1;
    FUZZ_CHECK(wolfAsync_EventQueuePoll(&queues_[q], nullptr, with_array ? events : nullptr, max,
                                        flags, &count) == 0);
    FUZZ_CHECK(count >= 0 && (!with_array || count <= max));
    if (!with_array) {
      // Harvested without telling which: find them by state.
      int found = 0;
      for (auto& s : slots_) {
        if (s.live && s.queue == q && s.aes.asyncDev.event.state == WOLF_EVENT_STATE_DONE &&
            s.aes.asyncDev.inflight == nullptr) {
          s.check_result(s.aes.asyncDev.event.ret);
          s.queue = -1;
          ++found;
        }
      }
      FUZZ_CHECK(found == count);
      return count;
    }
    for (int e = 0; e < count; ++e) {
      Slot* owner = nullptr;
      for (auto& s : slots_) {
        if (s.live && &s.aes.asyncDev.event == events[e]) owner = &s;
      }
      FUZZ_CHECK(owner != nullptr);   // an event we pushed, still alive
      FUZZ_CHECK(owner->queue == q);  // pushed to this queue, not yet reported
      FUZZ_CHECK(events[e]->state == WOLF_EVENT_STATE_DONE);
      owner->check_result(events[e]->ret);
      owner->queue = -1;  // reported: exactly once
    }
    return count;
  }

  void poll(Input& in) {
    const int q = static_cast<int>(in.below(kQueues));
    const unsigned mode = in.byte();
    const WOLF_EVENT_FLAG flags =
        (mode & 1) != 0 ? WOLF_POLL_FLAG_CHECK_HW : static_cast<WOLF_EVENT_FLAG>(0);
    const int max = 1 + static_cast<int>((mode >> 1) % kSlots);
    poll_queue(q, flags, max, (mode & 0x80) == 0);
  }

  void pop(Input& in) {
    Slot& s = slots_[in.below(kSlots)];
    if (!s.live) return;
    WOLF_EVENT* ev = &s.aes.asyncDev.event;
    const WOLF_EVENT_STATE before = ev->state;
    const int ret = wolfAsync_EventPop(ev, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT);
    if (ev->type != WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT) {
      FUZZ_CHECK(ret == WC_NO_PENDING_E);
    } else if (before == WOLF_EVENT_STATE_PENDING) {
      FUZZ_CHECK(ret == WC_PENDING_E);
    } else {
      FUZZ_CHECK(ev->state == WOLF_EVENT_STATE_READY);
    }
  }

  // A blocking wait on an idle object.
  void wait(Input& in) {
    Slot& s = slots_[in.below(kSlots)];
    if (!s.live || s.queue >= 0) return;
    FUZZ_CHECK(s.start() == WC_PENDING_E);
    const int ret = wc_AsyncWait(WC_PENDING_E, &s.aes.asyncDev, WC_ASYNC_FLAG_NONE);
    s.check_result(ret);
  }

  void single_poll(Input& in) {
    Slot& s = slots_[in.below(kSlots)];
    if (!s.live || s.queue < 0) return;
    const WOLF_EVENT_FLAG flags =
        in.below(2) != 0 ? WOLF_POLL_FLAG_CHECK_HW : static_cast<WOLF_EVENT_FLAG>(0);
    FUZZ_CHECK(wolfAsync_EventPoll(&s.aes.asyncDev.event, flags) == 0);
  }

  void fd(Input& in) {
    const int q = static_cast<int>(in.below(kQueues));
    if (in.below(2) == 0) {
      FUZZ_CHECK(asynccrypt_QueueFd(&queues_[q]) >= 0);
    } else {
      const int ret = asynccrypt_QueueRelease(&queues_[q]);
      FUZZ_CHECK(ret == 0 || ret == BAD_STATE_E);
      bool busy = false;
      for (auto& s : slots_) busy = busy || (s.live && s.queue == q);
      FUZZ_CHECK((ret == BAD_STATE_E) == busy);
    }
  }

  void free_slot(int i) {
    Slot& s = slots_[i];
    if (!s.live) return;
    wc_AesFree(&s.aes);  // cancels or drains what is in flight
    s.live = false;
    s.queue = -1;
  }

  // Polls until every pushed operation is reported; a hang aborts.
  void drain() {
    for (long round = 0;; ++round) {
      bool busy = false;
      for (auto& s : slots_) busy = busy || (s.live && s.queue >= 0);
      if (!busy) return;
      FUZZ_CHECK(round < 2000000);
      for (int q = 0; q < kQueues; ++q) poll_queue(q, WOLF_POLL_FLAG_CHECK_HW, kSlots, true);
      check_counts();
    }
  }

  std::array<WOLF_EVENT_QUEUE, kQueues> queues_;
  std::array<int, kDevices> devs_;
  std::array<Slot, kSlots> slots_;
};

}  // namespace

void run_one(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Session session;
  for (int steps = 0; in.more() && steps < 512; ++steps) session.step(in);
}

}  // namespace asynccrypt::fuzz

#ifndef ASYNCCRYPT_FUZZ_NO_MAIN
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  asynccrypt::fuzz::run_one(data, size);
  return 0;
}
#endif

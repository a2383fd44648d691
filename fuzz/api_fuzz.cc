// Fuzzes random sequences of the async.h API over every device kind, checking invariants.
#include "api_fuzz.h"

#include "core/wolfssl_api.h"

#include <wolfssl/wolfcrypt/aes.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/engine.h"
#include "core/queue_state.h"
#include "fuzz_input.h"

namespace asynccrypt::fuzz {
namespace {

constexpr int kDevices = 3;
constexpr int kQueues = 2;
constexpr int kSlots = 6;
constexpr unsigned kMisuseFirst = 220;
constexpr word32 kSz = 2 * WC_ASYNC_THRESH_AES_GCM;  // takes the asynchronous path

// One AES-GCM object and what the model expects of it.
struct Slot {
  bool live = false;
  Aes aes;
  int dev = 0;     // the device id the object was bound to
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
    // Selectors from kMisuseFirst up are misuse; below it, selector % 11 is
    // the step it always was, so older corpus inputs replay as before.
    const unsigned selector = in.byte();
    if (selector >= kMisuseFirst) {
      misuse(selector - kMisuseFirst, in);
      check_counts();
      return;
    }
    switch (selector % 11) {
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
    s.dev = dev >= 0 ? dev : 0;
    FUZZ_CHECK(wc_AesInit(&s.aes, nullptr, s.dev) == 0);
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
    const WOLF_EVENT_FLAG flags = (mode & 1) != 0
                                      ? static_cast<WOLF_EVENT_FLAG>(WOLF_POLL_FLAG_CHECK_HW)
                                      : static_cast<WOLF_EVENT_FLAG>(0);
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
    const WOLF_EVENT_FLAG flags = in.below(2) != 0
                                      ? static_cast<WOLF_EVENT_FLAG>(WOLF_POLL_FLAG_CHECK_HW)
                                      : static_cast<WOLF_EVENT_FLAG>(0);
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

  // Misuse the callers of the original got away with: each is refused with
  // a code, or ends the operation in flight, and the queue stays consistent.
  void misuse(unsigned kind, Input& in) {
    Slot& s = slots_[in.below(kSlots)];
    if (!s.live) return;
    WC_ASYNC_DEV* dev = &s.aes.asyncDev;
    switch (kind % 5) {
      case 0:  // a second push of a record whose operation is in flight
        if (s.queue >= 0) {
          FUZZ_CHECK(wc_AsyncHandle(dev, &queues_[in.below(kQueues)], WC_ASYNC_FLAG_NONE) ==
                     BAD_COND_E);
        }
        break;
      case 1:  // an event that names the record but is not its own
        if (s.queue < 0) push_foreign_then_own(s, static_cast<int>(in.below(kQueues)));
        break;
      case 2:  // wolfCrypt's init (it zeroes the object) with the operation in flight
        if (s.queue >= 0) {
          FUZZ_CHECK(wc_AesInit(&s.aes, nullptr, s.dev) == 0);
          FUZZ_CHECK(dev->inflight == nullptr);
          FUZZ_CHECK(wc_AesGcmSetKey(&s.aes, s.key, sizeof s.key) == 0);
          s.queue = -1;  // ended: never reported
        }
        break;
      case 3:  // the record's own init with the operation in flight
        if (s.queue >= 0) {
          FUZZ_CHECK(wolfAsync_DevCtxInit(dev, WOLFSSL_ASYNC_MARKER_AES, nullptr, s.dev) == 0);
          FUZZ_CHECK(dev->inflight == nullptr);
          s.queue = -1;
        }
        break;
      default:  // a byte copy (once no worker writes the record) and its fix-up
        copy(s);
        break;
    }
  }

  void push_foreign_then_own(Slot& s, int q) {
    WC_ASYNC_DEV* dev = &s.aes.asyncDev;
    FUZZ_CHECK(s.start() == WC_PENDING_E);
    WOLF_EVENT foreign;
    std::memset(&foreign, 0, sizeof foreign);
    FUZZ_CHECK(wolfAsync_EventInit(&foreign, WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT, dev, 0) == 0);
    FUZZ_CHECK(wolfAsync_EventQueuePush(&queues_[q], &foreign) == BAD_FUNC_ARG);
    FUZZ_CHECK(dev->inflight == nullptr);
    FUZZ_CHECK(wolfAsync_EventWait(&foreign) == BAD_FUNC_ARG);
    FUZZ_CHECK(wolfAsync_EventPoll(&foreign, WOLF_POLL_FLAG_CHECK_HW) == BAD_FUNC_ARG);
    // The record's own event still goes through.
    FUZZ_CHECK(wc_AsyncHandle(dev, &queues_[q], WC_ASYNC_FLAG_NONE) == 0);
    s.queue = q;
  }

  void copy(Slot& s) {
    engine::drain(&s.aes.asyncDev);
    void* const src_context = s.aes.asyncDev.event.context;
    Aes copy;
    std::memcpy(&copy, &s.aes, sizeof copy);
    FUZZ_CHECK(wolfAsync_DevCopy(&s.aes.asyncDev, &copy.asyncDev) == 0);
    FUZZ_CHECK(copy.asyncDev.inflight == nullptr);
    // An event that named its record names the copy; any other context stays.
    FUZZ_CHECK(copy.asyncDev.event.context ==
               (src_context == &s.aes.asyncDev ? &copy.asyncDev : src_context));
    FUZZ_CHECK(copy.asyncDev.event.state != WOLF_EVENT_STATE_PENDING);
    // Only the record is freed: the copy shares nothing else to free.
    wolfAsync_DevCtxFree(&copy.asyncDev, WOLFSSL_ASYNC_MARKER_AES);
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

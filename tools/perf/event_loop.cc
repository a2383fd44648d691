// EventLoop (see event_loop.h).
#include "perf/event_loop.h"

#include <algorithm>

namespace perf {

bool EventLoop::open(const LoopSetup& setup, const TlsConfig& cfg, std::string* error) {
  if (!open_device(setup.device, setup.per_thread, &device_, &device_name_, error)) return false;
  ctx_ = make_ctx(cfg, device_.id(), error);
  if (!ctx_) return false;
  if (!epoll_.create(error)) return false;
  if (device_.is_open() || setup.attach_always) {
    if (!async_.attach(ctx_.get(), error)) return false;
    if (setup.watch_queue && !epoll_.add(async_.fd(), EPOLLIN, &queue_tag_)) {
      *error = errno_text("epoll_ctl(queue fd)");
      return false;
    }
  }
  handshake_timeout_ms_ = setup.handshake_timeout_ms;
  idle_timeout_ms_ = setup.idle_timeout_ms;
  int shortest = 0;
  for (const int t : {handshake_timeout_ms_, idle_timeout_ms_}) {
    if (t > 0 && (shortest == 0 || t < shortest)) shortest = t;
  }
  if (shortest > 0) tick_ = std::chrono::milliseconds(std::clamp(shortest / 8, 5, 250));
  return true;
}

bool EventLoop::sweep_due(Clock::time_point now) {
  if (tick_ == Clock::duration::zero() || now < next_sweep_) return false;
  next_sweep_ = now + tick_;
  return true;
}

Clock::time_point EventLoop::next_sweep() const {
  return tick_ == Clock::duration::zero() ? Clock::time_point::max() : next_sweep_;
}

Clock::time_point EventLoop::handshake_deadline(Clock::time_point start) const {
  return handshake_timeout_ms_ > 0 ? start + std::chrono::milliseconds(handshake_timeout_ms_)
                                   : Clock::time_point::max();
}

Clock::time_point EventLoop::idle_deadline() const {
  return idle_timeout_ms_ > 0 ? Clock::now() + std::chrono::milliseconds(idle_timeout_ms_)
                              : Clock::time_point::max();
}

void EventLoop::close(long long* ops, long long* inline_ops) {
  async_.release();
  ctx_.reset();
  add_device_stats(device_, ops, inline_ops);
  device_.close();
}

}  // namespace perf

// The pkcs11 device: worker threads with a session each, and the queue between them and the
// callback.
#include "backends/pkcs11/pkcs11_device.h"

#include <time.h>

#include <cstring>

#include "backends/pkcs11/ecdsa_der.h"
#include "core/wolfssl_api.h"

namespace asynccrypt {
namespace {

void sleep_us(int us) {
  timespec left{us / 1'000'000, static_cast<long>(us % 1'000'000) * 1000L};
  while (nanosleep(&left, &left) != 0) {
  }
}

}  // namespace

Pkcs11Device::Pkcs11Device(std::shared_ptr<p11::Token> token, const Config& config)
    : token_(std::move(token)),
      depth_(config.depth),
      delay_us_(config.delay_us),
      sync_session_(token_) {
  threads_.reserve(static_cast<std::size_t>(config.workers));
  for (int i = 0; i < config.workers; ++i) {
    pthread_t t;
    if (pthread_create(&t, nullptr, &Pkcs11Device::thread_main, this) != 0) break;
    threads_.push_back(t);
  }
}

Pkcs11Device::~Pkcs11Device() {
  {
    std::unique_lock lock(mu_);
    held_ = false;
    work_cv_.notify_all();
    idle_cv_.wait(lock, [this] { return in_flight_ == 0; });
    stop_ = true;
    for (auto& [dev, job] : pending_) delete job;
    pending_.clear();
  }
  work_cv_.notify_all();
  for (pthread_t t : threads_) pthread_join(t, nullptr);
  release_wolfcrypt();
}

void* Pkcs11Device::thread_main(void* self) {
  static_cast<Pkcs11Device*>(self)->worker_loop();
  return nullptr;
}

void Pkcs11Device::worker_loop() {
  // Each worker's own session: PKCS#11 leaves one session used by two
  // threads undefined, and it opens on the first operation.
  p11::Session session(token_);
  for (;;) {
    Queued item{};
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] { return stop_ || (!held_ && !queue_.empty()); });
      if (stop_ && queue_.empty()) return;
      item = queue_.front();
      queue_.pop_front();
    }
    item.op->phase.store(OpPhase::kRunning, std::memory_order_release);
    if (delay_us_ > 0) sleep_us(delay_us_);
    item.op->result = run_job(session, *item.job, item.op->dev);
    delete item.job;
    bool busy = false;
    {
      std::lock_guard lock(mu_);
      --in_flight_;
      busy = queue_.size() >= threads_.size();
    }
    idle_cv_.notify_all();
    // The last touch of op: the core may free it as soon as this returns.
    item.sink->on_complete(item.op, busy);
  }
}

int Pkcs11Device::fail(const Status& status) {
  std::lock_guard lock(mu_);
  last_error_ = status.message();
  return status.code();
}

std::string Pkcs11Device::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

int Pkcs11Device::run_job(p11::Session& session, Pkcs11Job& job, const WC_ASYNC_DEV* dev) {
  if (job.kind == Pkcs11Job::Kind::kRsaPrivate) {
    std::size_t len = job.out_cap;
    const Status s =
        session.rsa_private_raw(job.key, job.use, job.in.data(), job.in.size(), job.out, &len);
    if (!s.is_ok()) return fail(s);
    *job.out_len = static_cast<word32>(len);
    return 0;
  }
  Finished done;
  done.der.resize(p11::kMaxEcdsaDer);
  std::size_t len = done.der.size();
  const Status s = session.sign_ecdsa(job.key, job.in.data(), job.in.size(), done.der.data(), &len);
  if (!s.is_ok()) return fail(s);
  done.der.resize(len);
  done.hash = std::move(job.in);
  std::lock_guard lock(mu_);
  finished_[dev] = std::move(done);
  return 0;
}

int Pkcs11Device::pend_or_run(WC_ASYNC_DEV* dev, std::unique_ptr<Pkcs11Job> job) {
  // Armed: the caller initialised the key's event on this thread and will
  // push it when we answer WC_PENDING_E (wolfSSL_AsyncInit before RsaSign,
  // EccSign, RsaDec; a wolfCrypt caller with its own event).
  const WOLF_EVENT& ev = dev->event;
  bool armed = ev.state == WOLF_EVENT_STATE_PENDING && dev->inflight == nullptr &&
               (ev.type == WOLF_EVENT_TYPE_ASYNC_WOLFSSL ||
                (ev.type == WOLF_EVENT_TYPE_ASYNC_WOLFCRYPT && ev.context == dev));
#ifndef WC_NO_ASYNC_THREADING
  armed = armed && pthread_equal(ev.threadId, pthread_self()) != 0;
#endif
  if (armed) {
    std::lock_guard lock(mu_);
    Pkcs11Job*& slot = pending_[dev];
    delete slot;  // a job whose event was never pushed
    slot = job.release();
    return WC_PENDING_E;
  }
  std::lock_guard lock(sync_mu_);
  return run_job(sync_session_, *job, dev);
}

Admission Pkcs11Device::submit(Op* op, CompletionSink& sink) {
  std::unique_lock lock(mu_);
  auto it = pending_.find(op->dev);
  if (it == pending_.end()) return Admission::kFull;  // a software record: the core runs it
  Pkcs11Job* job = it->second;
  pending_.erase(it);
  if (in_flight_ >= depth_ || threads_.empty()) {
    // Full: the submitter runs it on the shared session, as the threads
    // device runs its overflow inline.
    lock.unlock();
    counters().inline_runs.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard sync(sync_mu_);
      op->result = run_job(sync_session_, *job, op->dev);
    }
    delete job;
    sink.on_complete(op, /*busy=*/false);
    return Admission::kAccepted;
  }
  ++in_flight_;
  queue_.push_back(Queued{op, job, &sink});
  lock.unlock();
  work_cv_.notify_one();
  return Admission::kAccepted;
}

bool Pkcs11Device::cancel(Op* op) {
  std::lock_guard lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->op != op) continue;
    delete it->job;
    queue_.erase(it);
    --in_flight_;
    idle_cv_.notify_all();
    return true;
  }
  return false;  // a worker runs it: the core waits for its report
}

void Pkcs11Device::forget(const WC_ASYNC_DEV* dev, word32 marker) {
  (void)marker;
  std::lock_guard lock(mu_);
  finished_.erase(dev);
  if (auto it = pending_.find(dev); it != pending_.end()) {
    delete it->second;
    pending_.erase(it);
  }
}

void Pkcs11Device::hold() {
  std::lock_guard lock(mu_);
  held_ = true;
}

void Pkcs11Device::release() {
  {
    std::lock_guard lock(mu_);
    held_ = false;
  }
  work_cv_.notify_all();
}

Result<p11::RsaPublic> Pkcs11Device::rsa_public(const p11::KeyRef& key) {
  const std::string cache_key = key.cache_key();
  {
    std::lock_guard lock(mu_);
    if (auto it = public_keys_.find(cache_key); it != public_keys_.end()) return it->second;
  }
  Result<p11::RsaPublic> pub = [&] {
    std::lock_guard lock(sync_mu_);
    return sync_session_.rsa_public(key);
  }();
  if (!pub.is_ok()) return pub;
  std::lock_guard lock(mu_);
  public_keys_[cache_key] = pub.value();
  return pub;
}

}  // namespace asynccrypt

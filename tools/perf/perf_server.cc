// perf-server: a non-blocking epoll TLS server for benchmarking, with the
// original server-tls-epoll-perf's flags and report. One event loop per
// thread (-t), each with its own context, device and SO_REUSEPORT listener.
// A loop sleeps in epoll; completions of async crypto wake it through the
// context queue's eventfd (asynccrypt_QueueFd), so it never spins.
//
// A connection whose peer vanishes while its crypto is in flight is not
// freed at once (unless --free-pending-now): its socket is shut down and it
// is freed once the operation has completed and wolfSSL's state machine has
// run on to the failed I/O. wolfSSL 5.5.4's free order is not safe against an
// operation that is still executing on another thread: SSL_ResourceFree
// frees ssl->arrays (where an ECDH shared secret is written) before the key
// share whose free would wait for the worker, and a TLS 1.2
// CertificateVerify left half-done frees a pointer into the handshake
// hashes. See docs/known-issues.md. Every free goes through SslPtr, which
// drains a worker's running operation first (asynccrypt_SslDrain), so the
// exit paths (a drain that timed out, a failed poll) and --free-pending-now
// never free a connection under a worker either.
//
// Peers that misbehave are bounded: a handshake must finish within
// --handshake-timeout and a connection must make progress within
// --idle-timeout, so silent, slow and half-open peers cannot fill -N for
// ever (which would also leave the listener disarmed); an accept that fails
// for want of descriptors or memory pauses the listener for a while instead
// of spinning on it.
#include "perf/perf_server.h"

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <latch>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "perf/event_loop.h"
#include "perf/net.h"
#include "perf/options.h"
#include "perf/pkcs11_sync.h"
#include "perf/stats.h"
#include "perf/tls_common.h"

namespace perf {
namespace {

// The stop eventfd; the signal handler writes it (write is signal-safe).
std::atomic<int> g_stop_fd{-1};

void request_stop() {
  const int fd = g_stop_fd.load(std::memory_order_acquire);
  if (fd < 0) return;
  const uint64_t one = 1;
  // A full counter still leaves the fd readable, so a failed write is fine.
  [[maybe_unused]] const ssize_t n = write(fd, &one, sizeof(one));
}

// Set by the handler; read by ~StopSignal (lock-free, so signal-safe).
std::atomic<bool> g_signalled{false};

extern "C" void on_stop_signal(int) {
  g_signalled.store(true, std::memory_order_relaxed);  // only this thread's later read
  request_stop();
}

// StopSignal makes the stop eventfd and points SIGINT, SIGTERM and g_stop_fd
// at it for one run; its destructor takes them back on every way out of
// run_perf_server, so no handler ever writes to a descriptor number that
// was closed (and perhaps reused). The previous handlers come back unless a
// stop signal arrived: then ours stays, doing nothing (g_stop_fd is -1), to
// absorb a second copy of that signal (timeout(1) sends one to the child and
// one to its process group) while the process exits.
class StopSignal {
 public:
  StopSignal() = default;
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;
  ~StopSignal() {
    if (!installed_) return;
    g_stop_fd.store(-1, std::memory_order_release);
    if (!g_signalled.load(std::memory_order_relaxed)) {
      sigaction(SIGINT, &old_int_, nullptr);
      sigaction(SIGTERM, &old_term_, nullptr);
    }
    // fd_ closes after this body, when no handler can reach it any more.
  }

  // install returns false with *error set when a call fails.
  bool install(std::string* error) {
    g_signalled.store(false, std::memory_order_relaxed);
    fd_ = Fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!fd_.valid()) {
      *error = errno_text("eventfd");
      return false;
    }
    g_stop_fd.store(fd_.get(), std::memory_order_release);  // on_stop_signal acquires it
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, &old_int_) != 0) {
      *error = errno_text("sigaction(SIGINT)");
      g_stop_fd.store(-1, std::memory_order_release);
      return false;
    }
    if (sigaction(SIGTERM, &sa, &old_term_) != 0) {
      *error = errno_text("sigaction(SIGTERM)");
      sigaction(SIGINT, &old_int_, nullptr);
      g_stop_fd.store(-1, std::memory_order_release);
      return false;
    }
    installed_ = true;
    return true;
  }

 private:
  Fd fd_;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  bool installed_ = false;
};

// How long accept pauses after running out of descriptors or memory: long
// enough not to spin, short enough to serve soon after a peer leaves.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);

// Shared is what all loops of one server share.
struct Shared {
  const PerfOptions* opt = nullptr;
  int key_dev_id = INVALID_DEVID;    // --key-device, opened once for every loop
  std::vector<unsigned char> reply;  // what each write sends
  std::atomic<long> closed{0};       // connections closed, any outcome
  std::atomic<long> active{0};       // connections accepted and not yet freed
  std::atomic<bool> budget_done{false};
  std::atomic<long long> read_bytes{0};
  std::atomic<long long> write_bytes{0};
  std::atomic<bool> cipher_printed{false};

  // note_freed counts a freed connection and stops every loop when the
  // connection count is reached, or when the byte budget was reached and
  // the clients have closed every connection.
  void note_freed() {
    const long n = closed.fetch_add(1, std::memory_order_relaxed) + 1;
    const long left = active.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if (opt->max_conns > 0 && n >= opt->max_conns) request_stop();
    if (left == 0 && budget_done.load(std::memory_order_acquire)) request_stop();
  }
  void note_bytes(long long r, long long w) {
    const long long rt = read_bytes.fetch_add(r, std::memory_order_relaxed) + r;
    const long long wt = write_bytes.fetch_add(w, std::memory_order_relaxed) + w;
    if (opt->max_bytes > 0 && rt >= opt->max_bytes && wt >= opt->max_bytes) {
      budget_done.store(true, std::memory_order_release);
    }
  }
};

// ServerLoop is one event loop: listener, context, device, connections.
class ServerLoop {
 public:
  ServerLoop(Shared* shared, Fd listener) : shared_(shared), listener_(std::move(listener)) {}
  ServerLoop(const ServerLoop&) = delete;
  ServerLoop& operator=(const ServerLoop&) = delete;
  ~ServerLoop() { free_all(); }

  // setup opens the device and builds the context, on the loop's thread.
  bool setup(bool per_thread, std::string* error);
  // run serves until stopped; false on a fatal error (in *error).
  bool run(std::string* error);
  // finish frees every connection (also those with crypto in flight), the
  // context's queue state, the context and the device, on the loop's thread.
  void finish();

  const Counters& counters() const { return counters_; }
  const std::string& device_name() const { return loop_.device_name(); }

 private:
  enum class Phase { kHandshake, kRead, kWrite };
  struct Conn {
    Fd fd;
    SslPtr ssl;
    Phase phase = Phase::kHandshake;
    bool pending = false;  // waiting for an async crypto completion
    bool zombie = false;   // peer gone; freed once no crypto is in flight
    bool closed = false;   // closed in this round, freed after it
    Clock::time_point start;
    // When the connection times out: its handshake deadline, then its idle
    // one, moved on by every byte read or written (max() = never).
    Clock::time_point deadline = Clock::time_point::max();
    double handshake_s = 0;  // time inside wolfSSL_accept
  };
  enum class Outcome { kDone, kError };

  void accept_ready();
  void step(Conn* c);
  void wait_for(Conn* c, int err);
  void close_conn(Conn* c, Outcome outcome);
  void free_closed();
  void free_all();
  void make_zombie(Conn* c);
  void on_ready(Conn* c);
  // on_ready for the connection of ssl, if it is still there.
  void on_ready(WOLFSSL* ssl);
  // Polls the context's queue until empty and resumes the connections whose
  // operations completed; false (with *error) when the poll fails.
  bool harvest_ready(std::string* error);
  void drain_pending();
  void update_listener();
  void note_progress(Conn* c);
  void expire(Clock::time_point now);
  int wait_timeout_ms(Clock::time_point now) const;

  Shared* shared_;
  Fd listener_;
  // Device, context, queue and epoll set; before conns_, so that the
  // connections are freed first.
  EventLoop loop_;
  // Connections by their WOLFSSL, as async events name them.
  std::unordered_map<WOLFSSL*, std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> closed_;
  std::vector<unsigned char> read_buf_;
  bool listener_armed_ = false;
  // accept stays off until then after EMFILE, ENFILE, ENOBUFS or ENOMEM.
  Clock::time_point accept_paused_until_{};
  Counters counters_;
  // Tags that tell epoll's non-connection sources apart.
  char listener_tag_ = 0, stop_tag_ = 0;
};

bool ServerLoop::setup(bool per_thread, std::string* error) {
  const PerfOptions& opt = *shared_->opt;
  TlsConfig cfg;
  cfg.server = true;
  cfg.version = opt.version;
  cfg.any_version = opt.any_version;
  cfg.cipher_list = opt.cipher_list;
  cfg.files = {opt.cert, opt.key, opt.ca};
  cfg.client_cert = opt.client_cert;
  cfg.groups = opt.groups;
  cfg.key_dev_id = shared_->key_dev_id;
  cfg.key_id = opt.key_id;
  cfg.key_label = opt.key_label;
  LoopSetup loop;
  loop.device = opt.device;
  loop.per_thread = per_thread;
  // The token's operations complete through the context's queue too.
  loop.attach_always = shared_->key_dev_id != INVALID_DEVID && !opt.key_pkcs11_sync;
  // --busy-poll polls the queue on every turn and never sleeps on it.
  loop.watch_queue = !opt.busy_poll;
  loop.handshake_timeout_ms = opt.handshake_timeout_ms;
  loop.idle_timeout_ms = opt.idle_timeout_ms;
  if (!loop_.open(loop, cfg, error)) return false;
  if (!loop_.epoll().add(g_stop_fd.load(), EPOLLIN, &stop_tag_)) {
    *error = errno_text("epoll_ctl(stop fd)");
    return false;
  }
  read_buf_.resize(static_cast<size_t>(opt.read_size));
  update_listener();
  return true;
}

// note_progress moves a connection's deadline on after a byte went through
// (or its handshake finished).
void ServerLoop::note_progress(Conn* c) { c->deadline = loop_.idle_deadline(); }

// expire closes the connections whose deadline passed. One with crypto in
// flight becomes a zombie (its socket is shut down) and is freed once the
// operation completes.
void ServerLoop::expire(Clock::time_point now) {
  if (!loop_.sweep_due(now)) return;
  for (auto& [ssl, conn] : conns_) {
    Conn* c = conn.get();
    if (c->closed || c->zombie || now < c->deadline) continue;
    ++counters_.timeouts;
    if (c->pending) {
      make_zombie(c);
    } else {
      close_conn(c, Outcome::kError);
    }
  }
}

// wait_timeout_ms is how long epoll may sleep: until the next sweep while
// connections are open, until accept resumes while it is paused, else for
// ever.
int ServerLoop::wait_timeout_ms(Clock::time_point now) const {
  Clock::time_point until = Clock::time_point::max();
  if (!conns_.empty()) until = std::max(now, loop_.next_sweep());  // max(): no timeouts
  if (accept_paused_until_ > now) until = std::min(until, accept_paused_until_);
  if (until == Clock::time_point::max()) return -1;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(until - now).count());
}

void ServerLoop::update_listener() {
  const bool want = static_cast<int>(conns_.size()) < shared_->opt->concurrent &&
                    Clock::now() >= accept_paused_until_;
  if (want == listener_armed_) return;
  if (want) {
    listener_armed_ = loop_.epoll().add(listener_.get(), EPOLLIN, &listener_tag_);
  } else {
    loop_.epoll().remove(listener_.get());
    listener_armed_ = false;
  }
}

bool ServerLoop::run(std::string* error) {
  const double cpu0 = thread_cpu_seconds();
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  bool ok = true;
  bool stopping = false;
  while (!stopping) {
    expire(Clock::now());
    free_closed();
    update_listener();
    const bool busy = shared_->opt->busy_poll;
    const int n = loop_.epoll().wait(events, kMaxEvents, busy ? 0 : wait_timeout_ms(Clock::now()));
    if (n < 0) {
      *error = errno_text("epoll_wait");
      ok = false;
      break;
    }
    if (busy && loop_.attached() && !harvest_ready(error)) {
      ok = false;
      break;
    }
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &stop_tag_) {
        stopping = true;
      } else if (tag == &listener_tag_) {
        accept_ready();
      } else if (loop_.is_queue(tag)) {
        if (!harvest_ready(error)) {
          ok = false;
          stopping = true;
        }
      } else {
        Conn* c = static_cast<Conn*>(tag);
        if (c->closed) continue;
        const uint32_t ev = events[i].events;
        if (c->pending) {
          // Only a hang-up is watched while crypto is in flight: the peer
          // gave up.
          if (ev & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
            ++counters_.freed_pending;
            if (shared_->opt->free_pending_now) {
              close_conn(c, Outcome::kError);  // asynccrypt cancels the operation
            } else {
              make_zombie(c);
            }
          }
          continue;
        }
        step(c);
      }
    }
  }
  counters_.loop_cpu_s = thread_cpu_seconds() - cpu0;
  return ok;
}

bool ServerLoop::harvest_ready(std::string* error) {
  return loop_.harvest([this](WOLFSSL* ssl) { on_ready(ssl); }, &counters_.async_s, error);
}

void ServerLoop::on_ready(WOLFSSL* ssl) {
  auto it = conns_.find(ssl);
  if (it != conns_.end()) on_ready(it->second.get());
}

// on_ready resumes a connection whose operation completed. A zombie runs
// on until wolfSSL stops on its dead socket, then it is freed.
void ServerLoop::on_ready(Conn* c) {
  if (c->closed) return;
  c->pending = false;
  step(c);
  if (c->zombie && !c->pending) close_conn(c, Outcome::kError);
}

void ServerLoop::make_zombie(Conn* c) {
  c->zombie = true;
  loop_.epoll().remove(c->fd.get());
  // Keep the descriptor (wolfSSL still holds it) but make all I/O fail.
  (void)shutdown(c->fd.get(), SHUT_RDWR);
}

// drain_pending lets every operation in flight finish (at most 10 s), so
// that no connection is freed under a running operation.
void ServerLoop::drain_pending() {
  for (auto& [ssl, conn] : conns_) {
    if (!conn->closed && !conn->zombie) make_zombie(conn.get());
  }
  auto settle = [this] {
    bool any = false;
    for (auto& [ssl, conn] : conns_) {
      if (!conn->closed && conn->pending) any = true;
      if (!conn->closed && !conn->pending) close_conn(conn.get(), Outcome::kError);
    }
    return any;
  };
  loop_.drain(
      shared_->opt->drain_timeout_ms, shared_->opt->busy_poll ? 1 : 100, settle,
      [this](WOLFSSL* ssl) { on_ready(ssl); }, &counters_.async_s);
}

void ServerLoop::finish() {
  drain_pending();
  free_all();  // those still pending after the drain timeout: SslPtr drains each
  loop_.close(&counters_.device_ops, &counters_.device_inline);
}

void ServerLoop::accept_ready() {
  const PerfOptions& opt = *shared_->opt;
  while (static_cast<int>(conns_.size()) < opt.concurrent) {
    Fd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd.valid()) {
      const int err = errno;
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // The listener stays readable, so retrying at once would spin: pause
        // it (update_listener) and let the next epoll_wait time out instead.
        ++counters_.accept_backoffs;
        accept_paused_until_ = Clock::now() + kAcceptBackoff;
        update_listener();
      }
      return;  // else EAGAIN, or a connection that died in the queue
    }
    if (!set_nodelay_nonblock(fd.get())) continue;
    SslPtr ssl(wolfSSL_new(loop_.ctx()));
    if (!ssl || wolfSSL_set_fd(ssl.get(), fd.get()) != WOLFSSL_SUCCESS) {
      ++counters_.errors;
      continue;
    }
    auto conn = std::make_unique<Conn>();
    conn->fd = std::move(fd);
    conn->ssl = std::move(ssl);
    conn->start = Clock::now();
    conn->deadline = loop_.handshake_deadline(conn->start);
    counters_.note_activity(conn->start);
    Conn* c = conn.get();
    conns_.emplace(c->ssl.get(), std::move(conn));
    shared_->active.fetch_add(1, std::memory_order_relaxed);
    // Edge-triggered, and never changed: step() always runs a connection
    // until wolfSSL meets EAGAIN (or the device), so no readiness is lost,
    // and readiness that comes while crypto is in flight is ignored without
    // an epoll_ctl per operation (the step after the completion reads it).
    if (!loop_.epoll().add(c->fd.get(), EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, c)) {
      close_conn(c, Outcome::kError);
      continue;
    }
    step(c);  // the ClientHello may be there already
  }
}

void ServerLoop::wait_for(Conn* c, int err) {
  // Socket waits need nothing: the edge-triggered registration reports the
  // next readiness.
  if (err == WC_PENDING_E) c->pending = true;
}

// step runs a connection until it must wait for the socket or the device.
void ServerLoop::step(Conn* c) {
  const PerfOptions& opt = *shared_->opt;
  WOLFSSL* ssl = c->ssl.get();
  while (!c->closed) {
    switch (c->phase) {
      case Phase::kHandshake: {
        const auto t0 = Clock::now();
        const int ret = wolfSSL_accept(ssl);
        const auto t1 = Clock::now();
        c->handshake_s += seconds_between(t0, t1);
        if (ret == WOLFSSL_SUCCESS) {
          counters_.note_handshake(ssl, c->handshake_s, c->start, t1);
          note_progress(c);
          c->phase = Phase::kRead;
          break;
        }
        const int err = wolfSSL_get_error(ssl, ret);
        if (must_wait(err)) {
          wait_for(c, err);
          return;
        }
        close_conn(c, Outcome::kError);
        return;
      }
      case Phase::kRead: {
        const int ret = timed(&counters_.read_s, [&] {
          return wolfSSL_read(ssl, read_buf_.data(), static_cast<int>(read_buf_.size()));
        });
        if (ret > 0) {
          counters_.read_bytes += ret;
          shared_->note_bytes(ret, 0);
          note_progress(c);
          c->phase = Phase::kWrite;
          break;
        }
        const int err = wolfSSL_get_error(ssl, ret);
        if (must_wait(err)) {
          wait_for(c, err);
          return;
        }
        // The peer closed (close_notify, FIN or reset): the normal end.
        close_conn(c, Outcome::kDone);
        return;
      }
      case Phase::kWrite: {
        const int ret = timed(&counters_.write_s, [&] {
          return wolfSSL_write(ssl, shared_->reply.data(), static_cast<int>(shared_->reply.size()));
        });
        if (ret > 0) {
          counters_.write_bytes += ret;
          shared_->note_bytes(0, ret);
          note_progress(c);
          if (opt.http) {
            // One response per connection; close_notify is best effort.
            (void)wolfSSL_shutdown(ssl);
            close_conn(c, Outcome::kDone);
            return;
          }
          c->phase = Phase::kRead;
          break;
        }
        const int err = wolfSSL_get_error(ssl, ret);
        if (must_wait(err)) {
          wait_for(c, err);
          return;
        }
        close_conn(c, Outcome::kError);
        return;
      }
    }
  }
}

void ServerLoop::close_conn(Conn* c, Outcome outcome) {
  if (c->closed) return;
  c->closed = true;
  if (outcome == Outcome::kError) ++counters_.errors;
  if (!shared_->cipher_printed.exchange(true) && !shared_->opt->quiet &&
      c->phase != Phase::kHandshake) {
    std::printf("SSL cipher suite is %s\n", wolfSSL_get_cipher(c->ssl.get()));
    std::fflush(stdout);
  }
  if (!c->zombie) loop_.epoll().remove(c->fd.get());
  counters_.note_activity(Clock::now());
  closed_.push_back(c);
}

// free_closed frees connections closed in the last round. wolfSSL_free
// cancels (or drains) an operation still in flight and unlinks its event
// from the context queue, so no completion can name a freed WOLFSSL.
void ServerLoop::free_closed() {
  for (Conn* c : closed_) {
    WOLFSSL* key = c->ssl.get();
    conns_.erase(key);  // wolfSSL_free, then close(fd)
    shared_->note_freed();
  }
  closed_.clear();
}

void ServerLoop::free_all() {
  for (auto& [ssl, conn] : conns_) {
    if (!conn->closed) {
      close_conn(conn.get(), conn->phase == Phase::kHandshake ? Outcome::kError : Outcome::kDone);
    }
  }
  closed_.clear();
  conns_.clear();
}

// The reply each write sends: random bytes, or with --http a response
// whose body is that many random bytes.
std::vector<unsigned char> make_reply(const PerfOptions& opt) {
  std::vector<unsigned char> body(static_cast<size_t>(opt.write_size));
  WC_RNG rng;
  if (wc_InitRng(&rng) == 0) {
    (void)wc_RNG_GenerateBlock(&rng, body.data(), static_cast<word32>(body.size()));
    wc_FreeRng(&rng);
  }
  if (!opt.http) return body;
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  std::vector<unsigned char> reply(head.begin(), head.end());
  reply.insert(reply.end(), body.begin(), body.end());
  return reply;
}

}  // namespace

int run_perf_server(int argc, char** argv) {
  PerfOptions opt;
  if (const int rc = parse_options(Tool::kServer, argc, argv, &opt); rc != 0)
    return rc == 1 ? 0 : 2;

  std::signal(SIGPIPE, SIG_IGN);
  StopSignal stop;
  if (std::string error; !stop.install(&error)) {
    std::fprintf(stderr, "perf-server: %s\n", error.c_str());
    return 1;
  }

  const auto library = asynccrypt::WolfSslLibrary::init();
  if (!library) {
    std::fprintf(stderr, "perf-server: wolfSSL_Init failed\n");
    return 1;
  }
  Shared shared;
  shared.opt = &opt;
  shared.reply = make_reply(opt);
  // One key device for the process: the token's login is the process's.
  asynccrypt::DeviceHandle key_device;
  std::unique_ptr<SyncPkcs11Key> sync_key;
  if (opt.key_pkcs11_sync) {
    std::string error;
    sync_key = SyncPkcs11Key::open(opt.key_device, &error);
    if (!sync_key) {
      std::fprintf(stderr, "perf-server: --key-pkcs11-sync: %s\n", error.c_str());
      return 1;
    }
    shared.key_dev_id = sync_key->dev_id();
  } else if (!opt.key_device.empty()) {
    std::string error, name;
    if (!open_device(opt.key_device, false, &key_device, &name, &error)) {
      std::fprintf(stderr, "perf-server: --key-device: %s\n", error.c_str());
      return 1;
    }
    shared.key_dev_id = key_device.id();
  }

  // Listeners first, on the main thread, so that port 0 resolves once and
  // every loop's SO_REUSEPORT socket shares it.
  std::vector<std::unique_ptr<ServerLoop>> loops;
  int port = opt.port;
  for (int i = 0; i < opt.threads; ++i) {
    std::string error;
    int bound = 0;
    Fd listener = listen_tcp(port, opt.threads > 1, &bound, &error);
    if (!listener.valid()) {
      std::fprintf(stderr, "perf-server: %s\n", error.c_str());
      return 1;
    }
    port = bound;
    loops.push_back(std::make_unique<ServerLoop>(&shared, std::move(listener)));
  }

  std::vector<std::string> errors(loops.size());
  std::vector<char> loop_ok(loops.size(), 1);
  double cpu0 = 0;
  if (opt.threads == 1) {
    if (!loops[0]->setup(false, &errors[0])) {
      std::fprintf(stderr, "perf-server: %s\n", errors[0].c_str());
      return 1;
    }
    std::printf("perf-server: listening on port %d (1 thread, device %s)\n", port,
                loops[0]->device_name().c_str());
    std::fflush(stdout);
    cpu0 = process_cpu_seconds();
    loop_ok[0] = loops[0]->run(&errors[0]);
    loops[0]->finish();
  } else {
    std::latch ready(static_cast<std::ptrdiff_t>(loops.size()));
    std::vector<char> setup_ok(loops.size(), 0);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < loops.size(); ++i) {
      threads.emplace_back([&, i] {
        setup_ok[i] = loops[i]->setup(true, &errors[i]);
        ready.count_down();
        if (setup_ok[i]) loop_ok[i] = loops[i]->run(&errors[i]);
        loops[i]->finish();
      });
    }
    ready.wait();
    bool all_set_up = true;
    for (size_t i = 0; i < loops.size(); ++i) {
      if (!setup_ok[i]) {
        std::fprintf(stderr, "perf-server: thread %zu: %s\n", i, errors[i].c_str());
        all_set_up = false;
      }
    }
    if (all_set_up) {
      std::printf("perf-server: listening on port %d (%d threads, device %s)\n", port, opt.threads,
                  loops[0]->device_name().c_str());
      std::fflush(stdout);
    } else {
      request_stop();
    }
    cpu0 = process_cpu_seconds();
    for (auto& t : threads) t.join();
    if (!all_set_up) return 1;
  }
  const double cpu = process_cpu_seconds() - cpu0;

  Counters total;
  int rc = 0;
  for (size_t i = 0; i < loops.size(); ++i) {
    total.merge(loops[i]->counters());
    if (!loop_ok[i]) {
      std::fprintf(stderr, "perf-server: %s\n", errors[i].c_str());
      rc = 1;
    }
  }
  ReportInfo info;
  info.server = true;
  info.reply_bytes = opt.write_size;
  info.device = loops[0]->device_name();
  info.process_cpu_s = cpu;
  info.json = opt.json;
  print_report(total, info);
  if (key_device) {
    // On stderr, so that --json's stdout stays one object.
    long long ops = 0, inline_ops = 0;
    add_device_stats(key_device, &ops, &inline_ops);
    std::fprintf(stderr, "perf-server: key device %s: %lld operations (%lld in the loop)\n",
                 opt.key_device.substr(0, opt.key_device.find(':')).c_str(), ops, inline_ops);
  }
  if (sync_key) {
    // Every one of them made in the loop, which waited for it.
    std::fprintf(stderr, "perf-server: key pkcs11-sync: %lld operations (%lld in the loop)\n",
                 sync_key->operations(), sync_key->operations());
  }
  return rc;
}

}  // namespace perf

// perf-client: a non-blocking TLS benchmark client with the original
// client-tls-perf's flags and report. -N slots are used round-robin: each
// runs one connection at a time (connect, handshake, write, read, close)
// and starts the next one when it is done. One epoll loop drives them and
// sleeps on the context queue's eventfd while crypto is in flight.
//
// A connection is never freed while its crypto is in flight (wolfSSL 5.5.4
// frees buffers that a worker may still write; see perf_server.cc): an
// aborted one has its socket reset or shut down at once and is freed when
// the operation has completed. Every free goes through SslPtr, which drains
// a worker's running operation first (asynccrypt_SslDrain), so the exit
// path after a drain timeout or a failed poll is safe too.
//
// A server that stalls cannot hang the client: a connection whose handshake
// has not finished within --handshake-timeout, or that then makes no
// progress for --idle-timeout, fails (counted as a timeout).
#include "perf/perf_client.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "perf/event_loop.h"
#include "perf/net.h"
#include "perf/options.h"
#include "perf/stats.h"
#include "perf/tls_common.h"

namespace perf {
namespace {

// A connection's socket is registered once, edge-triggered: step() always
// runs until wolfSSL meets EAGAIN (or the device), so no readiness is lost,
// and readiness while crypto is in flight costs no epoll_ctl (the step
// after the completion picks it up). EPOLLOUT also reports the end of a
// non-blocking connect().
constexpr uint32_t kSocketEvents = EPOLLIN | EPOLLOUT | EPOLLET;

constexpr std::string_view kHttpRequest = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";

class Client {
 public:
  explicit Client(const PerfOptions& opt) : opt_(opt) {}
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() { finish(); }

  bool setup(std::string* error);
  // run drives every connection; false on a fatal error (in *error).
  bool run(std::string* error);
  void finish();

  const Counters& counters() const { return counters_; }
  const std::string& device_name() const { return loop_.device_name(); }
  const std::string& first_error() const { return first_error_; }
  long started() const { return started_; }

 private:
  enum class Phase { kIdle, kConnecting, kHandshake, kWrite, kRead };
  struct Slot {
    Fd fd;
    SslPtr ssl;
    SessionPtr session;  // -r: the session of the slot's last connection
    Phase phase = Phase::kIdle;
    bool pending = false;
    bool zombie = false;  // aborted with crypto in flight: freed after it
    Clock::time_point start;
    double handshake_s = 0;
    long conn_no = 0;     // which connection of the run this is
    int steps = 0;        // handshake calls so far
    int abort_after = 0;  // --abort-handshake: abort after this many steps
    bool abort_armed = false;
    Clock::time_point abort_at;
    // When the connection times out: its handshake deadline, then its idle
    // one, moved on by every byte read or written (max() = never).
    Clock::time_point deadline = Clock::time_point::max();
  };
  enum class Outcome { kDone, kError, kAborted };

  bool start_conn(Slot* s, std::string* error);
  bool begin_tls(Slot* s, std::string* error);
  void step(Slot* s);
  void wait_for(Slot* s, int err);
  void end_conn(Slot* s, Outcome outcome, const std::string& why = {});
  void release(Slot* s);
  void on_ready(Slot* s);
  // on_ready for the slot of ssl, if it still has it.
  void on_ready(WOLFSSL* ssl);
  void drain_pending();
  bool more_to_start() const;
  bool budget_left() const;
  int abort_after(long conn_no) const;
  int abort_timeout_ms() const;
  void fire_aborts();
  void note_progress(Slot* s);
  void expire(Clock::time_point now);
  int wait_timeout_ms() const;

  const PerfOptions& opt_;
  // Device, context, queue and epoll set; before slots_, so that the
  // connections and sessions are freed first.
  EventLoop loop_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::unordered_map<WOLFSSL*, Slot*> by_ssl_;
  std::vector<unsigned char> request_;
  std::vector<unsigned char> read_buf_;
  Counters counters_;
  long started_ = 0;  // connections begun
  int active_ = 0;    // slots not idle
  std::string fatal_;
  std::string first_error_;
};

bool Client::setup(std::string* error) {
  TlsConfig cfg;
  cfg.server = false;
  cfg.version = opt_.version;
  cfg.cipher_list = opt_.cipher_list;
  cfg.files = {opt_.cert, opt_.key, opt_.ca};
  cfg.client_cert = opt_.client_cert;
  cfg.groups = opt_.groups;
  LoopSetup loop;
  loop.device = opt_.device;
  loop.handshake_timeout_ms = opt_.handshake_timeout_ms;
  loop.idle_timeout_ms = opt_.idle_timeout_ms;
  if (!loop_.open(loop, cfg, error)) return false;
  if (opt_.http) {
    request_.assign(kHttpRequest.begin(), kHttpRequest.end());
  } else {
    request_.resize(static_cast<size_t>(opt_.write_size));
    WC_RNG rng;
    if (wc_InitRng(&rng) == 0) {
      (void)wc_RNG_GenerateBlock(&rng, request_.data(), static_cast<word32>(request_.size()));
      wc_FreeRng(&rng);
    }
  }
  read_buf_.resize(static_cast<size_t>(opt_.read_size));
  // With a byte budget each slot runs one connection for as long as the
  // budget lasts; with -n the slots share the connections.
  int slots = opt_.concurrent;
  if (opt_.max_conns > 0 && opt_.max_conns < slots) slots = static_cast<int>(opt_.max_conns);
  for (int i = 0; i < slots; ++i) slots_.push_back(std::make_unique<Slot>());
  return true;
}

void Client::note_progress(Slot* s) { s->deadline = loop_.idle_deadline(); }

// expire fails the connections whose deadline passed; the socket is shut
// down so the server sees it go, and one with crypto in flight is freed
// once the operation completes.
void Client::expire(Clock::time_point now) {
  if (!loop_.sweep_due(now)) return;
  for (auto& s : slots_) {
    if (s->phase == Phase::kIdle || s->zombie || now < s->deadline) continue;
    ++counters_.timeouts;
    const bool handshake = s->phase == Phase::kConnecting || s->phase == Phase::kHandshake;
    (void)shutdown(s->fd.get(), SHUT_RDWR);
    end_conn(s.get(), Outcome::kError,
             handshake ? "handshake timed out (--handshake-timeout " +
                             std::to_string(opt_.handshake_timeout_ms) + " ms)"
                       : "no progress for --idle-timeout " + std::to_string(opt_.idle_timeout_ms) +
                             " ms");
  }
}

// wait_timeout_ms is how long epoll may sleep: until the next armed abort
// or, while connections are open, the next timeout sweep.
int Client::wait_timeout_ms() const {
  int timeout = abort_timeout_ms();
  if (loop_.next_sweep() != Clock::time_point::max() && active_ > 0) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(loop_.next_sweep() - Clock::now()).count();
    const int ms = left < 0 ? 0 : static_cast<int>(left);
    if (timeout < 0 || ms < timeout) timeout = ms;
  }
  return timeout;
}

bool Client::more_to_start() const {
  if (!fatal_.empty()) return false;
  if (opt_.max_conns > 0) return started_ < opt_.max_conns;
  return started_ < static_cast<long>(slots_.size());  // -B: one per slot
}

bool Client::budget_left() const {
  return opt_.max_bytes > 0 &&
         (counters_.write_bytes < opt_.max_bytes || counters_.read_bytes < opt_.max_bytes);
}

bool Client::start_conn(Slot* s, std::string* error) {
  bool in_progress = false;
  s->start = Clock::now();
  counters_.note_activity(s->start);
  s->fd = connect_start(opt_.port, &in_progress, error);
  if (!s->fd.valid()) {
    *error = "cannot connect to 127.0.0.1:" + std::to_string(opt_.port) + ": " + *error +
             " (is the server running?)";
    return false;
  }
  ++started_;
  ++active_;
  s->conn_no = started_ - 1;
  s->steps = 0;
  s->handshake_s = 0;
  s->pending = false;
  s->abort_armed = false;
  s->abort_after = abort_after(s->conn_no);
  s->deadline = loop_.handshake_deadline(s->start);
  if (in_progress) {
    s->phase = Phase::kConnecting;
    if (!loop_.epoll().add(s->fd.get(), kSocketEvents, s)) {
      *error = errno_text("epoll_ctl(add)");
      return false;
    }
    return true;
  }
  return begin_tls(s, error);
}

bool Client::begin_tls(Slot* s, std::string* error) {
  s->ssl.reset(wolfSSL_new(loop_.ctx()));
  if (!s->ssl || wolfSSL_set_fd(s->ssl.get(), s->fd.get()) != WOLFSSL_SUCCESS ||
      wolfSSL_check_domain_name(s->ssl.get(), "localhost") != WOLFSSL_SUCCESS) {
    *error = "wolfSSL_new/set_fd failed";
    return false;
  }
  if (opt_.resume && s->session) (void)wolfSSL_set_session(s->ssl.get(), s->session.get());
  by_ssl_[s->ssl.get()] = s;
  const bool registered = s->phase == Phase::kConnecting;
  s->phase = Phase::kHandshake;
  if (!registered && !loop_.epoll().add(s->fd.get(), kSocketEvents, s)) {
    *error = errno_text("epoll_ctl(add)");
    return false;
  }
  step(s);
  return true;
}

void Client::wait_for(Slot* s, int err) {
  // Socket waits need nothing: the edge-triggered registration
  // (kSocketEvents) reports the next readiness.
  if (err == WC_PENDING_E) s->pending = true;
}

void Client::step(Slot* s) {
  WOLFSSL* ssl = s->ssl.get();
  while (s->phase != Phase::kIdle) {
    switch (s->phase) {
      case Phase::kIdle:
      case Phase::kConnecting:
        return;
      case Phase::kHandshake: {
        const auto t0 = Clock::now();
        const int ret = wolfSSL_connect(ssl);
        const auto t1 = Clock::now();
        s->handshake_s += seconds_between(t0, t1);
        ++s->steps;
        if (ret == WOLFSSL_SUCCESS) {
          counters_.note_handshake(ssl, s->handshake_s, s->start, t1);
          note_progress(s);
          s->phase = Phase::kWrite;
          break;
        }
        const int err = wolfSSL_get_error(ssl, ret);
        if (must_wait(err)) {
          if (s->abort_after > 0 && s->steps >= s->abort_after && !s->abort_armed) {
            // Give the server 0..3 ms to get its crypto in flight first.
            s->abort_armed = true;
            s->abort_at = t1 + std::chrono::milliseconds(s->conn_no % 4);
          }
          wait_for(s, err);
          return;
        }
        end_conn(s, Outcome::kError, "handshake failed: " + error_text(err));
        return;
      }
      case Phase::kWrite: {
        const int ret = timed(&counters_.write_s, [&] {
          return wolfSSL_write(ssl, request_.data(), static_cast<int>(request_.size()));
        });
        if (ret > 0) {
          counters_.write_bytes += ret;
          note_progress(s);
          s->phase = Phase::kRead;
          break;
        }
        const int err = wolfSSL_get_error(ssl, ret);
        if (must_wait(err)) {
          wait_for(s, err);
          return;
        }
        end_conn(s, Outcome::kError, "write failed: " + error_text(err));
        return;
      }
      case Phase::kRead: {
        const int ret = timed(&counters_.read_s, [&] {
          return wolfSSL_read(ssl, read_buf_.data(), static_cast<int>(read_buf_.size()));
        });
        if (ret > 0) {
          counters_.read_bytes += ret;
          note_progress(s);
          if (opt_.http) break;  // read the response until the server closes
          if (budget_left()) {
            s->phase = Phase::kWrite;
            break;
          }
          end_conn(s, Outcome::kDone);
          return;
        }
        const int err = wolfSSL_get_error(ssl, ret);
        if (must_wait(err)) {
          wait_for(s, err);
          return;
        }
        if (opt_.http && (err == WOLFSSL_ERROR_ZERO_RETURN || err == SOCKET_PEER_CLOSED_E)) {
          end_conn(s, Outcome::kDone);
          return;
        }
        end_conn(s, Outcome::kError, "read failed: " + error_text(err));
        return;
      }
    }
  }
}

void Client::end_conn(Slot* s, Outcome outcome, const std::string& why) {
  if (s->phase == Phase::kIdle || s->zombie) return;
  if (outcome == Outcome::kError) {
    ++counters_.errors;
    if (first_error_.empty()) first_error_ = why;
  } else if (outcome == Outcome::kAborted) {
    ++counters_.aborted;
  }
  if (s->ssl && outcome == Outcome::kDone) {
    if (opt_.resume) s->session.reset(wolfSSL_get1_session(s->ssl.get()));
    if (!opt_.quiet && counters_.handshakes == 1) {
      std::printf("SSL cipher suite is %s\n", wolfSSL_get_cipher(s->ssl.get()));
      std::fflush(stdout);
    }
  }
  loop_.epoll().remove(s->fd.get());
  if (outcome == Outcome::kAborted) {
    // Even connections reset, odd ones close; the descriptor stays open for
    // wolfSSL (its I/O now fails) until the slot is released.
    if (s->conn_no % 2 == 0) {
      abort_socket(s->fd.get());
      Fd null_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
      if (null_fd.valid()) (void)dup2(null_fd.get(), s->fd.get());  // closes the socket: RST
    } else {
      (void)shutdown(s->fd.get(), SHUT_RDWR);
    }
  }
  if (s->pending) {
    s->zombie = true;  // on_ready releases it once the operation completed
    return;
  }
  release(s);
}

// release frees a slot's connection; no crypto may be in flight.
void Client::release(Slot* s) {
  if (s->ssl) {
    by_ssl_.erase(s->ssl.get());
    s->ssl.reset();
  }
  s->fd.reset();
  s->phase = Phase::kIdle;
  s->pending = false;
  s->zombie = false;
  s->abort_armed = false;
  --active_;
  counters_.note_activity(Clock::now());
}

void Client::on_ready(WOLFSSL* ssl) {
  auto it = by_ssl_.find(ssl);
  if (it != by_ssl_.end()) on_ready(it->second);
}

void Client::on_ready(Slot* s) {
  s->pending = false;
  if (!s->zombie) {
    step(s);
    return;
  }
  // Let wolfSSL finish the step it was in (it then fails on the dead
  // socket or pends again), so that its own cleanup runs before the free.
  (void)wolfSSL_connect(s->ssl.get());
  if (wolfSSL_get_error(s->ssl.get(), -1) == WC_PENDING_E) {
    s->pending = true;
    return;
  }
  release(s);
}

// drain_pending waits (at most 10 s) until no operation is in flight.
void Client::drain_pending() {
  auto settle = [this] {
    bool any = false;
    for (auto& s : slots_) {
      if (s->phase == Phase::kIdle) continue;
      if (!s->pending) {
        end_conn(s.get(), Outcome::kAborted);
        if (s->zombie) release(s.get());
      } else if (!s->zombie) {
        end_conn(s.get(), Outcome::kAborted);
      }
      if (s->phase != Phase::kIdle) any = true;
    }
    return any;
  };
  loop_.drain(
      opt_.drain_timeout_ms, 100, settle, [this](WOLFSSL* ssl) { on_ready(ssl); },
      &counters_.async_s);
}

// abort_after says after how many handshake steps connection conn_no
// aborts (0: it does not). Every connection cycles through 1..K, or with
// --abort-percent a seeded random share aborts after random 1..K steps.
int Client::abort_after(long conn_no) const {
  const int k = opt_.abort_handshake;
  if (k <= 0) return 0;
  if (opt_.abort_percent >= 100) return 1 + static_cast<int>(conn_no % k);
  // SplitMix64 of (seed, connection): the same seed aborts the same ones.
  using asynccrypt::measure::SplitMix64;
  const uint64_t z =
      SplitMix64::mix(opt_.seed + SplitMix64::kGamma * static_cast<uint64_t>(conn_no + 1));
  if (static_cast<int>(z % 100) >= opt_.abort_percent) return 0;
  return 1 + static_cast<int>((z / 100) % static_cast<uint64_t>(k));
}

int Client::abort_timeout_ms() const {
  int timeout = -1;
  const auto now = Clock::now();
  for (const auto& s : slots_) {
    if (!s->abort_armed) continue;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(s->abort_at - now).count();
    const int ms = left < 0 ? 0 : static_cast<int>(left);
    if (timeout < 0 || ms < timeout) timeout = ms;
  }
  return timeout;
}

void Client::fire_aborts() {
  const auto now = Clock::now();
  for (auto& s : slots_) {
    if (s->abort_armed && !s->zombie && s->phase == Phase::kHandshake && now >= s->abort_at) {
      end_conn(s.get(), Outcome::kAborted);
    }
  }
}

bool Client::run(std::string* error) {
  const double cpu0 = thread_cpu_seconds();
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  for (;;) {
    // Idle slots start the next connections (round-robin over the slots).
    for (auto& s : slots_) {
      if (s->phase == Phase::kIdle && more_to_start() && !start_conn(s.get(), &fatal_)) break;
    }
    if (!fatal_.empty() || active_ == 0) break;
    const int n = loop_.epoll().wait(events, kMaxEvents, wait_timeout_ms());
    if (n < 0) {
      fatal_ = errno_text("epoll_wait");
      break;
    }
    for (int i = 0; i < n && fatal_.empty(); ++i) {
      void* tag = events[i].data.ptr;
      if (loop_.is_queue(tag)) {
        const bool polled =
            loop_.harvest([this](WOLFSSL* ssl) { on_ready(ssl); }, &counters_.async_s, &fatal_);
        if (!polled) break;
        continue;
      }
      Slot* s = static_cast<Slot*>(tag);
      if (s->phase == Phase::kIdle || s->zombie) continue;  // ended earlier
      if (s->phase == Phase::kConnecting) {
        const int err = connect_result(s->fd.get());
        if (err != 0) {
          fatal_ = "cannot connect to 127.0.0.1:" + std::to_string(opt_.port) + ": " +
                   std::strerror(err) + " (is the server running?)";
          break;
        }
        if (!begin_tls(s, &fatal_)) break;
        continue;
      }
      if (s->pending) {
        if (events[i].events & (EPOLLHUP | EPOLLERR)) {
          end_conn(s, Outcome::kError, "the server closed the connection during the handshake");
        }
        continue;
      }
      step(s);
    }
    fire_aborts();
    expire(Clock::now());
  }
  counters_.loop_cpu_s = thread_cpu_seconds() - cpu0;
  if (!fatal_.empty()) {
    *error = fatal_;
    return false;
  }
  return true;
}

void Client::finish() {
  drain_pending();
  for (auto& s : slots_) {
    // Only after the drain timeout; SslPtr still drains a worker's running
    // operation before the free.
    if (s->phase != Phase::kIdle) release(s.get());
  }
  by_ssl_.clear();
  slots_.clear();  // sessions go before the context
  loop_.close(&counters_.device_ops, &counters_.device_inline);
}

}  // namespace

int run_perf_client(int argc, char** argv) {
  PerfOptions opt;
  if (const int rc = parse_options(Tool::kClient, argc, argv, &opt); rc != 0)
    return rc == 1 ? 0 : 2;
  std::signal(SIGPIPE, SIG_IGN);
  if (opt.abort_handshake > 0 && opt.abort_percent < 100) {
    if (opt.seed == 0) {
      opt.seed = static_cast<unsigned long long>(
                     std::chrono::steady_clock::now().time_since_epoch().count()) |
                 1;
    }
    std::fprintf(stderr, "perf-client: aborting %d%% of the connections, --seed %llu\n",
                 opt.abort_percent, opt.seed);
  }

  const auto library = asynccrypt::WolfSslLibrary::init();
  if (!library) {
    std::fprintf(stderr, "perf-client: wolfSSL_Init failed\n");
    return 1;
  }
  Client client(opt);
  std::string error;
  if (!client.setup(&error)) {
    std::fprintf(stderr, "perf-client: %s\n", error.c_str());
    return 1;
  }
  const double cpu0 = process_cpu_seconds();
  const bool ok = client.run(&error);
  const double cpu = process_cpu_seconds() - cpu0;
  const long aborted_at_exit = client.counters().aborted;
  client.finish();
  if (!ok) {
    std::fprintf(stderr, "perf-client: %s\n", error.c_str());
    return 1;
  }
  Counters c = client.counters();
  c.aborted = aborted_at_exit;
  ReportInfo info;
  info.server = false;
  info.reply_bytes = opt.write_size;
  info.show_resume = opt.resume;
  info.device = client.device_name();
  info.process_cpu_s = cpu;
  info.json = opt.json;
  print_report(c, info);
  if (c.errors > 0) {
    std::fprintf(stderr, "perf-client: %ld of %ld connections failed; first: %s\n", c.errors,
                 client.started(), client.first_error().c_str());
    return 1;
  }
  if (c.handshakes == 0 && c.aborted == 0) {
    std::fprintf(stderr, "perf-client: no handshake completed\n");
    return 1;
  }
  return 0;
}

}  // namespace perf

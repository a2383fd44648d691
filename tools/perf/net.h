// Sockets and epoll for the perf tools (IPv4 loopback and any-address).
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <string>

#include "perf/tls_common.h"

namespace perf {

// listen_tcp listens on INADDR_ANY:port (0 = a free port) with
// SO_REUSEADDR, SO_REUSEPORT when reuse_port (one listener per event-loop
// thread, the kernel balances), non-blocking, backlog 1024. Writes the bound
// port to *bound_port. Invalid Fd with *error set on failure.
Fd listen_tcp(int port, bool reuse_port, int* bound_port, std::string* error);

// connect_start starts a non-blocking connect to 127.0.0.1:port with
// TCP_NODELAY. *in_progress says whether EPOLLOUT must be awaited. Invalid
// Fd with *error set when the connect failed at once.
Fd connect_start(int port, bool* in_progress, std::string* error);

// connect_result is the outcome (0 or an errno) of a finished connect.
int connect_result(int fd);

// set_nodelay_nonblock prepares an accepted socket.
bool set_nodelay_nonblock(int fd);

// abort_socket makes close() send a reset instead of a FIN.
void abort_socket(int fd);

// Epoll wraps an epoll instance; data is a caller-chosen pointer.
class Epoll {
 public:
  // create returns false with *error set when epoll_create1 fails.
  bool create(std::string* error);
  bool add(int fd, uint32_t events, void* data);
  bool modify(int fd, uint32_t events, void* data);
  void remove(int fd);
  // wait returns the number of events (0 on EINTR), -1 on failure.
  int wait(epoll_event* events, int max, int timeout_ms);

 private:
  Fd fd_;
};

// errno_text is strerror(errno) with the call's name.
std::string errno_text(const char* what);

}  // namespace perf

// Sockets and epoll for the perf tools (see net.h).
#include "perf/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace perf {

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

bool set_nodelay_nonblock(int fd) {
  const int on = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0) return false;
  const int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

void abort_socket(int fd) {
  linger lg{};
  lg.l_onoff = 1;
  lg.l_linger = 0;
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));  // best effort
}

Fd listen_tcp(int port, bool reuse_port, int* bound_port, std::string* error) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    *error = errno_text("socket");
    return {};
  }
  const int on = 1;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) {
    *error = errno_text("setsockopt(SO_REUSEADDR)");
    return {};
  }
  if (reuse_port && setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
    *error = errno_text("setsockopt(SO_REUSEPORT)");
    return {};
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = errno_text("bind") + " (port " + std::to_string(port) + ")";
    return {};
  }
  if (listen(fd.get(), 1024) != 0) {
    *error = errno_text("listen");
    return {};
  }
  socklen_t len = sizeof(addr);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = errno_text("getsockname");
    return {};
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

Fd connect_start(int port, bool* in_progress, std::string* error) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    *error = errno_text("socket");
    return {};
  }
  const int on = 1;
  if (setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0) {
    *error = errno_text("setsockopt(TCP_NODELAY)");
    return {};
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  *in_progress = false;
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) {
      *error = errno_text("connect");
      return {};
    }
    *in_progress = true;
  }
  return fd;
}

int connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

bool Epoll::create(std::string* error) {
  fd_ = Fd(epoll_create1(EPOLL_CLOEXEC));
  if (!fd_.valid()) *error = errno_text("epoll_create1");
  return fd_.valid();
}

bool Epoll::add(int fd, uint32_t events, void* data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = data;
  return epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool Epoll::modify(int fd, uint32_t events, void* data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = data;
  return epoll_ctl(fd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void Epoll::remove(int fd) { (void)epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr); }

int Epoll::wait(epoll_event* events, int max, int timeout_ms) {
  const int n = epoll_wait(fd_.get(), events, max, timeout_ms);
  if (n < 0 && errno == EINTR) return 0;
  return n;
}

}  // namespace perf

#!/usr/bin/env python3
"""Peers that misbehave, for perf_test.sh's hostile scenarios.

  hostile_peers.py clients PORT CA SILENT SLOW IDLE HALFCLOSE HOLD_S
      Opens SILENT connections that send nothing; SLOW ones that trickle a
      TLS record header and then one byte every 200 ms (a handshake that never
      completes); IDLE ones that complete a TLS 1.3 handshake (verified
      against CA) and then stay silent; HALFCLOSE ones that send half a
      ClientHello, shut their write side and never read. Prints "ready" when
      all are open, then holds them HOLD_S seconds and prints how many the server closed first ("closed_by_server N").
  hostile_peers.py stall-server HOLD_S
      Listens on a free loopback port, prints "port N", accepts connections
      and never answers, for HOLD_S seconds.

Every wait is bounded by HOLD_S: nothing here can hang a test.
"""
import os
import select
import socket
import ssl
import sys
import time


def open_conn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def server_closed(s):
    """True when the server closed (EOF or reset) the connection."""
    try:
        s.setblocking(False)
        data = s.recv(65536)
        return data == b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
        return True


def clients(port, ca, silent, slow, idle, halfclose, hold):
    conns = []  # (kind, socket)
    for _ in range(silent):
        conns.append(("silent", open_conn(port)))
    trickle = []
    for _ in range(slow):
        s = open_conn(port)
        # A handshake record of 512 bytes: the server waits for all of them.
        s.sendall(b"\x16\x03\x01\x02\x00")
        trickle.append(s)
        conns.append(("slow", s))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(ca)
    for _ in range(idle):
        raw = open_conn(port)
        s = ctx.wrap_socket(raw, server_hostname="localhost")  # handshake, timeout 10 s
        conns.append(("idle", s))
    for _ in range(halfclose):
        s = open_conn(port)
        s.sendall(b"\x16\x03\x01\x02\x00" + b"\x01" * 100)
        s.shutdown(socket.SHUT_WR)
        conns.append(("halfclose", s))
    print("ready", flush=True)
    end = time.monotonic() + hold
    while time.monotonic() < end:
        time.sleep(0.2)
        for s in trickle:
            try:
                s.send(b"\x01")
            except OSError:
                pass
    still_open = [kind for kind, s in conns if not server_closed(s)]
    print(f"closed_by_server {len(conns) - len(still_open)}", flush=True)
    if still_open:
        print("still open: " + " ".join(still_open), flush=True)
    for _, s in conns:
        s.close()


def stall_server(hold):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(f"port {ls.getsockname()[1]}", flush=True)
    held = []
    end = time.monotonic() + hold
    while time.monotonic() < end:
        r, _, _ = select.select([ls], [], [], 0.2)
        if r:
            c, _ = ls.accept()
            held.append(c)
    for c in held:
        c.close()


def main():
    if len(sys.argv) == 9 and sys.argv[1] == "clients":
        a = sys.argv
        clients(int(a[2]), a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7]), float(a[8]))
    elif len(sys.argv) == 3 and sys.argv[1] == "stall-server":
        stall_server(float(sys.argv[2]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()

"""A loopback TCP proxy the test controls: it forwards each connection to a
target port until told to go silent.

``silence()`` is what a NAT or a load balancer does when it forgets a
connection: from then on, nothing more passes in either direction on the
connections open at that moment, and nobody is told (no FIN, no RST): both
ends' sockets stay open and their kernels keep answering each other's TCP
keepalives, since each end talks only to the proxy. New connections are
forwarded as before.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from typing import Self


class SilentProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self._listener = socket.create_server((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._live: list[_Pipe] = []
        self._stopped = threading.Event()
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def silence(self) -> int:
        """Stop forwarding on every open connection; returns how many."""
        with self._lock:
            pipes, self._live = self._live, []
        for pipe in pipes:
            pipe.silent.set()
        return len(pipes)

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            pipes, self._live = self._live, []
        for pipe in pipes:
            pipe.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            pipe = _Pipe(client, upstream)
            with self._lock:
                self._live.append(pipe)
                self.accepted += 1
            threading.Thread(target=pipe.run, daemon=True).start()


class _Pipe:
    def __init__(self, a: socket.socket, b: socket.socket) -> None:
        self.a, self.b = a, b
        self.silent = threading.Event()

    def run(self) -> None:
        peers = {self.a: self.b, self.b: self.a}
        while not self.silent.is_set():
            ready, _w, _x = select.select(list(peers), [], [], 0.2)
            if self.silent.is_set():
                return  # the sockets stay open, and nothing moves any more
            for sock in ready:
                try:
                    data = sock.recv(65536)
                    if not data:
                        self.close()
                        return
                    peers[sock].sendall(data)
                except OSError:
                    self.close()
                    return

    def close(self) -> None:
        for sock in (self.a, self.b):
            with contextlib.suppress(OSError):
                sock.close()

"""A loopback TCP proxy the tests control: it counts IMAP commands and can cut the line.

Over plain IMAP (a Dovecot started with starttls=False) every line the client
sends that starts with a tag is a command, so `commands` counts round-trip
material independently of the client's own bookkeeping. `cut_after(n)` drops
both sides once n more bytes have come from the server: a connection lost
mid-fetch, exactly where the test wants it.
"""

from __future__ import annotations

import socket
import threading
import time


class Proxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1"):
        self.target = (host, target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        self.command_lines: list[bytes] = []
        self.cuts = 0
        self._cut_budget: int | None = None
        self._open: list[socket.socket] = []
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    # -- control --------------------------------------------------------------

    @property
    def commands(self) -> int:
        with self.lock:
            return len(self.command_lines)

    def verbs(self) -> list[str]:
        """'UID FETCH', 'STATUS', ... for each command, in order."""
        with self.lock:
            lines = list(self.command_lines)
        out = []
        for line in lines:
            words = line.split()[1:3]
            verb = words[0].decode().upper() if words else ""
            if verb == "UID" and len(words) > 1:
                verb += " " + words[1].decode().upper()
            out.append(verb)
        return out

    def reset_counts(self) -> None:
        with self.lock:
            self.command_lines.clear()

    def cut_after(self, server_bytes: int | None) -> None:
        """Drop every connection once `server_bytes` more bytes came from the server."""
        with self.lock:
            self._cut_budget = server_bytes

    def close(self) -> None:
        self._stopped = True
        _close(self.listener)  # shutdown first: close() alone leaves a blocked accept() listening
        for sock in list(self._open):
            _close(sock)

    # -- plumbing -------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = self._connect_target()
            if server is None:
                _close(client)  # the client sees the connection closed, at once
                continue
            server.settimeout(None)
            with self.lock:
                self.connections += 1
                self._open += [client, server]
            threading.Thread(target=self._client_to_server, args=(client, server), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(server, client), daemon=True).start()

    def _connect_target(self) -> socket.socket | None:
        """Connect to the real server. Under heavy load Dovecot has been seen to refuse a
        connection now and then (between login processes); retry for a few seconds rather
        than leave the client hanging until its own timeout."""
        deadline = time.monotonic() + 5
        while True:
            try:
                return socket.create_connection(self.target, timeout=10)
            except ConnectionRefusedError:
                if self._stopped or time.monotonic() > deadline:
                    return None
                time.sleep(0.05)
            except OSError:
                return None

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        pending = b""
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                pending += data
                *lines, pending = pending.split(b"\r\n")
                with self.lock:
                    self.command_lines += [line for line in lines if line[:1].isalnum()]
                server.sendall(data)
        except OSError:
            pass
        finally:
            _close(server)
            _close(client)

    def _server_to_client(self, server: socket.socket, client: socket.socket) -> None:
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                with self.lock:
                    budget = self._cut_budget
                    if budget is not None:
                        if len(data) >= budget:
                            data = data[:budget]
                            self._cut_budget = None
                            self.cuts += 1
                            cut = True
                        else:
                            self._cut_budget = budget - len(data)
                            cut = False
                    else:
                        cut = False
                if data:
                    client.sendall(data)
                if cut:
                    break
        except OSError:
            pass
        finally:
            _close(server)
            _close(client)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass

"""OAuth endpoint requests have one deadline for the whole request, not only per read.

A sign-in server that trickles its answer a byte at a time, each byte well inside
the per-read timeout, must not hold a sign-in (or a sync waiting for a token
refresh) forever; an absurdly large answer is refused instead of read.
"""

from __future__ import annotations

import json

import pytest

from tamago_tui.backend.errors import NetworkError
from tamago_tui.backend.oauth_http import MAX_RESPONSE, post_form


def _answer(listener, client) -> None:
    """Read the request: its line, headers and form body."""
    length = 0
    while (line := listener.recv_line(client)) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while length > 0:
        length -= len(client.recv(length))


def test_a_trickled_body_ends_in_a_timeout_at_the_deadline(listen):
    def handler(client, listener):
        _answer(listener, client)
        client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n")
        listener.trickle(client, b"{" + b" " * 398 + b"}", pause=0.1)  # 40 s in all

    server = listen(handler)
    with pytest.raises(NetworkError) as caught:
        post_form(f"http://127.0.0.1:{server.port}/token", {"grant_type": "x"}, timeout=1.0)
    assert caught.value.category == "timeout"
    assert f"127.0.0.1:{server.port}" in str(caught.value)


def test_trickled_headers_end_in_a_timeout_at_the_deadline(listen):
    def handler(client, listener):
        _answer(listener, client)
        listener.trickle(client, b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 2000 + b"\r\n\r\n{}", pause=0.05)

    server = listen(handler)
    with pytest.raises(NetworkError) as caught:
        post_form(f"http://127.0.0.1:{server.port}/token", {"grant_type": "x"}, timeout=1.0)
    assert caught.value.category == "timeout"


def test_an_oversized_answer_is_refused(listen):
    body = json.dumps({"access_token": "x" * (MAX_RESPONSE + 10)}).encode()

    def handler(client, listener):
        _answer(listener, client)
        client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        client.sendall(body)

    server = listen(handler)
    with pytest.raises(NetworkError) as caught:
        post_form(f"http://127.0.0.1:{server.port}/token", {"grant_type": "x"}, timeout=10.0)
    assert "larger than 1024 KiB" in str(caught.value)


def test_a_prompt_answer_within_the_deadline_is_read_whole(listen):
    body = json.dumps({"access_token": "abc", "expires_in": 3600}).encode()

    def handler(client, listener):
        _answer(listener, client)
        client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n" % len(body))
        listener.trickle(client, body, pause=0.01)

    server = listen(handler)
    status, payload = post_form(f"http://127.0.0.1:{server.port}/token", {"grant_type": "x"}, timeout=10.0)
    assert (status, payload) == (400, {"access_token": "abc", "expires_in": 3600})


def test_a_trickled_tls_handshake_ends_in_a_timeout_at_the_deadline(listen):
    # A TLS record header and then a byte now and then. CPython already bounds a handshake by
    # the socket timeout; the deadline watches the socket from before TLS all the same, so
    # the handshake's time counts against the one deadline of the request.
    def handler(client, listener):
        client.recv(4096)  # the ClientHello
        listener.trickle(client, b"\x16\x03\x03\x40\x00" + b"\x02" * 2000, pause=0.1)

    server = listen(handler)
    with pytest.raises(NetworkError) as caught:
        post_form(f"https://127.0.0.1:{server.port}/token", {"grant_type": "x"}, timeout=1.0)
    assert caught.value.category == "timeout"

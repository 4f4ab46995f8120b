"""Request bodies are capped in the real server process before they are read (issue 10 item 1; dmmviz/server.py):
a declared or streamed body over DMMVIZ_MAX_BODY_BYTES gets a 413 while the client is still sending, and the process
does not grow; a normal upload and the websocket still work."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import socket
import urllib.request
import uuid
from pathlib import Path

import pytest
import websockets

from dmmviz.daphne_process import DaphneProcess
from dmmviz.web.models import Scenario

from .multiprocess import database_url

MIB = 1024 * 1024
SCENARIO = Path(__file__).resolve().parents[2] / "dmmviz" / "builtin_scenarios" / "fig5-handover.json"


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM): a body held even for a moment shows up in it."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))


def send_then_read(port: int, head: bytes, pieces: int, piece: bytes) -> tuple[bytes, int]:
    """Send the request head, then up to `pieces` copies of `piece` (stopping if the server closes); read the answer.
    Returns (answer, pieces sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sent = 0
        try:
            for _ in range(pieces):
                sock.sendall(piece)
                sent += 1
        except OSError:
            pass
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"\n"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer, sent


@pytest.fixture
def server():
    with DaphneProcess() as process:
        yield process


def test_a_declared_60_mib_body_is_refused_while_it_streams_and_the_process_does_not_grow(server):
    before = peak_rss_kib(server.pid)
    head = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % (60 * MIB))
    answer, sent = send_then_read(server.port, head, 8, b"x" * MIB)  # 8 of the 60 MiB announced; then read
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in answer
    assert answer.endswith(b"413 The request body is 61440 KiB; this server accepts at most 1024 KiB.\n")
    assert peak_rss_kib(server.pid) - before < 4 * 1024  # stock Daphne: about +62 MiB for the same request
    assert sent <= 8


def test_a_chunked_body_is_cut_off_with_413_once_over_the_limit(server):
    before = peak_rss_kib(server.pid)
    head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n" % (256 * 1024) + b"y" * (256 * 1024) + b"\r\n"
    answer, _ = send_then_read(server.port, head, 40, chunk)  # 10 MiB offered, never a last chunk
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"this server accepts at most 1024 KiB" in answer
    assert peak_rss_kib(server.pid) - before < 4 * 1024


def test_an_expect_100_continue_client_is_refused_before_it_sends_the_body(server):
    head = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % (2 * MIB))
    answer, _ = send_then_read(server.port, head, 0, b"")
    assert answer.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in answer


def ask(port: int, request: bytes) -> bytes:
    """Send a whole request; read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while data := sock.recv(65536):
            answer += data
        return answer


def test_an_address_over_16_kib_gets_414_naming_the_limit_not_a_silent_close(server):
    answer = ask(server.port, b"GET /s/x/export/trace/?nodes=" + b"%2C" * 10_000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert answer.endswith(b"414 The request line is over 16,384 bytes: the address (its query string) is too long.\n")


def test_a_header_line_over_16_kib_gets_431(server):
    answer = ask(server.port, b"GET / HTTP/1.1\r\nHost: a\r\nCookie: " + b"c" * 20_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert answer.endswith(b"431 A header line is over 16,384 bytes.\n")


def test_too_many_headers_or_a_malformed_request_get_400_with_the_limits(server):
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(600))
    for request in (b"GET / HTTP/1.1\r\nHost: a\r\n" + many + b"\r\n", b"NONSENSE\r\n\r\n"):
        answer = ask(server.port, request)
        assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:100]
        assert answer.endswith(b"400 The request is malformed, or its headers are over 16,384 bytes or 500 lines.\n")
    # and the server goes on answering everyone else
    answer = ask(server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]


@pytest.mark.django_db(transaction=True)
def test_a_normal_upload_and_the_websocket_still_work(new_session):
    session = new_session("fig5-handover")
    with DaphneProcess(env={"DATABASE_URL": database_url()}) as server:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(server.url + "/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        title = f"Capped upload {uuid.uuid4().hex[:8]}"
        document = {**json.loads(SCENARIO.read_text()), "title": title}
        boundary = "dmmvizboundary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="up.json"\r\n'
            f"Content-Type: application/json\r\n\r\n{json.dumps(document)}\r\n--{boundary}--\r\n"
        ).encode()
        request = urllib.request.Request(
            server.url + "/", data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": server.url + "/"},
        )
        with opener.open(request) as response:  # the redirect to the home page is followed
            assert response.status == 200 and title in response.read().decode()
        assert Scenario.objects.filter(title=title).exists()

        async def snapshot() -> dict:
            async with websockets.connect(f"{server.ws_url}/ws/session/{session.id}/", origin=server.url) as ws:
                return json.loads(await asyncio.wait_for(ws.recv(), 10))

        first = asyncio.run(snapshot())
        assert first["type"] == "snapshot"


@pytest.mark.django_db(transaction=True)
def test_a_websocket_frame_over_1_mib_gets_close_code_1009_naming_the_limit_not_a_dropped_connection(new_session):
    """Daphne refuses a frame over 1 MiB before reading it; it used to drop the TCP connection (the client saw 1006
    and no reason). Smaller frames get the protocol's frame_too_large error and the socket stays open."""
    session = new_session("fig5-handover")
    with DaphneProcess(env={"DATABASE_URL": database_url()}) as server:

        async def oversized() -> websockets.exceptions.ConnectionClosed:
            async with websockets.connect(f"{server.ws_url}/ws/session/{session.id}/", origin=server.url) as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
                await ws.send("x" * (MIB + 10))
                with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                return closed.value

        closed = asyncio.run(oversized())
        assert closed.rcvd is not None, "the server sent a close frame"
        assert closed.rcvd.code == 1009 and "1048576" in closed.rcvd.reason, closed.rcvd

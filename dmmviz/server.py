"""The server entry point: `python -m dmmviz.server [daphne options]` runs Daphne on dmmviz.asgi:application.

Request bodies are capped in Daphne's HTTP channel, before they are read (CappedHTTPChannel below): Twisted reads a
whole body (into memory or a temporary file) and Daphne hands it all to the application's queue before the
application sees a byte of it, so the ASGI BodyLimit (dmmviz/web/limits.py) alone would answer 413 only after the
body was in memory. Here a Content-Length over settings.DMMVIZ_MAX_BODY_BYTES is answered 413 as soon as the headers
are in, and a body without one (chunked) as soon as it passes the limit; the rest of such a body is dropped as it
arrives, and the connection is closed a moment later.

The process tuning lives here, not in a module that tests or management commands import, and only when
settings.DMMVIZ_PROCESS_TUNING is on (the default; DMMVIZ_PROCESS_TUNING=0 turns it off). Both are for the tail of
the websocket latency (the p99 of bench/ws.py):
- What exists once the application is loaded (Django, Daphne, the engine's modules) lives as long as the process.
  gc.freeze() leaves it out of the garbage collector's full passes, which otherwise walk it again each time and stall
  every socket of the process for tens of milliseconds.
- Saves run in Django's database thread (dmmviz/web/batching.py), which needs the interpreter lock a few times per
  trip. While the event loop is busy, each time it would wait out the switch interval (5 ms by default). At 0.5 ms
  the loop lets go sooner.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.ws_protocol import WebSocketFactory
from twisted.web import http

from dmmviz.web.limits import MAX_BODY_BYTES, too_large_text

APPLICATION = "dmmviz.asgi:application"
# After a 413, the rest of the body is read and dropped for this long before the connection is closed: closing with
# unread data would reset the connection, and a client still sending might never read the answer.
LINGER_SECONDS = 2.0


class CappedHTTPChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel that refuses a request body over `body_limit` bytes before reading it."""

    body_limit = MAX_BODY_BYTES
    refused = False

    def allHeadersReceived(self) -> None:
        # self.length: the Content-Length (None for a chunked body). Checked before the request makes its content
        # file and before an `Expect: 100-continue` is answered, so such a client never sends the body.
        if self.length is not None and self.length > self.body_limit:
            self.refuse(too_large_text(self.length, self.body_limit))
            return
        super().allHeadersReceived()

    def rawDataReceived(self, data: bytes) -> None:
        if self.refused:
            return  # the rest of a refused body: dropped, never kept
        super().rawDataReceived(data)

    def allContentReceived(self) -> None:
        if not self.refused:  # a refused request never reaches Daphne (and the application)
            super().allContentReceived()

    def lineLengthExceeded(self, line: bytes) -> None:
        # Twisted's default closes the connection without a word: the client should hear what was too long.
        if getattr(self, "_HTTPChannel__first_line", 0):  # still reading the request line
            self.refuse(f"The request line is over {self.MAX_LENGTH:,} bytes: the address (its query string) is too "
                        "long.", status=b"414 URI Too Long")
        else:
            self.refuse(f"A header line is over {self.MAX_LENGTH:,} bytes.",
                        status=b"431 Request Header Fields Too Large")

    def _respondToBadRequestAndDisconnect(self) -> None:
        # Twisted's own answer to a request it cannot parse (or headers over totalHeadersSize/maxHeaders) is a bare
        # 400 with no body; this one says what the limits are. (A private method: tests/server/test_body_cap.py
        # notices if a Twisted upgrade stops calling it.)
        self.refuse(f"The request is malformed, or its headers are over {self.totalHeadersSize:,} bytes or "
                    f"{self.maxHeaders} lines.", status=b"400 Bad Request")

    def refuse(self, text: str, status: bytes = b"413 Content Too Large") -> None:
        """Answer `status` with `text`, drop whatever else arrives, close after LINGER_SECONDS (or when the client
        does)."""
        self.refused = True
        self.setRawMode()  # whatever else arrives goes to rawDataReceived, which drops it
        body = status.split(b" ", 1)[0] + f" {text}\n".encode()
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
        )
        self.setTimeout(None)
        self.callLater(LINGER_SECONDS, self.transport.loseConnection)


class CappedRequest(WebRequest):
    """Daphne's request, counting a body that comes without a Content-Length as it arrives."""

    received = 0

    def handleContentChunk(self, data: bytes) -> None:
        channel = self.channel
        if channel.refused:
            return
        self.received += len(data)
        if self.received > channel.body_limit:
            channel.refuse(too_large_text(self.received, channel.body_limit, more=True))
            return
        super().handleContentChunk(data)


class CappedHTTPFactory(HTTPFactory):
    """Daphne's HTTP factory with the capped channel and request."""

    def protocol(self) -> Any:
        # Twisted's HTTPFactory builds each connection's protocol by calling self.protocol(): its own function wraps
        # an HTTPChannel in the proxy that could switch to HTTP/2 (only ever negotiated over TLS, which we do not
        # serve: the proxy in front terminates it, docs/deploy.md).
        return http._GenericHTTPChannelProtocol(CappedHTTPChannel())

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)  # Daphne sets its WebRequest as the request factory here
        protocol.requestFactory = CappedRequest
        return protocol


class ClosingWebSocketFactory(WebSocketFactory):
    """Daphne's websocket factory, failing a connection with a close frame rather than by dropping it: a frame over
    Daphne's 1 MiB limit used to end in a bare TCP reset (the client saw 1006, no reason); it now gets close code 1009
    ("message too big") with Autobahn's reason, which names the limit."""

    def setProtocolOptions(self, **options: Any) -> None:  # Autobahn's name
        super().setProtocolOptions(failByDrop=False, **options)


def install_body_cap() -> None:
    """Make Daphne's server build its HTTP connections with CappedHTTPFactory, limited by the settings."""
    import daphne.server

    from dmmviz.web.limits import body_limit

    CappedHTTPChannel.body_limit = body_limit()
    daphne.server.HTTPFactory = CappedHTTPFactory  # type: ignore[misc]  (Server.run() makes its factory by this name)
    daphne.server.WebSocketFactory = ClosingWebSocketFactory  # type: ignore[misc]  (the same, for websockets)


def tune_process() -> bool:
    """Apply the process tuning if the settings ask for it; True if applied. Call after the application is loaded."""
    from django.conf import settings

    if not getattr(settings, "DMMVIZ_PROCESS_TUNING", False):
        return False
    gc.freeze()
    sys.setswitchinterval(0.0005)
    return True


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dmmviz.settings")
    from daphne.cli import CommandLineInterface

    import dmmviz.asgi  # noqa: F401  (load everything first, so that gc.freeze() covers it)

    tune_process()
    install_body_cap()
    args = list(sys.argv[1:] if argv is None else argv)
    CommandLineInterface().run([*args, APPLICATION])


if __name__ == "__main__":
    main()

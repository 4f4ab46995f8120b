"""Start a Daphne serving dmmviz in a child process on a free loopback port (for the benches and the multi-process
tests), through the same entry point as `make run` (dmmviz/server.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaphneProcess:
    """`with DaphneProcess(env={...}) as server: server.url` — Daphne on 127.0.0.1, listen backlog 1024."""

    def __init__(
        self, env: dict[str, str] | None = None, port: int | None = None, log: IO[bytes] | None = None
    ) -> None:
        self.port = port or free_port()
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dmmviz.settings", **(env or {})}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> DaphneProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dmmviz.server", "-e", f"tcp:port={self.port}:interface=127.0.0.1:backlog=1024"],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.log or subprocess.DEVNULL,
            stderr=self.log or subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited with status {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/protocol.js", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"daphne did not answer on {self.url} within {timeout:g} s")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def kill(self) -> None:
        """kill -9: no clean-up, as a crash would leave it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> DaphneProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""The grader's end of a kernel's integrity channel (the kernel's end is `autograder.sandbox.warden`).

One SOCK_SEQPACKET socket per kernel start, in the kernel's runtime folder: the guard connects before
any student code runs and receives a fresh key; from then on every message it sends is signed with
that key and numbered. A message that fails its signature, a gap in the numbers or a channel that
closes before the kernel is shut down all mean that student code wrote to or cut the channel, and
are reported as such. The grader sends the instructor's cells the same way, just before the cell
that runs them; nothing student code writes can reach the grader's side of it.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class ChannelState:
    """What the kernel's guard said, in order, and what was wrong with the channel itself."""

    messages: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    connected: bool = False
    closed: bool = False


class WardenChannel:
    """Listen for one kernel's guard, hand it the key and configuration, then collect its messages."""

    def __init__(self, path: Path, config: dict[str, list[str]], owner: int | None = None):
        self.path = path
        self._key = secrets.token_bytes(32)
        self._config = config
        self._state = ChannelState()
        self._changed = threading.Condition()
        self._connection: socket.socket | None = None
        self._expected_seq = 1
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        path.unlink(missing_ok=True)
        self._listener.bind(str(path))
        os.chmod(path, 0o600)
        if owner is not None:
            os.chown(path, owner, owner)
        self._listener.listen(1)
        self._thread = threading.Thread(target=self._serve, name=f"warden-channel-{path.parent.name}", daemon=True)
        self._thread.start()

    # --- the listening thread -------------------------------------------------------------------

    def _serve(self) -> None:
        self._listener.settimeout(300)
        try:
            connection, _ = self._listener.accept()
        except OSError:
            return
        finally:
            self._listener.close()
            self.path.unlink(missing_ok=True)  # nobody else can connect to it now
        connection.settimeout(10)  # a kernel that stops reading never blocks the grader
        self._connection = connection
        fields = [b"key", self._key.hex().encode()]
        for name, values in self._config.items():
            fields += [f"{name}={value}".encode() for value in values]
        try:
            connection.sendall(b"\x00".join(fields))
        except OSError:
            return
        with self._changed:
            self._state.connected = True
            self._changed.notify_all()
        while True:
            try:
                data = connection.recv(1 << 22)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            if not data:
                with self._changed:
                    self._state.closed = True
                    self._changed.notify_all()
                return
            self._accept_message(data)

    def _accept_message(self, data: bytes) -> None:
        body, _, signature = data.rpartition(b"\n")
        expected = hmac.new(self._key, body, "sha256").hexdigest().encode()
        with self._changed:
            if not hmac.compare_digest(signature, expected):
                self._state.problems.append("a message on the integrity channel was not the guard's (forged)")
            else:
                try:
                    message = json.loads(body)
                except ValueError:
                    self._state.problems.append("the guard sent a message that cannot be read")
                    self._changed.notify_all()
                    return
                if message.get("seq") != self._expected_seq:
                    self._state.problems.append(
                        f"messages of the integrity channel were lost (got {message.get('seq')}, "
                        f"expected {self._expected_seq})")
                self._expected_seq = int(message.get("seq", 0)) + 1
                self._state.messages.append(message)
            self._changed.notify_all()

    # --- what the grader calls ------------------------------------------------------------------

    def send_cell(self, token: str, kind: str, visible: bool, filename: str, body: str, last: str) -> bool:
        """Hand the guard the instructor's code for the next `__autograder_test__()` cell."""
        return self._send([b"cell", token, kind, "1" if visible else "0", filename, body, last])

    def send_probe(self, token: str, specs: list[tuple[str, str, dict[str, list[int]]]]) -> bool:
        entries = ["\x01".join([name, probe, *(":".join([d, *map(str, sizes)]) for d, sizes in ranges.items())])
                   for name, probe, ranges in specs]
        return self._send([b"probe", token, *entries])

    def _send(self, fields: list) -> bool:
        if not self.wait_connected(60):
            return False
        data = b"\x00".join(f if isinstance(f, bytes) else f.encode("utf-8") for f in fields)
        try:
            self._connection.sendall(data)
            return True
        except OSError:
            return False

    def wait_connected(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._state.connected or self._state.closed, timeout) and \
                self._state.connected

    def wait_for(self, predicate, timeout: float) -> dict | None:
        """The first message (of those not yet taken) matching `predicate`, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self._state.messages:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._state.closed:
                    return None
                self._changed.wait(remaining)

    def take(self) -> list[dict]:
        """Every message received since the last call, in order."""
        with self._changed:
            messages, self._state.messages = self._state.messages, []
            return messages

    def problems(self) -> list[str]:
        with self._changed:
            problems, self._state.problems = self._state.problems, []
            return problems

    @property
    def connected(self) -> bool:
        return self._state.connected

    @property
    def closed(self) -> bool:
        return self._state.closed

    def close(self) -> None:
        for sock in (self._listener, self._connection):
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass
        self.path.unlink(missing_ok=True)

"""coturn (Debian's ``coturn``: ``turnserver``) for tests, with TURN REST credentials.

``TurnServer(directory).start()`` runs ``turnserver`` on a free port of 127.0.0.1 (UDP and TCP)
in the calling thread's network namespace (start it inside ``private_network()``), relaying on
127.0.0.1 only. ``credentials()`` computes coturn's REST scheme itself
(``username = "<expiry>:<user>"``, ``credential = base64(HMAC-SHA1(secret, username))``), the
same scheme as the server's ``GET /v1/rtc/ice-servers``. ``allocate()`` asks coturn's own
client, ``turnutils_uclient``, for an allocation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

START_TIMEOUT = 10.0
# Relay ports above Linux's ephemeral range (32768-60999): never taken by another socket.
RELAY_PORTS = (61000, 61099)
REALM = "aimeeting.test"


def turn_tools_missing() -> str | None:
    """Why TURN tests cannot run here, or None."""
    missing = [tool for tool in ("turnserver", "turnutils_uclient") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed (Debian package coturn)" if missing else None


def rest_credentials(secret: str, user: str, ttl: float = 600.0) -> tuple[str, str]:
    """coturn's REST credentials for ``user``, valid ``ttl`` seconds (negative: expired)."""
    username = f"{int(time.time() + ttl)}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _free_udp_tcp_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``host``."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket() as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP")


def _stun_binding_answered(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether a STUN Binding request over UDP gets a success response."""
    transaction = secrets.token_bytes(12)
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(request, (host, port))
            answer = sock.recv(2048)
        except OSError:
            return False
    return answer[:2] == b"\x01\x01" and answer[8:20] == transaction


@dataclass
class Allocation:
    """What ``turnutils_uclient`` got: ``ok`` with the relayed address, or refused."""

    ok: bool
    relay_address: str | None
    returncode: int | None
    output: str


class TurnServer:
    """``turnserver`` in a subprocess with its own config and log in ``directory``."""

    def __init__(self, directory: Path, secret: str | None = None, host: str = "127.0.0.1"):
        self.directory = directory
        self.host = host
        self.secret = secret or secrets.token_hex(16)
        self.port = 0
        self.config_path = directory / "turnserver.conf"
        self.log_path = directory / "turnserver.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``turn:`` URL for UDP; ``urls(...)`` gives others."""
        return self.urls()[0]

    def urls(self, *transports: str) -> list[str]:
        return [f"turn:{self.host}:{self.port}?transport={t}" for t in transports or ("udp",)]

    def credentials(self, user: str = "test-user", ttl: float = 600.0) -> tuple[str, str]:
        return rest_credentials(self.secret, user, ttl)

    def ice_server(
        self, user: str = "test-user", ttl: float = 600.0, **kwargs: Any
    ) -> dict[str, Any]:
        """An RTCIceServer dict for the browser; ``username``/``credential`` may be overridden."""
        username, credential = self.credentials(user, ttl)
        return {"urls": self.urls(), "username": username, "credential": credential, **kwargs}

    def config(self) -> str:
        low, high = RELAY_PORTS
        return "\n".join(
            [
                f"listening-ip={self.host}",
                f"listening-port={self.port}",
                f"relay-ip={self.host}",
                f"min-port={low}",
                f"max-port={high}",
                # TURN REST API: credentials are HMACs of "<expiry>:<user>", nothing stored.
                "use-auth-secret",
                f"static-auth-secret={self.secret}",
                f"realm={REALM}",
                # Without it coturn refuses permissions/channels to 127.x peers (403).
                "allow-loopback-peers",
                "no-tls",
                "no-dtls",
                "no-cli",
                "no-rfc5780",  # needs two listening addresses; one here
                "fingerprint",
                # Our own (empty) database, not /var/lib/turn/turndb.
                f"userdb={self.directory / 'turndb'}",
                f"pidfile={self.directory / 'turnserver.pid'}",
                f"log-file={self.log_path}",
                "simple-log",
                "no-stdout-log",
                "",
            ]
        )

    def start(self) -> TurnServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = _free_udp_tcp_port(self.host)
        self.config_path.write_text(self.config())
        with (self.directory / "stderr.log").open("ab") as stderr:
            self.process = subprocess.Popen(
                ["turnserver", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"turnserver exited with {self.process.returncode}:\n{self.logs()}"
                )
            if _stun_binding_answered(self.host, self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"turnserver not answering within {START_TIMEOUT}s:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")
            for p in (self.log_path, self.directory / "stderr.log")
            if p.exists()
        )

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def allocate(
        self,
        username: str,
        password: str,
        *,
        tcp: bool = False,
        full: bool = False,
        timeout: float = 20.0,
    ) -> Allocation:
        """Ask ``turnutils_uclient`` for an allocation with these credentials.

        By default it returns as soon as the client prints its relayed address (well under a
        second) and ends the client. ``full=True`` lets it run to the end instead (about 6 s:
        two allocations relay messages to each other, ``-y``) and counts on its exit code 0.
        A refused allocation ends the client at once with exit code 255 ("Cannot complete
        Allocation"), for forged and expired credentials alike.
        """
        command = ["turnutils_uclient", "-v", "-y", "-c", "-n", "1"]
        command += ["-t"] if tcp else []
        command += ["-u", username, "-w", password, "-p", str(self.port), self.host]
        relay: str | None = None
        data = b""
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            assert process.stdout is not None
            fd = process.stdout.fileno()
            deadline = time.monotonic() + timeout
            while relay is None or full:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"turnutils_uclient still running after {timeout}s")
                if select.select([fd], [], [], min(remaining, 0.5))[0]:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break  # the client ended
                    data += chunk
                    found = re.search(rb"Received relay addr: (\S+)", data)
                    relay = found.group(1).decode() if found else None
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            returncode = process.wait(5)
            if process.stdout is not None:
                process.stdout.close()
        output = data.decode(errors="replace")
        ok = relay is not None and (returncode == 0 or not full)
        return Allocation(ok=ok, relay_address=relay, returncode=returncode, output=output)

    def __enter__(self) -> TurnServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

"""A private, loopback-only network namespace for the calling thread (root only).

``with private_network():`` moves the calling thread into a fresh network namespace that holds
nothing but ``lo`` (up, 127.0.0.1/8 plus 127.0.0.2/8, IPv6 off), and always moves it back
afterwards. Sockets keep the namespace they were created in, and a subprocess starts in the
namespace of the thread that starts it: a server, Playwright's driver (hence Chromium) or coturn
started inside is reachable only from inside, and WebRTC there can only ever find 127.0.0.0/8
addresses. Use it from the thread that starts those processes and opens those sockets (in
pytest, the main thread, which also runs pytest-asyncio's event loop); other threads stay in
the host's namespace.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

CLONE_NEWNET = 0x40000000
THREAD_NETNS = "/proc/thread-self/ns/net"
EXTRA_ADDRESS = "127.0.0.2"

_SETUP = (
    # No IPv6 at all (no ::1), so that nothing but 127.0.0.0/8 can appear in ICE candidates.
    "sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1"
    " net.ipv6.conf.lo.disable_ipv6=1"
    f" && ip link set lo up && ip addr add {EXTRA_ADDRESS}/8 dev lo"
)

_libc = ctypes.CDLL(None, use_errno=True)


class NetnsUnavailable(RuntimeError):
    """A private network namespace cannot be made here (not root, or unshare refused)."""


def unavailable_reason() -> str | None:
    """Why ``private_network()`` cannot work here, or None when it should."""
    if os.geteuid() != 0:
        return "a private network namespace needs root (unshare(CLONE_NEWNET))"
    if not os.path.exists(THREAD_NETNS):
        return f"{THREAD_NETNS} is missing (no network namespaces in this kernel?)"
    missing = [tool for tool in ("ip", "sysctl") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (iproute2, procps)"
    return None


def namespace_id() -> str:
    """The calling thread's network namespace, e.g. ``net:[4026531833]``."""
    return os.readlink(THREAD_NETNS)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns(CLONE_NEWNET): {os.strerror(code)}")


class NamespaceGuard:
    """Remembers the thread's namespace now; ``restore()`` moves the thread back if it left."""

    def __init__(self) -> None:
        self.id = namespace_id()
        self.fd = os.open(THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)

    def restore(self) -> str | None:
        """The namespace the thread was found in if not the remembered one (then moved back)."""
        current = namespace_id()
        if current == self.id:
            return None
        _setns(self.fd)
        return current


@dataclass
class PrivateNetwork:
    """The namespace made by ``private_network()``; ``host()`` steps out for a while."""

    fd: int
    host_fd: int

    @property
    def id(self) -> str:
        return os.readlink(f"/proc/self/fd/{self.fd}")

    @contextmanager
    def host(self) -> Iterator[None]:
        """Run a block in the host's namespace (e.g. to reach PostgreSQL), then come back."""
        _setns(self.host_fd)
        try:
            yield
        finally:
            _setns(self.fd)


@contextmanager
def private_network() -> Iterator[PrivateNetwork]:
    """Enter a fresh loopback-only network namespace; always restore the previous one."""
    reason = unavailable_reason()
    if reason:
        raise NetnsUnavailable(reason)
    host_fd = os.open(THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)
    new_fd = -1
    try:
        if _libc.unshare(CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            hint = " (no CAP_SYS_ADMIN? a container may forbid it)" if code == errno.EPERM else ""
            raise NetnsUnavailable(f"unshare(CLONE_NEWNET) failed: {os.strerror(code)}{hint}")
        try:
            new_fd = os.open(THREAD_NETNS, os.O_RDONLY | os.O_CLOEXEC)
            done = subprocess.run(
                ["sh", "-c", _SETUP], capture_output=True, text=True, timeout=10, check=False
            )
            if done.returncode != 0:
                raise NetnsUnavailable(f"setting up lo failed: {done.stderr.strip()}")
            yield PrivateNetwork(fd=new_fd, host_fd=host_fd)
        finally:
            _setns(host_fd)
    finally:
        os.close(host_fd)
        if new_fd >= 0:
            os.close(new_fd)

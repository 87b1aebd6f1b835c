"""Artifact images as thumbnails for the exported summary, within a size budget.

A summary goes out as a mail attachment, so images are capped: each at :data:`MAX_IMAGE_BYTES`
(larger ones are downscaled when Pillow is installed, else skipped) and all of them together at
:data:`IMAGES_BUDGET`, spent on the best-ranked runs first. Whatever is left out is said on the
page. Images travel as ``data:`` URIs in ``<img>`` (an SVG shown that way runs no script).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_IMAGE_BYTES = 200_000  # one image, as embedded
IMAGES_BUDGET = 1_500_000  # every image of the page together (before base64's third)
DOWNSCALE_ABOVE = 16_000  # a raster image larger than this is shrunk to save the budget
MAX_IMAGES_PER_RUN = 4
THUMB_PX = 480  # longest side of a downscaled image: sharp at 240 px on a 2x screen
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp", ".svg": "image/svg+xml"}


@dataclass
class Shown:
    """An artifact as the summary lists it; ``image`` is a data URI when it is embedded."""

    name: str
    kind: str
    size: int
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    image: str | None = None
    skipped: str | None = None  # why an image is not embedded

    @property
    def media_type(self) -> str | None:
        declared = str(self.meta.get("media_type") or "")
        if declared in IMAGE_TYPES.values():
            return declared
        return IMAGE_TYPES.get(Path(self.name).suffix.lower())


def attach(runs: list[Any], omitted: list[str]) -> None:
    """Give the image artifacts of ``runs`` (best first) their thumbnails, budget permitting."""
    left = IMAGES_BUDGET
    skipped = {"budget": 0, "large": 0, "missing": 0, "per_run": 0}
    for run in runs:
        shown = 0
        for artifact in run.artifacts:
            if artifact.kind == "folder" or artifact.media_type is None:
                continue
            if shown >= MAX_IMAGES_PER_RUN:
                artifact.skipped = f"only {MAX_IMAGES_PER_RUN} images per run are embedded"
                skipped["per_run"] += 1
                continue
            reason = _embed(artifact, left)
            if reason is None and artifact.image is not None:
                left -= len(artifact.image)
                shown += 1
            else:
                artifact.skipped = reason
                key = ("missing" if "missing" in str(reason) else
                       "budget" if "budget" in str(reason) else "large")
                skipped[key] += 1
    total = sum(skipped.values())
    if total:
        parts = [f"{n} {what}" for what, n in (
            ("over the summary's image budget", skipped["budget"]),
            (f"larger than {MAX_IMAGE_BYTES // 1000} KB", skipped["large"]),
            ("whose files are missing", skipped["missing"]),
            (f"beyond {MAX_IMAGES_PER_RUN} per run", skipped["per_run"])) if n]
        omitted.append(f"{total} image(s) not embedded: {', '.join(parts)}. They are listed "
                       "with their runs; `trackbook download RUN` fetches them.")


def _embed(artifact: Shown, left: int) -> str | None:
    """Set ``artifact.image``; return why not instead when it cannot be embedded."""
    media = artifact.media_type
    assert media is not None
    try:
        content = artifact.path.read_bytes()
    except OSError:
        return "the file is missing from the store"
    if len(content) > DOWNSCALE_ABOVE:
        smaller = _downscale(content, media)
        if smaller is not None and len(smaller[0]) < len(content):
            content, media = smaller
    if len(content) > MAX_IMAGE_BYTES:
        return f"larger than {MAX_IMAGE_BYTES // 1000} KB"
    uri = f"data:{media};base64,{base64.b64encode(content).decode('ascii')}"
    if len(uri) > left:
        return "over the summary's image budget (better-ranked runs used it)"
    artifact.image = uri
    return None


def _downscale(content: bytes, media: str) -> tuple[bytes, str] | None:
    """A smaller copy (longest side :data:`THUMB_PX`), or None without Pillow or for SVG."""
    if media == "image/svg+xml":
        return None
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.thumbnail((THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            if media == "image/jpeg":
                image.convert("RGB").save(out, "JPEG", quality=82, optimize=True)
                return out.getvalue(), "image/jpeg"
            # Plots are flat colours and lines: a 256-colour palette keeps them sharp, small.
            rgba = image.convert("RGBA")
            rgba.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, "PNG", optimize=True)
            return out.getvalue(), "image/png"
    except Exception:  # a broken or exotic file: list it, do not fail the summary
        return None

"""The live run card under a ``%%track`` cell (and a sweep's card).

While a cell runs the kernel reads no message from the browser, so the card is fed only
through a traitlet that a background thread sets, at most about four times a second. The
HTML comes from :mod:`trackbook.cardview`, the same renderer as the static card that
replaces the widget when the cell ends, so the live and final cards look alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import traitlets

from trackbook.widget import Bundle, WidgetBase

UPDATES_PER_SECOND = 4


class RunCard(WidgetBase):  # type: ignore[misc,valid-type]
    """A card showing a run (or a sweep) as it goes; the browser only displays it."""

    _esm = Bundle("card.js")

    # The TypeScript twin is `interface Model` in js/card.ts.
    # Written by Python (the feeder thread): the card's HTML, every user string escaped.
    html = traitlets.Unicode("").tag(sync=True)
    # Written by Python: the run's (or sweep's) status, for tests and for the browser's class.
    status = traitlets.Unicode("running").tag(sync=True)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return {"text/html": self.html}
        data, metadata = bundle
        data["text/html"] = self.html  # front ends without widgets show the card as it was
        return data, metadata


class Feeder:
    """Sets ``card.html`` from ``render()`` on a background thread until stopped."""

    def __init__(self, card: RunCard, render: Callable[[], tuple[str, str]]) -> None:
        self.card = card
        self.render = render
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trackbook-card", daemon=True)

    def start(self) -> Feeder:
        self._push()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _loop(self) -> None:
        while not self._stop.wait(1 / UPDATES_PER_SECOND):
            try:
                self._push()
            except Exception:  # a card must never break the cell it shows
                return

    def _push(self) -> None:
        html, status = self.render()
        if html != self.card.html:
            self.card.html = html
        if status != self.card.status:
            self.card.status = status

"""Progress on stderr: a bar redrawn in place on a terminal, plain lines
otherwise (a log file, a CI job)."""
from __future__ import annotations

import sys
import time

BAR_WIDTH = 30


def _bar(fraction: float) -> str:
    filled = int(BAR_WIDTH * min(max(fraction, 0.0), 1.0))
    return "#" * filled + "-" * (BAR_WIDTH - filled)


class Progress:
    """Images done out of a total."""

    def __init__(self, total: int, stream=None):
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()

    def step(self, label: str) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.start
        line = f"[{_bar(self.done / max(self.total, 1))}] {self.done}/{self.total} {elapsed:5.1f}s {label}"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K")
        self.stream.write(text + "\n")
        self.stream.flush()


class ByteProgress:
    """A download: bytes, rate and time left; on a terminal a bar redrawn at
    most ten times a second, otherwise a line every tenth of the file."""

    def __init__(self, label: str, total: int | None, stream=None):
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self.last_draw = 0.0
        self.last_tenth = -1
        self.done = 0
        self.stream.write(f"{label}\n")
        self.stream.flush()

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if not self.tty:
            tenth = min(10, done * 10 // self.total) if self.total else -1
            if tenth > self.last_tenth:
                self.last_tenth = tenth
                self.stream.write(f"  {self._figures(now)}\n")
                self.stream.flush()
        elif now - self.last_draw >= 0.1:
            self.last_draw = now
            self.stream.write("\r\x1b[2K  " + self._figures(now))
            self.stream.flush()

    def _figures(self, now: float) -> str:
        mb = self.done / 1e6
        rate = self.done / max(now - self.start, 1e-6) / 1e6
        if not self.total:
            return f"{mb:.1f} MB, {rate:.1f} MB/s"
        left = (self.total - self.done) / 1e6 / rate if rate > 0 else 0.0
        return (f"[{_bar(self.done / self.total)}] {mb:.1f} of {self.total / 1e6:.1f} MB, "
                f"{rate:.1f} MB/s, {left:.0f} s left")

    def close(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K  " + self._figures(time.monotonic()) + "\n")
            self.stream.flush()


class Silent:
    """ByteProgress's interface, showing nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def update(self, done: int) -> None:
        pass

    def close(self) -> None:
        pass

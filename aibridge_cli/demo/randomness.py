"""Random ids, names and timestamps for the demo generator, from one seeded generator.

Formatted cheaply in bulk: the generator makes millions of them.
"""

from __future__ import annotations

import base64
import random
import unicodedata
from datetime import datetime, timedelta


class FastRandom:
    """Ids and timestamps from one seeded generator, formatted cheaply in bulk."""

    _VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
    _ALNUM = bytes.maketrans(b"+/", b"xZ")

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._hex, self._hpos = "", 0
        self._aln, self._apos = "", 0
        self._days: dict[int, str] = {}

    def _hexchars(self, n: int) -> str:
        p = self._hpos
        if p + n > len(self._hex):
            self._hex, p = self.rng.randbytes(32768).hex(), 0
        self._hpos = p + n
        return self._hex[p:p + n]

    def uuid(self) -> str:
        h = self._hexchars(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{self._VARIANT[h[16]]}{h[17:20]}-{h[20:]}"

    def alnum(self, n: int) -> str:
        p = self._apos
        if p + n > len(self._aln):
            self._aln = base64.b64encode(self.rng.randbytes(49152)).translate(self._ALNUM).decode()
            p = 0
        self._apos = p + n
        return self._aln[p:p + n]

    def hex(self, n: int) -> str:
        return self._hexchars(n)

    def ts(self, t: float) -> str:
        """Epoch seconds as a UTC timestamptz literal with microseconds."""
        s = int(t)
        d, r = divmod(s, 86400)
        day = self._days.get(d)
        if day is None:
            day = self._days[d] = (datetime(1970, 1, 1) + timedelta(days=d)).strftime("%Y-%m-%d ")
        return f"{day}{_HMS[r]}.{int((t - s) * 1e6):06d}+00"


_HMS = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]


def ascii_slug(s: str) -> str:
    """Letters and digits of a name, lower-case ASCII: José Núñez -> josenunez."""
    return "".join(c for c in unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower() if c.isalnum())

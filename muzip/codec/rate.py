"""Rate control: each frame's quantizer level, so the file's actual size tracks bitrate x time."""

from __future__ import annotations

import numpy as np

from .entropy import LatentCoder

_INDEX_BYTES_PER_FRAME, _INDEX_FIXED_BYTES = 4, 40  # the container's frame index (container.format)
RESERVOIR_S = 3.0
# A frame gets at least this much time's bits: a file of a few ms (a one-shot sample) had a share of its
# header's cost as budget and decoded silent or 10 dB quiet (session 62); now ~100-200 bytes more, for audio
MIN_CODED_S = 0.03


class RateController:
    """Chooses each frame's quantizer level so the file's cumulative size tracks bitrate x time.

    One level per frame drives both channels (side at a fixed offset from mid), so the side
    channel's cost follows its energy: near-mono music spends almost nothing on it.
    """

    def __init__(self, coder: LatentCoder, bitrate_bps: float, header_bytes: int, rate: int, levels_for):
        self.coder, self.bps, self.rate, self.levels_for = coder, bitrate_bps, rate, levels_for
        self.bytes_so_far = header_bytes + _INDEX_FIXED_BYTES
        self.samples_so_far = 0
        self.last_level = coder.num_levels // 2

    def choose(self, q_for_level, num_samples: int, overhead: int) -> int:
        nominal = self.bps / 8 * num_samples / self.rate
        target = self.bps / 8 * (self.samples_so_far + num_samples) / self.rate - self.bytes_so_far - overhead
        budget_bits = 8 * float(np.clip(target, 0.25 * nominal, 3.0 * nominal))
        budget_bits = max(budget_bits, self.bps * MIN_CODED_S)
        top = self.coder.num_levels - 1

        def fits(level):  # monotone: a coarser level never costs more; past `top` counts as fitting
            return level > top or self._bits(q_for_level(level), level) <= budget_bits

        # The finest level that fits, searched outwards from the last frame's (usually 2-3 estimates, not 6).
        start = min(self.last_level, top)
        if fits(start):
            hi, lo, step = start, start - 1, 1
            while lo >= 0 and fits(lo):
                hi, step = lo, step * 2
                lo = hi - step
            lo = max(lo, -1)  # -1: "nothing finer fits"
        else:
            lo, hi, step = start, start + 1, 1
            while not fits(hi):
                lo, step = hi, step * 2
                hi = min(lo + step, top + 1)
        while hi - lo > 1:  # lo does not fit, hi does
            mid = (lo + hi) // 2
            if fits(mid):
                hi = mid
            else:
                lo = mid
        self.last_level = min(hi, top)
        return self.last_level

    def _bits(self, q, level):
        return sum(self.coder.estimate_bits(q[a], a, lv) for a, lv in enumerate(self.levels_for(level)))

    def correct(self, extra_bytes: float):
        """A frame booked by spent() at an estimate turned out extra_bytes larger (or smaller)."""
        self.bytes_so_far += extra_bytes

    def spent(self, record_bytes: float, num_samples: int):
        self.bytes_so_far += record_bytes + _INDEX_BYTES_PER_FRAME
        self.samples_so_far += num_samples
        # Bits left unspent (silence, simple passages) stay banked for at most RESERVOIR_S seconds: a long
        # quiet intro must not let the music after it run at 3x the rate for minutes. The file then comes
        # out below the requested rate, never above it.
        floor = self.bps / 8 * (self.samples_so_far / self.rate - RESERVOIR_S)
        self.bytes_so_far = max(self.bytes_so_far, floor)

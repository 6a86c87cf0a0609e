"""The smoothed loss curve, one rule for the window's plots and the command line's progress bar."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SMOOTHING = 0.95  # exponential moving average of the batch loss


class LossSmoother:
    """Bias-corrected exponential moving average (as in Adam): follows the loss from the first batch, no lag from 0."""

    def __init__(self, beta: float = SMOOTHING) -> None:
        self.beta = beta
        self.reset()

    def reset(self) -> None:
        self._ema, self._steps = 0.0, 0

    def __call__(self, losses: Sequence[float] | np.ndarray) -> np.ndarray:
        smoothed = np.empty(len(losses), np.float64)
        for i, loss in enumerate(losses):
            self._ema = self.beta * self._ema + (1 - self.beta) * float(loss)
            self._steps += 1
            smoothed[i] = self._ema / (1 - self.beta**self._steps)
        return smoothed

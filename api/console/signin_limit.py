"""A limit on failed console sign-ins per client address, against guessing tokens.

Registry tokens carry 256 random bits, but `ANPR_ADMIN_TOKEN` is chosen by a person and
`POST /console/session` answers whether a token is valid. After `max_failures` refused tokens
from one address within `window_s`, that address is answered `429` with `Retry-After` until the
oldest of those failures is `window_s` old. Only refused tokens count; a sign-in that succeeds
adds nothing. While an address is limited its tokens are not checked at all: answering a right
guess with 200 there would leave the guessing as fast as before.

Pure and in memory, per API replica (a guesser spread over two replicas gets twice the rate).
At most `max_addresses` addresses are tracked: past that, the one whose last failure is the
oldest is forgotten, so memory stays bounded whatever the number of addresses.
"""

from __future__ import annotations

from collections import OrderedDict, deque

MAX_FAILURES = 10
WINDOW_S = 60.0
MAX_ADDRESSES = 10_000


class SignInLimiter:
    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window_s: float = WINDOW_S,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        self._max = max_failures
        self._window_ms = int(window_s * 1000)
        self._cap = max_addresses
        # address -> the times (epoch ms) of its latest failures, oldest first; the addresses in
        # the order of their last failure, oldest first.
        self._failures: OrderedDict[str, deque[int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after_s(self, address: str, now_ms: int) -> int | None:
        """Whole seconds until `address` may sign in again; None when it may now."""
        times = self._failures.get(address)
        if times is None or len(times) < self._max:
            return None
        wait_ms = times[0] + self._window_ms - now_ms
        if wait_ms <= 0:
            return None
        return -(-wait_ms // 1000)

    def failed(self, address: str, now_ms: int) -> None:
        """Count a refused token from `address`."""
        times = self._failures.get(address)
        if times is None:
            self._forget_expired(now_ms)
            while len(self._failures) >= self._cap:
                self._failures.popitem(last=False)
            times = self._failures[address] = deque(maxlen=self._max)
        else:
            self._failures.move_to_end(address)
        times.append(now_ms)

    def _forget_expired(self, now_ms: int) -> None:
        """Drop the addresses whose last failure is out of the window (the oldest come first)."""
        while self._failures:
            address, times = next(iter(self._failures.items()))
            if now_ms - times[-1] < self._window_ms:
                return
            del self._failures[address]

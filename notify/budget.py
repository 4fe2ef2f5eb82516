"""How many deliveries one batch of hits may hold, so that the loop polls Kafka in time. Pure.

Kafka drops a group member that does not poll for its poll interval: its partitions go to
another member, its commit fails, and the hits it took are delivered again. The loop polls again
only once every delivery of its batch has ended, since the batch's offsets are committed only
then (at least once). So a batch's worst case must fit in the poll interval. notify's consumer
asks for `NOTIFY_POLL_INTERVAL_S` (15 min) instead of the 300 s every other consumer keeps: with
300 s a batch could hold one round of deliveries, 32 with the defaults, and waiting for the
slowest of every 32 would cut what one worker delivers to fast receivers several times over.
Nothing else waits on that bound: a worker that dies is seen by the broker through its heartbeats
(the session timeout), not its polls, and our own stall detection turns `/readyz` red sooner.

One delivery holds one of the `max_in_flight` slots for at most a *round*, the retry window plus
one attempt: its last attempt starts within the window (`notify.backoff`) and an attempt is
bounded as a whole (`notify.deliver`). No slot idles while a delivery of the batch waits: while
the last of J deliveries waits, the slots run the other J - 1 between them without a pause, and
the slot that has run the fewest, at most ⌊(J - 1) / max_in_flight⌋, frees within that many
rounds; the last one starts by then, so the batch ends within ⌈J / max_in_flight⌉ rounds.
Then its outcomes: the last one published (one publish timeout), and a second try of those that
failed (another). Around the handler the loop itself may take `anpr.consume.POLL_GAP_S`.
Settings in which not even one round fits are refused at start; otherwise a batch holds at most
`rounds` × `max_in_flight` deliveries, and `hits_per_batch` turns that into hits: a hit goes to
at most as many targets as its list has.

With the defaults (window 120 s, attempt 10 s, publish 10 s, 32 in flight) six rounds fit,
(900 - 40 - 2 × 10) // 130 = 6: 192 deliveries a batch, at most 800 s. Before, a batch was the
consumer loop's default, 2,000 hits, in 300 s: a receiver answering each hit in 5 s kept the loop
from polling for 2000 / 32 × 5 = 312 s, one failing now and then (each delivery retrying for up
to the window) for hours, and the batch was redone over and over, never committed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from anpr.consume import POLL_GAP_S

# notify's consumer's `max.poll.interval.ms` (see the module's doc).
NOTIFY_POLL_INTERVAL_S = 900.0

# Outcomes are published once, and those that failed once more, before the batch ends.
PUBLISHES_PER_BATCH = 2


@dataclass(frozen=True, slots=True)
class BatchBudget:
    retry_window_s: float
    attempt_timeout_s: float
    publish_timeout_s: float
    max_in_flight: int
    poll_interval_s: float = NOTIFY_POLL_INTERVAL_S

    @property
    def round_s(self) -> float:
        """The longest one delivery holds its slot."""
        return self.retry_window_s + self.attempt_timeout_s

    @property
    def rounds(self) -> int:
        """How many rounds of deliveries fit in a batch (0: the settings cannot work)."""
        room = self.poll_interval_s - POLL_GAP_S - PUBLISHES_PER_BATCH * self.publish_timeout_s
        return max(0, math.floor(room / self.round_s))

    @property
    def max_deliveries(self) -> int:
        return self.rounds * self.max_in_flight

    def batch_s(self, deliveries: int) -> float:
        """The longest a batch of `deliveries` deliveries can take, its outcomes published."""
        rounds = math.ceil(deliveries / self.max_in_flight)
        return rounds * self.round_s + PUBLISHES_PER_BATCH * self.publish_timeout_s

    def hits_per_batch(self, fanout: int) -> int:
        """Hits to take at once when a hit goes to at most `fanout` targets. At least one: a
        list with more targets than `max_deliveries` makes longer batches (logged by the caller)."""
        return max(1, self.max_deliveries // max(1, fanout))

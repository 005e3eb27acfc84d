"""The console's memory of the last hour: samples taken on page loads.

Owns a time-ordered list of samples (``{series name: value}`` at a time)
bounded by a window, the series the plots draw from it (values, or the
per-second increase of a counter between samples), what one look at the
cluster puts in a sample (``sample_values``), and request rates between
two counts. Pure: the caller passes ``now``.

Why page loads and not a background sampler: a sampler in every worker of
every proxy would poll every storage server around the clock, a load that
grows with the proxies times their workers, whether anyone looks or not;
a console is looked at now and then. So the pages sample when they are
loaded, at most once per ``min_interval`` (shared by all pages of one
worker), and a plot shows the samples of the worker that served it. The
price is gaps where nobody looked, which the plots show as such.
"""

import dataclasses

# Names of the series a look at the cluster keeps (sample_values).
REQUESTS_SERIES = 'requests '
REPLICATION_AGE_SERIES = 'replication age '


@dataclasses.dataclass(frozen=True)
class Sample:
    """Values of some series at one time."""

    time: float
    values: dict


class History:
    """Samples of the last ``window`` seconds, oldest first."""

    def __init__(self, window=3600.0, min_interval=10.0):
        self.window = window
        self.min_interval = min_interval
        self.samples = []

    def due(self, now):
        """Whether a new sample should be taken at ``now``."""
        return not self.samples or \
            now - self.samples[-1].time >= self.min_interval

    def add(self, now, values):
        """Keep ``values`` as of ``now``; forget what left the window."""
        self.samples.append(Sample(now, dict(values)))
        cutoff = now - self.window
        while self.samples and self.samples[0].time < cutoff:
            self.samples.pop(0)

    def series(self, name):
        """[(time, value)] of one series where it was sampled."""
        return [(s.time, s.values[name]) for s in self.samples
                if name in s.values]

    def rates(self, name):
        """[(time, per-second increase)] of a counter between consecutive
        samples; a counter that went back (a restarted server) gives no
        point rather than a negative rate.

        >>> h = History()
        >>> h.add(0, {'n': 10}); h.add(10, {'n': 30}); h.add(20, {'n': 5})
        >>> h.rates('n')
        [(10, 2.0)]
        """
        points = self.series(name)
        return [(t1, (v1 - v0) / (t1 - t0))
                for (t0, v0), (t1, v1) in zip(points, points[1:])
                if t1 > t0 and v1 >= v0]


def rates_between(before, then, totals, now):
    """Requests per second of each server from totals ``before`` at time
    ``then`` to ``totals`` at ``now``; a server whose count went back (it
    restarted) or that was not counted before gets none.

    >>> rates_between({'a': 10, 'b': 9}, 100, {'a': 30, 'b': 1, 'c': 5}, 110)
    {'a': 2.0}
    """
    if now <= then:
        return {}
    return {server: (count - before[server]) / (now - then)
            for server, count in totals.items()
            if server in before and count >= before[server]}


def sample_values(status, totals):
    """The history's series of one look at the cluster."""
    values = {
        'async pendings': sum(n.async_pendings for n in status.nodes),
        'quarantined': sum(sum(n.quarantined.values())
                           for n in status.nodes),
        'failures': sum(n.failures for n in status.nodes),
    }
    for node in status.nodes:
        age = node.oldest_age('-replicator')
        if age is not None:
            values[REPLICATION_AGE_SERIES + node.node] = age
    for server, count in totals.items():
        values[REQUESTS_SERIES + server] = count
    return values

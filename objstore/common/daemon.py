"""The skeleton every background daemon runs on.

Owns what the replicators, auditors, updaters, the expirer and the reaper
share: the run loop (``run_once`` / ``run_forever`` with ``interval``),
graceful stop on SIGTERM/SIGINT (the item in hand is finished, then the
daemon exits), rate limiting (pure maths, injected clock), bounded
concurrency, per-pass counters, the per-device JSON status file that
``objstore-recon`` reads, the one-line pass summary, finding this node's
devices in a ring, and the command line every daemon entry point shares
(``run_daemon``).

It must not know any storage format, ring file layout or HTTP API: a
daemon subclass brings those. ``common`` imports no sibling package, so a
ring is handed in (anything with ``.devs``), never loaded here.

Status file format (version 1), one per daemon and device, at
``<recon_cache_path>/<daemon name>/<device>.json``, replaced atomically
(tmp file -> fsync -> rename) at the end of every pass over the device::

    {
      "format": 1,
      "daemon": "object-replicator",
      "device": "d1",
      "pass_start": 1700000000.12,    # wall clock, seconds since the epoch
      "pass_end": 1700000003.45,
      "duration": 3.33,               # seconds
      "once": false,                  # true for a --once pass
      "counts": {                     # whatever the daemon counted; the
        "successes": 10,              # names below are the common ones
        "failures": 0,
        "quarantines": 0,
        "rsyncs": 2,
        "async_pendings": 0,
        ...
      },
      "timings": {"rsync": 0.8, ...}  # summed seconds per named step
    }

A reader must ignore unknown keys and treat a missing count as 0.
"""

import argparse
import dataclasses
import json
import os
import random
import signal
import socket
import sys
import time
from collections import Counter, defaultdict

from objstore.common import green
from objstore.common.config import ConfBase, readconf
from objstore.common.durable import write_atomic
from objstore.common.exceptions import ConfigError
from objstore.common.heap import release_free_heap
from objstore.common.log import get_logger

STATUS_FORMAT = 1
# Seconds of owed time a RateLimiter gathers before it sleeps (see there).
MIN_PAUSE = 0.25
# The longest a daemon waits between passes without looking at its stop
# flag: a stop normally wakes it at once (DaemonGroup), this bounds the
# wait when nothing did (a stop requested from another native thread).
LONGEST_NAP = 30.0
WILDCARD_IPS = frozenset(('', '0.0.0.0', '::'))


@dataclasses.dataclass(frozen=True)
class DaemonConf(ConfBase):
    """Options every daemon reads; daemon confs extend this dataclass.

    ``devices``, ``mount_check``, ``bind_ip``, ``bind_port``,
    ``recon_cache_path`` and ``conf_dir`` normally come from [DEFAULT],
    shared with the storage server of the same config file.
    """

    devices: str = '/srv/node'
    mount_check: bool = True
    bind_ip: str = '0.0.0.0'
    bind_port: int = 6200
    conf_dir: str = '/etc/objstore'
    recon_cache_path: str = '/var/cache/objstore'
    interval: float = 30.0

    def validate(self):
        if self.interval < 0:
            raise ConfigError('interval must be >= 0, got %r' % self.interval)


class RateLimiter:
    """Keeps a loop under ``items_per_second`` and ``bytes_per_second``.

    Pure bookkeeping: ``delay(now, items, nbytes)`` records work and says
    how long to sleep; ``wait()`` does the sleeping with the injected
    clock. A rate of 0 means unlimited. Each limit keeps a virtual clock
    that advances by ``amount / rate`` per call; it may lag real time by at
    most ``burst`` seconds, so a loop that was slow (or idle) earns at most
    ``burst`` seconds of catch-up, never an unbounded spike.

    Worked example, items_per_second=2, burst=1: at now=10.0 the clock
    starts at 9.0 (now - burst); three calls at now=10.0 move it to 9.5,
    10.0, 10.5 and return delays 0, 0, 0.5. A fourth call at 10.5 moves it
    to 11.0 and returns 0.5: four items over about 1.5 s of real time, the
    burst allowance included.

    ``wait()`` sleeps only once the time owed reaches ``min_pause``: a
    sleep costs a wake-up of the process (about 0.2 ms of CPU, more than
    auditing a small object), so an auditor at 50 files/s spent most of
    its CPU going to sleep. Owed time is never forgiven, only gathered:
    the average rate is the same, the work comes in bursts of
    ``min_pause`` seconds' worth (well inside ``burst``).
    """

    def __init__(self, items_per_second=0.0, bytes_per_second=0.0,
                 burst=1.0, clock=time.monotonic, sleep=green.sleep,
                 min_pause=MIN_PAUSE):
        if items_per_second < 0 or bytes_per_second < 0 or burst < 0 \
                or min_pause < 0:
            raise ValueError('rates, burst and min_pause must be >= 0')
        self.items_per_second = float(items_per_second)
        self.bytes_per_second = float(bytes_per_second)
        self.burst = float(burst)
        self.min_pause = float(min_pause)
        self._clock = clock
        self._sleep = sleep
        self._item_clock = None
        self._byte_clock = None

    def _advance(self, virtual, now, amount, rate):
        start = now - self.burst if virtual is None else max(
            virtual, now - self.burst)
        return start + amount / rate

    def delay(self, now, items=1, nbytes=0):
        """Record ``items`` and ``nbytes`` done at ``now``; seconds to wait."""
        wait = 0.0
        if self.items_per_second and items:
            self._item_clock = self._advance(
                self._item_clock, now, items, self.items_per_second)
            wait = max(wait, self._item_clock - now)
        if self.bytes_per_second and nbytes:
            self._byte_clock = self._advance(
                self._byte_clock, now, nbytes, self.bytes_per_second)
            wait = max(wait, self._byte_clock - now)
        return wait

    def wait(self, items=1, nbytes=0):
        """Record work; sleep what is owed once it reaches ``min_pause``.
        Returns the seconds slept."""
        pause = self.delay(self._clock(), items, nbytes)
        if pause <= 0 or pause < self.min_pause:
            return 0.0
        self._sleep(pause)
        return pause


class DaemonStats:
    """Counts and summed durations of one pass (over one device or all).

    ``incr('rsyncs')``, ``add_time('rsync', 0.3)``; ``merge(other)`` folds
    a device's stats into the pass total.
    """

    def __init__(self, clock=time.time):
        self._clock = clock
        self.counts = Counter()
        self.timings = defaultdict(float)
        self.start = clock()
        self.end = None

    def incr(self, name, amount=1):
        self.counts[name] += amount

    def add_time(self, name, seconds):
        self.timings[name] += seconds

    def get(self, name):
        return self.counts.get(name, 0)

    def finish(self):
        self.end = self._clock()
        return self

    @property
    def duration(self):
        end = self.end if self.end is not None else self._clock()
        return max(0.0, end - self.start)

    def merge(self, other):
        self.counts.update(other.counts)
        for name, seconds in other.timings.items():
            self.timings[name] += seconds

    def status_record(self, daemon_name, device, once=False):
        """The status-file dict (see the module docstring)."""
        end = self.end if self.end is not None else self._clock()
        return {
            'format': STATUS_FORMAT,
            'daemon': daemon_name,
            'device': device,
            'pass_start': self.start,
            'pass_end': end,
            'duration': round(self.duration, 6),
            'once': bool(once),
            'counts': dict(self.counts),
            'timings': {k: round(v, 6) for k, v in self.timings.items()},
        }

    def summary(self, names=None):
        """'a=1, b=2' for the named counts (all counts, sorted, if None)."""
        names = sorted(self.counts) if names is None else names
        return ', '.join('%s=%d' % (name, self.get(name)) for name in names)


def status_file_path(recon_cache_path, daemon_name, device):
    return os.path.join(recon_cache_path, daemon_name, '%s.json' % device)


def write_status_file(recon_cache_path, daemon_name, device, record):
    """Atomically replace one device's status file with ``record``."""
    path = status_file_path(recon_cache_path, daemon_name, device)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, json.dumps(record, sort_keys=True).encode('utf-8'))
    return path


def read_status_file(recon_cache_path, daemon_name, device):
    """The status dict, or None when absent or unreadable."""
    path = status_file_path(recon_cache_path, daemon_name, device)
    try:
        with open(path, encoding='utf-8') as status:
            return json.load(status)
    except (OSError, ValueError):
        return None


def run_concurrently(func, items, concurrency, should_stop=lambda: False,
                     on_error=None):
    """Call ``func(item)`` for every item, at most ``concurrency`` at once.

    Stops starting new items once ``should_stop()`` is true (items already
    running finish). ``on_error(item, exc)`` is called for an exception
    instead of letting it end the loop. Returns the list of results of the
    items that ran, in completion order.
    """
    pool = green.GreenPool(max(1, int(concurrency)))
    results = []

    def call(item):
        # Checked again here: a spawned item may wait for a free slot
        # while the stop request arrives.
        if should_stop():
            return
        try:
            results.append(func(item))
        except Exception as exc:  # noqa: BLE001 - the daemon loop boundary
            if on_error is None:
                raise
            on_error(item, exc)

    for item in items:
        if should_stop():
            break
        pool.spawn_n(call, item)
    pool.waitall()
    return results


def _dev_addresses(dev):
    yield dev.get('ip'), dev.get('port')
    yield (dev.get('replication_ip') or dev.get('ip'),
           dev.get('replication_port') or dev.get('port'))


def _local_ips():
    ips = {'127.0.0.1', '::1'}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            ips.add(info[4][0])
    except OSError:
        pass
    return ips


def is_local_dev(dev, bind_ip, bind_port, local_ips=None):
    """True when ``dev`` is served by this node's bind_ip:bind_port.

    A wildcard bind_ip matches any address of this host; with a concrete
    bind_ip the ring address must equal it (several aio nodes share
    127.0.0.1, so the port tells them apart).
    """
    for ip, port in _dev_addresses(dev):
        if port is None or int(port) != int(bind_port):
            continue
        if bind_ip in WILDCARD_IPS:
            ips = local_ips if local_ips is not None else _local_ips()
            if ip in ips:
                return True
        elif ip == bind_ip:
            return True
    return False


def local_devices(ring, bind_ip, bind_port, only_devices=None,
                  local_ips=None):
    """Ring devices of this node, sorted by name, optionally filtered.

    ``only_devices`` (the --devices option) keeps just those names.
    """
    wanted = set(only_devices) if only_devices else None
    found = {}
    for dev in ring.devs:
        if dev is None or not is_local_dev(dev, bind_ip, bind_port,
                                           local_ips):
            continue
        if wanted is not None and dev['device'] not in wanted:
            continue
        found[dev['device']] = dev
    return [found[name] for name in sorted(found)]


def usable_device_path(devices_root, device, mount_check):
    """The device's directory, or None when it must be skipped.

    With ``mount_check`` a device that is not a mount point is skipped (an
    unmounted disk must not be filled through the root filesystem).
    """
    path = os.path.join(devices_root, device)
    if mount_check and not os.path.ismount(path):
        return None
    if not os.path.isdir(path):
        return None
    return path


def parse_int_list(text, option):
    """'1,2,3' -> [1, 2, 3]; ConfigError naming the option otherwise."""
    if not text:
        return None
    try:
        return [int(item) for item in text.split(',') if item.strip()]
    except ValueError:
        raise ConfigError('%s: expected comma-separated integers, got %r'
                          % (option, text))


def parse_name_list(text):
    if not text:
        return None
    return [item.strip() for item in text.split(',') if item.strip()]


class Daemon:
    """Base of every daemon.

    Subclasses set ``name`` (the config section and log name, e.g.
    'object-replicator') and ``conf_class`` (a DaemonConf subclass), and
    implement ``run_once(devices=None, partitions=None, once=False)``.
    Loops over items check ``self.stopping`` between items so SIGTERM
    finishes the item in hand and then returns.
    """

    name = 'daemon'
    conf_class = DaemonConf
    # Swift's timing: a daemon whose work can wait (updaters, DB
    # replicators and auditors, expirer, reaper) starts its first pass at
    # a random point of its interval, so that the passes of many nodes,
    # or of an aio's daemons started together, do not all fall at once.
    first_pass_jitter = False

    def __init__(self, conf, logger=None):
        self.conf = dict(conf)
        self.daemon_conf = self.conf_class.from_conf(self.conf)
        self.logger = logger or get_logger(self.conf, self.name)
        self._stopping = False
        self._woken = green.Event()

    @property
    def stopping(self):
        return self._stopping

    def request_stop(self, *_args):
        """Ask the daemon to stop after the item in hand (signal-safe:
        it only sets a flag; ``wake`` ends a wait between passes)."""
        self._stopping = True

    def wake(self):
        """End the wait between passes now, to see a stop request (from
        a green thread, not a signal handler)."""
        if not self._woken.ready():
            self._woken.send()

    def run_once(self, **kwargs):
        raise NotImplementedError

    def run_forever(self, **kwargs):
        """Passes every ``interval`` seconds until asked to stop.

        An exception escaping a pass is logged and the next pass runs: a
        daemon must outlive one bad disk or one bad file.
        """
        interval = self.daemon_conf.interval
        if self.first_pass_jitter:
            release_free_heap()
            self._sleep_until(time.monotonic() +
                              random.uniform(0, interval))
        while not self._stopping:
            begin = time.monotonic()
            try:
                self.run_once(**kwargs)
            except Exception:  # noqa: BLE001 - the daemon loop boundary
                self.logger.exception('%s pass failed', self.name)
            release_free_heap()
            self._sleep_until(begin + interval)

    def _sleep_until(self, deadline):
        # One wait to the deadline, not a nap every half second: an idle
        # aio has dozens of daemons, and each wake-up costs CPU. A stop
        # ends the wait through ``wake``.
        while not self._stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._woken.wait(min(left, LONGEST_NAP))

    def local_device_names(self, only_devices=None):
        """Usable device dirs under ``devices``, filtered by --devices.

        For daemons that work on whatever a device holds (auditor,
        updater, expirer), not only on the ring's partitions for it.
        """
        root = self.daemon_conf.devices
        try:
            names = sorted(os.listdir(root))
        except (FileNotFoundError, NotADirectoryError):
            return []
        if only_devices:
            names = [name for name in names if name in set(only_devices)]
        return [name for name in names if usable_device_path(
            root, name, self.daemon_conf.mount_check)]

    def run_local_device_pass(self, devices, process_device, summary_names,
                              once=False):
        """A pass over every usable device dir (``local_device_names``):
        ``process_device(name, once)`` -> DaemonStats for each, then the
        pass summary (device count) is logged and the total returned."""
        total = DaemonStats()
        names = self.local_device_names(devices)
        for name in names:
            if self.stopping:
                break
            total.merge(process_device(name, once))
        total.finish()
        self.log_pass_summary(total, summary_names, len(names))
        return total

    def run_device_pass(self, ring, devices, process_device, summary_names,
                        once=False):
        """The shape of a pass over local devices, shared by daemons.

        Calls ``process_device(dev, device_path)`` -> DaemonStats for each
        usable local device of ``ring`` (filtered by ``devices``), writes
        each device's status file and logs the pass summary. Missing or
        unmounted devices are counted and skipped.
        """
        dconf = self.daemon_conf
        total = DaemonStats()
        names = []
        for dev in local_devices(ring, dconf.bind_ip, dconf.bind_port,
                                 devices):
            if self.stopping:
                break
            device_path = usable_device_path(dconf.devices, dev['device'],
                                             dconf.mount_check)
            if device_path is None:
                total.incr('unmounted')
                self.logger.warning('%s: skipping %s: not mounted or missing',
                                    self.name, dev['device'])
                continue
            names.append(dev['device'])
            stats = process_device(dev, device_path)
            self.write_device_status(dev['device'], stats.finish(), once)
            total.merge(stats)
        total.finish()
        self.log_pass_summary(total, summary_names, ','.join(names))
        return total

    def write_device_status(self, device, stats, once=False):
        record = stats.status_record(self.name, device, once=once)
        try:
            write_status_file(self.daemon_conf.recon_cache_path, self.name,
                              device, record)
        except OSError as err:
            self.logger.warning('cannot write %s status for %s: %s',
                                self.name, device, err)

    def log_pass_summary(self, stats, names=None, devices=None):
        """The one summary line of a pass."""
        self.logger.info('%s pass done: devices=%s, %s, duration=%.2fs',
                         self.name, devices if devices is not None else '-',
                         stats.summary(names), stats.duration)


def build_arg_parser(daemon_name):
    parser = argparse.ArgumentParser(
        prog='objstore-' + daemon_name,
        description='Run the %s daemon.' % daemon_name)
    parser.add_argument('conf', nargs='+',
                        help='config file ([DEFAULT] and [%s]); several '
                             'run one daemon per file in this one process '
                             '(the nodes of an all-in-one cluster)'
                        % daemon_name)
    parser.add_argument('--once', action='store_true',
                        help='run one pass and exit')
    parser.add_argument('--verbose', '-v', action='store_true',
                        help='log at DEBUG level, to stderr as well')
    parser.add_argument('--devices', default='',
                        help='only these devices (comma-separated)')
    parser.add_argument('--partitions', default='',
                        help='only these partitions (comma-separated)')
    return parser


def load_daemon_conf(path, daemon_name, verbose=False):
    """[DEFAULT] merged with the daemon's section; ConfigError if absent."""
    conf = readconf(path, daemon_name)
    conf.setdefault('log_name', daemon_name)
    if verbose:
        conf['log_level'] = 'DEBUG'
        conf['log_file'] = ''
    return conf


class DaemonGroup:
    """Several daemons of one process, each in its own green thread.

    An aio has one config file per storage node; one process running a
    daemon for each of them costs one interpreter (~30 MiB) instead of
    one per node. Each daemon keeps its own config, ring, logger and
    status files, exactly as if it ran alone. A stop signal stops them all.
    """

    def __init__(self, daemons):
        self.daemons = list(daemons)

    def request_stop(self, *_args):
        for daemon in self.daemons:
            daemon.request_stop()

    def install_signal_handlers(self):
        """SIGTERM and SIGINT stop every daemon, also one waiting for its
        next pass.

        The Python handler alone cannot end such a wait: it runs between
        two bytecodes, and the hub's poll then goes on sleeping. So the
        kernel also writes the signal to a pipe (``set_wakeup_fd``),
        which ends the poll, and a green thread reading the pipe wakes
        the daemons.
        """
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        signal.set_wakeup_fd(write_end)
        green.spawn_n(self._wake_on_signals, read_end)

    def _wake_on_signals(self, read_end):
        while True:
            green.wait_readable(read_end)
            try:
                received = os.read(read_end, 64)
            except BlockingIOError:
                continue
            if {signal.SIGTERM, signal.SIGINT} & set(received):
                self.request_stop()
                for daemon in self.daemons:
                    daemon.wake()

    def run(self, once=False, **kwargs):
        """Every daemon's loop (or one pass each, ``once``) until all are
        done; the first exception one of them raised is raised after the
        others finished."""
        if len(self.daemons) == 1:
            return _run_daemon_loop(self.daemons[0], once, kwargs)
        threads = [green.spawn(_run_daemon_loop, daemon, once, kwargs)
                   for daemon in self.daemons]
        failures = []
        for thread in threads:
            try:
                thread.wait()
            except Exception as exc:  # noqa: BLE001 - re-raised below
                failures.append(exc)
        if failures:
            raise failures[0]
        return None


def _run_daemon_loop(daemon, once, kwargs):
    if once:
        return daemon.run_once(once=True, **kwargs)
    return daemon.run_forever(**kwargs)


def run_daemon(daemon_class, argv=None):
    """The shared entry point: parse argv, load config(s), patch, run.

    Returns the process exit status (0, or 1 for a config error).
    """
    args = build_arg_parser(daemon_class.name).parse_args(argv)
    try:
        confs = [load_daemon_conf(path, daemon_class.name, args.verbose)
                 for path in args.conf]
        kwargs = {'devices': parse_name_list(args.devices),
                  'partitions': parse_int_list(args.partitions,
                                               '--partitions')}
        green.monkey_patch()
        group = DaemonGroup(daemon_class(conf) for conf in confs)
    except ConfigError as err:
        print('objstore-%s: %s' % (daemon_class.name, err), file=sys.stderr)
        return 1
    group.install_signal_handlers()
    group.run(once=args.once, **kwargs)
    return 0

"""``objstore-recon``: the cluster's consistency state, node by node.

Reads the rings in a conf dir, asks every distinct storage server
(``ip:port``) of each ring for ``/recon/...`` (objstore.middleware.recon)
over HTTP, in parallel, and prints replication age and last-pass counts,
async pendings, quarantines and disk usage per device; ``--json`` prints
the raw answers for scripts. Answers arriving are counted on stderr
(``--progress``, the default on a terminal). Exit status: 0 when every
server answered, 2 when some did not, 1 on a usage or config error.

Several servers of one host share its disks (in the aio the object,
container and account servers of a node share one devices dir), so
per-device figures are counted once per (ip, device).
"""

import argparse
import json
import os
import sys
import time

from objstore.common.exceptions import RingError
from objstore.common.recon_client import gather as gather_from
from objstore.ring.servers import servers_by_kind

SECTIONS = ('replication', 'async', 'quarantined', 'diskusage')
DEFAULT_CONF_DIR = '/etc/objstore'


def gather(conf_dir, sections, timeout=5.0, progress=None):
    """{section: {kind or 'all': {'ip:port': answer or {'error': ...}}}}
    of every server the rings of ``conf_dir`` name."""
    return gather_from(servers_by_kind(conf_dir), sections, timeout,
                       progress)


class Progress:
    """``done/total answers`` on one stream, at most once per tenth of
    the way and at the end, so a large cluster's wait shows it moving
    without flooding a log.

    >>> import io; stream = io.StringIO(); tick = Progress(stream)
    >>> for done in range(1, 21): tick(done, 20)
    >>> stream.getvalue().splitlines()[:2], stream.getvalue().count('\\n')
    (['objstore-recon: 2/20 answers', 'objstore-recon: 4/20 answers'], 10)
    """

    def __init__(self, stream, steps=10):
        self.stream = stream
        self.steps = steps
        self.shown = 0

    def __call__(self, done, total):
        step = done * self.steps // total
        if step > self.shown or done == total:
            self.shown = step
            self.stream.write('objstore-recon: %d/%d answers\n'
                              % (done, total))
            self.stream.flush()


def errors_in(results):
    return ['%s %s %s: %s' % (section, kind, where, answer['error'])
            for section, kinds in results.items()
            for kind, answers in kinds.items()
            for where, answer in answers.items()
            if isinstance(answer, dict) and 'error' in answer]


# -- rendering (pure) --------------------------------------------------

def _ago(seconds):
    if seconds is None:
        return 'never'
    if seconds < 120:
        return '%.0fs ago' % seconds
    if seconds < 7200:
        return '%.1fm ago' % (seconds / 60)
    return '%.1fh ago' % (seconds / 3600)


def _size(nbytes):
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(nbytes) < 1024 or unit == 'TiB':
            return '%.1f %s' % (nbytes, unit) if unit != 'B' else \
                '%d B' % nbytes
        nbytes /= 1024.0
    return '%d B' % nbytes


def render_replication(kinds, now):
    lines = []
    for kind in sorted(kinds):
        daemon = '%s-replicator' % kind
        lines.append('[replication] %s' % daemon)
        ages = []
        for where in sorted(kinds[kind]):
            answer = kinds[kind][where]
            if 'error' in answer:
                lines.append('  %s  unreachable: %s' % (where,
                                                        answer['error']))
                continue
            devices = answer.get(daemon, {})
            if not devices:
                lines.append('  %s  no pass recorded yet' % where)
                ages.append((None, where, '-'))
            for device in sorted(devices):
                record = devices[device]
                end = record.get('pass_end')
                age = now - end if isinstance(end, (int, float)) else None
                ages.append((age, where, device))
                counts = ' '.join('%s=%s' % item for item in
                                  sorted(record.get('counts', {}).items()))
                lines.append('  %s  %s  last pass ended %s, took %.2fs: %s'
                             % (where, device, _ago(age),
                                record.get('duration', 0.0), counts or '-'))
        known = [entry for entry in ages if entry[0] is not None]
        if known:
            oldest = max(known)
            newest = min(known)
            lines.append('  oldest pass: %s (%s %s); newest: %s'
                         % (_ago(oldest[0]), oldest[1], oldest[2],
                            _ago(newest[0])))
        never = [entry for entry in ages if entry[0] is None]
        if never:
            lines.append('  never replicated: %s'
                         % ', '.join('%s %s' % e[1:] for e in never))
    return lines


def _per_device(answers, field='devices'):
    """{(host ip, device): value} counted once per disk."""
    seen = {}
    for where in sorted(answers):
        answer = answers[where]
        if not isinstance(answer, dict) or 'error' in answer:
            continue
        host = where.rsplit(':', 1)[0]
        for device, value in answer.get(field, {}).items():
            seen.setdefault((host, device), value)
    return seen


def render_async(kinds):
    answers = kinds.get('object', {})
    per_disk = _per_device(answers)
    lines = ['[async] pending container updates: %d'
             % sum(per_disk.values())]
    for (host, device), count in sorted(per_disk.items()):
        lines.append('  %s %s: %d' % (host, device, count))
    return lines


def render_quarantined(kinds):
    per_disk = _per_device(kinds.get('all', {}))
    totals = {}
    for counts in per_disk.values():
        for kind, count in counts.items():
            totals[kind] = totals.get(kind, 0) + count
    lines = ['[quarantined] %s' % ', '.join(
        '%s=%d' % (kind, totals.get(kind, 0))
        for kind in ('objects', 'containers', 'accounts'))]
    for (host, device), counts in sorted(per_disk.items()):
        if any(counts.values()):
            lines.append('  %s %s: %s' % (host, device, ', '.join(
                '%s=%d' % item for item in sorted(counts.items()))))
    return lines


def render_diskusage(kinds):
    disks = {}
    for where in sorted(kinds.get('all', {})):
        answer = kinds['all'][where]
        if not isinstance(answer, list):
            continue
        host = where.rsplit(':', 1)[0]
        for entry in answer:
            disks.setdefault((host, entry['device']), entry)
    lines = ['[diskusage] %d devices' % len(disks)]
    for (host, device), entry in sorted(disks.items()):
        if not entry.get('mounted'):
            lines.append('  %s %s: not mounted' % (host, device))
            continue
        percent = 100.0 * entry['used'] / entry['size'] if entry['size'] \
            else 0.0
        lines.append('  %s %s: %s used of %s (%.1f%%), %s free'
                     % (host, device, _size(entry['used']),
                        _size(entry['size']), percent,
                        _size(entry['avail'])))
    return lines


RENDERERS = {
    'replication': lambda kinds, now: render_replication(kinds, now),
    'async': lambda kinds, now: render_async(kinds),
    'quarantined': lambda kinds, now: render_quarantined(kinds),
    'diskusage': lambda kinds, now: render_diskusage(kinds),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog='objstore-recon',
        description='Query every storage server of the rings for its '
                    'replication, async pending, quarantine and disk state.')
    parser.add_argument('conf_dir', nargs='?', default=DEFAULT_CONF_DIR,
                        help='directory holding the *.ring.gz files')
    parser.add_argument('--json', action='store_true',
                        help='print the answers as JSON')
    parser.add_argument('-r', '--replication', action='store_true')
    parser.add_argument('-a', '--async', dest='async_', action='store_true')
    parser.add_argument('-q', '--quarantined', action='store_true')
    parser.add_argument('-d', '--diskusage', action='store_true')
    parser.add_argument('--all', action='store_true',
                        help='every section (the default)')
    parser.add_argument('--timeout', type=float, default=5.0,
                        help='seconds per server (default 5)')
    parser.add_argument('--progress', action='store_true', default=None,
                        help='show answers arriving on stderr (the '
                             'default when stderr is a terminal)')
    parser.add_argument('--no-progress', dest='progress',
                        action='store_false')
    return parser


def chosen_sections(args):
    flags = {'replication': args.replication, 'async': args.async_,
             'quarantined': args.quarantined, 'diskusage': args.diskusage}
    if args.all or not any(flags.values()):
        return list(SECTIONS)
    return [name for name in SECTIONS if flags[name]]


def main(argv=None, out=None, now=None):
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    if args.timeout <= 0:
        print('objstore-recon: --timeout must be > 0', file=sys.stderr)
        return 1
    if not os.path.isdir(args.conf_dir):
        print('objstore-recon: %s is not a directory' % args.conf_dir,
              file=sys.stderr)
        return 1
    show = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        results = gather(args.conf_dir, chosen_sections(args), args.timeout,
                         Progress(sys.stderr) if show else None)
    except RingError as err:
        print('objstore-recon: %s' % err, file=sys.stderr)
        return 1
    if not results:
        print('objstore-recon: no ring files in %s' % args.conf_dir,
              file=sys.stderr)
        return 1
    if args.json:
        json.dump(results, out, indent=2, sort_keys=True)
        out.write('\n')
    else:
        now = time.time() if now is None else now
        for section in chosen_sections(args):
            for line in RENDERERS[section](results.get(section, {}), now):
                out.write(line + '\n')
        for line in errors_in(results):
            out.write('! %s\n' % line)
    return 2 if errors_in(results) else 0

"""Asking storage servers for their ``/recon/...`` and ``/metrics`` over
HTTP, in parallel: what ``objstore-recon`` and the proxy's console share.

Owns the fetch of one JSON answer (``fetch``) and the fan-out of a set of
recon sections over the servers of each ring kind (``gather``). The caller
says which servers (``objstore.ring.servers.servers_by_kind``); this
module reads no ring and renders nothing.
"""

import json
from concurrent.futures import ThreadPoolExecutor, as_completed

from objstore.common.backend_client import BACKEND_ERRORS, direct_request

MAX_PARALLEL = 32


def fetch_raw(server, path, timeout):
    """(body bytes, None) or (None, error text) of a GET to one server."""
    ip, port = server
    try:
        status, _headers, body = direct_request(
            ip, port, 'GET', path, conn_timeout=timeout,
            node_timeout=timeout)
    except BACKEND_ERRORS as err:
        return None, str(err) or type(err).__name__
    if status != 200:
        return None, 'HTTP %d' % status
    return body, None


def fetch(server, path, timeout):
    """(decoded JSON, None) or (None, error text) from one server."""
    body, error = fetch_raw(server, path, timeout)
    if error is not None:
        return None, error
    try:
        return json.loads(body), None
    except ValueError:
        return None, 'answer is not JSON'


def fetch_many(jobs, fetch_one, timeout, progress=None):
    """``fetch_one(server, path, timeout)`` of each (server, path) job, in
    parallel; the answers in the jobs' order. ``progress(done, total)``,
    when given, is called as each answer arrives (a large cluster takes
    a while)."""
    if not jobs:
        return []
    workers = min(MAX_PARALLEL, len(jobs))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(fetch_one, server, path, timeout)
                   for server, path in jobs]
        if progress is not None:
            for done, _future in enumerate(as_completed(futures), 1):
                progress(done, len(futures))
        return [future.result() for future in futures]


def recon_jobs(by_kind, sections):
    """(section, kind or 'all', server, path) of each request to make:
    replication per ring kind, async pendings from object servers, every
    other section from every distinct server."""
    every = sorted({server for servers in by_kind.values()
                    for server in servers})
    jobs = []
    for section in sections:
        if section == 'replication':
            for kind, servers in by_kind.items():
                jobs += [(section, kind, s, '/recon/replication/' + kind)
                         for s in servers]
        elif section == 'async':
            jobs += [(section, 'object', s, '/recon/async')
                     for s in by_kind.get('object', [])]
        else:
            jobs += [(section, 'all', s, '/recon/' + section) for s in every]
    return jobs


def gather(by_kind, sections, timeout=5.0, progress=None):
    """{section: {kind or 'all': {'ip:port': answer or {'error': ...}}}}
    of the servers ``by_kind`` ({kind: [(ip, port)]}); ``progress`` as
    for ``fetch_many``."""
    jobs = recon_jobs(by_kind, sections)
    answers = fetch_many([(job[2], job[3]) for job in jobs], fetch, timeout,
                         progress)
    results = {}
    for (section, kind, server, _path), (data, error) in zip(jobs, answers):
        where = '%s:%d' % server
        results.setdefault(section, {}).setdefault(kind, {})[where] = (
            data if error is None else {'error': error})
    return results

"""Quorum reduction: many backend statuses -> the one status the client sees.

Pure functions, no I/O. The controllers collect one status per storage node
they asked and hand the list here; this module owns the rule that a write
(or a read that needs agreement) succeeds only when a quorum of nodes agree
on a class of answer (2xx, 3xx, 4xx, 5xx), and which status of that class
is reported.

Invariant: quorum = replicas // 2 + 1, so two disjoint quorums cannot both
succeed; with 3 replicas 2 answers decide, with 4 replicas 3 do.

``CLIENT_STATUS`` is the one table from a backend outcome to what the
client is told; fanout.py, getter.py and the controllers all go through
``client_status``.
"""

from collections import Counter

STATUS_CLASSES = (200, 300, 400, 500)

# Backend outcomes that are not a node's status.
NODE_FAILED = 'node failed'     # refused, reset or timed out: no answer
NO_NODE_LEFT = 'no node left'   # every candidate node was tried
NO_QUORUM = 'no quorum'         # answers, but no class of them agrees

# Backend outcome (one of the above, or a status class) -> client status.
# Trouble on the storage side is the cluster's, not the client's: whatever
# 5xx the nodes gave (a 507 full disk, a 500), the client hears 503, as
# from Swift. Classes not listed reach the client as the node said them.
CLIENT_STATUS = {
    NODE_FAILED: 503,
    NO_NODE_LEFT: 503,
    NO_QUORUM: 503,
    500: 503,
}


def client_status(outcome):
    """The status the client sees for a backend outcome.

    >>> client_status(507), client_status(NODE_FAILED), client_status(404)
    (503, 503, 404)
    """
    key = status_class(outcome) if isinstance(outcome, int) else outcome
    return CLIENT_STATUS.get(key, outcome)


def status_class(status):
    """The hundred a status belongs to (``404 -> 400``)."""
    return (status // 100) * 100


def best_status(statuses, quorum):
    """Pick the status the client gets, or None when no class has a quorum.

    The first class (2xx before 3xx before 4xx before 5xx) that reaches
    ``quorum`` wins; inside it the most frequent status wins, ties going to
    the higher status, as a 404 outranks a 400 in telling what happened.

    >>> best_status([201, 201, 503], 2)
    201
    >>> best_status([201, 503, 503], 2)
    503
    >>> best_status([201, 404, 503], 2) is None
    True
    >>> best_status([404, 404, 204], 2)
    404
    """
    for hundred in STATUS_CLASSES:
        in_class = [s for s in statuses if status_class(s) == hundred]
        if len(in_class) >= quorum:
            counts = Counter(in_class)
            return max(counts, key=lambda s: (counts[s], s))
    return None


def best_response_index(statuses, quorum):
    """Index of the response whose status ``best_status`` chose, or None."""
    status = best_status(statuses, quorum)
    if status is None:
        return None
    return statuses.index(status)


def has_quorum(statuses, quorum):
    """True when some class of answer already has a quorum.

    Used to stop waiting: once a class holds a quorum the outcome is fixed,
    stragglers only get a short grace to finish.
    """
    return best_status(statuses, quorum) is not None


def delete_status(statuses, quorum):
    """Reduce DELETE answers, where 404 from a node means "already gone".

    A DELETE that reached a quorum of nodes which either deleted (2xx) or
    never had it (404) succeeds when at least one of them deleted;
    all-404 is a 404.

    >>> delete_status([204, 404, 404], 2)
    204
    >>> delete_status([404, 404, 503], 2)
    404
    >>> delete_status([204, 503, 503], 2)
    503
    """
    deleted = [s for s in statuses if status_class(s) == 200]
    missing = [s for s in statuses if s == 404]
    if deleted and len(deleted) + len(missing) >= quorum:
        return max(Counter(deleted), key=lambda s: (deleted.count(s), s))
    return best_status(statuses, quorum) or client_status(NO_QUORUM)

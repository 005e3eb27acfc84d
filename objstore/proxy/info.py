"""``/info``: what this cluster offers, as Swift's discoverability does.

Pure: builds the document from the constraint limits, the cluster's
storage policies (the ones not deprecated, as Swift lists them) and the
sections that middlewares add to ``environ['objstore.capabilities']`` when an
``/info`` request passes through them (no process-wide registry). The
proxy serves it as JSON to anyone, without auth.
"""

import json

from objstore.common.constraints import public_limits


def base_capabilities(policies, strict_cors_mode=True):
    """The ``swift`` section: limits and facts clients rely on;
    ``policies`` is a StoragePolicies."""
    swift = dict(public_limits())
    swift.update({
        'version': 'objstore',
        'policies': policies.info(),
        'strict_cors_mode': strict_cors_mode,
        'allow_account_management': False,
        'account_autocreate': True,
    })
    return {'swift': swift}


def info_document(capabilities):
    """The JSON body of ``/info``, keys sorted for stable output."""
    return json.dumps(capabilities, sort_keys=True).encode('utf-8')

"""The consistent-hashing ring: lookup (Ring), building (RingBuilder).

Import the public names from here::

    from objstore.ring import Ring, RingBuilder, parse_dev_string
"""

from objstore.ring.builder import RingBuilder
from objstore.ring.devices import parse_dev_string, parse_search_value
from objstore.ring.ring import Ring
from objstore.ring.ringdata import RingData

__all__ = ['Ring', 'RingBuilder', 'RingData', 'parse_dev_string',
           'parse_search_value']

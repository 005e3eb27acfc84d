"""Storage-server benchmark (issue: storage servers); not a test.

Runs the container-listing/insert benchmark (bench/storage_listing.py) and
the object-server benchmark (bench/storage_object.py) in one go and prints
their figures. Each part can also be run on its own.

    python bench/storage.py [--quick]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import storage_listing  # noqa: E402
import storage_object  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='smaller sizes, for a smoke run')
    args, rest = parser.parse_known_args(argv)
    extra = ['--quick'] if args.quick else []
    print('== container listings and inserts ==', flush=True)
    storage_listing.main(extra + rest)
    print('== object server ==', flush=True)
    storage_object.main(extra + rest)
    return 0


if __name__ == '__main__':
    sys.exit(main())

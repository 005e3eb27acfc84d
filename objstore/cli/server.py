"""``objstore-server CONF``: run the WSGI server a config file describes.

The config's ``[pipeline:main]`` (or ``[app:main]``) names the app: proxy,
object, container or account server. The process binds, forks ``workers``
and serves until SIGTERM (objstore.common.wsgi.run_server).
"""

import argparse
import sys

from objstore.common.exceptions import ConfigError
from objstore.common.wsgi import run_server


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='objstore-server',
        description='Run an objstore WSGI server (proxy, object, container '
                    'or account) from its config file.')
    parser.add_argument('conf', help='path to the server config file')
    args = parser.parse_args(argv)
    try:
        run_server(args.conf)
    except ConfigError as err:
        print('objstore-server: %s' % err, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == '__main__':
    sys.exit(main())

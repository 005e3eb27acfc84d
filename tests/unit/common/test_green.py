"""The eventlet wrapper: monkey patching really makes sockets green."""

import subprocess
import sys

PROBE = '''
from objstore.common import green
assert not green.is_monkey_patched()
green.monkey_patch()
import socket, time
assert green.is_monkey_patched()
assert 'eventlet' in socket.socket.__module__, socket.socket.__module__
assert 'eventlet' in time.sleep.__module__, time.sleep.__module__
print('ok')
'''


def test_monkey_patch_covers_socket_time_and_threads():
    result = subprocess.run([sys.executable, '-c', PROBE],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.strip() == b'ok'
    assert b'Warning' not in result.stderr


def test_green_dns_resolver_is_not_loaded():
    # dnspython costs about 11 MiB in each of an aio's many processes.
    result = subprocess.run(
        [sys.executable, '-c',
         'import sys\n'
         'from objstore.common import green\n'
         'green.monkey_patch()\n'
         'import socket\n'
         'assert socket.getaddrinfo("127.0.0.1", 80)\n'
         'print(sorted(m for m in sys.modules if m.split(".")[0] == "dns"))'],
        capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.strip() == b'[]'

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

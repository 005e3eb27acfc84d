"""The S3 command lines against the cluster, as subprocesses with their
default settings: awscli (``aws s3`` cp, ls, sync, rb --force and ``aws
s3api`` calls), s3cmd (Signature V4 and V2) and rclone's s3 backend
(copy, check, purge; scripts/bootstrap.sh installs rclone)."""

import filecmp
import os
import subprocess
import sys
import uuid

import pytest

BIN = os.path.dirname(sys.executable)


@pytest.fixture
def aws(cluster, tmp_path):
    config = tmp_path / 'aws-config'
    # awscli's defaults: the 20 MB file below goes up in 8 MB parts.
    config.write_text('[default]\nregion = us-east-1\n')
    env = dict(os.environ, AWS_ACCESS_KEY_ID='test:tester',
               AWS_SECRET_ACCESS_KEY=cluster.users['test:tester'],
               AWS_CONFIG_FILE=str(config),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / 'none'))

    def run(*args, expect_ok=True):
        result = subprocess.run(
            [os.path.join(BIN, 'aws'), '--endpoint-url', cluster.proxy_url]
            + list(args), capture_output=True, text=True, timeout=120,
            env=env)
        if expect_ok:
            assert result.returncode == 0, result.stdout + result.stderr
        return result
    return run


@pytest.fixture
def name():
    return 's3c-' + uuid.uuid4().hex[:12]


def test_aws_s3_cp_ls_sync_rb(aws, name, tmp_path):
    aws('s3', 'mb', 's3://' + name)
    big = tmp_path / 'big.bin'
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    aws('s3', 'cp', str(big), 's3://%s/big.bin' % name)
    back = tmp_path / 'back.bin'
    aws('s3', 'cp', 's3://%s/big.bin' % name, str(back))
    assert filecmp.cmp(big, back, shallow=False)
    tree = tmp_path / 'tree'
    (tree / 'sub').mkdir(parents=True)
    for path, text in (('a.txt', 'a'), ('sub/b.txt', 'b'), ('sub/c d', 'c')):
        (tree / path).write_text(text)
    aws('s3', 'sync', str(tree), 's3://%s/tree' % name)
    listing = aws('s3', 'ls', '--recursive', 's3://%s/' % name).stdout
    for key in ('big.bin', 'tree/a.txt', 'tree/sub/b.txt', 'tree/sub/c d'):
        assert key in listing
    assert 'PRE sub/' in aws('s3', 'ls', 's3://%s/tree/' % name).stdout
    # A second sync has nothing to send.
    assert aws('s3', 'sync', str(tree), 's3://%s/tree' % name).stdout == ''
    down = tmp_path / 'down'
    aws('s3', 'sync', 's3://%s/tree' % name, str(down))
    assert (down / 'sub' / 'c d').read_text() == 'c'
    assert aws('s3', 'rb', 's3://' + name, expect_ok=False).returncode != 0
    aws('s3', 'rb', '--force', 's3://' + name)
    assert name not in aws('s3', 'ls').stdout


def test_aws_s3api_calls(aws, name, tmp_path):
    aws('s3api', 'create-bucket', '--bucket', name)
    try:
        body = tmp_path / 'o'
        body.write_bytes(b's3api body')
        aws('s3api', 'put-object', '--bucket', name, '--key', 'o',
            '--body', str(body), '--metadata', 'k=v')
        head = aws('s3api', 'head-object', '--bucket', name, '--key', 'o')
        assert '"ContentLength": 10' in head.stdout
        missing = aws('s3api', 'head-bucket', '--bucket', name + '-x',
                      expect_ok=False)
        assert missing.returncode != 0 and '404' in missing.stderr
        aws('s3api', 'delete-object', '--bucket', name, '--key', 'o')
    finally:
        aws('s3api', 'delete-bucket', '--bucket', name)


@pytest.fixture
def s3cmd(cluster, tmp_path):
    host = cluster.proxy_url.split('://', 1)[1]

    def run(*args, v2=False, expect_ok=True):
        config = tmp_path / ('s3cfg-v2' if v2 else 's3cfg')
        config.write_text(
            '[default]\naccess_key = test:tester\nsecret_key = %s\n'
            'host_base = %s\nhost_bucket = %s\nuse_https = False\n'
            'signature_v2 = %s\nbucket_location = us-east-1\n' % (
                cluster.users['test:tester'], host, host, v2))
        result = subprocess.run(
            [sys.executable, os.path.join(BIN, 's3cmd'), '-c', str(config)]
            + list(args), capture_output=True, text=True, timeout=120)
        if expect_ok:
            assert result.returncode == 0, result.stdout + result.stderr
        return result
    return run


@pytest.mark.parametrize('v2', [False, True], ids=['v4', 'v2'])
def test_s3cmd(s3cmd, name, tmp_path, v2):
    s3cmd('mb', 's3://' + name, v2=v2)
    local = tmp_path / 'file.txt'
    local.write_text('from s3cmd')
    s3cmd('put', str(local), 's3://%s/dir/file.txt' % name, v2=v2)
    assert 'dir/file.txt' in s3cmd('ls', '-r', 's3://' + name, v2=v2).stdout
    got = tmp_path / 'got.txt'
    s3cmd('get', 's3://%s/dir/file.txt' % name, str(got), v2=v2)
    assert got.read_text() == 'from s3cmd'
    info = s3cmd('info', 's3://%s/dir/file.txt' % name, v2=v2).stdout
    assert 'File size: 10' in info
    s3cmd('del', 's3://%s/dir/file.txt' % name, v2=v2)
    s3cmd('rb', 's3://' + name, v2=v2)
    assert name not in s3cmd('ls', v2=v2).stdout


@pytest.fixture
def rclone(cluster, tmp_path):
    config = tmp_path / 'rclone.conf'
    config.write_text(
        '[objstore]\ntype = s3\nprovider = Other\naccess_key_id = '
        'test:tester\nsecret_access_key = %s\nendpoint = %s\n'
        'region = us-east-1\n' % (cluster.users['test:tester'],
                                   cluster.proxy_url))

    # rclone's AWS SDK fails on an AWS_CA_BUNDLE it cannot use with its
    # own transport; the endpoint is plain http, so none is needed.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith('AWS_')}

    def run(*args, expect_ok=True):
        result = subprocess.run(
            ['rclone', '--config', str(config)] + list(args),
            capture_output=True, text=True, timeout=180, env=env)
        if expect_ok:
            assert result.returncode == 0, result.stdout + result.stderr
        return result
    return run


def test_rclone_copy_check_purge(rclone, s3, name, tmp_path):
    tree = tmp_path / 'tree'
    (tree / 'sub').mkdir(parents=True)
    (tree / 'small.txt').write_text('small')
    # Over rclone's 200 MiB default cutoff is too slow here: a 5 MiB
    # chunk size with a lower cutoff still sends a multipart upload.
    (tree / 'sub' / 'big.bin').write_bytes(os.urandom(12 * 1024 * 1024))
    rclone('mkdir', 'objstore:' + name)
    rclone('copy', str(tree), 'objstore:%s/t' % name)
    rclone('check', str(tree), 'objstore:%s/t' % name)
    rclone('copy', '--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M',
           str(tree / 'sub' / 'big.bin'), 'objstore:%s/mp' % name)
    rclone('check', str(tree / 'sub'), 'objstore:%s/mp' % name)
    assert s3.head_object(Bucket=name, Key='mp/big.bin')['ETag'].endswith(
        '-3"')
    back = tmp_path / 'back'
    rclone('copy', 'objstore:%s/mp' % name, str(back))
    assert filecmp.cmp(tree / 'sub' / 'big.bin', back / 'big.bin',
                       shallow=False)
    rclone('purge', 'objstore:' + name)
    listed = rclone('lsd', 'objstore:', expect_ok=False).stdout
    assert name not in listed


def test_aio_banner_s3_example_works(cluster):
    banner = cluster.aio.banner()
    user = cluster.aio.layout.users[0]
    assert 'S3 endpoint: %s' % cluster.proxy_url in banner
    assert 'S3 access key: %s   secret key: %s' % (user.name, user.key) in \
        banner
    example = [line.strip() for line in banner.splitlines()
               if line.strip().startswith('python3 -c')][0]
    code = example[len('python3 -c "'):-1]
    result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('[')

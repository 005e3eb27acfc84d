"""common.server_base: path, partition and X-Timestamp parsing, the domain
error table lookup, and the WSGI skeleton (txn id, one access line, the
catch-all) through a small subclass called as a WSGI app."""

import logging

import pytest

from objstore.common.exceptions import (
    DiskFileNoSpace, DiskFileNotExist, DiskFileError, InvalidInput)
from objstore.common.http import Request, Response
from objstore.common.server_base import (
    BYTES_RECEIVED, StorageServer, error_status, log_path, parse_partition,
    request_path, required_timestamp, split_storage_path)
from objstore.common.timestamp import Timestamp
from tests.helpers import capture_logs


def test_split_storage_path():
    assert split_storage_path('/sda/1/a/c/o/x', 3, 5) == [
        'sda', '1', 'a', 'c', 'o/x']
    assert split_storage_path('/sda/1/a', 3, 4) == ['sda', '1', 'a', None]
    assert split_storage_path('/sda/1/a/c/o', 5, 5) == [
        'sda', '1', 'a', 'c', 'o']
    # '.' and '..' are object names as in Swift (hashed, never joined)
    assert split_storage_path('/sda/1/a/c/o/.', 5, 5) == [
        'sda', '1', 'a', 'c', 'o/.']


@pytest.mark.parametrize('bad', [
    '/sda/1', '/sda/one/a', '/sda/\xb2/a', '/../1/a', '/./1/a', 'sda/1/a',
    '/sda/1/a/c\udcff', '/sda/1/a/c/o\x00', '/sd\udcffa/1/a', '/sda/1/a/c'])
def test_split_storage_path_refuses(bad):
    with pytest.raises(InvalidInput) as caught:
        split_storage_path(bad, 5, 5)
    assert caught.value.status == 400


def test_request_path_keeps_bad_utf8_for_the_checks():
    environ = {'PATH_INFO': '/sda/1/a/caf\xc3\xa9/\xff'}
    assert request_path(environ) == '/sda/1/a/caf\xe9/\udcff'
    assert log_path(environ) == '/sda/1/a/caf%C3%A9/%FF'


def test_parse_partition():
    assert parse_partition('17') == '17'
    for bad in ('', '-1', '1.0', '\xb2', 'x'):
        with pytest.raises(InvalidInput):
            parse_partition(bad)


def test_required_timestamp():
    assert required_timestamp({'X-Timestamp': '1.5'}) == Timestamp(1.5)
    assert required_timestamp({'X-Put-Timestamp': '2'},
                              'X-Put-Timestamp') == Timestamp(2)
    for headers, text in (({}, 'Missing X-Timestamp'),
                          ({'X-Timestamp': ''}, 'Missing X-Timestamp'),
                          ({'X-Timestamp': 'abc'}, 'Invalid X-Timestamp'),
                          ({'X-Timestamp': '-1'}, 'Invalid X-Timestamp')):
        with pytest.raises(InvalidInput, match=text):
            required_timestamp(headers)


TABLE = {DiskFileNoSpace: 507, DiskFileError: 500, DiskFileNotExist: 404}


def test_error_status_takes_the_nearest_class():
    assert error_status(DiskFileNoSpace('full'), TABLE) == 507
    assert error_status(DiskFileNotExist('gone'), TABLE) == 404


def test_error_status_of_input_is_its_own_and_unknown_is_none():
    assert error_status(InvalidInput('big', status=413), TABLE) == 413
    assert error_status(KeyError('bug'), TABLE) is None


class _Server(StorageServer):
    """Answers GET with a body, PUT by reading it; raises what it is told."""

    verbs = ('GET', 'PUT')
    error_statuses = TABLE

    def __init__(self, logger, raise_=None):
        self.logger = logger
        self.raise_ = raise_

    def dispatch(self, req):
        if self.raise_ is not None:
            raise self.raise_
        if req.method == 'PUT':
            req.environ[BYTES_RECEIVED] = len(req.body)
            return Response(status=201)
        return Response(status=200, body=b'hello')

    def error_response(self, status, message):
        return Response(status=status, body=(message + '\n').encode())


def call(app, method, path='/sda/1/a', headers=None, body=b''):
    req = Request.blank(path, method=method, headers=headers or {},
                        body=body)
    resp = req.get_response(app)
    return resp.status_int, resp.headers, resp.body


@pytest.fixture
def logger():
    return logging.getLogger('test-server-base')


def test_one_access_line_with_the_callers_txn_id(logger):
    with capture_logs(logger, logging.INFO) as handler:
        status, headers, body = call(_Server(logger), 'GET',
                                     headers={'X-Trans-Id': 'tx-given'})
        call(_Server(logger), 'PUT', body=b'four')
    assert (status, body, headers['X-Trans-Id']) == (200, b'hello',
                                                     'tx-given')
    lines = handler.messages('INFO')
    assert len(lines) == 2
    assert '"GET /sda/1/a" 200 5' in lines[0]
    assert lines[0].endswith('txn:tx-given')
    assert '"PUT /sda/1/a" 201 4' in lines[1]


def test_a_txn_id_is_made_when_none_came(logger):
    _, first, _ = call(_Server(logger), 'GET')
    _, second, _ = call(_Server(logger), 'GET')
    assert first['X-Trans-Id'].startswith('tx')
    assert first['X-Trans-Id'] != second['X-Trans-Id']


@pytest.mark.parametrize('raised, status, text', [
    (DiskFileNoSpace('disk full\nsecond line'), 507, b'disk full\n'),
    (DiskFileNotExist(), 404, b'DiskFileNotExist\n'),
    (InvalidInput('too long', status=413), 413, b'too long\n'),
])
def test_domain_errors_answer_from_the_table(logger, raised, status, text):
    assert call(_Server(logger, raised), 'GET')[::2] == (status, text)


def test_unknown_errors_are_500_and_logged(logger):
    with capture_logs(logger, logging.ERROR) as handler:
        status, _, body = call(_Server(logger, KeyError('bug')), 'GET')
    assert (status, body) == (500, b'Internal error: KeyError\n')
    assert handler.messages('ERROR') == ['ERROR GET /sda/1/a']


def test_other_verbs_are_405(logger):
    status, _, body = call(_Server(logger), 'DELETE')
    assert (status, body) == (405, b'Method DELETE not allowed\n')

import logging
import re

from objstore.common import green
from objstore.common.log import get_logger, get_txn_id, log_access, set_txn_id


def test_lines_carry_the_txn_id(tmp_path):
    log_file = tmp_path / 'x.log'
    logger = get_logger({'log_file': str(log_file), 'log_level': 'debug'},
                        'test-log')
    set_txn_id('tx123')
    logger.info('stored %s', 'obj')
    log_access(logger, 'PUT', '/a/c/o', 201, 5, 0.25, 'tx123', '1.2.3.4')
    set_txn_id(None)
    logger.debug('no txn')
    lines = log_file.read_text().splitlines()
    assert lines[0].endswith('stored obj (txn: tx123)')
    assert '1.2.3.4 "PUT /a/c/o" 201 5 0.2500 txn:tx123' in lines[1]
    assert lines[1].count('tx123') == 1
    assert lines[2].endswith('no txn')
    assert logger.level == logging.DEBUG


def test_txn_id_is_green_thread_local():
    seen = {}

    def worker(name):
        set_txn_id(name)
        green.sleep(0)
        seen[name] = get_txn_id()

    pool = green.GreenPool()
    for name in ('a', 'b', 'c'):
        pool.spawn(worker, name)
    pool.waitall()
    assert seen == {'a': 'a', 'b': 'b', 'c': 'c'}


def test_a_message_with_controls_stays_one_line(tmp_path):
    log_file = tmp_path / 'x.log'
    logger = get_logger({'log_file': str(log_file)}, 'test-log-controls')
    logger.warning('bad name %s', 'c/o\r\n2026-01-01 forged ERROR\x1b[2J\x7f')
    logger.info('no args: \n')
    lines = log_file.read_text().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        'bad name c/o\\x0d\\x0a2026-01-01 forged ERROR\\x1b[2J\\x7f')
    assert lines[1].endswith('no args: \\x0a')


def test_access_line_quotes_every_field(tmp_path):
    log_file = tmp_path / 'x.log'
    logger = get_logger({'log_file': str(log_file)}, 'test-log-access')
    log_access(logger, 'GET', '/a/c/o\n1.2.3.4 "GET /x" 200', 200, 0, 0.1,
               'tx1', '6.6.6.6 "x"\r\n')
    log_access(logger, 'PUT', '/a/c/caf\u00e9 100%', 201, None, 0.1, None)
    lines = log_file.read_text().splitlines()
    assert len(lines) == 2
    assert '6.6.6.6%20%22x%22%0D%0A "GET /a/c/o%0A1.2.3.4%20%22GET%20/x' \
        '%22%20200" 200 0 ' in lines[0]
    assert '- "PUT /a/c/caf%C3%A9%20100%" 201 - ' in lines[1]
    assert lines[1].endswith('txn:-')


def test_access_line_may_end_with_the_operation(tmp_path):
    log_file = tmp_path / 'op.log'
    logger = get_logger({'log_file': str(log_file)}, 'test-log-op')
    log_access(logger, 'PUT', '/b/k', 200, 0, 0.1, 'tx1', '1.2.3.4',
               operation='PutObject')
    log_access(logger, 'GET', '/v1/a', 204, 0, 0.1, 'tx2', '1.2.3.4')
    first, second = log_file.read_text().splitlines()
    assert first.endswith('txn:tx1 op:PutObject')
    assert second.endswith('txn:tx2')


def test_records_skip_the_fields_the_format_never_shows(tmp_path):
    """Thread, process and caller are not collected (the format shows none
    of them; under eventlet they were most of an access line's cost)."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)
    logger = get_logger({'log_file': str(tmp_path / 'x.log')}, 'skipfields')
    keeper = Keep()
    logger.addHandler(keeper)
    try:
        log_access(logger, 'GET', '/a/c/o', 200, 5, 0.01, 'tx1')
    finally:
        logger.removeHandler(keeper)
    [record] = records
    assert (record.threadName, record.process, record.processName) == \
        (None, None, None)
    assert record.funcName == "(unknown function)"
    line = (tmp_path / 'x.log').read_text()
    assert line.endswith(' "GET /a/c/o" 200 5 0.0100 txn:tx1\n')


def test_access_line_is_written_without_a_log_record(tmp_path, monkeypatch):
    """One per request: written straight to the handler's file, in the
    layout logging gives every other line."""
    log_file = tmp_path / 'direct.log'
    logger = get_logger({'log_file': str(log_file)}, 'test-log-direct')
    message = '1.2.3.4 "GET /a/c/o%0A" 200 5 0.0100 txn:tx1'
    logger.info('%s', message, extra={'access': True})

    def no_records(*_args, **_kwargs):
        raise AssertionError('an access line made a LogRecord')
    monkeypatch.setattr(logging.Logger, 'makeRecord', no_records)
    log_access(logger, 'GET', '/a/c/o\n', 200, 5, 0.01, 'tx1', '1.2.3.4')
    by_logging, direct = log_file.read_text().splitlines()
    layout = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (.*)\Z')
    assert layout.match(direct).group(1) == \
        layout.match(by_logging).group(1)
    assert direct.endswith(' objstore.test-log-direct INFO: ' + message)


def test_access_line_goes_through_logging_when_info_is_off(tmp_path):
    log_file = tmp_path / 'quiet.log'
    logger = get_logger({'log_file': str(log_file), 'log_level': 'warning'},
                        'test-log-quiet')
    log_access(logger, 'GET', '/a/c/o', 200, 5, 0.01, 'tx1', '1.2.3.4')
    assert log_file.read_text() == ''

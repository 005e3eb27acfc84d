import logging

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

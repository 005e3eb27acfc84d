import hashlib

import pytest

from objstore.common.exceptions import ConfigError
from objstore.common.hashing import HashConf, hash_path, load_hash_conf


def test_hash_path_is_md5_of_salted_path():
    conf = HashConf(b'pre', b'suf')
    expected = hashlib.md5(b'pre/a/c/o' + b'suf').hexdigest()
    assert hash_path('a', 'c', 'o', hash_conf=conf) == expected
    assert hash_path('a', hash_conf=conf) == hashlib.md5(
        b'pre/asuf').hexdigest()


def test_raw_digest_and_unicode():
    conf = HashConf(b'', b'x')
    raw = hash_path('\u00e9', 'c', hash_conf=conf, raw_digest=True)
    assert raw == hashlib.md5('/\u00e9/cx'.encode('utf-8')).digest()


def test_secret_changes_placement():
    assert (hash_path('a', hash_conf=HashConf(b'', b'1')) !=
            hash_path('a', hash_conf=HashConf(b'', b'2')))


def test_object_needs_container():
    with pytest.raises(ValueError):
        hash_path('a', None, 'o')


def test_load_hash_conf_from_dir_and_file(tmp_path):
    conf_file = tmp_path / 'objstore.conf'
    conf_file.write_text('[objstore-hash]\npath_hash_prefix = p\n'
                         'path_hash_suffix = s\n')
    assert load_hash_conf(str(tmp_path)) == HashConf(b'p', b's')
    assert load_hash_conf(str(conf_file)) == HashConf(b'p', b's')


@pytest.mark.parametrize('text', [
    '', '[other]\nx = 1\n',
    '[objstore-hash]\npath_hash_prefix =\npath_hash_suffix =\n'])
def test_load_hash_conf_errors(tmp_path, text):
    conf_file = tmp_path / 'objstore.conf'
    conf_file.write_text(text)
    with pytest.raises(ConfigError):
        load_hash_conf(str(conf_file))


def test_missing_conf_file(tmp_path):
    with pytest.raises(ConfigError):
        load_hash_conf(str(tmp_path / 'nope.conf'))

import pytest

from objstore.common import http


@pytest.mark.parametrize('path,args,expected', [
    ('/a', (1, 3), ['a', None, None]),
    ('/a/c/o', (1, 3), ['a', 'c', 'o']),
    ('/d/p/a/c/o/x/y', (3, 5, True), ['d', 'p', 'a', 'c', 'o/x/y']),
    ('/d/p/a', (3, 5, True), ['d', 'p', 'a', None, None]),
    ('/a/', (1, 2), ['a', None]),
])
def test_split_path(path, args, expected):
    assert http.split_path(path, *args) == expected


@pytest.mark.parametrize('path,args', [
    ('a', (1, 1)), ('/', (1, 1)), ('/a/b', (1, 1)), ('//a', (1, 2)),
    ('/a//c', (1, 3)), ('/d/p', (3, 5, True)), ('/d//a/c', (3, 5, True))])
def test_split_path_rejects(path, args):
    with pytest.raises(ValueError):
        http.split_path(path, *args)


def test_status_classes_and_text_error():
    assert http.is_success(201) and not http.is_success(304)
    assert http.is_client_error(404) and http.is_server_error(507)
    resp = http.text_error(http.HTTPBadRequest, 'Missing X-Timestamp')
    assert resp.status_int == 400
    assert resp.body == b'Missing X-Timestamp\n'
    assert http.HTTPClientDisconnect().status_int == 499

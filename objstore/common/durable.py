"""Durable file-system steps: the one home of fsync-a-dir and atomic writes.

The write order every part relies on: write a temp file in the target's
directory -> fsync it -> rename over the target -> fsync the directory.
A reader then sees the old file or the whole new one, and a crash after
return cannot lose it. New directories are durable once their parent is
fsynced.
"""

import os
import tempfile


def fsync_dir(path):
    """Make renames and new entries inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path):
    """makedirs; returns the directories it created, outermost first.

    The caller fsyncs their parents (``fsync_new_dirs``) *after* renaming
    its file in: one journal commit then covers the mkdirs and the rename,
    where fsyncing after each mkdir would cost a commit apiece.
    """
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    created = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue
        created.append(directory)
    return created


def fsync_new_dirs(created):
    """Make the entries of directories ``make_dirs`` created durable."""
    for directory in reversed(created):
        fsync_dir(os.path.dirname(directory))


def makedirs_durable(path):
    """``os.makedirs`` whose new directories survive a power cut: each new
    directory's parent is fsynced, outermost first."""
    for directory in make_dirs(path):
        fsync_dir(os.path.dirname(directory))


def write_atomic(path, data, mode=0o644):
    """Replace ``path`` with ``data`` (bytes) atomically and durably.

    The temp file lives in the target's own directory (same filesystem),
    named with a leading dot so listings skip it.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=directory,
                                    prefix='.%s.' % os.path.basename(path),
                                    suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    except BaseException:
        try:
            os.unlink(tmp_path)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(directory)

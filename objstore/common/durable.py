"""Durable file-system steps: the one home of fsync-a-dir and atomic writes.

The write order every part relies on: write a temp file in the target's
directory -> fsync it -> rename over the target -> fsync the directory.
A reader then sees the old file or the whole new one, and a crash after
return cannot lose it. New directories are durable once their parent is
fsynced.

``start_writeback`` only hurries the disk along (a large file's pages go
out while the rest is still arriving, so its final fsync has little left
to wait for); it makes nothing durable by itself. ``spread_subdirs`` only
changes where the filesystem places new directories; it makes nothing
durable either.
"""

import ctypes
import fcntl
import os
import random
import struct
import tempfile

# sync_file_range(2) flag: start writing the range's dirty pages, wait for
# nothing. Linux only; the stdlib's os module does not wrap the call.
SYNC_FILE_RANGE_WRITE = 2
_libc = ctypes.CDLL(None, use_errno=True)
_sync_file_range = getattr(_libc, 'sync_file_range', None)
if _sync_file_range is not None:
    _sync_file_range.argtypes = (ctypes.c_int, ctypes.c_int64,
                                 ctypes.c_int64, ctypes.c_uint)


def start_writeback(fd, offset, length):
    """Ask the kernel to start writing ``length`` bytes of ``fd`` from
    ``offset`` to disk, and return without waiting.

    Left alone, the kernel keeps a fresh file's pages dirty in memory
    until far more of them pile up than one object holds (or half a
    minute passes), so the fsync at the end of a large upload would write
    the whole file while the upload waits, the disk having idled while the
    bytes arrived. A no-op where the call does not exist; errors are
    ignored too: the caller's fsync still decides durability.
    """
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE)


# The inode flag chattr(1) sets with +T ("top of directory hierarchy",
# FS_TOPDIR_FL in linux/fs.h) and the ioctls that read and write a file's
# flags (an unsigned int, whatever the ioctl numbers say).
FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_TOPDIR_FL = 0x00020000
_FLAGS = struct.Struct('I')


def spread_subdirs(path):
    """Ask the filesystem to place each new subdirectory of ``path`` in
    a block group of its own choosing, as it does for those of ``/``;
    True when it took the request.

    ext4 puts a new directory, and a new file, in the group of its parent
    (its inode table), and takes the first free inode there. Without a
    journal it skips, one by one, every inode freed there in the last
    minute or more. One tree taking all the creations and deletions of a
    busy store keeps one group full of such inodes, and every mkdir and
    file creation scanned them (perf: two thirds of a 4 KiB PUT's CPU).
    Best effort: filesystems without the flag refuse it, and nothing
    depends on it but speed.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        flags = _FLAGS.unpack(fcntl.ioctl(fd, FS_IOC_GETFLAGS,
                                          _FLAGS.pack(0)))[0]
        if not flags & FS_TOPDIR_FL:
            fcntl.ioctl(fd, FS_IOC_SETFLAGS,
                        _FLAGS.pack(flags | FS_TOPDIR_FL))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


# A new temp file is created by this open or not at all (never another's
# file, nor a symlink's target), and is not inherited across exec.
_TEMP_FILE_FLAGS = (os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW |
                    os.O_CLOEXEC)


def create_temp_file(directory, prefix):
    """A new empty file in ``directory``, open for writing: (fd, path).

    What tempfile.mkstemp does, with less around its one open: mkstemp's
    name generator asks the kernel for the process id at every call (to
    notice a fork) and its path goes through abspath, on every object
    write. The ``random`` module's generator is reseeded in a forked child
    by the stdlib itself. A name already taken is drawn again.
    """
    while True:
        path = os.path.join(directory, '%s%016x' % (
            prefix, random.getrandbits(64)))
        try:
            return os.open(path, _TEMP_FILE_FLAGS, 0o600), path
        except FileExistsError:
            continue


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

    An existing ``path`` costs one stat (a write to an existing object);
    else ``mkdir`` is tried from the inside out, going up only while the
    parent is missing, with no stat of each level: a new object's hash
    dir takes one mkdir, or three when its suffix dir is new too.
    """
    created = []
    if os.path.isdir(path):
        return created
    missing = []  # innermost first: dirs whose parent was missing too
    while path:
        try:
            os.mkdir(path)
        except FileExistsError:
            break
        except FileNotFoundError:
            missing.append(path)
            path = os.path.dirname(path)
            continue
        created.append(path)
        break
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue  # a concurrent writer's
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

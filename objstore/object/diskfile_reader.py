"""DiskFileReader: an opened object's body, read whole (verified) or by
ranges, as bytes or as FileSpans for sendfile. ``DiskFile.reader()`` makes
one; see ``diskfile`` for the API.
"""

import hashlib
import os

from objstore.common import green
from objstore.common.exceptions import DiskFileError
from objstore.common.green import FileSpan
from objstore.object.body_checksum import crc32c_module

# A GET sent with sendfile verifies the file's checksum reading this much
# at a time into one reused buffer (small enough to stay in the CPU's
# cache between the read and the hash), and this much per native-thread
# trip: a trip costs about a dozen syscalls and two GIL hand-offs, while a
# pool thread held for a few ms more delays no fsync (the pool has threads
# to spare; see _digest_all).
VERIFY_READ_BYTES = 1024 * 1024
VERIFY_TRIP_BYTES = 8 * VERIFY_READ_BYTES


class DiskFileReader:
    """Iterates an object's bytes in ``disk_chunk_size`` chunks.

    Full iteration checks the size and the checksum against the metadata:
    the CRC32C when the metadata has one (``crc``), else the MD5 (the
    ETag). On a mismatch it quarantines the object and raises
    DiskFileQuarantined *instead of yielding the last chunk*: the server
    then drops the connection, and the client sees fewer bytes than
    Content-Length, so it cannot take corrupt data for good data.

    ``spans()`` and ``range_spans()`` give the same bodies as green.FileSpans
    where they can, for a server that sends them with sendfile; ``spans()``
    checks the checksum in a native thread meanwhile and holds back the
    last chunk the same way.
    """

    def __init__(self, diskfile, fd, size, etag, chunk_size, crc=None):
        self.diskfile = diskfile
        self._fd = fd
        self.size = size
        self.etag = etag
        self.crc = crc
        self.chunk_size = chunk_size
        self._verifier = None
        self._stop_verifying = False

    def _read_at(self, offset, length):
        return os.pread(self._fd, length, offset)

    @property
    def checked_with(self):
        """The name of the checksum a full read is checked with."""
        return 'md5' if self.crc is None else 'crc32c'

    def _new_digest(self, in_hub):
        """A digest of the kind ``checked_with`` names.

        ``in_hub``: it hashes in the server's green thread, where giving
        up the GIL around a chunk's CRC (µs) gains nothing and getting it
        back can wait behind another thread; a native thread gives it up
        on large buffers (the library's default) so the hub runs on.
        """
        if self.crc is None:
            return hashlib.md5(usedforsecurity=False)
        return crc32c_module().CRC32CHash(
            gil_release_mode=0 if in_hub else -1)

    def __iter__(self):
        digest = self._new_digest(in_hub=True)
        offset, held = 0, None
        try:
            while True:
                chunk = self._read_at(offset, self.chunk_size)
                if not chunk:
                    break
                offset += len(chunk)
                digest.update(chunk)
                if held is not None:
                    yield held
                held = chunk
                if len(chunk) < self.chunk_size:
                    # A short read of a regular file is its end: a small
                    # object needs no second read to find it.
                    break
            self._check(offset, digest.hexdigest())
            if held is not None:
                yield held
        finally:
            self.close()

    def _check(self, size, checksum):
        """Quarantine (DiskFileQuarantined) unless what was read is what
        the metadata promised (``checksum``: of the ``checked_with`` kind).
        """
        expected = self.etag if self.crc is None else self.crc
        if size != self.size or checksum != expected:
            self.diskfile.quarantine_read(
                self._fd, 'read %d bytes with %s %s, expected %d bytes '
                'with %s' % (size, self.checked_with, checksum, self.size,
                             expected))

    def spans(self):
        """The whole body as __iter__ gives it: all but the last chunk as
        one FileSpan, the last chunk as bytes once the checksum matched.

        A small object gains nothing from sendfile, and a file whose size
        is not the metadata's is read as __iter__ reads it, which
        quarantines it as always (sendfile would only stop at its end).
        """
        if self.size <= self.chunk_size or \
                os.fstat(self._fd).st_size != self.size:
            yield from self
            return
        try:
            # Reading the file again costs ~0.1 ms per MB (and MD5 1.2,
            # CRC32C 0.03): in native threads it keeps pace with sendfile
            # instead of adding to it (pread and both hashes release the
            # GIL).
            self._verifier = green.spawn(self._digest_all)
            tail = self.size - self.chunk_size
            yield FileSpan(self._fd, 0, tail)
            verifier, self._verifier = self._verifier, None
            self._check(*verifier.wait())
            last = self._read_at(tail, self.chunk_size)
            if len(last) != self.chunk_size:
                raise DiskFileError('%s ended at %d, before %d' % (
                    self.diskfile.hash_dir, tail + len(last), self.size))
            yield last
        finally:
            self.close()

    def _digest_all(self):
        """(bytes read, checksum) of the whole file, in a green thread.
        Stops early when close() asks it to (the answer was abandoned).

        Each VERIFY_TRIP_BYTES go to a native thread on their own: the
        thread pool is shared with the fsyncs of writes, which must not
        wait behind the whole of a large object's checksum.
        """
        digest = self._new_digest(in_hub=False)
        buffer = bytearray(VERIFY_READ_BYTES)
        offset = 0
        while not self._stop_verifying:
            got = green.tpool_execute(self._digest_trip, digest, buffer,
                                      offset)
            if not got:
                break
            offset += got
        return offset, digest.hexdigest()

    def _digest_trip(self, digest, buffer, offset):
        """Add up to VERIFY_TRIP_BYTES from ``offset`` to ``digest``, read
        into ``buffer`` a piece at a time; the bytes read (0 at the end)."""
        done = 0
        while done < VERIFY_TRIP_BYTES:
            got = os.preadv(self._fd, [buffer], offset + done)
            if not got:
                break
            digest.update(memoryview(buffer)[:got])
            done += got
        return done

    def iter_range(self, start, stop):
        """The bytes [start, stop) (not verified: a range cannot be)."""
        offset = start
        while offset < stop:
            chunk = self._read_at(offset, min(self.chunk_size, stop - offset))
            if not chunk:
                raise DiskFileError('%s ended at %d, before %d'
                                    % (self.diskfile.hash_dir, offset, stop))
            offset += len(chunk)
            yield chunk

    def range_spans(self, start, stop):
        """The bytes [start, stop) as one FileSpan (a file that ends early
        cuts the answer short, as iter_range does)."""
        yield FileSpan(self._fd, start, stop - start)

    def close(self):
        if self._verifier is not None:
            # The native thread reads self._fd: let it stop before the fd
            # number can be closed and reused.
            self._stop_verifying = True
            try:
                self._verifier.wait()
            except Exception:  # noqa: B902 -- its answer is not wanted
                pass
            self._verifier = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

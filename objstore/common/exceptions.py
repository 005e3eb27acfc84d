"""The domain exception tree.

Storage, ring and DB code raise these and never build HTTP responses; each
server maps them to status codes in one table.
"""


class ObjstoreError(Exception):
    """Base of every domain error."""


class ConfigError(ObjstoreError):
    """A config file or option is missing or invalid."""


class RingError(ObjstoreError):
    """Base for ring and builder errors."""


class RingBuilderError(RingError):
    """An operation on a builder is not possible (bad device, bad params)."""


class RingValidationError(RingError):
    """A builder or ring fails its consistency checks."""


class RingLoadError(RingError):
    """A ring or builder file is missing, corrupt or of an unknown version."""


class DuplicateDeviceError(RingBuilderError):
    """A device with the same ip:port/device (or id) is already present."""


class ChunkReadTimeout(ObjstoreError):
    """A client or backend stopped sending mid-body."""


class ChunkWriteTimeout(ObjstoreError):
    """A client or backend stopped reading mid-body."""


class ConnectionTimeout(ObjstoreError):
    """Connecting to a backend took longer than conn_timeout."""


class DiskFileError(ObjstoreError):
    """Base for object storage (DiskFile) errors."""


class DiskFileNotExist(DiskFileError):
    """No object data exists for the name."""


class DiskFileDeleted(DiskFileNotExist):
    """The newest state of the object is a tombstone.

    ``timestamp`` is the tombstone's timestamp (a Timestamp) or None.
    """

    def __init__(self, timestamp=None, metadata=None):
        super().__init__(timestamp)
        self.timestamp = timestamp
        self.metadata = metadata or {}


class DiskFileExpired(DiskFileNotExist):
    """The object's X-Delete-At has passed."""

    def __init__(self, metadata=None):
        super().__init__()
        self.metadata = metadata or {}


class DiskFileQuarantined(DiskFileError):
    """The object was found corrupt and moved to quarantine."""


class DiskFileCollision(DiskFileError):
    """The stored name differs from the requested one (hash collision)."""


class DiskFileNoSpace(DiskFileError):
    """The device is full."""


class DiskFileDeviceUnavailable(DiskFileError):
    """The device is not mounted or not a directory."""


class DiskFileXattrNotSupported(DiskFileError):
    """The filesystem does not support extended attributes."""


class WriteConditionFailed(DiskFileError):
    """A conditional write's precondition no longer holds when it would
    become visible (412)."""


class DiskFileConflict(DiskFileError):
    """A write is not newer than what the node holds (409)."""

    def __init__(self, existing_timestamp=None):
        super().__init__(existing_timestamp)
        self.existing_timestamp = existing_timestamp


class DatabaseError(ObjstoreError):
    """Base for SQLite broker errors."""


class DatabaseNotFound(DatabaseError):
    """No DB file exists for the account or container."""


class DatabaseAlreadyExists(DatabaseError):
    """Creating a DB that already exists."""


class DatabaseCorrupt(DatabaseError):
    """The DB failed an integrity check or could not be opened."""


class DatabaseRemoved(DatabaseError):
    """The DB was removed (handoff pushed home, or tombstone reclaimed)
    while a write to it was under way: the write is refused, not
    acknowledged, so that its sender retries."""


class LockTimeout(ObjstoreError):
    """A file lock could not be taken in time."""


class StoragePolicyUnavailable(ObjstoreError):
    """A request names a storage policy this process does not know or has
    no storage for."""


class InvalidTimestamp(ObjstoreError, ValueError):
    """A timestamp string or number cannot be parsed."""


class RangeUnsatisfiable(ObjstoreError):
    """No range of a Range header overlaps the content (416)."""


class BadRange(ObjstoreError, ValueError):
    """A Range header is syntactically invalid (ignored, as RFC 7233 says)."""


class ListingError(ObjstoreError, ValueError):
    """Base for a listing request that cannot be served as asked."""


class InvalidListingParam(ListingError):
    """A listing parameter or Accept header is malformed (400)."""


class ListingPreconditionFailed(ListingError):
    """A listing parameter is out of bounds: limit, delimiter (412)."""


class ListingNotAcceptable(ListingError):
    """No listing format matches the Accept header (406)."""


class InvalidInput(ObjstoreError, ValueError):
    """A client-supplied name, header or value breaks a constraint.

    ``status`` is the HTTP status the server answers with (400, 411, 413...);
    ``plain``: the reason is typed text/plain, as Swift's constraint checks
    type theirs; False for the few Swift's proxy types as an HTML page.
    """

    def __init__(self, message, status=400, plain=True):
        super().__init__(message)
        self.message = message
        self.status = status
        self.plain = plain


class NameTooLong(InvalidInput):
    """A name over its length limit. ``kind``: 'account', 'container' or
    'object'. The proxy answers 400, except to a verb other than PUT on a
    container or object name: 404, as Swift (no such name was stored)."""

    def __init__(self, message, kind):
        # Swift's object constraint check types its reason, its proxy's
        # account and container checks do not.
        super().__init__(message, plain=kind == 'object')
        self.kind = kind


class DiskFileBadMetadata(DiskFileError):
    """An object file's metadata is missing, unreadable or of an unknown
    version (the file is then quarantined)."""

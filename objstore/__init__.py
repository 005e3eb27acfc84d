"""objstore: a Swift-style object storage cluster."""

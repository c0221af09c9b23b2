"""Storage (L1): content store (``content``), SQLite metadata (``metadata``), mounts (``mount``),
snapshotters (``snapshots``), leases (``leases``), garbage collection (``gc``) and ``check``."""

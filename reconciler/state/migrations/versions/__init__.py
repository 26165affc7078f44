"""Schema revisions, oldest first: 0001 state core, 0002 record sync."""

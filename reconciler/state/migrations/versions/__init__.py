"""Schema revisions, oldest first: 0001 state core, 0002 record sync, 0003 lock holder process,
0004 revisits and full-listing times."""

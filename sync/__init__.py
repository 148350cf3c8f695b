"""The sync protocol on the server: applying ops, three-way merge, conflicts, the changes feed, checkpoints."""

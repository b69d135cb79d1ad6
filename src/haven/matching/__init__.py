"""Matching a case's contents against every imported hash set: exact hashes, then PDQ."""

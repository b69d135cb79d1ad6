"""Deconfliction registers (issue 7): keyed hashes of what a store holds, exchanged between agencies.

- ``keys``: the agreed HMAC keys (``$HAVEN_HOME/keys/intel/NAME.key``) and the keyed hash itself.
- ``values``: what the local register holds, derived live from the store (identifiers, matched series,
  named victim identities), and which cases hold a value.
- ``fileformat``: the register file (JSON lines: a header with a MAC, then ``{kind, value_hash}`` entries).
- ``exchange``: export a register file, import a partner's (all-or-nothing, idempotent), list them.
- ``deconflict``: overlaps of a case (or of the whole store) with other cases and partner registers.
"""

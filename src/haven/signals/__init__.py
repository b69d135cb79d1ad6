"""Signal (hash) types, one module each; look them up by name with ``signal_type``."""

from __future__ import annotations

from haven.signals.base import SignalType


def signal_types() -> dict[str, type[SignalType]]:
    """All signal types by name. Imported on call: PDQ pulls in numpy and Pillow."""
    from haven.signals.crypto import Md5Signal, Sha1Signal, Sha256Signal
    from haven.signals.pdq import PdqSignal

    return {cls.name: cls for cls in (Md5Signal, Sha1Signal, Sha256Signal, PdqSignal)}


def signal_type(name: str) -> type[SignalType]:
    """The signal type called ``name`` (e.g. "md5", "pdq"); KeyError if unknown."""
    return signal_types()[name.lower()]

"""Errors that end a command with a one-line reason (exit 1), never a traceback unless --debug."""


class HavenError(Exception):
    """A run failed for a reason the user can act on."""


class CaseNotFoundError(HavenError):
    def __init__(self, reference: str) -> None:
        super().__init__(f"no case '{reference}' (create it with: haven case create {reference})")

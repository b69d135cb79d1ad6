"""Haven: triage, matching and intelligence for child-protection investigators."""

__version__ = "0.1.0"

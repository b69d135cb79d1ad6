"""Haven share packages: signed hash-and-category lists exchanged between partner agencies.

``signing`` holds the Ed25519 keys and signatures (no store), ``package`` the file format both sides
share, ``writer`` writes a package from a stream of entries, ``case_export`` feeds it a case's
categorized contents, and ``keys`` keeps the trusted partner keys in the store. The reader that imports
a package is ``haven.formats.share_package``. The format itself is specified in docs/share-package.md.
"""

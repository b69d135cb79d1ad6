"""Targets (issue 7): identifiers linked into people or account clusters within a case.

``cooccurrence`` (identifiers of one record, hub guard), ``fuzzy_features`` + ``fuzzy`` (splink record
linkage within the case and against every other case), ``service`` (a re-runnable linking run that keeps
what analysts locked), ``actions`` (name, note, merge, split), ``listing`` (the JSON shape), ``graph``
(networkx, GraphML), ``svg`` (the picture), ``report_section`` (what the case report shows).
"""

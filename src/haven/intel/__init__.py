"""Intelligence (issue 7): identifiers pulled out of seized material, sightings, targets, routing to the
country that can act, deconfliction between cases and partner agencies, referrals. See
docs/ARCHITECTURE.md for the module map; ``haven intel ...`` is the command group."""

"""`flitstack reconcile`: does the target hold what the source and the state say it should?

    source_side.py  what the spec makes of the current source (outcome ids, the lookups it gives)
    counts.py       an object's balance: source = loaded + quarantined + filtered, loaded in the target
    readback.py     reading loaded records back from the target (existence, lookup values)
    lookups.py      null and broken lookups against the crosswalk
    model.py        the result, and its JSON form (schemas/reconciliation.schema.json)
    run.py          the whole reconciliation, object by object in plan order
"""

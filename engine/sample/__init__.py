"""`flitstack sample`: a referentially closed slice of the source, loaded, read back and compared.

`selection` picks the slice from the spec's own lookups, `values` puts expected
and read-back values in one comparable form, and `diff` reads the loaded records
back through the target (`Target.read_back`, by the ids the crosswalk holds) and
builds the field-level comparison the analyst signs off.
"""

"""`flitstack sample`: a referentially closed slice of the source, loaded, read back and compared.

`selection` picks the slice from the spec's own lookups, `readback` reads the
loaded records back from the target by the ids the crosswalk holds, `values`
puts expected and read-back values in one comparable form, and `diff` builds
the field-level comparison the analyst signs off.
"""

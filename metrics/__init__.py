"""Goals and metrics: the catalog (goals as data), the attainment engine, targets and peer groups.

Reads the store, never writes dataset rows; pages and exports take the tidy frame from
`metrics.engine.attainment` and never re-derive numbers.
"""

"""SQL for time spans, computed by the database so that no Python touches a row."""

from django.db.models import F, FloatField, Func


class SecondsBetween(Func):
    """Seconds from one datetime column to another, as a float (NULL when either is NULL): the wallboard's
    metrics (live/metrics.py) and the analytics rollup (analytics/rollup.py, INSERT … SELECT) sum them."""

    output_field = FloatField()

    def __init__(self, start: str, end: str) -> None:
        super().__init__(F(start), F(end))

    def as_sqlite(self, compiler, connection, **extra):
        (start, start_params), (end, end_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return f"((julianday({end}) - julianday({start})) * 86400.0)", [*end_params, *start_params]

    def as_postgresql(self, compiler, connection, **extra):
        (start, start_params), (end, end_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return f"EXTRACT(EPOCH FROM ({end} - {start}))::float8", [*end_params, *start_params]

"""Querysets compiled to SQL once per process, for the few queries every check-in runs.

Building and compiling a queryset (filters, joins, the SELECT list of 60 columns) costs more CPU than
running it: on the check-in path it was about a third of the request. A `CompiledQuery` is written as an
ordinary queryset, built once with sentinel values standing for its parameters; the SQL Django compiles
from it is kept, and each call binds the real values in the sentinels' places and reads the rows through
Django's own converters, so the rows are what the queryset itself would give (model instances with their
`select_related` objects and annotations, or dicts for `.values()`).

A query's shape must not depend on the values (same joins, same LIMIT): callers that need another shape
(another role's scoping) use another `CompiledQuery` or the plain queryset.
"""

from __future__ import annotations

import copy
import datetime as dt
import operator
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import NOT_PROVIDED, F, Field, Func, JSONField, Model, QuerySet
from django.db.models import query as model_query
from django.db.models.query import ModelIterable, ValuesIterable
from django.db.models.sql.compiler import SQLCompiler


def _identity(value: Any) -> Any:
    return value


def _adapters(sentinel: object, connection: BaseDatabaseWrapper) -> tuple[Callable[[Any], Any], ...]:
    """How a lookup may have passed a value of the sentinel's type to the database (SQLite: datetimes and
    dates as text, UUIDs as hex)."""
    ops = connection.ops
    if isinstance(sentinel, dt.datetime):
        return _identity, ops.adapt_datetimefield_value
    if isinstance(sentinel, dt.date):
        return _identity, ops.adapt_datefield_value
    if isinstance(sentinel, uuid.UUID):
        return _identity, operator.attrgetter("hex")
    return (_identity,)


M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Compiled:
    compiler: SQLCompiler  # set up by one as_sql(): select, klass_info, annotation_col_map
    sql: str
    # per parameter: the argument's name and how the database adapter passes it, or None and the constant
    slots: tuple[tuple[str | None, Any], ...]
    values: tuple[str, ...] | None  # the keys of a .values() query's dicts; None for model instances
    _converters: dict[int, list[tuple[int, tuple[Any, ...], Any]]] = field(default_factory=dict)

    def converters_for(self, connection: BaseDatabaseWrapper) -> list[tuple[int, tuple[Any, ...], Any]]:
        """The columns' converters, worked out once per connection (each thread has its own)."""
        found = self._converters.get(id(connection))
        if found is None:
            compiler = copy.copy(self.compiler)
            compiler.connection = connection
            columns = [s[0] for s in compiler.select[0:compiler.col_count]]
            found = [(pos, tuple(convs), expression)
                     for pos, (convs, expression) in compiler.get_converters(columns).items()]
            self._converters[id(connection)] = found
        return found

    @cached_property
    def _model_layout(self) -> tuple[type[Model], int, int, list[str], list[Any], dict[str, int]]:
        """What ModelIterable works out for each query: the model, its columns, the select_related populators."""
        compiler = self.compiler
        select, klass_info = compiler.select, compiler.klass_info
        assert klass_info is not None
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [f[0].target.attname for f in select[start:end]]
        populators = model_query.get_related_populators(klass_info, select, "default")  # type: ignore[attr-defined]  # not in django-stubs
        return klass_info["model"], start, end, init_list, populators, dict(compiler.annotation_col_map or {})

    def instance(self, row: list[Any], using: str) -> Any:
        """A model instance from a converted row, as ModelIterable makes it."""
        model_cls, start, end, init_list, populators, annotations = self._model_layout
        obj = model_cls.from_db(using, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for attr_name, col_pos in annotations.items():
            setattr(obj, attr_name, row[col_pos])
        return obj


class CompiledQuery:
    """`build(**sentinels)` returns the queryset; `fetch(**values)` runs it with `values` in their places."""

    def __init__(self, build: Callable[..., QuerySet[Any]], **sentinels: object) -> None:
        self._build = build
        self._sentinels = sentinels
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str) -> _Compiled:
        with self._lock:
            if alias in self._compiled:
                return self._compiled[alias]
            queryset = self._build(**self._sentinels).using(alias)
            if queryset._iterable_class not in (ModelIterable, ValuesIterable):
                raise TypeError("CompiledQuery reads model instances or .values() dicts")
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            slots = tuple(self._slot(param, connections[alias]) for param in params)
            missing = set(self._sentinels) - {name for name, _ in slots if name}
            if missing:
                raise ValueError(f"sentinels not found among the query's parameters: {sorted(missing)}")
            query = queryset.query
            values = ((*query.extra_select, *query.values_select, *query.annotation_select)
                      if queryset._iterable_class is ValuesIterable else None)
            compiled = _Compiled(compiler=compiler, sql=sql, slots=slots, values=values)
            self._compiled[alias] = compiled
            return compiled

    def _slot(self, param: object, connection: BaseDatabaseWrapper) -> tuple[str | None, object]:
        """Which argument `param` stands for (a sentinel as the database adapter passed it), or None."""
        for name, sentinel in self._sentinels.items():
            for adapt in _adapters(sentinel, connection):
                if adapt(sentinel) == param and type(adapt(sentinel)) is type(param):
                    return name, adapt
        return None, param

    def fetch(self, **values: Any) -> list[Any]:
        using = "default"
        compiled = self._compiled.get(using) or self._compile(using)
        params = tuple(adapt(values[name]) if name else adapt for name, adapt in compiled.slots)
        connection = connections[using]  # this thread's connection, not the one that compiled
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not rows:
            return []
        converted = _converted(rows, compiled.converters_for(connection), connection)
        if compiled.values is not None:
            return [dict(zip(compiled.values, row, strict=True)) for row in converted]
        return [compiled.instance(row, using) for row in converted]


def _converted(rows: list[Any], converters: list[tuple[int, tuple[Any, ...], Any]],
               connection: BaseDatabaseWrapper) -> list[Any]:
    """The rows with each column's database converters applied (SQLCompiler.apply_converters)."""
    if not converters:
        return rows
    out = []
    for row in map(list, rows):
        for pos, convs, expression in converters:
            value = row[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            row[pos] = value
        out.append(row)
    return out


_INSERTS: dict[tuple[type[Model], str], tuple[str, tuple[Field[Any, Any], ...], bool]] = {}


def _insert_sql(model: type[Model], connection: BaseDatabaseWrapper) -> tuple[str, tuple[Field[Any, Any], ...], bool]:
    meta = model._meta
    fields = tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field and not f.generated)
    if any(f.db_default is not NOT_PROVIDED and not f.has_default() for f in fields):
        raise TypeError(f"{model.__name__} has fields with only a database default: insert it with save()")
    quote = connection.ops.quote_name
    returning = connection.features.can_return_columns_from_insert
    # Only the model's own table and column names, quoted: no value is formatted into the SQL.
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({{}})"  # noqa: S608
    if returning:
        sql += f" RETURNING {quote(meta.pk.column)}"
    _INSERTS[model, connection.alias] = entry = (sql, fields, returning)
    return entry


def insert_row(obj: Model, using: str = "default") -> None:
    """INSERT `obj` as a new row, as `obj.save(force_insert=True)` would (auto_now_add and defaults applied,
    the new primary key set), with its SQL made once per model. It sends no pre_save/post_save signals: for the
    rows each check-in writes (the check-in, its assessment, the audit row), to which nothing listens
    (tests/tracker/test_compiled.py checks that).

    An empty value is written as the literal NULL rather than a parameter: a check-in leaves most of its 60
    answers empty, and with fewer than 50 parameters the driver keeps the statement parsed (psycopg caches
    the parsing of statements up to 50 parameters; a 69-parameter INSERT was parsed anew every time)."""
    model = type(obj)
    connection = connections[using]
    sql, fields, returning = _INSERTS.get((model, using)) or _insert_sql(model, connection)
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    params = [value for value in values if value is not None]
    placeholders = ", ".join("NULL" if value is None else "%s" for value in values)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(placeholders), params)
        pk = (cursor.fetchone()[0] if returning
              else connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column))
    if model._meta.auto_field is not None and obj.pk is None:
        obj.pk = pk
    obj._state.adding = False
    obj._state.db = using


class JSONArray(Func):
    """PostgreSQL's JSON_BUILD_ARRAY: values by position, so no key names travel as parameters."""

    function = "JSON_BUILD_ARRAY"
    output_field = JSONField()


def json_of(model: type[Model], path: str = "") -> Func:
    """Every column of `model` (reached through `path`, such as "therapy__"), in field order, as one JSON array:
    to read related rows inside another query (PostgreSQL's JSONB_AGG), then `from_json`. An array rather than
    an object: the SQL names no keys, and stays short with few parameters, so the driver keeps it parsed."""
    return JSONArray(*(F(f"{path}{f.attname}") for f in model._meta.concrete_fields))


def from_json(model: type[M], values: list[Any]) -> M:
    """The instance `json_of` described, each value converted as the field reads it (dates from ISO text)."""
    fields = model._meta.concrete_fields
    return model.from_db("default", [f.attname for f in fields],
                         [f.to_python(value) for f, value in zip(fields, values, strict=True)])

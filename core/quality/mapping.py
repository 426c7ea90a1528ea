"""Column mappings per source department, as configuration (``data/reference/import_mappings/*.json``).

A mapping names the department (``source``), the model the rows become (``target``), each source
column's model field, type, unit and aliases, constants added to every row (``kind`` of a record),
what to do with unexpected columns, and the deduplication key and order. :func:`parse_mapping`
validates a mapping and says exactly what is wrong with a bad one; it reads no file.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import InvalidError
from core.quality.normalize import ENUM_MAPS

SOURCES = (
    "market", "tax", "social_insurance", "housing_fund", "electricity", "water", "gas", "judicial", "penalty",
    "public_credit", "finance",
)  # the GovSource values plus "finance" (statements); a test keeps them in step with core.models.types
TARGETS = ("enterprise", "shareholding", "gov_record", "financial_statement")
FieldType = Literal["text", "code", "credit_code", "date", "month", "amount", "number", "integer", "enum", "year"]


class MappingConfigError(InvalidError):
    """A column mapping is malformed; ``problems`` lists each problem with its location."""

    key = "dq.config.mapping_invalid"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(detail="; ".join(problems))


class ColumnSpec(BaseModel):
    """One source column: the model field it fills and how to read it."""

    model_config = ConfigDict(extra="forbid")

    field: str
    type: FieldType = "text"
    required: bool = True  # the column must be present in the file (cell emptiness is checked later)
    aliases: list[str] = Field(default_factory=list)
    unit: Literal["yuan", "wan", "yi"] | None = None  # for amounts; a header suffix such as (万元) overrides it
    unit_column: str | None = None  # a source column holding the unit per row
    enum: str | None = None  # a name in normalize.ENUM_MAPS
    values: dict[str, str] | None = None  # or an inline label -> value table

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.type == "enum" and not (self.enum or self.values):
            raise ValueError("an enum column needs 'enum' or 'values'")
        if self.enum and self.enum not in ENUM_MAPS:
            raise ValueError(f"unknown enum {self.enum!r}; known: {', '.join(sorted(ENUM_MAPS))}")
        if (self.unit or self.unit_column) and self.type != "amount":
            raise ValueError("'unit' and 'unit_column' apply to amount columns only")
        return self


class DedupeSpec(BaseModel):
    """Rows with the same key: the last by ``order_by`` (then by file order) wins."""

    model_config = ConfigDict(extra="forbid")

    key: list[str] = Field(min_length=1)
    order_by: list[str] = Field(default_factory=list)


class ImportMapping(BaseModel):
    """A department file's layout and how its rows become model rows."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = Field(ge=1)
    source: Literal[SOURCES]  # type: ignore[valid-type]
    target: Literal[TARGETS]  # type: ignore[valid-type]
    description: str = ""
    encoding: str | None = None  # force an encoding; None detects UTF-8 / GBK / GB18030
    sheet: str | int = 0
    extra_columns: Literal["error", "ignore"] = "error"
    constants: dict[str, Any] = Field(default_factory=dict)
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    dedupe: DedupeSpec

    @model_validator(mode="after")
    def _fields_unique_and_keys_known(self) -> ImportMapping:
        fields = [c.field for c in self.columns.values()]
        dupes = sorted({f for f in fields if fields.count(f) > 1})
        if dupes:
            raise ValueError(f"fields mapped twice: {', '.join(dupes)}")
        known = set(fields) | set(self.constants)
        unknown = [k for k in [*self.dedupe.key, *self.dedupe.order_by] if k not in known]
        if unknown:
            raise ValueError(f"dedupe names unmapped fields: {', '.join(unknown)}")
        return self

    def field_types(self) -> dict[str, str]:
        return {c.field: c.type for c in self.columns.values()}


def parse_mapping(raw: str | bytes | dict[str, Any]) -> ImportMapping:
    """Validate a mapping given as JSON text or a parsed dict.

    Raises:
        MappingConfigError: listing every problem (``columns.注册资本.unit: …``).
    """
    try:
        data = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except json.JSONDecodeError as exc:
        raise MappingConfigError([f"not JSON: {exc.msg} at line {exc.lineno}"]) from exc
    try:
        return ImportMapping.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or '(mapping)'}: {e['msg']}" for e in exc.errors()]
        raise MappingConfigError(problems) from exc

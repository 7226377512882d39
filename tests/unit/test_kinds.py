"""The field specifications of each kind match the ORM model columns."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from registry.kinds import COMMON_FIELDS, KIND_SPECS, FacilityKind, FieldType, spec_for
from registry.models import KIND_MODELS


@pytest.mark.parametrize("kind", list(FacilityKind))
def test_every_field_is_a_model_column(kind: FacilityKind) -> None:
    model = KIND_MODELS[kind.value]
    table_columns = {c.name for c in inspect(model).local_table.columns} - {"id"}
    assert set(KIND_SPECS[kind].field_names) == table_columns


@pytest.mark.parametrize("kind", list(FacilityKind))
def test_enum_fields_have_choices_and_unique_headers(kind: FacilityKind) -> None:
    spec = KIND_SPECS[kind]
    seen: dict[str, str] = {"kind": "kind", "类型": "kind", "种类": "kind"}  # the multi-kind file column
    for field in (*COMMON_FIELDS, *spec.fields):
        if field.type is FieldType.ENUM and field.name != "status":
            assert field.choices, field.name
        for header in dict.fromkeys(h.lower() for h in field.headers):
            assert header not in seen, f"{header} used by {seen.get(header)} and {field.name}"
            seen[header] = field.name
    assert spec.statuses


def test_spec_for_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown facility kind 'library'"):
        spec_for("library")

"""importer: batch counts, before-images for rollback, error reports, review flags, pg_trgm

Revision ID: 0004_import
Revises: 0006
Create Date: 2026-11-22

Additive only.  ``pg_trgm`` (a contrib extension shipped with PostgreSQL)
gives ``similarity()`` for the near-duplicate check of imported names.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_import"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("import_batch") as batch:
        batch.add_column(sa.Column("n_rows", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.add_column(sa.Column("n_needs_coordinates", sa.Integer(), server_default=sa.text("0"),
                                   nullable=False))
        batch.add_column(sa.Column("n_warnings", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.add_column(sa.Column("mode", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("file_format", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("rolled_back_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rolled_back_by", sa.Text(), nullable=True))
    op.create_table(
        "import_change",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("before_facility", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("before_detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("previous_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f("fk_import_change_batch_id_import_batch"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("batch_id", "facility_id", name=op.f("pk_import_change")),
    )
    op.create_index(op.f("ix_import_change_previous_batch_id"), "import_change", ["previous_batch_id"])
    op.create_table(
        "import_report",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("report_csv_gz", sa.LargeBinary(), nullable=True),
        sa.Column("issues", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f("fk_import_report_batch_id_import_batch"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_import_report")),
    )
    op.create_table(
        "review_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("other_facility_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default=sa.text("'open'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["import_batch.id"], name=op.f("fk_review_flag_batch_id_import_batch"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["facility_id"], ["facility.id"], name=op.f("fk_review_flag_facility_id_facility"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["other_facility_id"], ["facility.id"],
                                name=op.f("fk_review_flag_other_facility_id_facility"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_flag")),
    )
    op.create_index(op.f("ix_review_flag_batch_id"), "review_flag", ["batch_id"])
    op.create_index(op.f("ix_review_flag_facility_id"), "review_flag", ["facility_id"])
    op.create_index("ix_review_flag_status", "review_flag", ["status"])


def downgrade() -> None:
    op.drop_index("ix_review_flag_status", table_name="review_flag")
    op.drop_index(op.f("ix_review_flag_facility_id"), table_name="review_flag")
    op.drop_index(op.f("ix_review_flag_batch_id"), table_name="review_flag")
    op.drop_table("review_flag")
    op.drop_table("import_report")
    op.drop_index(op.f("ix_import_change_previous_batch_id"), table_name="import_change")
    op.drop_table("import_change")
    with op.batch_alter_table("import_batch") as batch:
        for name in ("rolled_back_by", "rolled_back_at", "file_format", "mode", "n_warnings",
                     "n_needs_coordinates", "n_rows"):
            batch.drop_column(name)

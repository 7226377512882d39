"""compliance: findings, runs, reference points, facility.compliance_status

Stored verdicts of the rule engine (``registry.compliance``) written by
``registry.compliance_db``; reference layers searched by the spatial rules
(PK-7, KG-7, SR-16).  Chained to the head at the time of writing (0005).

Revision ID: 0003
Revises: 0005
Create Date: 2026-11-22 03:17:43.503770
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('compliance_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('kinds', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('n_facilities', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('n_findings', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('layers', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_run'))
    )
    op.create_geospatial_table('reference_point',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('layer', sa.String(length=32), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('is_synthetic', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_point'))
    )
    op.create_geospatial_index('idx_reference_point_geom', 'reference_point', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_reference_point_geom_geog', 'reference_point', [sa.literal_column('geography(geom)')], unique=False, postgresql_using='gist')
    op.create_index('ix_reference_point_layer', 'reference_point', ['layer'], unique=False)
    op.create_table('compliance_finding',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('district_code', sa.String(length=6), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('rule_id', sa.String(length=24), nullable=False),
    sa.Column('seq', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('message_zh', sa.Text(), nullable=False),
    sa.Column('message_en', sa.Text(), nullable=False),
    sa.Column('related', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('progress', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('neighbour_ids', postgresql.ARRAY(sa.Integer()), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_compliance_finding_facility_id_facility'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compliance_finding'))
    )
    op.create_index('ix_compliance_finding_facility_id', 'compliance_finding', ['facility_id'], unique=False)
    op.create_index('ix_compliance_finding_neighbour_ids', 'compliance_finding', ['neighbour_ids'], unique=False, postgresql_using='gin', postgresql_where=sa.text('neighbour_ids IS NOT NULL'))
    op.create_index('ix_compliance_finding_rule_id_verdict', 'compliance_finding', ['rule_id', 'verdict'], unique=False)
    op.add_column('facility', sa.Column('compliance_status', sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column('facility', 'compliance_status')
    op.drop_index('ix_compliance_finding_rule_id_verdict', table_name='compliance_finding')
    op.drop_index('ix_compliance_finding_neighbour_ids', table_name='compliance_finding', postgresql_using='gin', postgresql_where=sa.text('neighbour_ids IS NOT NULL'))
    op.drop_index('ix_compliance_finding_facility_id', table_name='compliance_finding')
    op.drop_table('compliance_finding')
    op.drop_index('ix_reference_point_layer', table_name='reference_point')
    op.drop_index('ix_reference_point_geom_geog', table_name='reference_point', postgresql_using='gist')
    op.drop_geospatial_index('idx_reference_point_geom', table_name='reference_point', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('reference_point')
    op.drop_table('compliance_run')

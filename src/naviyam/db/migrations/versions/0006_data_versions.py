"""data versions: what the operator's data looks like now, for models to compare with

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 06:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_version',
    sa.Column('aspect', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('aspect', name=op.f('pk_data_version'))
    )


def downgrade() -> None:
    op.drop_table('data_version')

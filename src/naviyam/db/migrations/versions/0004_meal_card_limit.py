"""meal card limit per district

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 19:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meal_card_limit',
    sa.Column('district', sa.String(length=20), nullable=False),
    sa.Column('per_meal', sa.Integer(), nullable=False),
    sa.Column('per_day', sa.Integer(), nullable=True),
    sa.CheckConstraint('per_meal > 0', name=op.f('ck_meal_card_limit_per_meal_positive')),
    sa.PrimaryKeyConstraint('district', name=op.f('pk_meal_card_limit'))
    )


def downgrade() -> None:
    op.drop_table('meal_card_limit')

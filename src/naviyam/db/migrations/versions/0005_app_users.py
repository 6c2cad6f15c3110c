"""app users: clients of the original API name users by any string

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('interaction') as batch:
        batch.add_column(sa.Column('app_user', sa.String(length=64), nullable=True))
        batch.create_index(batch.f('ix_interaction_app_user'), ['app_user'], unique=False)
    with op.batch_alter_table('feedback_event') as batch:
        batch.add_column(sa.Column('app_user', sa.String(length=64), nullable=True))
        batch.create_index(batch.f('ix_feedback_event_app_user'), ['app_user'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('feedback_event') as batch:
        batch.drop_index(batch.f('ix_feedback_event_app_user'))
        batch.drop_column('app_user')
    with op.batch_alter_table('interaction') as batch:
        batch.drop_index(batch.f('ix_interaction_app_user'))
        batch.drop_column('app_user')

"""children's privacy: guardian consent, minimised turns and feedback, the privacy log

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user') as batch:
        batch.add_column(sa.Column('guardian_consent', sa.Date(), nullable=True))
    with op.batch_alter_table('interaction') as batch:
        batch.add_column(sa.Column('location', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('minimised', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('feedback_event') as batch:
        batch.add_column(sa.Column('minimised', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('privacy_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("action IN ('consent', 'withdraw', 'export', 'erase')",
                       name=op.f('ck_privacy_event_action_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_event'))
    )
    with op.batch_alter_table('privacy_event') as batch:
        batch.create_index(batch.f('ix_privacy_event_action'), ['action'], unique=False)
        batch.create_index(batch.f('ix_privacy_event_user_id'), ['user_id'], unique=False)
        batch.create_index(batch.f('ix_privacy_event_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('privacy_event')
    with op.batch_alter_table('feedback_event') as batch:
        batch.drop_column('minimised')
    with op.batch_alter_table('interaction') as batch:
        batch.drop_column('minimised')
        batch.drop_column('location')
    with op.batch_alter_table('user') as batch:
        batch.drop_column('guardian_consent')

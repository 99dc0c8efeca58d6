"""TOTP second factor and separation of duties (issue 9)

Revision ID: a1f0c3e5d701
Revises: c789e792e4c0
Create Date: 2026-11-25 12:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1f0c3e5d701'
down_revision = 'c789e792e4c0'
branch_labels = None
depends_on = None


def upgrade():
    """TOTP enrolment on accounts, and the security policy the security administrator edits."""
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('totp_pending_secret', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))

    op.create_table('security_policy_setting',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_security_policy_setting'))
    )


def downgrade():
    """Drop the policy table and the TOTP columns."""
    op.drop_table('security_policy_setting')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_pending_secret')
        batch_op.drop_column('totp_secret')

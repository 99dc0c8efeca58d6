"""human_task indexes for open work per unit and per instance (issues 8, 10)

Revision ID: a7f0c3e5d707
Revises: a6f0c3e5d706
Create Date: 2026-11-25 14:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7f0c3e5d707'
down_revision = 'a6f0c3e5d706'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_unit_open', ['unit_id', 'status', 'due_at'], unique=False)
        batch_op.create_index('ix_human_task_instance_status', ['instance_id', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_instance_status')
        batch_op.drop_index('ix_human_task_unit_open')

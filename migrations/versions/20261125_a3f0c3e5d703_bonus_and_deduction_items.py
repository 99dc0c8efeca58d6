"""bonus and deduction items 绩优加分/绩差扣分 (issue 5)

Revision ID: a3f0c3e5d703
Revises: a2f0c3e5d702
Create Date: 2026-11-25 12:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3f0c3e5d703'
down_revision = 'a2f0c3e5d702'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bonus_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('section_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('direction', sa.Enum('bonus', 'deduction', name='bonusdirection', native_enum=False, length=16), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('proposed', 'in_review', 'approved', 'rejected', 'withdrawn', name='bonusstatus', native_enum=False, length=16), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('check_comment', sa.Text(), nullable=True),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points > 0', name=op.f('ck_bonus_item_points_positive')),
    sa.ForeignKeyConstraint(['checked_by_id'], ['person.id'], name=op.f('fk_bonus_item_checked_by_id_person')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['person.id'], name=op.f('fk_bonus_item_decided_by_id_person')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_bonus_item_instance_id_process_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_bonus_item_person_id_person')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['person.id'], name=op.f('fk_bonus_item_proposed_by_id_person')),
    sa.ForeignKeyConstraint(['section_id'], ['org_unit.id'], name=op.f('fk_bonus_item_section_id_org_unit')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_bonus_item_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bonus_item')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_bonus_item_instance_id'))
    )
    with op.batch_alter_table('bonus_item', schema=None) as batch_op:
        batch_op.create_index('ix_bonus_item_person_occurred', ['person_id', 'occurred_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_bonus_item_section_id'), ['section_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bonus_item_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_bonus_item_unit_id'), ['unit_id'], unique=False)

    op.create_table('bonus_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('mimetype', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['bonus_item.id'], name=op.f('fk_bonus_evidence_item_id_bonus_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['person.id'], name=op.f('fk_bonus_evidence_uploaded_by_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bonus_evidence'))
    )
    with op.batch_alter_table('bonus_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bonus_evidence_item_id'), ['item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('bonus_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bonus_evidence_item_id'))

    op.drop_table('bonus_evidence')
    with op.batch_alter_table('bonus_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bonus_item_unit_id'))
        batch_op.drop_index(batch_op.f('ix_bonus_item_status'))
        batch_op.drop_index(batch_op.f('ix_bonus_item_section_id'))
        batch_op.drop_index('ix_bonus_item_person_occurred')

    op.drop_table('bonus_item')

"""comprehensive evaluation rounds on 德能勤绩廉 (issue 5)

Revision ID: a4f0c3e5d704
Revises: a3f0c3e5d703
Create Date: 2026-11-25 12:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4f0c3e5d704'
down_revision = 'a3f0c3e5d703'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluation_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='roundstatus', native_enum=False, length=16), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=True),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['person.id'], name=op.f('fk_evaluation_round_closed_by_id_person')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['person.id'], name=op.f('fk_evaluation_round_opened_by_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_evaluation_round_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_round')),
    sa.UniqueConstraint('unit_id', 'period', name=op.f('uq_evaluation_round_unit_id_period'))
    )
    with op.batch_alter_table('evaluation_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_round_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_round_unit_id'), ['unit_id'], unique=False)

    op.create_table('evaluation_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('rater_id', sa.Integer(), nullable=False),
    sa.Column('ratee_id', sa.Integer(), nullable=False),
    sa.Column('group', sa.Enum('leader', 'peer', 'self', name='ratergroup', native_enum=False, length=8), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ratee_id'], ['person.id'], name=op.f('fk_evaluation_assignment_ratee_id_person')),
    sa.ForeignKeyConstraint(['rater_id'], ['person.id'], name=op.f('fk_evaluation_assignment_rater_id_person')),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_round.id'], name=op.f('fk_evaluation_assignment_round_id_evaluation_round'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_assignment')),
    sa.UniqueConstraint('round_id', 'rater_id', 'ratee_id', name=op.f('uq_evaluation_assignment_round_id_rater_id_ratee_id'))
    )
    with op.batch_alter_table('evaluation_assignment', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_assignment_round_ratee', ['round_id', 'ratee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_assignment_ratee_id'), ['ratee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_assignment_rater_id'), ['rater_id'], unique=False)

    op.create_table('evaluation_rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=8), nullable=False),
    sa.Column('score', sa.Numeric(precision=4, scale=1), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_evaluation_rating_score_range')),
    sa.ForeignKeyConstraint(['assignment_id'], ['evaluation_assignment.id'], name=op.f('fk_evaluation_rating_assignment_id_evaluation_assignment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_rating')),
    sa.UniqueConstraint('assignment_id', 'dimension', name=op.f('uq_evaluation_rating_assignment_id_dimension'))
    )


def downgrade():
    op.drop_table('evaluation_rating')
    with op.batch_alter_table('evaluation_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_assignment_rater_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_assignment_ratee_id'))
        batch_op.drop_index('ix_evaluation_assignment_round_ratee')

    op.drop_table('evaluation_assignment')
    with op.batch_alter_table('evaluation_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_round_unit_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_round_status'))

    op.drop_table('evaluation_round')

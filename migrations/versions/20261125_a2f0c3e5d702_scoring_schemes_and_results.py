"""scoring schemes per unit, period and annual results, grades (issue 5)

Revision ID: a2f0c3e5d702
Revises: a1f0c3e5d701
Create Date: 2026-11-25 12:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a2f0c3e5d702'
down_revision = 'a1f0c3e5d701'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scoring_scheme',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('config', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_scoring_scheme_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['person.id'], name=op.f('fk_scoring_scheme_updated_by_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_scheme')),
    sa.UniqueConstraint('scope', 'year', name=op.f('uq_scoring_scheme_scope_year'))
    )
    with op.batch_alter_table('scoring_scheme', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scoring_scheme_unit_id'), ['unit_id'], unique=False)

    op.create_table('period_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.Enum('quarter', 'year', name='resultkind', native_enum=False, length=8), nullable=False),
    sa.Column('indicator_score', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('evaluation_score', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('bonus_points', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('deduction_points', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('total', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('computed_grade', sa.String(length=24), nullable=False),
    sa.Column('grade', sa.String(length=24), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('rule_detail', sa.Text(), nullable=False),
    sa.Column('formula', sa.Text(), nullable=False),
    sa.Column('sources', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'confirmed', name='resultstatus', native_enum=False, length=16), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['computed_by_id'], ['person.id'], name=op.f('fk_period_result_computed_by_id_person')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['person.id'], name=op.f('fk_period_result_confirmed_by_id_person')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_period_result_person_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_period_result_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_result')),
    sa.UniqueConstraint('person_id', 'period', name=op.f('uq_period_result_person_id_period'))
    )
    with op.batch_alter_table('period_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_period_result_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_period_result_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_period_result_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_period_result_unit_id'), ['unit_id'], unique=False)

    op.create_table('veto_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('item', sa.String(length=64), nullable=False),
    sa.Column('item_label', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('withdraw_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_veto_record_person_id_person')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['person.id'], name=op.f('fk_veto_record_recorded_by_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_veto_record_unit_id_org_unit')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['person.id'], name=op.f('fk_veto_record_withdrawn_by_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_veto_record'))
    )
    with op.batch_alter_table('veto_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_veto_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_veto_record_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_veto_record_year'), ['year'], unique=False)


def downgrade():
    with op.batch_alter_table('veto_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_veto_record_year'))
        batch_op.drop_index(batch_op.f('ix_veto_record_unit_id'))
        batch_op.drop_index(batch_op.f('ix_veto_record_person_id'))

    op.drop_table('veto_record')
    with op.batch_alter_table('period_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_period_result_unit_id'))
        batch_op.drop_index(batch_op.f('ix_period_result_status'))
        batch_op.drop_index(batch_op.f('ix_period_result_person_id'))
        batch_op.drop_index(batch_op.f('ix_period_result_period'))

    op.drop_table('period_result')
    with op.batch_alter_table('scoring_scheme', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scoring_scheme_unit_id'))

    op.drop_table('scoring_scheme')

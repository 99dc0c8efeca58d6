"""quarterly publication and bonus distribution (issue 5)

Revision ID: a5f0c3e5d705
Revises: a4f0c3e5d704
Create Date: 2026-11-25 12:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a5f0c3e5d705'
down_revision = 'a4f0c3e5d704'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('publication',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'superseded', 'withdrawn', name='publicationstatus', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('publicity_days', sa.Integer(), nullable=False),
    sa.Column('publish_scope', sa.String(length=8), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('prepared_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['person.id'], name=op.f('fk_publication_approved_by_id_person')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_publication_instance_id_process_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['prepared_by_id'], ['person.id'], name=op.f('fk_publication_prepared_by_id_person')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['publication.id'], name=op.f('fk_publication_supersedes_id_publication')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_publication_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication')),
    sa.UniqueConstraint('unit_id', 'period', 'revision', name=op.f('uq_publication_unit_id_period_revision'))
    )
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publication_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publication_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_publication_unit_id'), ['unit_id'], unique=False)

    op.create_table('publication_row',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('publication_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('person_name', sa.String(length=64), nullable=False),
    sa.Column('section_name', sa.String(length=128), nullable=False),
    sa.Column('total', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('grade', sa.String(length=24), nullable=True),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_publication_row_person_id_person')),
    sa.ForeignKeyConstraint(['publication_id'], ['publication.id'], name=op.f('fk_publication_row_publication_id_publication')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_row')),
    sa.UniqueConstraint('publication_id', 'person_id', name=op.f('uq_publication_row_publication_id_person_id'))
    )
    with op.batch_alter_table('publication_row', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publication_row_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publication_row_publication_id'), ['publication_id'], unique=False)

    op.create_table('publication_objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['person.id'], name=op.f('fk_publication_objection_answered_by_id_person')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_publication_objection_person_id_person')),
    sa.ForeignKeyConstraint(['row_id'], ['publication_row.id'], name=op.f('fk_publication_objection_row_id_publication_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_objection'))
    )
    with op.batch_alter_table('publication_objection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publication_objection_row_id'), ['row_id'], unique=False)

    op.create_table('bonus_distribution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('pool', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('grade_coefficients', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', 'confirmed', 'withdrawn', name='distributionstatus', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['person.id'], name=op.f('fk_bonus_distribution_confirmed_by_id_person')),
    sa.ForeignKeyConstraint(['created_by_id'], ['person.id'], name=op.f('fk_bonus_distribution_created_by_id_person')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_bonus_distribution_instance_id_process_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_bonus_distribution_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bonus_distribution')),
    sa.UniqueConstraint('unit_id', 'period', 'revision', name=op.f('uq_bonus_distribution_unit_id_period_revision'))
    )
    with op.batch_alter_table('bonus_distribution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bonus_distribution_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bonus_distribution_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_bonus_distribution_unit_id'), ['unit_id'], unique=False)

    op.create_table('bonus_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('distribution_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('staff_no', sa.String(length=32), nullable=False),
    sa.Column('person_name', sa.String(length=64), nullable=False),
    sa.Column('section_name', sa.String(length=128), nullable=False),
    sa.Column('total', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('grade', sa.String(length=24), nullable=True),
    sa.Column('grade_coefficient', sa.Numeric(precision=8, scale=4), nullable=True),
    sa.Column('coefficient', sa.Numeric(precision=14, scale=6), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('extra_fen', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['distribution_id'], ['bonus_distribution.id'], name=op.f('fk_bonus_share_distribution_id_bonus_distribution')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_bonus_share_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bonus_share')),
    sa.UniqueConstraint('distribution_id', 'person_id', name=op.f('uq_bonus_share_distribution_id_person_id'))
    )
    with op.batch_alter_table('bonus_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bonus_share_distribution_id'), ['distribution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bonus_share_person_id'), ['person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('bonus_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bonus_share_person_id'))
        batch_op.drop_index(batch_op.f('ix_bonus_share_distribution_id'))

    op.drop_table('bonus_share')
    with op.batch_alter_table('bonus_distribution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bonus_distribution_unit_id'))
        batch_op.drop_index(batch_op.f('ix_bonus_distribution_status'))
        batch_op.drop_index(batch_op.f('ix_bonus_distribution_instance_id'))

    op.drop_table('bonus_distribution')
    with op.batch_alter_table('publication_objection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publication_objection_row_id'))

    op.drop_table('publication_objection')
    with op.batch_alter_table('publication_row', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publication_row_publication_id'))
        batch_op.drop_index(batch_op.f('ix_publication_row_person_id'))

    op.drop_table('publication_row')
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publication_unit_id'))
        batch_op.drop_index(batch_op.f('ix_publication_status'))
        batch_op.drop_index(batch_op.f('ix_publication_instance_id'))

    op.drop_table('publication')

"""monthly analysis reports and the quarterly showcase (issue 8)

A process may now have a *unit* as its subject (the monthly analysis report): process
instances gain ``subject_unit_id`` and their ``subject_id`` (and the inbox mirror's) becomes
optional. Existing rows keep their person subject. On SQLite the two tables are rebuilt
(batch mode) with foreign-key enforcement switched off for the rebuild, so dropping the old
table does not cascade into tasks, candidates and history.

Revision ID: a6f0c3e5d706
Revises: a5f0c3e5d705
Create Date: 2026-11-25 12:45:00

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a6f0c3e5d706'
down_revision = 'a5f0c3e5d705'
branch_labels = None
depends_on = None


@contextmanager
def _sqlite_foreign_keys_off():
    """SQLite ignores the pragma inside a transaction: set it between two, restore it after."""
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        with op.get_context().autocommit_block():
            op.execute('PRAGMA foreign_keys=OFF')
    try:
        yield
    finally:
        if sqlite:
            with op.get_context().autocommit_block():
                op.execute('PRAGMA foreign_keys=ON')


def upgrade():
    with _sqlite_foreign_keys_off():
        with op.batch_alter_table('process_instance', schema=None) as batch_op:
            batch_op.add_column(sa.Column('subject_unit_id', sa.Integer(), nullable=True))
            batch_op.alter_column('subject_id', existing_type=sa.Integer(), nullable=True)
            batch_op.create_foreign_key(batch_op.f('fk_process_instance_subject_unit_id_org_unit'), 'org_unit', ['subject_unit_id'], ['id'])
            batch_op.create_index(batch_op.f('ix_process_instance_subject_unit_id'), ['subject_unit_id'], unique=False)
            batch_op.create_unique_constraint(batch_op.f('uq_process_instance_process_key_subject_unit_id_period_revision'), ['process_key', 'subject_unit_id', 'period', 'revision'])
        with op.batch_alter_table('human_task', schema=None) as batch_op:
            batch_op.alter_column('subject_id', existing_type=sa.Integer(), nullable=True)

    op.create_table('analysis_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('overview', sa.Text(), nullable=True),
    sa.Column('highlights', sa.Text(), nullable=True),
    sa.Column('problems', sa.Text(), nullable=True),
    sa.Column('plan', sa.Text(), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.Column('figures_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['person.id'], name=op.f('fk_analysis_report_approved_by_id_person')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_analysis_report_instance_id_process_instance'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['person.id'], name=op.f('fk_analysis_report_reviewed_by_id_person')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['person.id'], name=op.f('fk_analysis_report_submitted_by_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_analysis_report_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_report')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_analysis_report_instance_id')),
    sa.UniqueConstraint('unit_id', 'period', name=op.f('uq_analysis_report_unit_id_period'))
    )
    with op.batch_alter_table('analysis_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_report_period'), ['period'], unique=False)

    op.create_table('analysis_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], name=op.f('fk_analysis_comment_author_id_person')),
    sa.ForeignKeyConstraint(['report_id'], ['analysis_report.id'], name=op.f('fk_analysis_comment_report_id_analysis_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_comment'))
    )
    with op.batch_alter_table('analysis_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_comment_report_id'), ['report_id'], unique=False)

    op.create_table('showcase_post',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('curated_by_id', sa.Integer(), nullable=True),
    sa.Column('curated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], name=op.f('fk_showcase_post_author_id_person')),
    sa.ForeignKeyConstraint(['curated_by_id'], ['person.id'], name=op.f('fk_showcase_post_curated_by_id_person')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], name=op.f('fk_showcase_post_unit_id_org_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_showcase_post'))
    )
    with op.batch_alter_table('showcase_post', schema=None) as batch_op:
        batch_op.create_index('ix_showcase_post_quarter_status', ['quarter', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_showcase_post_unit_id'), ['unit_id'], unique=False)

    op.create_table('showcase_picture',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('mimetype', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['showcase_post.id'], name=op.f('fk_showcase_picture_post_id_showcase_post'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_showcase_picture'))
    )
    with op.batch_alter_table('showcase_picture', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_showcase_picture_post_id'), ['post_id'], unique=False)


def downgrade():
    with op.batch_alter_table('showcase_picture', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_showcase_picture_post_id'))
    op.drop_table('showcase_picture')
    with op.batch_alter_table('showcase_post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_showcase_post_unit_id'))
        batch_op.drop_index('ix_showcase_post_quarter_status')
    op.drop_table('showcase_post')
    with op.batch_alter_table('analysis_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_comment_report_id'))
    op.drop_table('analysis_comment')
    with op.batch_alter_table('analysis_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_report_period'))
    op.drop_table('analysis_report')

    # Unit-subject instances cannot be represented once the column goes: remove them first.
    op.execute('DELETE FROM process_instance WHERE subject_id IS NULL')
    with _sqlite_foreign_keys_off():
        with op.batch_alter_table('human_task', schema=None) as batch_op:
            batch_op.alter_column('subject_id', existing_type=sa.Integer(), nullable=False)
        with op.batch_alter_table('process_instance', schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f('uq_process_instance_process_key_subject_unit_id_period_revision'), type_='unique')
            batch_op.drop_index(batch_op.f('ix_process_instance_subject_unit_id'))
            batch_op.drop_constraint(batch_op.f('fk_process_instance_subject_unit_id_org_unit'), type_='foreignkey')
            batch_op.alter_column('subject_id', existing_type=sa.Integer(), nullable=False)
            batch_op.drop_column('subject_unit_id')

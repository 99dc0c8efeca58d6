"""Indicator setting (指标制定): the common library, unit tasks, personal indicator sets and their flow."""

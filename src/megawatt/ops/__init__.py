"""Operations: the service that runs the program (registry, allocation ledger, audit).

``megawatt serve`` runs :func:`megawatt.ops.app.create_app` over a database reached
through SQLAlchemy 2; the schema is made and upgraded by the Alembic migrations in
``megawatt/ops/migrations`` (:func:`megawatt.ops.db.migrate`). docs/operations.md
describes the data model and why the cap checks are race-free.
"""

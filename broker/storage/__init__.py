"""The only package that speaks SQL: schema, named queries, the Postgres store and wake-ups."""

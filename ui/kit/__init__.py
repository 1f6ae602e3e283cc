"""The UI kit: the pieces every view shares (background jobs, the job panel, tables, messages, settings)."""

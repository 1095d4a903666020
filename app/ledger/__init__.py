"""The points ledger as recorded: deductions, actions, bans (queries and read schemas)."""

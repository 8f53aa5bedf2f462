"""Synthetic records in the schema of each case's real dataset, for the offline ``smoke`` profile."""

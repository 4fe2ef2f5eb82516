"""The audit log: written by every audited route and by the CLI, read by auditors."""

"""Customers' own data: the profile an integration sets (contact and identity fields, tier, home branch)
and finding a customer by an identifying number without decrypting anyone."""

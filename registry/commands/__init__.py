"""``registry`` sub-commands of the areas (users, backup, ...), attached in :mod:`registry.cli`."""

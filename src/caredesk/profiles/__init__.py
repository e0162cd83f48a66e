"""Customer profiles: outside sources, features by declared rules, the profile models, and their use while
serving (the profile panel, priority, the bot)."""

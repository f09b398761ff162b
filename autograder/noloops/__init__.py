"""The NO LOOPS rule in one place: the declaration each source notebook carries, the static check of
the submitted code, the runtime probe that counts the lines a function runs, and their wording."""

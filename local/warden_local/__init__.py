"""Local-only tooling: the embedded AWS (moto + honest extensions), the replay runner and the CLI."""

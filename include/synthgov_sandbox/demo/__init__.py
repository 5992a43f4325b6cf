"""The demo org: seeded records, planted AI-generated cases, signed media, training data and the ground truth."""

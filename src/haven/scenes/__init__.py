"""Same scene: pictures of the same room or object (local features, a bag-of-words index, geometric checks)."""

"""Developer tools: Lambda events and the local Lambda runtime (not shipped in the image)."""

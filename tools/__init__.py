"""Developer tools, not shipped in the image: Lambda events and the local Lambda runtime,
the scenes (videos of a real face) and the served product with a browser that the tests and
the benchmarks share."""
